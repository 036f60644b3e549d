"""Issue 8, findings 5-8 and 15: the stream never fakes a reset, never loses to retention,
never hoards memory, and no client input can crash a connection.

Real uvicorn on loopback ports, real PostgreSQL / MariaDB / SQLite.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import socket
import struct
import termios
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from tests.support.backend_server import BackendServer
from tests.support.databases import PG_HOST, PG_PORT, TestDatabase, temporary_database
from tests.support.projects import run_in_project
from tests.support.stream_client import StreamClient, stalled_websocket
from tests.support.tcp_proxy import TcpProxy

MESSAGE_CHARS = 1 << 20  # stream/protocol.py


def _migrate(project: Path, db: TestDatabase) -> None:
    result = run_in_project(project, "-m", "backend.migrate", "--create-entity-tables", env={"DATABASE_URL": db.url})
    assert result.returncode == 0, result.stderr


def _order(db: TestDatabase, key: str) -> int:
    return db.insert(
        "orders",
        {"order_key": key, "customer_key": "C-1", "order_status": "O", "total_price": 3.25, "order_date": "2024-05-01"},
    )


def _big_orders(db: TestDatabase, prefix: str, count: int, size: int) -> None:
    """``count`` orders with a ``size``-character comment each, in one transaction."""
    if db.dialect in ("mysql", "mariadb"):
        db.execute("ALTER TABLE orders MODIFY comment LONGTEXT")  # TEXT holds 64 KB there
    with db.connect() as conn:
        cursor = conn.cursor()
        cursor.execute("BEGIN IMMEDIATE" if db.dialect == "sqlite" else "BEGIN")
        for number in range(count):
            cursor.execute(
                "INSERT INTO orders (order_key, customer_key, order_status, total_price, order_date, comment) "
                f"VALUES ({db.placeholder}, 'C-1', 'O', 1.0, '2024-01-01', {db.placeholder})",
                (f"{prefix}-{number:04d}", "x" * size),
            )
        cursor.execute("COMMIT")


async def _eventually(predicate: Any, what: str, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


def _read_until_closed(sock: socket.socket, timeout: float = 20) -> bytes:
    sock.settimeout(timeout)
    received = bytearray()
    try:
        while chunk := sock.recv(1 << 20):
            received += chunk
    except TimeoutError:
        pass
    return bytes(received)


# -- finding 5: no head is claimed before the poller has read it ---------------------------------


@pytest.mark.parametrize("dialect", ["postgresql", "mariadb"])
async def test_a_resuming_client_waits_for_the_database_instead_of_a_false_reset(
    tpch_project: Path, tmp_path: Path, dialect: str
) -> None:
    with temporary_database(dialect, tmp_path) as db:
        _migrate(tpch_project, db)
        resume_from = max(_order(db, f"before-{n}") for n in range(20))
        with TcpProxy(db.server.host, db.server.port) as proxy:
            proxy.cut()  # the backend starts while its database is unreachable
            url = db.url_through(proxy.port)
            server = BackendServer(tpch_project, url).start(wait_healthy=False)
            try:
                client = await StreamClient(server.ws).start(after=resume_from, wait_for_hello=False)
                written_meanwhile = [f"meanwhile-{n}" for n in range(5)]
                for key in written_meanwhile:
                    _order(db, key)
                await asyncio.sleep(2.0)
                assert [m["type"] for m in client.messages] == ["starting"], client.messages[:3]
                assert client.messages[0]["message"] == "waiting for the database"

                proxy.restore()
                await client.wait_for_hello()
                assert client.hello is not None and client.hello["protocol"] == 1
                assert client.hello["last_event_id"] >= resume_from
                await client.wait_for_keys(set(written_meanwhile))
                assert client.resets == [], client.resets
                assert sorted(client.order_keys()) == written_meanwhile  # nothing at or below the resume point
                assert client.close_code is None
                await client.stop()
            finally:
                server.stop()


# -- finding 6: retention by the database's clock and by id ---------------------------------------


async def test_retention_decides_by_the_database_clock_not_the_backends(
    tpch_project: Path, stream_db: TestDatabase
) -> None:
    """The backend runs 30 days ahead (libfaketime): only the events the database calls old go."""
    old_ids = [_order(stream_db, f"old-{n}") for n in range(10)]
    kept_ids = [_order(stream_db, f"kept-{n}") for n in range(10)]
    stamp = "2020-01-01T00:00:00.000Z" if stream_db.dialect == "sqlite" else "2020-01-01 00:00:00"
    stream_db.execute(f"UPDATE db_events SET created_at = {stream_db.placeholder} WHERE id <= {old_ids[-1]}", (stamp,))
    with BackendServer(tpch_project, stream_db.url, RETENTION_DAYS="7", clock_offset="+30d") as server:
        live = await StreamClient(server.ws).start()

        def remaining() -> list[int]:
            return [int(row[0]) for row in stream_db.query("SELECT id FROM db_events ORDER BY id")]

        # The newest old event stays as the boundary of what was deleted.
        boundary = old_ids[-1]
        await _eventually(lambda: remaining() == [boundary, *kept_ids], "retention to delete the old events")
        assert server.metric("dashboard_retention_deleted_total") == 9
        new_ids = [_order(stream_db, f"new-{n}") for n in range(5)]
        await _eventually(lambda: len(live.events) == 5, "the live client to get the new events")
        assert remaining() == [boundary, *kept_ids, *new_ids]

        # A client that resumes from below the oldest retained id is told, then gets what is left.
        lagging = await StreamClient(server.ws).start(after=old_ids[3])
        await _eventually(lambda: len(lagging.events) == 16, "the replay")
        assert [r["reason"] for r in lagging.resets] == ["truncated"]
        assert lagging.resets[0]["oldest_event_id"] == boundary
        # One that resumes from the boundary or later lost nothing: no reset.
        current = await StreamClient(server.ws).start(after=boundary)
        await _eventually(lambda: len(current.events) == 15, "the replay from the boundary")
        assert current.resets == []
        for client in (live, lagging, current):
            await client.stop()


@pytest.fixture
def read_only_postgres_url(tmp_path: Path, tpch_project: Path) -> Iterator[tuple[TestDatabase, str]]:
    """A PostgreSQL database and the URL of a role that may read db_events but not delete from it."""
    role = f"dt_reader_{uuid.uuid4().hex[:8]}"
    with temporary_database("postgresql", tmp_path) as db:
        _migrate(tpch_project, db)
        db.execute(f'CREATE ROLE "{role}" LOGIN')
        db.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{role}"')
        try:
            yield db, f"postgresql://{role}@{PG_HOST}:{PG_PORT}/{db.name}"
        finally:
            db.execute(f'REASSIGN OWNED BY "{role}" TO postgres')
            db.execute(f'DROP OWNED BY "{role}"')
            db.execute(f'DROP ROLE "{role}"')


async def test_retention_failures_are_warnings_once_per_error(
    tpch_project: Path, read_only_postgres_url: tuple[TestDatabase, str]
) -> None:
    db, url = read_only_postgres_url
    _order(db, "old")
    db.execute("UPDATE db_events SET created_at = '2020-01-01'")
    with BackendServer(tpch_project, url, RETENTION_DAYS="7") as server:
        await _eventually(lambda: "dashboard.retention" in server.log(), "retention to report its failure")
        lines = [line for line in server.log().splitlines() if "dashboard.retention" in line]
        assert len(lines) == 1 and lines[0].startswith("WARNING"), lines
        assert "permission denied" in lines[0]
        assert server.metric("dashboard_retention_failures_total") == 1

    # Later rounds that fail the same way stay quiet.
    script = (
        "import asyncio, logging, os\n"
        "from backend.model import load_model\n"
        "from backend.runtime import build_runtime\n"
        "from backend.settings import load_settings\n"
        "logging.basicConfig(level=logging.DEBUG, format='%(levelname)s %(name)s: %(message)s')\n"
        "async def main():\n"
        "    model = load_model()\n"
        "    runtime = build_runtime(load_settings(model), model)\n"
        "    await runtime.db.connect()\n"
        "    await runtime.poller.start_at_head()\n"
        "    for _ in range(3):\n"
        "        await runtime.retention.run_once()\n"
        "    print(runtime.retention.failures_total)\n"
        "    await runtime.db.disconnect()\n"
        "asyncio.run(main())\n"
    )
    result = run_in_project(tpch_project, "-c", script, env={"DATABASE_URL": url, "RETENTION_DAYS": "7"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3"
    warnings = [line for line in result.stderr.splitlines() if line.startswith("WARNING dashboard.retention")]
    assert len(warnings) == 1, result.stderr


# -- finding 7: a client that does not read is closed and counted; queues count bytes --------------


@pytest.mark.parametrize(
    ("settings", "reason_metric", "close_reason"),
    [
        # 40 messages of 200 KB: far below any message-count limit, far above 1 MB of queue.
        ({"CLIENT_QUEUE_BYTES": str(1 << 20), "CLIENT_SEND_TIMEOUT_S": "3600"}, "queue_full", None),
        # A queue that never fills: the send that does not complete in 2 s closes it.
        ({"CLIENT_QUEUE_BYTES": str(1 << 30), "CLIENT_SEND_TIMEOUT_S": "2"}, "not_reading", b"\x03\xf5not reading"),
    ],
    ids=["bounded-in-bytes", "not-reading"],
)
async def test_a_client_that_falls_behind_is_closed_with_1013_and_counted(
    tpch_project: Path, tmp_path: Path, settings: dict[str, str], reason_metric: str, close_reason: bytes | None
) -> None:
    with temporary_database("postgresql", tmp_path) as db:
        _migrate(tpch_project, db)
        with BackendServer(
            tpch_project,
            db.url,
            CLIENT_QUEUE_BYTES=settings["CLIENT_QUEUE_BYTES"],
            CLIENT_SEND_TIMEOUT_S=settings["CLIENT_SEND_TIMEOUT_S"],
        ) as server:
            reader = await StreamClient(server.ws).start()
            stalled = stalled_websocket(server.port)
            try:
                for batch in range(40):
                    await asyncio.to_thread(_big_orders, db, f"b{batch}", 1, 200_000)
                await reader.wait_for_keys({f"b{batch}-0000" for batch in range(40)})
                await _eventually(
                    lambda: server.metric("dashboard_slow_clients_total") == 1, "the stalled client to be dropped"
                )
                assert server.metric(f"dashboard_slow_clients_{reason_metric}_total") == 1
                assert server.metric("dashboard_clients") == 1
                assert reader.close_code is None
                if close_reason is not None:
                    # A client that reads again finds the 1013 close after what was already sent.
                    assert close_reason in _read_until_closed(stalled)  # close frame, code 1013
            finally:
                stalled.close()
            await reader.stop()


def _unread_bytes(sock: socket.socket) -> int:
    return int(struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0])


async def test_connections_past_ws_max_clients_are_closed_with_1013_and_counted(
    tpch_project: Path, tmp_path: Path
) -> None:
    """Every connection holds memory, so their number is bounded: one past the limit is told why and
    retries; the connections already open, a stalled one included, are untouched."""
    with temporary_database("sqlite", tmp_path) as db:
        _migrate(tpch_project, db)
        with BackendServer(tpch_project, db.url, WS_MAX_CLIENTS="3") as server:
            readers = [await StreamClient(server.ws).start() for _ in range(2)]
            stalled = stalled_websocket(server.port)  # counts too: it holds a connection
            try:
                await _eventually(lambda: server.metric("dashboard_connections") == 3, "three connections")
                refused = await StreamClient(server.ws).start(wait_for_hello=False)
                await refused.wait_closed()
                assert refused.close_code == 1013 and refused.hello is None
                assert refused.close_reason == "server full: 3 connections (WS_MAX_CLIENTS); retry later"
                assert server.metric("dashboard_connections_refused_total") == 1
                await readers[0].stop()
                await _eventually(lambda: server.metric("dashboard_connections") == 2, "the reader's place freed")
                admitted = await StreamClient(server.ws).start()
                await asyncio.to_thread(_order, db, "after-the-limit")
                for client in (readers[1], admitted):
                    await client.wait_for_keys({"after-the-limit"})
                assert server.metric("dashboard_connections_refused_total") == 1
                await admitted.stop()
                await readers[1].stop()
            finally:
                stalled.close()


@contextlib.asynccontextmanager
async def _a_replay_waiting_behind_a_stalled_one(
    project: Path, tmp_path: Path, prefix: str
) -> AsyncIterator[tuple[TestDatabase, BackendServer, StreamClient]]:
    """40 orders of 200 KB (pages of up to 4 MB), one replay slot, a replay from 0 by a client that never
    reads holding it, and a reader's replay from 0 waiting for it: yields the database, server and reader."""
    with temporary_database("postgresql", tmp_path) as db:
        _migrate(project, db)
        _big_orders(db, prefix, 40, 200_000)
        with BackendServer(project, db.url, WS_MAX_REPLAYS="1", CLIENT_SEND_TIMEOUT_S="4") as server:
            stalled = stalled_websocket(server.port, "/ws?after=0")
            try:
                # Replay bytes fill its receive buffer (the hello is a few hundred): its replay holds the slot.
                await _eventually(lambda: _unread_bytes(stalled) > 1024, "the stalled replay to start sending")
                reader = await StreamClient(server.ws).start(after=0)
                await _eventually(lambda: server.metric("dashboard_replays_waiting") == 1, "the reader to wait")
                yield db, server, reader
                await reader.stop()
            finally:
                stalled.close()


