"""Issue 11, point 7: per-client subscriptions (``/ws?entities=…&types=…``).

A subscribed client gets exactly the committed events its subscription wants,
live and in a replay after ``?after=``, none twice, and a count of the others
(``unsent``); the hub encodes a batch once per distinct subscription. Real
uvicorn, real PostgreSQL / MariaDB / SQLite, concurrent writers with open
transactions (so gaps are filled out of id order).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

from backend.stream.event_store import Event
from backend.stream.hub import Hub
from backend.stream.subscription import EVERYTHING, Subscription

from tests.support.backend_server import BackendServer
from tests.support.databases import TestDatabase
from tests.support.frontend import browser_page
from tests.support.stream_client import StreamClient, assert_exactly_once_in_writer_order
from tests.support.writers import WriterPool

ORDER_INSERTS = "entities=Order&types=insert"


def _customer(db: TestDatabase, key: str) -> None:
    db.insert("customers", {"customer_key": key, "name": f"name {key}", "account_balance": 1.5})


def _unsent(client: StreamClient) -> Counter[tuple[str, str]]:
    """Every ``unsent`` count the client was sent, added up."""
    total: Counter[tuple[str, str]] = Counter()
    for message in client.messages:
        for entity, by_type in message.get("unsent", {}).items():
            for event_type, count in by_type.items():
                total[(entity, event_type)] += count
    return total


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


async def test_filtered_live_and_replay_are_exact(tpch_project: Path, stream_db: TestDatabase) -> None:
    db = stream_db
    with BackendServer(tpch_project, db.url) as server:
        everything = await StreamClient(server.ws).start()
        orders = [await StreamClient(f"{server.ws}?{ORDER_INSERTS}").start() for _ in range(2)]
        customers = await StreamClient(f"{server.ws}?entities=Customer").start()
        assert orders[0].hello is not None
        assert orders[0].hello["subscription"] == {"entities": ["Order"], "types": ["insert"]}
        assert server.metric("dashboard_subscriptions") == 3  # two clients share one
        start = everything.resume_after

        # Orders from concurrent writers (gaps filled out of id order), customers and an update around them.
        for number in range(3):
            _customer(db, f"C-{number}")
        pool = WriterPool(db, count=4).start()
        await asyncio.sleep(0.8)
        await asyncio.to_thread(pool.stop)
        for number in range(3, 6):
            _customer(db, f"C-{number}")
        first_order = db.query("SELECT MIN(id) FROM orders")[0][0]
        db.execute(f"UPDATE orders SET total_price = 99 WHERE id = {first_order}")
        committed = pool.committed
        for client in (everything, *orders):
            await client.wait_for_keys(set(committed))
        stored = [e for e in db.events() if e["id"] > start]
        await _until(lambda: set(everything.ids) >= {e["id"] for e in stored}, "every event on the unfiltered client")

        wanted = {e["id"] for e in stored if e["entity"] == "Order" and e["event_type"] == "insert"}
        for client in orders:
            assert_exactly_once_in_writer_order(client, committed)
            assert set(client.ids) == wanted
        want_customers = {e["id"] for e in stored if e["entity"] == "Customer"}
        await _until(lambda: set(customers.ids) == want_customers, "the Customer client's events")
        assert len(customers.ids) == len(want_customers) == 6
        # What was left out is counted, once: the page's statistics stay whole.
        others = Counter((e["entity"], e["event_type"]) for e in stored if e["id"] not in wanted)
        await _until(lambda: _unsent(orders[0]) == others, "the unsent counts")
        assert _unsent(everything) == Counter()

        # A filtered client resuming mid-way: every later event it wants, from the database, none twice.
        middle = sorted(wanted)[len(wanted) // 2]
        resumed = await StreamClient(f"{server.ws}?{ORDER_INSERTS}").start(after=middle)
        later = {i for i in wanted if i > middle}
        await _until(lambda: set(resumed.ids) == later, "the filtered replay")
        assert len(resumed.ids) == len(later)
        assert any(m.get("replay") for m in resumed.messages)
        skipped = Counter((e["entity"], e["event_type"]) for e in stored if e["id"] > middle and e["id"] not in wanted)
        await _until(lambda: _unsent(resumed) == skipped, "the replay's unsent counts")
        # ... then the live feed, filtered the same way.
        _customer(db, "C-late")
        db.insert(
            "orders",
            {
                "order_key": "w9-late",
                "customer_key": "C-1",
                "order_status": "O",
                "total_price": 1.0,
                "order_date": "2024-01-01",
            },
        )
        late_event = max(e["id"] for e in db.events() if e["entity"] == "Order")
        await _until(lambda: late_event in resumed.ids, "the live order after the replay")
        assert len(resumed.ids) == len(set(resumed.ids))
        assert {e["entity"] for e in resumed.events} == {"Order"}

        # /api/events filters as the stream does (a page backfills what it starts to show with it).
        head = max(e["id"] for e in stored)
        query = f"entities=Customer,Order&types=update&before={head + 1}&limit=5000"
        status, body = _get(f"{server.http}/api/events?{query}")
        assert status == 200
        assert [(e["entity"], e["event_type"]) for e in body["events"]] == [("Order", "update")]
        status, body = _get(f"{server.http}/api/events?entities=Customer&types=insert&before={head + 1}&limit=3")
        assert [e["id"] for e in body["events"]] == sorted(want_customers)[-3:]
        # The older spelling (history mode's, once) filters the same way; both spellings must agree.
        status, aliased = _get(f"{server.http}/api/events?entity=Customer&event_type=insert&before={head + 1}&limit=3")
        assert status == 200 and aliased == body
        status, body = _get(f"{server.http}/api/events?entities=Customer&entity=Order&before={head + 1}")
        assert status == 422 and "entities='Customer' and entity='Order' differ" in body["detail"], body
        for client in (everything, *orders, customers, resumed):
            await client.stop()
        assert "Traceback" not in server.log()


async def test_bad_subscriptions_are_refused_with_their_value(tpch_project: Path, sqlite_db: TestDatabase) -> None:
    with BackendServer(tpch_project, sqlite_db.url) as server:
        for query, named in (
            ("entities=Order,Nope", "'Nope'"),
            ("types=insert,upsert", "'upsert'"),
            ("entities=" + "Order," * 1100, "too long"),
            ("entities=" + "Ünïcödé" * 30, "'Ünïcödé"),
        ):
            client = StreamClient(f"{server.ws}?{urllib.parse.quote(query, safe='=&,')}")
            await client.start(wait_for_hello=False)
            await client.wait_closed()
            assert client.close_code == 1008, (query, client.close_code, client.close_reason)
            assert named in (client.close_reason or ""), (query, client.close_reason)
            assert [m["type"] for m in client.messages] == ["error"]
            assert named in client.messages[0]["message"]
            status, body = _get(f"{server.http}/api/events?{urllib.parse.quote(query, safe='=&,')}")
            assert status == 422 and named in body["detail"], (query, status, body)
        # An empty list is a valid subscription: nothing but control messages and counts.
        nothing = await StreamClient(f"{server.ws}?entities=").start()
        _customer(sqlite_db, "C-x")
        await _until(lambda: _unsent(nothing) == Counter({("Customer", "insert"): 1}), "the count of what was not sent")
        assert nothing.events == []
        await nothing.stop()
        assert "Traceback" not in server.log()


def _order(db: TestDatabase, key: str) -> None:
    row = {"order_key": key, "customer_key": "C-1", "order_status": "O", "total_price": 2.5, "order_date": "2024-05-01"}
    db.insert("orders", row)


def test_the_page_filter_narrows_the_socket_and_widening_backfills(
    tpch_project: Path, built_frontend: Path, sqlite_db: TestDatabase
) -> None:
    frames: list[tuple[str, str]] = []  # (socket URL, frame as text: a compressed one decompressed)

    def received(url: str, frame: str | bytes) -> None:
        frames.append((url, frame if isinstance(frame, str) else zlib.decompress(frame).decode()))

    with (
        BackendServer(tpch_project, sqlite_db.url, POLL_INTERVAL_MS="100") as server,
        browser_page(viewport={"width": 1400, "height": 1000}) as page,
    ):
        page.on("websocket", lambda ws: ws.on("framereceived", lambda frame: received(ws.url, frame)))
        page.goto(server.http + "/")
        live = page.get_by_test_id("connection-status").filter(has_text="Live")
        live.wait_for(timeout=10_000)

        def write(prefix: str) -> int:
            """Five orders and five customers, one at a time; the bytes of text the page's socket got meanwhile
            (before compression, which depends on how the events fell into batches)."""
            before = sum(len(frame.encode()) for _, frame in frames)
            for number in range(5):
                _order(sqlite_db, f"{prefix}-O{number}")
                _customer(sqlite_db, f"{prefix}-C{number}")
            page.get_by_test_id("table-Order").locator("tr", has_text=f"{prefix}-O4").wait_for(timeout=5000)
            page.wait_for_timeout(300)  # the last poll's messages
            return sum(len(frame.encode()) for _, frame in frames) - before

        everything = write("ALL")
        page.get_by_test_id("table-Customer").locator("tr", has_text="ALL-C4").wait_for(timeout=5000)
        # Hide Customer: the page reconnects asking for the other entities only.
        page.get_by_text("Customer", exact=False).locator("xpath=ancestor-or-self::label").first.click()
        page.get_by_test_id("table-Customer").wait_for(state="detached")
        _until_page(page, lambda: "entities=" in frames[-1][0], "the narrowed socket")
        narrowed_url = frames[-1][0]
        assert "Customer" not in urllib.parse.unquote(narrowed_url) and "after=" in narrowed_url
        narrowed = write("SOME")
        sent = [json.loads(frame) for url, frame in frames if url == narrowed_url]
        events = [event for message in sent if message["type"] == "events" for event in message["events"]]
        assert events and {event["entity"] for event in events} == {"Order"}
        unsent = sum(m.get("unsent", {}).get("Customer", {}).get("insert", 0) for m in sent)
        assert unsent == 5
        assert narrowed < everything, (narrowed, everything)
        # Show it again: the customers written while it was hidden are fetched (backfill), none twice.
        page.get_by_text("Customer", exact=False).locator("xpath=ancestor-or-self::label").first.click()
        table = page.get_by_test_id("table-Customer")
        table.locator("tr", has_text="SOME-C4").wait_for(timeout=5000)
        text = table.inner_text()
        assert all(text.count(f"name SOME-C{n}") == 1 for n in range(5)), text
        # The statistics counted every customer, shown or not.
        card = page.get_by_test_id("stats-Customer")
        deadline = time.monotonic() + 10
        while not re.search(r"Inserts\s*10\b", shown := card.inner_text()):
            assert time.monotonic() < deadline, shown
            page.wait_for_timeout(100)
    print(f"page socket bytes for 5 orders + 5 customers: all {everything}, Order only {narrowed}")


def _until_page(page: Any, predicate: Any, what: str, timeout: float = 10) -> None:
    """Waits through the page, so Playwright delivers its events (frames) meanwhile."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        page.wait_for_timeout(50)


