"""HTTP endpoints, security and protocol edge cases of the backend, on a real uvicorn."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.support.backend_server import BackendServer
from tests.support.databases import TestDatabase
from tests.support.projects import run_in_project
from tests.support.stream_client import StreamClient

TOKEN = "s3cret-token-of-32-characters-ok"


def get(server: BackendServer, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any, dict[str, str]]:
    request = urllib.request.Request(server.http + path, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read().decode()
            kind = response.headers.get("content-type", "")
            return response.status, json.loads(body) if "json" in kind else body, dict(response.headers)
    except urllib.error.HTTPError as error:
        body = error.read().decode()
        return error.code, json.loads(body) if body.startswith("{") else body, dict(error.headers)


def run_with_database(project: Path, url: str, setup: str, body: str) -> Any:
    """Run ``body`` in the generated project with ``db``, a connected backend Database."""
    indented = "".join(f"    {line}\n" for line in body.splitlines())
    script = (
        "import asyncio, sys\n"
        "from backend.db.database import Database\n"
        "from backend.db.url import parse_database_url\n"
        f"{setup}"
        "async def main():\n"
        "    db = Database(parse_database_url(sys.argv[1]))\n"
        "    await db.connect()\n"
        f"{indented}"
        "    await db.disconnect()\n"
        "asyncio.run(main())\n"
    )
    return run_in_project(project, "-c", script, url)


def _order(db: TestDatabase, key: str) -> int:
    return db.insert(
        "orders",
        {"order_key": key, "customer_key": "C-1", "order_status": "O", "total_price": 3.25, "order_date": "2024-05-01"},
    )


async def _wait(predicate: Any, timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_stats_and_history(tpch_project: Path, stream_db: TestDatabase) -> None:
    for number in range(3):
        stream_db.insert("products", {"part_key": f"P-{number}", "name": "bolt", "retail_price": 1.5})
    with BackendServer(tpch_project, stream_db.url) as server:
        client = await StreamClient(server.ws).start()
        ids = [_order(stream_db, f"O-{number}") for number in range(5)]
        stream_db.execute(f"UPDATE orders SET order_status = 'F' WHERE id = {ids[0]}")
        stream_db.execute(f"DELETE FROM orders WHERE id = {ids[1]}")
        await _wait(lambda: len(client.events) == 7)

        status, body, _ = get(server, "/api/stats")
        assert status == 200
        order = body["entities"]["Order"]
        assert (order["inserts"], order["updates"], order["deletes"]) == (5, 1, 1)
        assert order["rate_per_second"] > 0 and len(order["per_second"]) == 60
        # Counted at startup (3 products, no orders), then moved by the events seen.
        assert order["total_rows"] == 4
        assert body["entities"]["Product"]["total_rows"] == 3
        assert body["entities"]["Product"]["inserts"] == 0  # inserted before the backend started

        status, body, _ = get(server, "/api/events?after=0&limit=4")
        assert status == 200
        assert [e["entity"] for e in body["events"]] == ["Product"] * 3 + ["Order"]
        assert body["next_after"] == body["events"][-1]["id"]
        status, body, _ = get(server, f"/api/events?after={body['next_after']}&limit=100&entity=Order")
        assert [e["event_type"] for e in body["events"]] == ["insert"] * 4 + ["update", "delete"]
        assert body["next_after"] is None
        status, body, _ = get(server, "/api/events?limit=2")  # the newest two, oldest first
        assert [e["event_type"] for e in body["events"]] == ["update", "delete"]
        assert body["events"][1]["data"]["order_key"] == "O-1"
        assert body["events"][0]["changed"] == ["order_status"]
        assert body["events"][0]["old"] == {"order_status": "O"} and body["events"][1]["old"] is None
        live_update = next(event for event in client.events if event["event_type"] == "update")
        assert (live_update["changed"], live_update["old"]) == (["order_status"], {"order_status": "O"})
        assert list(live_update) == ["id", "entity", "event_type", "data", "changed", "old", "timestamp"]

        for bad in ("/api/events?after=-1", "/api/events?limit=0", "/api/events?limit=x", "/api/events?entity=Nope"):
            status, body, _ = get(server, bad)
            assert status == 422, bad
            assert "detail" in body
        await client.stop()


async def test_entities_health_metrics_and_frontend(
    tpch_project: Path, sqlite_db: TestDatabase, tmp_path: Path
) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "index.html").write_text("<!doctype html><title>dashboard</title>")
    with BackendServer(tpch_project, sqlite_db.url, FRONTEND_DIST=str(dist)) as server:
        status, body, _ = get(server, "/api/entities")
        assert status == 200
        assert [e["name"] for e in body["entities"]] == ["Customer", "Order", "OrderLineItem", "Product"]
        order = body["entities"][1]
        assert order["table"] == "orders" and order["color"] == "#3b82f6" and order["icon"] == "📦"
        assert order["display_fields"][:2] == ["order_key", "customer_key"]
        # Built from the typed model: what the page reads, nothing of the SQL side or the YAML files.
        assert not {"triggers", "function", "source"} & set(order)
        assert body["features"]["export_csv"] is True and body["poll_interval_ms"] == 50

        status, body, _ = get(server, "/health")
        assert status == 200
        assert body["status"] == "ok" and body["database"] == "sqlite" and body["clients"] == 0

        status, text, headers = get(server, "/metrics")
        assert status == 200 and headers["content-type"].startswith("text/plain")
        for name in ("dashboard_events_polled_total", "dashboard_clients 0", "dashboard_database_up 1"):
            assert name in text

        status, text, _ = get(server, "/")
        assert status == 200 and "<title>dashboard</title>" in text


async def test_websocket_origin_and_cors(tpch_project: Path, sqlite_db: TestDatabase) -> None:
    with BackendServer(tpch_project, sqlite_db.url, CORS_ORIGINS="https://dash.example.org") as server:
        with pytest.raises(InvalidStatus):
            async with connect(server.ws, origin="https://evil.example.com"):  # type: ignore[arg-type]
                pass
        async with connect(server.ws, origin="https://dash.example.org") as ok:  # type: ignore[arg-type]
            assert json.loads(await ok.recv())["type"] == "hello"
        _, _, headers = get(server, "/api/stats", {"Origin": "https://dash.example.org"})
        assert headers.get("access-control-allow-origin") == "https://dash.example.org"
        _, _, headers = get(server, "/api/stats", {"Origin": "https://evil.example.com"})
        assert "access-control-allow-origin" not in headers


def test_the_openapi_description_declares_the_errors_answered(tpch_project: Path, sqlite_db: TestDatabase) -> None:
    """A client generated from /openapi.json (or a schema fuzzer) is told the statuses and shapes answered:
    the endpoints' own 422 say a sentence (FastAPI would describe a list), /metrics is text."""
    with BackendServer(tpch_project, sqlite_db.url) as server:
        _, spec, _ = get(server, "/openapi.json")
        problem = spec["components"]["schemas"]["Problem"]["properties"]["detail"]["anyOf"]
        assert {"type": "string"} in problem and any(kind.get("type") == "array" for kind in problem)
        for path, operation, status in [
            ("/api/events?since=yesterday", "/api/events", 422),
            ("/api/events?limit=0", "/api/events", 422),  # FastAPI's own check: the list
            ("/api/events/histogram?since=-1h&until=-2h", "/api/events/histogram", 422),
            ("/api/rows/Nope", "/api/rows/{entity}", 404),
            ("/api/rows/Order?limit=0", "/api/rows/{entity}", 400),
        ]:
            answered, body, headers = get(server, path)
            assert answered == status and headers["content-type"] == "application/json", (path, body)
            declared = spec["paths"][operation]["get"]["responses"][str(status)]["content"]["application/json"]
            assert declared["schema"] == {"$ref": "#/components/schemas/Problem"}, (path, declared)
            assert isinstance(body["detail"], (str, list)) and set(body) == {"detail"}, body
        for operation in ("/api/events", "/api/events/histogram", "/api/history", "/api/rows/{entity}"):
            assert "503" in spec["paths"][operation]["get"]["responses"], operation
        assert list(spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"]) == ["text/plain"]
        assert get(server, "/metrics")[2]["content-type"].startswith("text/plain")


async def test_malformed_client_messages_are_ignored(tpch_project: Path, sqlite_db: TestDatabase) -> None:
    with BackendServer(tpch_project, sqlite_db.url) as server:
        client = await StreamClient(server.ws).start()
        for junk in ("not json", "[1,2]", '{"type": 5}', "{}", b"\x00\xff binary", "x" * 100_000):
            await client.send(junk)
        await client.send('{"type": "ping", "id": 7}')
        _order(sqlite_db, "after-junk")
        await _wait(lambda: client.order_keys() == ["after-junk"])
        assert {"type": "pong", "id": 7} in client.messages
        assert client.close_code is None
        await client.stop()


async def test_resume_edge_cases(tpch_project: Path, sqlite_db: TestDatabase) -> None:
    ids = [_order(sqlite_db, f"old-{n}") for n in range(4)]
    with BackendServer(tpch_project, sqlite_db.url) as server:
        # Connecting without ?after= starts live at the head: old events are not replayed.
        live = await StreamClient(server.ws).start()
        assert live.hello is not None and live.hello["last_event_id"] == ids[-1]
        _order(sqlite_db, "new-0")
        await _wait(lambda: live.order_keys() == ["new-0"])

        replayed = await StreamClient(server.ws).start(after=ids[1])
        await _wait(lambda: len(replayed.events) == 3)
        assert replayed.order_keys() == ["old-2", "old-3", "new-0"]

        sqlite_db.execute("DELETE FROM db_events WHERE id <= ?", (ids[2],))  # as retention would
        truncated = await StreamClient(server.ws).start(after=ids[0])
        await _wait(lambda: any(m["type"] == "reset" for m in truncated.messages))
        reset = next(m for m in truncated.messages if m["type"] == "reset")
        assert reset["reason"] == "truncated" and reset["oldest_event_id"] == ids[3]

        ahead = await StreamClient(server.ws).start(after=10_000)
        await _wait(lambda: any(m["type"] == "reset" for m in ahead.messages))
        assert next(m for m in ahead.messages if m["type"] == "reset")["reason"] == "ahead"

        bad = StreamClient(server.ws + "?after=abc")
        await bad.start()
        await bad.wait_closed()
        assert bad.close_code == 1008
        assert any(m["type"] == "error" and "after" in m["message"] for m in bad.messages)
        for client in (live, replayed, truncated, ahead):
            await client.stop()


async def test_retention_deletes_old_events_in_batches(tpch_project: Path, stream_db: TestDatabase) -> None:
    for number in range(25):
        _order(stream_db, f"R-{number}")
    old = "2020-01-01T00:00:00.000Z" if stream_db.dialect == "sqlite" else "2020-01-01 00:00:00"
    stream_db.execute(f"UPDATE db_events SET created_at = {stream_db.placeholder} WHERE id <= 20", (old,))
    result = run_with_database(
        tpch_project,
        stream_db.url,
        "from backend.stream import retention\n"
        "from backend.stream.event_store import EventStore\n"
        "retention.BATCH = 7\n",
        "print(await retention.delete_expired(EventStore(db), 7))",
    )
    assert result.returncode == 0, result.stderr
    # The newest expired event stays as the boundary: the oldest retained id shows where retention stopped.
    assert result.stdout.strip() == "19"
    assert stream_db.query("SELECT MIN(id), COUNT(*) FROM db_events") == [(20, 6)]


def test_bad_settings_stop_uvicorn_with_one_line(tpch_project: Path) -> None:
    for env, fragment in (
        ({"DATABASE_URL": "oracle://x/y"}, "unknown scheme"),
        ({"DATABASE_URL": "sqlite:///x.db", "POLL_INTERVAL_MS": "fast"}, "POLL_INTERVAL_MS='fast'"),
        ({"DATABASE_URL": "sqlite:///x.db", "AUTH_TOKEN": "short"}, "AUTH_TOKEN must be at least 16"),
        ({"DATABASE_URL": "sqlite:///x.db", "CORS_ORIGINS": "dash.example.org"}, "CORS_ORIGINS entry"),
        ({"DATABASE_URL": "sqlite:///x.db", "ALLOWED_HOSTS": "https://dash.example.org"}, "ALLOWED_HOSTS entry"),
        ({"DATABASE_URL": "sqlite:///x.db", "ALLOWED_HOSTS": "dash.example.org:8443"}, "ALLOWED_HOSTS entry"),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "uvicorn", "backend.main:app", "--port", "1"],
            cwd=tpch_project,
            env={"PATH": "/usr/bin:/bin", **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and fragment in errors[0], result.stderr


async def test_unreachable_database_at_startup_then_health_503(tpch_project: Path) -> None:
    server = BackendServer(tpch_project, "postgresql://postgres@127.0.0.1:1/none").start(wait_healthy=False)
    try:
        status, body, _ = get(server, "/health")
        assert status == 503 and body["status"] == "unavailable"
        assert "Connect call failed" in body["database_error"] or "refused" in body["database_error"].lower()
    finally:
        server.stop()


def test_large_tables_use_catalog_estimates(tpch_project: Path, stream_db: TestDatabase) -> None:
    """Past the threshold no COUNT(*) runs: the catalog estimate is used (ANALYZE refreshes it)."""
    for number in range(30):
        _order(stream_db, f"E-{number}")
    if stream_db.dialect == "postgresql":
        stream_db.execute("ANALYZE orders")
    elif stream_db.dialect != "sqlite":
        stream_db.execute("ANALYZE TABLE orders")
    result = run_with_database(
        tpch_project,
        stream_db.url,
        "from backend.api import stats\nfrom backend.model import load_model\nstats.EXACT_COUNT_BELOW = 10\n",
        "s = stats.Stats(load_model())\n"
        "await s.refresh_row_counts(db)\n"
        "order = s.snapshot()['Order']\n"
        "print(order['total_rows'], order['rows_estimated'])",
    )
    assert result.returncode == 0, result.stderr
    rows, estimated = result.stdout.split()
    if stream_db.dialect == "sqlite":
        assert (rows, estimated) == ("30", "False")  # SQLite has no estimates: always counted
    else:
        assert estimated == "True" and abs(int(rows) - 30) <= 3


async def test_a_database_without_change_capture_says_what_to_run(tpch_project: Path, tmp_path: Path) -> None:
    server = BackendServer(tpch_project, f"sqlite:///{tmp_path / 'empty.db'}").start(wait_healthy=False)
    try:
        await _wait(lambda: get(server, "/health")[1].get("database_error") is not None)
        status, body, _ = get(server, "/health")
        assert status == 503
        assert "db_events" in body["database_error"] and "python -m backend.migrate" in body["database_error"]
    finally:
        server.stop()