async def test_replays_wait_for_a_slot_and_a_stalled_one_gives_its_slot_up(tpch_project: Path, tmp_path: Path) -> None:
    """With one replay page in memory at a time, a replay whose client stops reading holds the slot
    only until it is closed as not reading; the replay queued behind it then runs, whole."""
    async with _a_replay_waiting_behind_a_stalled_one(tpch_project, tmp_path, "r") as (_, server, reader):
        await reader.wait_for_keys({f"r-{number:04d}" for number in range(40)})
        assert reader.order_keys() == [f"r-{number:04d}" for number in range(40)]
        assert server.metric("dashboard_slow_clients_not_reading_total") == 1
        assert server.metric("dashboard_replays_waiting") == 0


async def test_a_replay_that_waited_for_its_slot_tells_of_events_deleted_meanwhile(
    tpch_project: Path, tmp_path: Path
) -> None:
    """Retention in another backend (here: by hand) deletes the start of a page this replay already
    listed, while the replay waits for a slot: the client is told (reset, truncated), not skipped past them."""
    async with _a_replay_waiting_behind_a_stalled_one(tpch_project, tmp_path, "t") as (db, _, reader):
        ids = [int(row[0]) for row in db.query("SELECT id FROM db_events ORDER BY id")]
        db.execute(f"DELETE FROM db_events WHERE id <= {ids[9]}")
        await reader.wait_for_keys({f"t-{number:04d}" for number in range(10, 40)})
        assert [reset["reason"] for reset in reader.resets] == ["truncated"], reader.messages[:3]
        assert reader.resets[0]["oldest_event_id"] == ids[10]
        reset_at = reader.messages.index(reader.resets[0])
        assert all(message["type"] != "events" for message in reader.messages[:reset_at])


