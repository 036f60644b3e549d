"""``GET /api/rows/{entity}``: current rows encoded like the events, and an exact hand-off to the stream.

Real uvicorn, real PostgreSQL / MariaDB / SQLite. The hand-off test runs writers
that insert, update (the key included) and delete in transactions of random
length, some rolled back, while snapshots are taken; each snapshot plus the
stream events it does not reflect must end equal to the table, every event
applied exactly once.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.backend_server import BackendServer
from tests.support.databases import TestDatabase, temporary_database
from tests.support.events import events_with_old
from tests.support.frontend import browser_page, every_drawn_row, install_and_build
from tests.support.paths import FIXTURES
from tests.support.projects import generate, run_in_project
from tests.support.stream_client import StreamClient

SCHEMA = f"rows_{uuid.uuid4().hex[:10]}"
"""This run's schema (a MariaDB database is shared by everything on the server)."""


def _get(server: BackendServer, path: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(server.http + path, timeout=30) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), json.loads(error.read())


def _entities(project: Path) -> list[dict[str, Any]]:
    data = json.loads((project / "backend" / "generated" / "entities.json").read_text())
    return list(data["entities"])


def _sql(column: dict[str, Any]) -> str:
    return str(column.get("sql_name") or column["name"])


def _key(entity: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in entity["columns"] if c["primary_key"])


def _value(column: dict[str, Any], variant: int) -> Any:
    kind = column["type"]
    text = f"{variant}·Zoë 'q' \"d\" back\\slash 🚀"
    values: dict[str, Any] = {
        "string": text[: column["length"]] if column["length"] else text,
        "integer": 40 + variant,
        "float": 12.5 + variant,
        "boolean": variant % 2 == 0,
        "date": f"2024-02-{20 + variant:02d}",
        "datetime": f"2024-02-29 13:45:{10 + variant:02d}.25",
        "json": json.dumps({"nested": [1, 2.5, None, True], "v": variant, "ü": "🚀"}),
    }
    return values[kind]


def _table(db: TestDatabase, entity: dict[str, Any]) -> str:
    name = db.quote(entity["table"])
    return f"{db.quote(entity['schema'])}.{name}" if entity.get("schema") else name


def _write_each_kind_of_change(db: TestDatabase, entity: dict[str, Any]) -> None:
    """Three inserts, an update of every data column, a key change, a delete."""
    key = _key(entity)
    data = [c for c in entity["columns"] if not c["primary_key"]]
    table, mark = _table(db, entity), db.placeholder
    keys: list[Any] = []
    with db.connect() as conn:
        cursor = conn.cursor()
        for variant in (1, 2, 3):
            columns = data if key["autogenerate"] else [key, *data]
            values = [_value(c, variant) for c in data]
            if not key["autogenerate"]:
                values.insert(0, f"K-{variant}" if key["type"] == "string" else 1000 + variant)
            names = ", ".join(db.quote(_sql(c)) for c in columns)
            sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(mark for _ in columns)})"
            if db.dialect == "postgresql":
                cursor.execute(f"{sql} RETURNING {db.quote(_sql(key))}", values)
                keys.append(cursor.fetchone()[0])
            else:
                cursor.execute(sql, values)
                keys.append(cursor.lastrowid if key["autogenerate"] else values[0])
        where = f"WHERE {db.quote(_sql(key))} = {mark}"
        if data:
            assignments = ", ".join(f"{db.quote(_sql(c))} = {mark}" for c in data)
            cursor.execute(f"UPDATE {table} SET {assignments} {where}", [*(_value(c, 4) for c in data), keys[0]])
        moved = f"{keys[1]}-moved" if key["type"] == "string" else int(keys[1]) + 100_000
        cursor.execute(f"UPDATE {table} SET {db.quote(_sql(key))} = {mark} {where}", (moved, keys[1]))
        cursor.execute(f"DELETE FROM {table} {where}", (keys[2],))


def _replay(events: list[dict[str, Any]], entity: dict[str, Any]) -> dict[Any, dict[str, Any]]:
    """The rows as the events of ``entity`` leave them: key -> the latest event's data."""
    key = _key(entity)["name"]
    rows: dict[Any, dict[str, Any]] = {}
    for event in events:
        if event["entity"] != entity["name"]:
            continue
        data = event["payload"]
        if event["event_type"] == "delete":
            rows.pop(data[key], None)
            continue
        old = event.get("old_values") or {}
        if key in old:
            rows.pop(old[key], None)
        rows[data[key]] = data
    return rows


