"""Compressed ``events`` messages (``/ws?compression=deflate``).

A client that asks gets the very same stream, with large ``events`` messages
as binary frames of zlib-compressed JSON (each batch compressed once for all
clients that get the same messages) and everything else as text. Real uvicorn,
real PostgreSQL / MariaDB / SQLite, concurrent writers.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backend.stream.compression import MIN_COMPRESSED_CHARS
from backend.stream.event_store import Event
from backend.stream.hub import Hub
from backend.stream.subscription import EVERYTHING, Subscription

from tests.support.backend_server import BackendServer
from tests.support.databases import TestDatabase
from tests.support.frontend import browser_page
from tests.support.stream_client import StreamClient, assert_exactly_once_in_writer_order
from tests.support.writers import WriterPool

COMPRESSED = "compression=deflate"


async def _until(predicate: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def _metric(server: BackendServer, name: str) -> float:
    return server.metric(f"dashboard_{name}_total")


async def test_a_compressed_stream_is_the_same_stream_in_fewer_bytes(
    tpch_project: Path, stream_db: TestDatabase
) -> None:
    db = stream_db
    with BackendServer(tpch_project, db.url) as server:
        plain = await StreamClient(server.ws).start()
        packed = await StreamClient(f"{server.ws}?{COMPRESSED}").start()
        packed_orders = await StreamClient(f"{server.ws}?{COMPRESSED}&entities=Order").start()
        assert plain.hello is not None and "compression" not in plain.hello
        assert packed.hello is not None and packed.hello["compression"] == "deflate"
        counts = ("batches_published", "batch_encodings", "batch_compressions")
        before = {name: _metric(server, name) for name in counts}

        pool = WriterPool(db, count=4).start()
        await asyncio.sleep(1.0)
        await asyncio.to_thread(pool.stop)
        committed = pool.committed
        for client in (plain, packed, packed_orders):
            await client.wait_for_keys(set(committed))
        assert_exactly_once_in_writer_order(packed, committed)
        await _until(lambda: packed.ids == plain.ids, "the same events on both")
        assert packed.events == plain.events  # every field, decoded, in the same order
        assert packed_orders.order_keys() == packed.order_keys()

        # Large events messages came compressed, nothing else did; the plain client got text only.
        assert packed.binary, "no events message was large enough to be compressed"
        assert {packed.messages[i]["type"] for i in packed.binary} == {"events"}
        assert plain.binary == []
        assert sum(packed.sizes) < sum(plain.sizes), (sum(packed.sizes), sum(plain.sizes))
        compressed_bytes = sum(packed.sizes[i] for i in packed.binary)
        as_text = sum(len(json.dumps(packed.messages[i], separators=(",", ":"))) for i in packed.binary)
        assert compressed_bytes * 3 < as_text, (compressed_bytes, as_text)
        # Once per batch and subscription, however many clients: two compressed groups, two subscriptions.
        delta = {name: _metric(server, name) - before[name] for name in counts}
        assert delta["batch_compressions"] == delta["batch_encodings"] == 2 * delta["batches_published"], delta

        # A small batch stays a text frame.
        db.insert("customers", {"customer_key": "C-small", "name": "small", "account_balance": 1.0})
        await _until(lambda: any(e["data"].get("customer_key") == "C-small" for e in packed.events), "one customer")
        last = len(packed.messages) - 1
        assert packed.sizes[last] < MIN_COMPRESSED_CHARS and last not in packed.binary

        # A replay after ?after= is compressed too, and exact.
        middle = plain.ids[len(plain.ids) // 3]
        resumed = await StreamClient(f"{server.ws}?{COMPRESSED}").start(after=middle)
        later = {i for i in plain.ids if i > middle}
        await _until(lambda: set(resumed.ids) == later, "the replay")
        assert len(resumed.ids) == len(later)
        assert any(resumed.messages[i].get("replay") for i in resumed.binary)
        for client in (plain, packed, packed_orders, resumed):
            await client.stop()
        assert "Traceback" not in server.log()


async def test_an_unknown_compression_is_refused_with_its_name(tpch_project: Path, sqlite_db: TestDatabase) -> None:
    with BackendServer(tpch_project, sqlite_db.url) as server:
        for value in ("gzip", "DEFLATE", "", "x" * 300):
            client = StreamClient(f"{server.ws}?compression={value}")
            await client.start(wait_for_hello=False)
            await client.wait_closed()
            assert client.close_code == 1008, (value, client.close_code)
            named = repr(value[:40])
            assert named[:30] in (client.close_reason or ""), (value, client.close_reason)
            assert [m["type"] for m in client.messages] == ["error"]
            assert "supported: deflate" in client.messages[0]["message"]
        assert "Traceback" not in server.log()


def _event(event_id: int, entity: str, padding: int) -> Event:
    return Event(event_id, entity, "insert", json.dumps({"id": event_id, "note": "x" * padding}), None, "2024-01-01")


def test_a_batch_is_compressed_once_per_subscription_and_shared() -> None:
    hub = Hub(1 << 20)
    orders = Subscription(frozenset({"Order"}), None)
    plain, packed_1, packed_2, packed_orders = (hub.new_client() for _ in range(4))
    for client, subscription, compression in (
        (plain, EVERYTHING, False),
        (packed_1, EVERYTHING, True),
        (packed_2, EVERYTHING, True),
        (packed_orders, orders, True),
    ):
        client.subscription, client.compression = subscription, compression
        hub.register(client)
    hub.publish([_event(1, "Order", 2000), _event(2, "Customer", 2000)], 2)
    assert (hub.encodings, hub.compressions) == (2, 2)
    text, data = plain.messages[0], packed_1.messages[0]
    assert isinstance(text, str) and isinstance(data, bytes)
    assert data is packed_2.messages[0]  # the same bytes object for the whole group
    assert zlib.decompress(data).decode() == text
    only_orders = packed_orders.messages[0]
    assert isinstance(only_orders, bytes)
    assert [e["id"] for e in json.loads(zlib.decompress(only_orders))["events"]] == [1]
    # Small messages are not worth it: text for everyone.
    hub.publish([_event(3, "Order", 10)], 3)
    assert isinstance(packed_1.messages[1], str) and packed_1.messages[1] == plain.messages[1]


async def test_an_idle_client_gets_heartbeats_at_the_set_interval(tpch_project: Path, sqlite_db: TestDatabase) -> None:
    """The hub's watchdog, not a timer per client: heartbeats carry the resume point, and only idle clients get them."""
    with BackendServer(tpch_project, sqlite_db.url, WS_HEARTBEAT_S="1") as server:
        client = await StreamClient(f"{server.ws}?{COMPRESSED}").start()
        started = asyncio.get_running_loop().time()
        await _until(lambda: sum(m["type"] == "heartbeat" for m in client.messages) >= 2, "two heartbeats", 10)
        assert asyncio.get_running_loop().time() - started >= 1.0
        sqlite_db.insert("customers", {"customer_key": "C-beat", "name": "beat", "account_balance": 1.0})
        await _until(lambda: len(client.events) == 1, "the customer")
        await _until(lambda: client.messages[-1]["type"] == "heartbeat", "a heartbeat after the event", 10)
        beat = client.messages[-1]
        assert beat["last_event_id"] == beat["resume_after"] == client.events[0]["id"]
        await client.stop()
        assert "Traceback" not in server.log()