# -- finding 8: no message, page or response is the size of a transaction ---------------------------


async def test_a_large_transaction_is_split_into_bounded_messages(tpch_project: Path, stream_db: TestDatabase) -> None:
    count, size = 40, 200_000  # 8 MB in one transaction
    with BackendServer(tpch_project, stream_db.url) as server:
        live = await StreamClient(server.ws).start()
        first = live.hello["last_event_id"] if live.hello else 0
        await asyncio.to_thread(_big_orders, stream_db, "big", count, size)
        expected = {f"big-{n:04d}" for n in range(count)}
        await live.wait_for_keys(expected)
        event_messages = [s for s, m in zip(live.sizes, live.messages, strict=True) if m["type"] == "events"]
        assert len(event_messages) >= 7
        assert max(event_messages) <= MESSAGE_CHARS + size + 1000

        replay = await StreamClient(server.ws).start(after=first)
        await replay.wait_for_keys(expected)
        replayed = [s for s, m in zip(replay.sizes, replay.messages, strict=True) if m.get("replay")]
        assert len(replayed) >= 7 and max(replayed) <= MESSAGE_CHARS + size + 1000
        assert sorted(replay.order_keys()) == sorted(expected)

        request = urllib.request.Request(f"{server.http}/api/events?after={first}&limit=5000")
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.headers.get("Transfer-Encoding") == "chunked"  # streamed, not built whole
            assert response.headers.get("Content-Length") is None
            body = json.loads(response.read())
        assert [e["data"]["order_key"] for e in body["events"]] == sorted(expected)
        assert body["next_after"] is None
        for client in (live, replay):
            await client.stop()