def _assert_rows_equal_latest_events(project: Path, db: TestDatabase) -> None:
    entities = _entities(project)
    for entity in entities:
        _write_each_kind_of_change(db, entity)
    events = events_with_old(db)
    with BackendServer(project, db.url) as server:
        for entity in entities:
            status, body = _get(server, f"/api/rows/{entity['name']}?limit=1000")
            assert status == 200, body
            key = _key(entity)["name"]
            expected = _replay(events, entity)
            assert len(expected) == 2
            assert {row[key]: row for row in body["rows"]} == expected, entity["name"]
            # Newest first by key, and the page reflects every event written.
            assert [row[key] for row in body["rows"]] == sorted(expected, reverse=True)
            assert body["key"] == key and body["next_after_key"] is None
            assert body["last_event_id"] == events[-1]["id"] and body["pending_event_ids"] == []


@pytest.fixture(scope="module")
def loose_rows_project(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One entity with every model type."""
    return generate(template_repo, tmp_path_factory.mktemp("loose-rows") / "project", FIXTURES / "loose_types")


@pytest.fixture(scope="module")
def staging_rows_project(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A table in another schema with a String key and camelCase fields stored as snake_case columns
    (and a bare table beside it)."""
    entities = tmp_path_factory.mktemp("staging-rows") / "entities"
    entities.mkdir()
    for path in (FIXTURES / "staging_legacy").iterdir():
        (entities / path.name).write_text(path.read_text().replace("staging.", f"{SCHEMA}."))
    (entities / "dashboard.yaml").write_text("dashboard:\n  column_names: snake_case\n")
    return generate(template_repo, entities.parent / "project", entities)


@contextmanager
def _migrated(project: Path, dialect: str, directory: Path) -> Iterator[TestDatabase]:
    with temporary_database(dialect, directory) as db:
        try:
            result = run_in_project(
                project, "-m", "backend.migrate", "--create-entity-tables", env={"DATABASE_URL": db.url}
            )
            assert result.returncode == 0, result.stderr
            yield db
        finally:
            if dialect == "mariadb":
                db.execute(f"DROP DATABASE IF EXISTS `{SCHEMA}`")


@pytest.mark.parametrize("dialect", ["postgresql", "mariadb", "sqlite"])
def test_a_row_read_equals_its_latest_event_for_every_type(
    loose_rows_project: Path, dialect: str, tmp_path: Path
) -> None:
    with _migrated(loose_rows_project, dialect, tmp_path) as db:
        _assert_rows_equal_latest_events(loose_rows_project, db)


@pytest.mark.parametrize("dialect", ["postgresql", "mariadb"])
def test_a_row_read_equals_its_latest_event_in_another_schema_with_other_spellings(
    staging_rows_project: Path, dialect: str, tmp_path: Path
) -> None:
    with _migrated(staging_rows_project, dialect, tmp_path) as db:
        _assert_rows_equal_latest_events(staging_rows_project, db)
        # What the page shows of it: the table with its schema, and its events under the field names.
        with BackendServer(staging_rows_project, db.url) as server:
            status, body = _get(server, "/api/entities")
            assert status == 200, body
            assert {e["name"]: e["table"] for e in body["entities"]} == {
                "StagingOrder": f"{SCHEMA}.orders",
                "PlainOrder": "orders",
            }
            status, body = _get(server, "/api/events?after=0&limit=100&entity=StagingOrder")
            assert status == 200, body
            staged = [event for event in body["events"] if event["entity"] == "StagingOrder"]
            assert [event["event_type"] for event in staged] == ["insert"] * 3 + ["update"] * 2 + ["delete"]
            assert staged[-2]["changed"] == ["orderCode"] and "customerName" in staged[0]["data"]
            # PostgreSQL's text holds no NUL and refuses one in a parameter: the key is refused as
            # the bad value it is (400 naming after_key), not read into a 503. MariaDB's text may hold one.
            status, body = _get(server, "/api/rows/StagingOrder?after_key=K-2%00")
            if dialect == "postgresql":
                assert status == 400 and body["detail"].startswith("after_key='K-2\\x00' contains a NUL"), body
            else:
                assert status == 200 and body["rows"] and body["next_after_key"] is None, body


@pytest.fixture(scope="module")
def time_keys_project(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Entities keyed by a Date and by a DateTime."""
    return generate(template_repo, tmp_path_factory.mktemp("time-keys") / "project", FIXTURES / "time_keys")


@pytest.mark.parametrize("dialect", ["postgresql", "mariadb", "sqlite"])
def test_rows_keyed_by_a_date_or_a_time_page_by_it(time_keys_project: Path, dialect: str, tmp_path: Path) -> None:
    """Every page's next_after_key leads to the next page (PostgreSQL's driver wants a date or a datetime
    for such a key, not the text of the cursor: that was a 503), and a key that is no date is named."""
    keys = {
        "DailyTotal": ("daily_totals", "day", ["2024-05-01", "2024-05-02", "2024-05-03"]),
        "Tick": ("ticks", "at", ["2024-05-01 10:00:00", "2024-05-01 10:00:01", "2024-05-02 09:30:00"]),
    }
    with _migrated(time_keys_project, dialect, tmp_path) as db:
        for table, column, values in keys.values():
            for value in values:
                db.execute(f"INSERT INTO {table} ({column}) VALUES ({db.placeholder})", (value,))
        with BackendServer(time_keys_project, db.url) as server:
            for entity, (_, column, values) in keys.items():
                seen: list[str] = []
                path = f"/api/rows/{entity}?limit=1"
                for _ in range(len(values) + 1):
                    status, body = _get(server, path)
                    assert status == 200, body
                    seen += [str(row[column]) for row in body["rows"]]
                    if body["next_after_key"] is None:
                        break
                    path = f"/api/rows/{entity}?limit=1&after_key={urllib.parse.quote(body['next_after_key'])}"
                assert len(seen) == len(values) and seen == sorted(seen, reverse=True), (entity, seen)
                assert [value[:10] for value in seen] == [value[:10] for value in reversed(values)], seen
            if dialect == "postgresql":
                status, body = _get(server, "/api/rows/DailyTotal?after_key=yesterday")
                assert status == 400 and body["detail"] == (
                    "after_key='yesterday' is not a date (YYYY-MM-DD) of the key 'day'"
                ), body
                status, body = _get(server, "/api/rows/Tick?after_key=2024-13-01")
                assert status == 400 and "is not a date and time (ISO 8601) of the key 'at'" in body["detail"], body
                # The entity tables keep a DateTime without time zone: an offset is refused, not a 503.
                status, body = _get(server, "/api/rows/Tick?after_key=2024-05-02T09:30:00%2B02:00")
                assert status == 400 and body["detail"] == (
                    "after_key='2024-05-02T09:30:00+02:00' has a UTC offset, but the key 'at' has no time zone"
                ), body


def _customer(db: TestDatabase, number: int, comment: str) -> None:
    db.insert("customers", {"customer_key": f"C-{number}", "name": "n", "account_balance": 1.5, "comment": comment})


def test_pages_errors_and_bounds(tpch_project: Path, sqlite_db: TestDatabase) -> None:
    for number in range(25):
        _customer(sqlite_db, number, "x" * 2000)
    with BackendServer(tpch_project, sqlite_db.url) as server:
        seen: list[int] = []
        after = ""
        while True:
            status, body = _get(server, f"/api/rows/Customer?limit=10{after}")
            assert status == 200, body
            seen.extend(row["id"] for row in body["rows"])
            if body["next_after_key"] is None:
                break
            after = f"&after_key={body['next_after_key']}"
        assert seen == list(range(25, 0, -1))  # each row once, newest key first
        status, body = _get(server, "/api/rows/Customer?limit=100000")
        assert status == 200 and len(body["rows"]) == 25

        status, body = _get(server, "/api/rows/Nope")
        assert status == 404 and body["detail"].startswith("unknown entity 'Nope' (known: Customer")
        for query, problem in [
            ("limit=0", "limit='0' is not a number of rows from 1 to 100000"),
            ("limit=100001", "limit='100001' is not a number"),
            ("limit=ten", "limit='ten' is not a number"),
            ("after_key=abc", "after_key='abc' is not a value of the integer key 'id'"),
            ("after_key=1.5", "after_key='1.5' is not a value"),
        ]:
            status, body = _get(server, f"/api/rows/Customer?{query}")
            assert status == 400 and body["detail"].startswith(problem), (query, body)


def test_a_page_is_bounded_in_characters(tpch_project: Path, sqlite_db: TestDatabase) -> None:
    big = "x" * 1_000_000
    for number in range(6):
        _customer(sqlite_db, number, big)
    with BackendServer(tpch_project, sqlite_db.url) as server:
        status, body = _get(server, "/api/rows/Customer?limit=100")
        assert status == 200
        assert [row["id"] for row in body["rows"]] == [6, 5, 4, 3]  # about 4 MB of rows
        assert body["next_after_key"] == "3"


# -- the hand-off under concurrent writers ---------------------------------------------


@dataclass
class ChangingWriters:
    """Threads inserting, updating (the key too) and deleting orders, each on its own rows,
    in transactions of random length; some roll back."""

    db: TestDatabase
    count: int = 6
    pause_s: float = 0.0
    """Between transactions (the page's test keeps the table below what the view holds)."""
    errors: list[BaseException] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> ChangingWriters:
        for number in range(self.count):
            thread = threading.Thread(target=self._run, args=(number,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        if self.errors:
            raise self.errors[0]

    def _run(self, number: int) -> None:
        rng = random.Random(number)
        mine: list[int] = []
        moved = 0
        try:
            with self.db.connect() as conn:
                cursor = conn.cursor()
                if self.db.dialect == "sqlite":
                    cursor.execute("PRAGMA busy_timeout = 30000")
                while not self._stop.is_set():
                    cursor.execute("BEGIN IMMEDIATE" if self.db.dialect == "sqlite" else "BEGIN")
                    kept = list(mine)
                    for _ in range(rng.randint(1, 3)):
                        moved = self._change(cursor, rng, kept, number, moved)
                        time.sleep(rng.random() * (0.4 if rng.random() < 0.03 else 0.02))
                    if rng.random() < 0.1:
                        cursor.execute("ROLLBACK")
                    else:
                        cursor.execute("COMMIT")
                        mine = kept
                    time.sleep(self.pause_s)
        except BaseException as error:  # noqa: BLE001 - reported by stop()
            self.errors.append(error)

    def _change(self, cursor: Any, rng: random.Random, mine: list[int], number: int, moved: int) -> int:
        mark = self.db.placeholder
        choice = rng.random()
        if len(mine) < 3 or choice < 0.45:
            sql = (
                "INSERT INTO orders (order_key, customer_key, order_status, total_price, order_date) "
                f"VALUES ({mark}, 'C-1', 'O', {mark}, '2024-01-01')"
            )
            values = (f"w{number}-{rng.random()}", rng.randint(1, 999) + 0.5)
            if self.db.dialect == "postgresql":
                cursor.execute(sql + " RETURNING id", values)
                mine.append(int(cursor.fetchone()[0]))
            else:
                cursor.execute(sql, values)
                mine.append(int(cursor.lastrowid))
            return moved
        row = mine.pop(rng.randrange(len(mine)))
        if choice < 0.75:
            cursor.execute(f"UPDATE orders SET total_price = {mark} WHERE id = {mark}", (rng.randint(1, 999), row))
            mine.append(row)
        elif choice < 0.85:
            # A key change, to a key no generated id takes: the row moves.
            moved += 1
            new_key = -(number * 1_000_000 + moved)
            cursor.execute(f"UPDATE orders SET id = {mark} WHERE id = {mark}", (new_key, row))
            mine.append(new_key)
        else:
            cursor.execute(f"DELETE FROM orders WHERE id = {mark}", (row,))
        return moved


def _apply(rows: dict[int, dict[str, Any]], event: dict[str, Any]) -> None:
    """What the page does with an event of the entity it shows (lib/currentRows.ts)."""
    data = event["data"]
    if event["event_type"] == "delete":
        rows.pop(data["id"], None)
        return
    old = event.get("old") or {}
    if "id" in old:
        rows.pop(old["id"], None)
    rows[data["id"]] = data


async def test_the_hand_off_misses_nothing_and_applies_nothing_twice(
    tpch_project: Path, stream_db: TestDatabase
) -> None:
    with BackendServer(tpch_project, stream_db.url) as server:
        client = await StreamClient(server.ws).start()  # listening before any snapshot is taken
        writers = ChangingWriters(stream_db).start()
        snapshots: list[dict[str, Any]] = []
        try:
            for _ in range(8):
                await asyncio.sleep(0.4)
                status, body = await asyncio.to_thread(_get, server, "/api/rows/Order?limit=100000")
                assert status == 200, body
                snapshots.append(body)
        finally:
            await asyncio.to_thread(writers.stop)
        head = stream_db.query("SELECT MAX(id) FROM db_events")[0][0]
        deadline = time.monotonic() + 30
        while not any(event["id"] == head for event in client.events) or server.metric("dashboard_open_gaps") > 0:
            assert time.monotonic() < deadline, "the stream did not catch up with the writers"
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        await client.stop()

    table = {int(row[0]) for row in stream_db.query("SELECT id FROM orders")}
    prices = {int(row[0]): float(row[1]) for row in stream_db.query("SELECT id, total_price FROM orders")}
    orders = [event for event in client.events if event["entity"] == "Order"]
    committed = {event["id"] for event in events_with_old(stream_db) if event["entity"] == "Order"}
    assert {event["id"] for event in orders} == committed and len(orders) == len(committed)
    applied_below_head = 0
    for snapshot in snapshots:
        last, pending = snapshot["last_event_id"], snapshot["pending_event_ids"]
        rows = {row["id"]: row for row in snapshot["rows"]}
        applied: list[int] = []
        for event in orders:
            in_flight = any(low <= event["id"] <= high for low, high in pending)
            if event["id"] > last or in_flight:
                _apply(rows, event)
                applied.append(event["id"])
                applied_below_head += in_flight
        assert len(applied) == len(set(applied))
        assert set(rows) == table
        assert {key: float(row["total_price"]) for key, row in rows.items()} == prices
    assert len(table) > 20 and any(key < 0 for key in table), "the writers moved no key"
    if stream_db.dialect != "sqlite":
        # Events committed after a snapshot with ids below its head: "after id M" alone would miss them.
        assert applied_below_head > 0


# -- the page (Chromium) -----------------------------------------------------------------

ROWS_JS = """() => Array.from(document.querySelectorAll(
    '[data-testid=rows-Order] tbody tr[data-row-key]:not([data-deleted])'
)).map((tr) => [Number(tr.dataset.rowKey), tr.children[4].firstElementChild.innerText])"""
"""(key, total_price as shown) of the rows the Order view shows (columns: id, then the display fields)."""


@pytest.fixture(scope="session")
def built_tpch(tpch_project: Path) -> Path:
    frontend = tpch_project / "frontend"
    if not (frontend / "dist" / "index.html").exists():
        install_and_build(frontend)
    return tpch_project


@pytest.fixture
def rows_page(built_tpch: Path, stream_db: TestDatabase) -> Iterator[tuple[Any, BackendServer]]:
    server = BackendServer(built_tpch, stream_db.url, POLL_INTERVAL_MS="100").start()
    try:
        with browser_page(viewport={"width": 1400, "height": 1000}) as page:
            yield page, server
    finally:
        server.stop()


def _open_rows(page: Any, server: BackendServer) -> None:
    page.goto(server.http + "/")
    page.get_by_test_id("connection-status").filter(has_text="Live").wait_for(timeout=10_000)
    switch = page.get_by_test_id("view-Order-rows")
    if switch.get_attribute("aria-pressed") != "true":
        switch.focus()  # keyboard: the switch is a button
        page.keyboard.press("Enter")
    page.get_by_test_id("rows-Order").wait_for(timeout=5000)


def _count(page: Any) -> str:
    return str(page.get_by_test_id("rows-Order-count").inner_text())


def _order_row(db: TestDatabase, key: str, price: float) -> int:
    return db.insert(
        "orders",
        {
            "order_key": key,
            "customer_key": "C-1",
            "order_status": "O",
            "total_price": price,
            "order_date": "2024-05-01",
        },
    )


def test_the_page_follows_inserts_updates_key_changes_and_deletes(
    rows_page: tuple[Any, BackendServer], stream_db: TestDatabase
) -> None:
    page, server = rows_page
    first = [_order_row(stream_db, f"BEFORE-{n}", 10.0 + n) for n in range(3)]
    _open_rows(page, server)
    page.wait_for_function("() => document.querySelector('[data-testid=rows-Order-count]').innerText === '3 rows'")
    table = page.get_by_test_id("rows-Order")

    new = _order_row(stream_db, "E2E-NEW", 20.5)
    table.locator(f"tr[data-row-key='{new}']").wait_for(timeout=3000)
    assert _count(page) == "4 rows"
    assert page.evaluate(ROWS_JS)[0][0] == new  # newest key on top

    stream_db.execute(f"UPDATE orders SET total_price = 99.25 WHERE id = {new}")
    changed = table.locator(f"tr[data-row-key='{new}'] td[data-old]")
    changed.wait_for(timeout=3000)
    assert changed.get_attribute("title") == "was: 20.50" and "99.25" in changed.inner_text()
    assert changed.locator(".cell-changed").count() == 1

    stream_db.execute(f"UPDATE orders SET id = 7777 WHERE id = {first[0]}")  # the key changes: the row moves
    table.locator("tr[data-row-key='7777']").wait_for(timeout=3000)
    table.locator(f"tr[data-row-key='{first[0]}']").wait_for(state="detached", timeout=3000)
    assert page.evaluate(ROWS_JS)[0][0] == 7777 and _count(page) == "4 rows"

    stream_db.execute(f"DELETE FROM orders WHERE id = {first[1]}")
    table.locator(f"tr[data-row-key='{first[1]}'][data-deleted]").wait_for(timeout=3000)  # struck through
    page.wait_for_function("() => document.querySelector('[data-testid=rows-Order-count]').innerText === '3 rows'")
    table.locator(f"tr[data-row-key='{first[1]}']").wait_for(state="detached", timeout=5000)

    # Enter on a row opens its detail with every column; Escape closes it and focus returns to the row.
    row = table.locator("tr[data-row-key='7777']")
    row.focus()
    page.keyboard.press("Enter")
    detail = page.get_by_test_id("row-detail")
    detail.wait_for(timeout=2000)
    shown = detail.get_by_test_id("row-detail-columns").locator("th span.font-mono").all_inner_texts()
    assert {"id", "order_key", "clerk", "comment"} <= set(shown), shown  # not only the display fields
    page.keyboard.press("Escape")
    detail.wait_for(state="detached", timeout=2000)
    assert page.evaluate("() => document.activeElement.getAttribute('data-row-key')") == "7777"

    # The view is remembered across a reload, and the snapshot shows what the events did.
    page.reload()
    page.get_by_test_id("rows-Order").wait_for(timeout=10_000)
    page.wait_for_function("() => document.querySelector('[data-testid=rows-Order-count]').innerText === '3 rows'")
    assert [key for key, _ in page.evaluate(ROWS_JS)] == [7777, new, first[2]]
    page.get_by_test_id("view-Order-events").click()
    page.get_by_test_id("table-Order").wait_for(timeout=3000)


def test_the_page_hands_off_exactly_under_concurrent_writers(
    rows_page: tuple[Any, BackendServer], stream_db: TestDatabase
) -> None:
    page, server = rows_page
    for n in range(20):
        _order_row(stream_db, f"SEED-{n}", 1.0)
    page.goto(server.http + "/")
    page.get_by_test_id("connection-status").filter(has_text="Live").wait_for(timeout=10_000)
    writers = ChangingWriters(stream_db, count=4, pause_s=0.1).start()
    try:
        for _ in range(3):  # snapshots taken while the writers write
            page.wait_for_timeout(400)
            page.get_by_test_id("view-Order-rows").click()
            page.get_by_test_id("rows-Order").wait_for(timeout=5000)
            page.wait_for_function(
                "() => /^[0-9]+ rows$/.test(document.querySelector('[data-testid=rows-Order-count]').innerText)"
            )
            page.wait_for_timeout(300)
            page.get_by_test_id("view-Order-events").click()
        page.get_by_test_id("view-Order-rows").click()
        page.wait_for_timeout(600)
    finally:
        writers.stop()
    expected = {int(key): float(price) for key, price in stream_db.query("SELECT id, total_price FROM orders")}
    assert len(expected) < 500, "more rows than the view keeps: the comparison below assumes all are held"
    page.wait_for_function(
        f"() => document.querySelector('[data-testid=rows-Order-count]').innerText === '{len(expected)} rows'",
        timeout=15_000,
    )
    assert _every_row(page) == expected


def _every_row(page: Any) -> dict[int, float]:
    """(key, price) of every row the Order view holds (it draws the rows in view)."""

    def drawn() -> list[tuple[int, float]]:
        return [(key, float(price.replace(",", ""))) for key, price in page.evaluate(ROWS_JS)]

    return dict(every_drawn_row(page, "rows-Order", drawn))