def _event(event_id: int, entity: str, event_type: str = "insert") -> Event:
    return Event(event_id, entity, event_type, f'{{"id":{event_id}}}', None, "2024-01-01T00:00:00.000Z")


def test_a_batch_is_encoded_once_per_distinct_subscription() -> None:
    hub = Hub(1 << 20)
    orders = Subscription(frozenset({"Order"}), frozenset({"insert"}))
    clients = {name: hub.new_client() for name in ("all-1", "all-2", "orders-1", "orders-2", "orders-3")}
    for name, client in clients.items():
        client.subscription = EVERYTHING if name.startswith("all") else orders
        hub.register(client)
    batch = [_event(1, "Order"), _event(2, "Customer"), _event(3, "Order", "update"), _event(4, "Order")]
    hub.publish(batch, 4)
    assert hub.encodings == 2
    assert len(hub.groups) == 2
    # The very same strings go to every client of a group.
    order_messages = [clients[f"orders-{n}"].messages[0] for n in (1, 2, 3)]
    assert order_messages[0] is order_messages[1] is order_messages[2]
    assert clients["all-1"].messages[0] is clients["all-2"].messages[0]
    message = json.loads(order_messages[0])
    assert [e["id"] for e in message["events"]] == [1, 4]
    assert message["unsent"] == {"Customer": {"insert": 1}, "Order": {"update": 1}}
    assert message["resume_after"] == 4
    assert "unsent" not in json.loads(clients["all-1"].messages[0])
    # A group goes when its last client does; the rest are untouched.
    for n in (1, 2, 3):
        hub.unregister(clients[f"orders-{n}"])
    assert list(hub.groups) == [(EVERYTHING, False)]
    hub.publish([_event(5, "Customer")], 5)
    assert hub.encodings == 3


async def _until(predicate: Any, what: str, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
