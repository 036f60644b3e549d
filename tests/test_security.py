"""Security of the generated backend (issue 8, finding 10), on a real uvicorn with real HTTP and WebSocket clients.

The token never travels in a URL; with ``AUTH_TOKEN`` set everything but the
login page and ``/health`` needs the token (header) or the session cookie the
login form sets; header tokens are compared as bytes; ``ALLOWED_HOSTS`` (and
its default) refuses foreign Host headers, DNS rebinding's signature.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.support.backend_server import BackendServer
from tests.support.databases import TestDatabase

TOKEN = "s3cret-token-of-32-characters-ok"
UNICODE_TOKEN = "pässwörd-ünïcödé-✓-🔑-long-enough"
PROTECTED = (
    "/",
    "/index.html",
    "/assets/app.js",
    "/assets/app.js.map",
    "/docs",
    "/redoc",
    "/openapi.json",
    "/api/entities",
    "/api/stats",
    "/api/events",
    "/api/session",
    "/metrics",
)


def _client(server: BackendServer, **kwargs: Any) -> httpx.Client:
    return httpx.Client(base_url=server.http, timeout=10, follow_redirects=False, **kwargs)


def _sign_in(client: httpx.Client, token: str) -> httpx.Response:
    """What the login form does: a form-encoded POST of the token."""
    return client.post("/api/session", data={"token": token})


def _connect(url: str, headers: dict[str, str] | None, host: str | None) -> Any:
    """A WebSocket handshake; with ``host``, sent as ``Host: host`` over a socket to the real server."""
    if host is None:
        return connect(url, additional_headers=headers, open_timeout=10)
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    return connect(f"ws://{host}{parts.path}", sock=sock, additional_headers=headers, open_timeout=10)


async def _hello(url: str, headers: dict[str, str] | None = None, host: str | None = None) -> dict[str, Any]:
    async with _connect(url, headers, host) as connection:
        message: dict[str, Any] = json.loads(await connection.recv())
        return message


async def _refused_status(url: str, headers: dict[str, str] | None = None, host: str | None = None) -> int:
    with pytest.raises(InvalidStatus) as refused:
        async with _connect(url, headers, host):
            pass
    return int(refused.value.response.status_code)


async def test_everything_but_the_login_page_and_health_needs_the_token(
    tpch_project: Path, sqlite_db: TestDatabase, dist: Path
) -> None:
    with (
        BackendServer(tpch_project, sqlite_db.url, AUTH_TOKEN=TOKEN, FRONTEND_DIST=str(dist)) as server,
        _client(server) as client,
    ):
        for path in PROTECTED:
            assert client.get(path).status_code == 401, path
            for header in ({"Authorization": f"Bearer {TOKEN}"}, {"X-Dashboard-Token": TOKEN}):
                assert client.get(path, headers=header).status_code == 200, (path, header)
            assert client.get(path, headers={"Authorization": "Bearer wrong-token-wrong-token"}).status_code == 401
            # The token in a URL is refused everywhere: URLs are logged.
            assert client.get(path, params={"token": TOKEN}).status_code == 401, path
        # Signed-in content is kept by no shared cache and revalidated, so signing out takes effect.
        assert client.get("/", headers={"X-Dashboard-Token": TOKEN}).headers["cache-control"] == "private, no-cache"
        # A browser asking for a page is sent to the login page instead of a bare 401.
        for path in ("/", "/docs"):
            page = client.get(path, headers={"Accept": "text/html,application/xhtml+xml"})
            assert (page.status_code, page.headers["location"]) == (303, "/login"), path
        login = client.get("/login")
        assert login.status_code == 200 and '<form method="post" action="/api/session">' in login.text
        assert login.headers["x-frame-options"] == "DENY"
        health = client.get("/health")
        assert (health.status_code, health.json()) == (200, {"status": "ok"})  # no details without the token
        assert client.get("/health", headers={"X-Dashboard-Token": TOKEN}).json()["database"] == "sqlite"

        assert await _refused_status(server.ws) == 403
        assert await _refused_status(f"{server.ws}?token={TOKEN}") == 403
        assert (await _hello(server.ws, {"Authorization": f"Bearer {TOKEN}"}))["type"] == "hello"
        assert (await _hello(server.ws, {"X-Dashboard-Token": TOKEN}))["type"] == "hello"


async def test_the_login_form_sets_an_httponly_strict_cookie_that_is_not_the_token(
    tpch_project: Path, sqlite_db: TestDatabase
) -> None:
    with BackendServer(tpch_project, sqlite_db.url, AUTH_TOKEN=TOKEN) as server, _client(server) as client:
        wrong = _sign_in(client, "not-the-token-not-the-token")
        assert (wrong.status_code, wrong.headers["location"]) == (303, "/login?failed")
        assert "set-cookie" not in wrong.headers
        assert "That token is not right" in client.get("/login?failed").text

        signed_in = _sign_in(client, TOKEN)
        assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/")
        cookie = signed_in.headers["set-cookie"]
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "path", "max-age"} <= attributes and "secure" not in attributes  # plain http here
        assert "samesite=strict" in cookie.lower()
        value = client.cookies["dashboard_session"]
        assert TOKEN not in value and TOKEN not in cookie

        # The cookie is all a browser needs: API, session check, WebSocket.
        assert client.get("/api/entities").status_code == 200
        assert client.get("/api/session").json() == {"required": True}
        assert (await _hello(server.ws, {"Cookie": f"dashboard_session={value}"}))["type"] == "hello"

        # Forged, tampered or expired cookies are refused.
        import backend.api.security as security  # the generated module, straight from template/

        expired = security.new_session(TOKEN.encode(), now=time.time() - security.SESSION_MAX_AGE_S - 10)
        expires, _, signature = value.partition(".")
        for bad in (expired, f"{int(expires) + 1}.{signature}", f"{expires}.{'0' * 64}", TOKEN, ""):
            with _client(server, cookies={"dashboard_session": bad}) as forged:
                assert forged.get("/api/entities").status_code == 401, bad
            assert await _refused_status(server.ws, {"Cookie": f"dashboard_session={bad}"}) == 403

        # Sign out clears the cookie in the browser.
        signed_out = client.delete("/api/session")
        assert signed_out.status_code == 204
        assert "dashboard_session" not in client.cookies
        assert client.get("/api/entities").status_code == 401

        # Scripts may sign in with JSON and get 204 / 401 instead of redirects.
        assert client.post("/api/session", json={"token": TOKEN}).status_code == 204
        assert client.post("/api/session", json={"token": "nope"}).status_code == 401
        log = server.log()
    # Neither the token nor the cookie reached the access log (it records every URL and WebSocket path).
    assert '"POST /api/session HTTP/1.1" 303' in log and '"WebSocket /ws" [accepted]' in log
    assert TOKEN not in log and value not in log


def test_malformed_or_huge_sign_in_bodies_are_refused_without_an_error(
    tpch_project: Path, sqlite_db: TestDatabase
) -> None:
    """The sign-in endpoint needs no token: bad bodies get "wrong token", never a 500 or a buffered upload."""
    huge = b"token=" + b"x" * (64 * 1024 * 1024)  # 64 MB: read no further than the first few kB
    with BackendServer(tpch_project, sqlite_db.url, AUTH_TOKEN=TOKEN) as server, _client(server) as client:
        json_headers = {"Content-Type": "application/json"}
        cases: list[tuple[bytes, dict[str, str]]] = [
            (b"token=a&b=1&c=2&d=3&e=4", {"Content-Type": "application/x-www-form-urlencoded"}),  # too many fields
            (b"[" * 3000, json_headers),  # nested past the parser's recursion limit
            (b"{", json_headers),
            (huge, {"Content-Type": "application/x-www-form-urlencoded"}),
        ]
        for body, headers in cases:
            response = client.post("/api/session", content=body, headers={**headers, "Accept": "application/json"})
            assert response.status_code in (303, 401), (body[:40], response.status_code)
            assert "set-cookie" not in response.headers
        assert client.get("/health").status_code == 200
        log = server.log()
    assert "Traceback" not in log and " 500" not in log


def test_the_cookie_is_secure_when_the_request_came_over_https(tpch_project: Path, sqlite_db: TestDatabase) -> None:
    # uvicorn trusts X-Forwarded-Proto from 127.0.0.1 (FORWARDED_ALLOW_IPS), as from a TLS proxy in front.
    with BackendServer(tpch_project, sqlite_db.url, AUTH_TOKEN=TOKEN) as server, _client(server) as client:
        response = client.post("/api/session", data={"token": TOKEN}, headers={"X-Forwarded-Proto": "https"})
        assert response.status_code == 303
        assert "secure" in {part.strip().lower() for part in response.headers["set-cookie"].split(";")}


async def test_a_non_ascii_token_works_in_headers_and_in_the_form(tpch_project: Path, sqlite_db: TestDatabase) -> None:
    raw = UNICODE_TOKEN.encode()
    with BackendServer(tpch_project, sqlite_db.url, AUTH_TOKEN=UNICODE_TOKEN) as server, _client(server) as client:
        assert client.get("/api/stats", headers={b"X-Dashboard-Token": raw}).status_code == 200
        assert client.get("/api/stats", headers={b"Authorization": b"Bearer " + raw}).status_code == 200
        assert client.get("/api/stats", headers={b"X-Dashboard-Token": raw[:-1] + b"?"}).status_code == 401
        assert _sign_in(client, UNICODE_TOKEN).status_code == 303
        assert client.get("/api/stats").status_code == 200


async def test_foreign_host_headers_are_refused_without_a_token(tpch_project: Path, sqlite_db: TestDatabase) -> None:
    """DNS rebinding: a page on evil.example resolves its name to 127.0.0.1 and calls the dashboard."""
    with BackendServer(tpch_project, sqlite_db.url) as server, _client(server) as client:
        for host in ("evil.example", "evil.example:8000", "192.168.1.20"):
            refused = client.get("/api/entities", headers={"Host": host})
            assert refused.status_code == 400 and "ALLOWED_HOSTS" in refused.text, host
            assert await _refused_status(server.ws, host=host) == 403
        for host in ("localhost", f"localhost:{server.port}", "127.0.0.1", "[::1]:8000"):
            assert client.get("/api/entities", headers={"Host": host}).status_code == 200, host
        assert (await _hello(server.ws, host=f"localhost:{server.port}"))["type"] == "hello"


async def test_allowed_hosts_is_one_setting(tpch_project: Path, sqlite_db: TestDatabase) -> None:
    hosts = "dash.example.org, *.internal.example"
    with (
        BackendServer(tpch_project, sqlite_db.url, ALLOWED_HOSTS=hosts, AUTH_TOKEN=TOKEN) as server,
        _client(server) as client,
    ):
        headers = {"X-Dashboard-Token": TOKEN}
        # Loopback names stay allowed: container health checks use them, and rebinding never does.
        for host in ("dash.example.org", "dash.example.org:8443", "a.internal.example", "127.0.0.1", "localhost"):
            assert client.get("/api/stats", headers={**headers, "Host": host}).status_code == 200, host
        for host in ("evil.example", "internal.example.evil", "dash.example.org.evil", "192.168.1.20"):
            assert client.get("/api/stats", headers={**headers, "Host": host}).status_code == 400, host
            assert client.get("/health", headers={"Host": host}).status_code == 400, host
        assert await _refused_status(server.ws, headers, host="evil.example") == 403
        assert (await _hello(server.ws, headers, host="dash.example.org"))["type"] == "hello"
        # A huge Host is named, not echoed whole.
        refused = client.get("/api/stats", headers={**headers, "Host": "h" * 5000 + ".example"})
        assert refused.status_code == 400
        assert refused.text == f"Host {'h' * 100 + '…'!r} is not allowed: add it to ALLOWED_HOSTS"
