"""The shipped ``frontend/nginx.conf`` in front of a real backend: page, API, login and WebSocket through it.

Real nginx (``apt-get install -y nginx``; ``.ci/run`` installs it) runs the
generated project's own config file, with only the addresses it names moved
to loopback ports: ``listen 80`` and ``backend:8000`` are compose names.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.support.backend_server import BackendServer, free_port
from tests.support.databases import TestDatabase
from tests.support.load_balancer import NGINX, nginx_command

TOKEN = "s3cret-token-of-32-characters-ok"


@contextmanager
def nginx_in_front(project: Path, backend: BackendServer, dist: Path, work: Path) -> Iterator[str]:
    """nginx with the project's nginx.conf on a free loopback port; yields its http:// origin."""
    assert Path(NGINX).exists(), "nginx is not installed (.ci/run installs it with apt-get)"
    port = free_port()
    site = (project / "frontend" / "nginx.conf").read_text()
    for shipped, here in (
        ("listen 80;", f"listen 127.0.0.1:{port};"),
        ("http://backend:8000", f"http://127.0.0.1:{backend.port}"),
        ("root /usr/share/nginx/html;", f"root {dist};"),
    ):
        assert shipped in site, shipped
        site = site.replace(shipped, here)
    command = [*nginx_command(site, work), "-g", "daemon off;"]
    checked = subprocess.run([*command[:-2], "-t"], capture_output=True, text=True, timeout=30, check=False)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    origin = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                httpx.get(origin + "/health", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.1)
        yield origin
    finally:
        process.terminate()
        process.wait(timeout=15)


def _order(db: TestDatabase, key: str) -> None:
    db.insert(
        "orders",
        {"order_key": key, "customer_key": "C-1", "order_status": "O", "total_price": 3.25, "order_date": "2024-05-01"},
    )


async def _first_events(url: str, origin: str, headers: dict[str, str], db: TestDatabase) -> list[str]:
    """Connect as a browser on ``origin`` would, insert a row, return the order keys that arrive."""
    async with connect(url, origin=origin, additional_headers=headers, open_timeout=10) as socket:  # type: ignore[arg-type]
        assert json.loads(await socket.recv())["type"] == "hello"
        _order(db, "THROUGH-NGINX")
        while True:
            message = json.loads(await socket.recv())
            if message["type"] == "events":
                return [event["data"]["order_key"] for event in message["events"]]


async def test_page_api_and_websocket_work_through_the_shipped_nginx_config(
    tpch_project: Path, sqlite_db: TestDatabase, dist: Path, tmp_path: Path
) -> None:
    with (
        BackendServer(tpch_project, sqlite_db.url) as backend,
        nginx_in_front(tpch_project, backend, dist, tmp_path / "nginx") as origin,
    ):
        page = httpx.get(origin + "/", timeout=10)
        assert page.status_code == 200 and "<title>dashboard</title>" in page.text
        assert httpx.get(origin + "/assets/app.js", timeout=10).status_code == 200
        assert httpx.get(origin + "/some/client/route", timeout=10).text == page.text  # single-page fallback
        entities = httpx.get(origin + "/api/entities", timeout=10)
        assert entities.status_code == 200 and entities.json()["entities"][0]["name"] == "Customer"
        assert httpx.get(origin + "/health", timeout=10).json()["status"] == "ok"
        assert "dashboard_clients" in httpx.get(origin + "/metrics", timeout=10).text
        # The browser's Origin is nginx's address: the backend accepts it because nginx forwards Host.
        ws = origin.replace("http://", "ws://") + "/ws"
        assert await _first_events(ws, origin, {}, sqlite_db) == ["THROUGH-NGINX"]


async def test_sign_in_and_stream_through_nginx_with_a_token(
    tpch_project: Path, sqlite_db: TestDatabase, dist: Path, tmp_path: Path
) -> None:
    with (
        BackendServer(tpch_project, sqlite_db.url, AUTH_TOKEN=TOKEN) as backend,
        nginx_in_front(tpch_project, backend, dist, tmp_path / "nginx") as origin,
        httpx.Client(base_url=origin, timeout=10) as browser,
    ):
        # Signed out: the page and bundle are withheld (nginx asks the backend), the API says 401.
        for path in ("/", "/assets/app.js"):
            refused = browser.get(path)
            assert (refused.status_code, refused.headers["location"]) == (303, "/login"), path
        assert browser.get("/api/entities").status_code == 401
        assert "<form" in browser.get("/login").text
        ws = origin.replace("http://", "ws://") + "/ws"
        with pytest.raises(InvalidStatus):
            async with connect(ws, origin=origin, open_timeout=10):  # type: ignore[arg-type]
                pass

        signed_in = browser.post("/api/session", data={"token": TOKEN})
        assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/")
        assert "<title>dashboard</title>" in browser.get("/").text
        assert browser.get("/assets/app.js").status_code == 200
        assert browser.get("/api/entities").status_code == 200
        cookie = {"Cookie": f"dashboard_session={browser.cookies['dashboard_session']}"}
        assert await _first_events(ws, origin, cookie, sqlite_db) == ["THROUGH-NGINX"]