def test_the_poller_reads_a_large_transaction_in_bounded_pages(tpch_project: Path, stream_db: TestDatabase) -> None:
    """Ten 100 KB rows committed at once, a 300 KB page budget: batches of at most three, all in order."""
    start = int(stream_db.query("SELECT COALESCE(MAX(id), 0) FROM db_events")[0][0])
    _big_orders(stream_db, "paged", 10, 100_000)
    script = (
        "import asyncio, json, sys\n"
        "from backend.db.database import Database\n"
        "from backend.db.url import parse_database_url\n"
        "from backend.stream.event_store import EventStore\n"
        "from backend.stream.poller import Poller\n"
        "async def main():\n"
        "    db = Database(parse_database_url(sys.argv[1]))\n"
        "    await db.connect()\n"
        "    batches = []\n"
        "    poller = Poller(EventStore(db), interval_s=0.05, page_size=1000, page_chars=300_000,\n"
        "                    publish=lambda events, resume_after: batches.append([e.id for e in events]))\n"
        f"    poller.cursor.high, poller.cursor.started = {start}, True\n"
        "    while await poller.poll_once():\n"
        "        pass\n"
        "    print(json.dumps(batches))\n"
        "    await db.disconnect()\n"
        "asyncio.run(main())\n"
    )
    result = run_in_project(tpch_project, "-c", script, stream_db.url)
    assert result.returncode == 0, result.stderr
    batches = json.loads(result.stdout)
    assert all(len(batch) <= 3 for batch in batches), batches
    flat = [event_id for batch in batches for event_id in batch]
    assert flat == list(range(start + 1, start + 11))