def test_the_page_reads_a_compressed_batch_in_chromium(
    tpch_project: Path, built_frontend: Path, sqlite_db: TestDatabase
) -> None:
    """The page asks for compression and its DecompressionStream path shows a batch the server compressed."""
    binary: list[bytes] = []
    with (
        BackendServer(tpch_project, sqlite_db.url, POLL_INTERVAL_MS="100") as server,
        browser_page(viewport={"width": 1400, "height": 1000}) as page,
    ):
        sockets: list[str] = []

        def watch(ws: Any) -> None:
            sockets.append(ws.url)
            ws.on("framereceived", lambda frame: binary.append(frame) if isinstance(frame, bytes) else None)

        page.on("websocket", watch)
        page.goto(server.http + "/")
        page.get_by_test_id("connection-status").filter(has_text="Live").wait_for(timeout=10_000)
        assert sockets and "compression=deflate" in sockets[0], sockets
        values = ", ".join(f"('Z-{n:02d}', 'C-1', 'O', {n}.5, '2024-05-01')" for n in range(40))
        sqlite_db.execute(  # one transaction: one batch, far over the size that is compressed
            f"INSERT INTO orders (order_key, customer_key, order_status, total_price, order_date) VALUES {values}"
        )
        table = page.get_by_test_id("table-Order")
        table.locator("tr", has_text="Z-39").wait_for(timeout=10_000)
        # The table draws only the rows in view; the statistics count every event of the batch.
        card = page.get_by_test_id("stats-Order")
        deadline = time.monotonic() + 10
        while not re.search(r"Inserts\s*40\b", shown := card.inner_text()):
            assert time.monotonic() < deadline, shown
            page.wait_for_timeout(100)
    assert binary, "the server sent no compressed frame"
    keys = {event["data"]["order_key"] for frame in binary for event in json.loads(zlib.decompress(frame))["events"]}
    assert {f"Z-{n:02d}" for n in range(40)} <= keys