# -- finding 15: ids are ASCII digits within int64; no client message can crash a connection ----------

BAD_IDS = ["²", "١٢", "1_000", "+5", " 5", "5.0", "-1", "", "9223372036854775808", "9" * 5000]


async def test_after_accepts_ascii_digits_within_int64_only(tpch_project: Path, stream_db: TestDatabase) -> None:
    with BackendServer(tpch_project, stream_db.url) as server:
        for bad in BAD_IDS:
            for name in ("after", "before"):
                quoted = urllib.parse.quote(bad)
                try:
                    urllib.request.urlopen(f"{server.http}/api/events?{name}={quoted}", timeout=10)
                    status, body = 200, {}
                except urllib.error.HTTPError as error:
                    status, body = error.code, json.loads(error.read())
                assert status == 422, (name, bad, status)
                assert f"{name}=" in json.dumps(body["detail"]), body

            client = StreamClient(f"{server.ws}?after={urllib.parse.quote(bad)}")
            await client.start(wait_for_hello=False)
            await client.wait_closed()
            assert client.close_code == 1008, (bad, client.close_code, client.close_reason)
            assert [m["type"] for m in client.messages] == ["error"], (bad, client.messages)
            assert "after=" in client.messages[0]["message"]
        for repeated in ("after=1&after=2", "entities=Order&entities=Customer"):
            client = StreamClient(f"{server.ws}?{repeated}")
            await client.start(wait_for_hello=False)
            await client.wait_closed()
            name = repeated.split("=")[0]
            assert (client.close_code, client.close_reason) == (1008, f"{name} given more than once"), repeated
            assert [m["message"] for m in client.messages] == [f"{name} is given more than once"]
        largest = 2**63 - 1
        with urllib.request.urlopen(f"{server.http}/api/events?after={largest}", timeout=10) as response:
            assert json.loads(response.read()) == {"events": [], "next_after": None}
        assert "Traceback" not in server.log()


async def test_no_client_message_can_close_the_connection(tpch_project: Path, stream_db: TestDatabase) -> None:
    with BackendServer(tpch_project, stream_db.url) as server:
        client = await StreamClient(server.ws).start()
        for junk in (
            "[" * 100_000,
            '{"a":' * 50_000,
            '{"type":"ping","id":' + "[" * 800 + "]" * 800 + "}",
            '{"type":"ping","id":NaN}',
            '{"type":"ping","id":1e999}',
            '{"type":"ping","id":' + "9" * 4000 + "}",
            "\ud800".encode("utf-8", "surrogatepass"),
        ):
            await client.send(junk)
        await client.send('{"type":"ping","id":"last"}')
        _order(stream_db, "after-junk")
        await client.wait_for_keys({"after-junk"})
        assert client.close_code is None, (client.close_code, client.close_reason)
        pongs = [m for m in client.messages if m["type"] == "pong"]
        assert pongs[-1] == {"type": "pong", "id": "last"}
        assert all(p["id"] in (None, "last") for p in pongs), pongs  # unsafe ids are not echoed
        async with connect(server.ws) as raw:  # every frame the server sent was valid JSON
            assert json.loads(await raw.recv())["type"] == "hello"
        assert "Traceback" not in server.log()
        await client.stop()
