"""History API (issue 13): time ranges, filters, exact keyset paging, histogram, retention bounds, plans.

On a real backend per database, over events whose ``created_at`` this test lays
out itself: equal instants and instants out of id order, so paging by
``(created_at, id)`` is checked where paging by either alone would be wrong.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import pytest

from bench.history_fill import fill_events
from tests.support.backend_server import BackendServer
from tests.support.databases import TestDatabase, temporary_database
from tests.support.projects import run_in_project
from tests.test_backend_api import get

PRODUCT_NAMES = ("bolt", "nut 50% off", "nut 50 off", "a_b", "axb", "Washer", "pin", "gear", "cam", "rod")


def _stamp_sql(dialect: str, moment: datetime) -> str:
    """``moment`` as a literal the dialect stores in ``created_at`` (milliseconds, as SQLite keeps them)."""
    if dialect == "sqlite":
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    if dialect == "postgresql":
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f+00")
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")  # MariaDB: the session below runs in UTC


def _database_now(db: TestDatabase) -> datetime:
    sql = {"postgresql": "SELECT now()", "sqlite": "SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"}
    value = db.query(sql.get(db.dialect, "SELECT UTC_TIMESTAMP(6)"))[0][0]
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert isinstance(value, datetime)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _lay_out(db: TestDatabase, stamps: dict[int, datetime]) -> None:
    with db.connect() as conn:
        cursor = conn.cursor()
        if db.dialect not in ("postgresql", "sqlite"):
            cursor.execute("SET time_zone = '+00:00'")
        for event_id, moment in stamps.items():
            cursor.execute(
                f"UPDATE db_events SET created_at = '{_stamp_sql(db.dialect, moment)}' WHERE id = {event_id}"
            )


def _query(path: str, **params: Any) -> str:
    return path + "?" + urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _walk(server: BackendServer, first: dict[str, Any], key: str) -> tuple[list[int], int]:
    """Every id from ``first``'s query on, following ``key`` (older or newer); and the number of pages."""
    ids: list[int] = []
    params = dict(first)
    pages = 0
    while True:
        status, body, _ = get(server, _query("/api/events", **params))
        assert status == 200, body
        pages += 1
        ids += [event["id"] for event in body["events"]]
        if body[key] is None:
            return ids, pages
        assert pages < 100
        params = {k: v for k, v in first.items() if k not in ("order",)} | {"cursor": body[key]}


def _error(server: BackendServer, **params: Any) -> str:
    status, body, _ = get(server, _query("/api/events", **params))
    assert status == 422, (params, status, body)
    return str(body["detail"])


def test_history_api(tpch_project: Path, stream_db: TestDatabase) -> None:
    db = stream_db
    product_ids = [
        db.insert("products", {"part_key": f"P-{n}", "name": name, "retail_price": 1.5})
        for n, name in enumerate(PRODUCT_NAMES)
    ]
    order_ids = [
        db.insert(
            "orders",
            {
                "order_key": f"O-{n}",
                "customer_key": "C-1",
                "order_status": "O",
                "total_price": 3.25,
                "order_date": "2024",
            },
        )
        for n in range(10)
    ]
    for order_id in order_ids[:3]:
        db.execute(f"UPDATE orders SET order_status = 'F' WHERE id = {order_id}")
    for product_id in product_ids[-2:]:
        db.execute(f"DELETE FROM products WHERE id = {product_id}")
    events = db.events()
    assert len(events) == 25
    # Ten instants a second apart, assigned out of id order; each is shared by two or three events.
    base = (_database_now(db) - timedelta(hours=1)).replace(microsecond=123000)
    stamps = {event["id"]: base + timedelta(seconds=(n * 7) % 10) for n, event in enumerate(events)}
    _lay_out(db, stamps)
    by_time = sorted(stamps, key=lambda event_id: (stamps[event_id], event_id))
    since, until = base + timedelta(seconds=1), base + timedelta(seconds=9)  # drops the first and last instants
    in_range = [i for i in by_time if since <= stamps[i] < until]
    assert 10 < len(in_range) < 25
    payloads = {event["id"]: event for event in events}

    with BackendServer(tpch_project, db.url, RETENTION_DAYS="3") as server:
        # -- exact paging, both directions, page sizes that do and do not divide the range
        for limit in (1, 4, 5, 500):
            rng = {"since": _iso(since), "until": _iso(until), "limit": limit}
            newest_first, pages = _walk(server, rng | {"order": "desc"}, "older")
            assert newest_first == in_range[::-1], limit
            oldest_first, _ = _walk(server, rng | {"order": "asc"}, "newer")
            assert oldest_first == in_range, limit
            assert pages == -(-len(in_range) // limit) + (1 if len(in_range) % limit == 0 else 0)

        # An answer's cursors: back and forth between two pages is exact.
        status, first, _ = get(server, _query("/api/events", since=_iso(since), until=_iso(until), limit=4))
        assert first["order"] == "desc" and first["next_after"] is None
        assert first["since"] == _iso(since) and first["until"] == _iso(until)
        assert [e["id"] for e in first["events"]] == in_range[::-1][:4]
        status, second, _ = get(server, _query("/api/events", cursor=first["older"], limit=4, until=_iso(until)))
        assert second["order"] == "desc" and [e["id"] for e in second["events"]] == in_range[::-1][4:8]
        status, back, _ = get(server, _query("/api/events", cursor=second["newer"], limit=4, until=_iso(until)))
        assert back["order"] == "asc" and [e["id"] for e in back["events"]] == in_range[::-1][:4][::-1]
        assert back["newer"] is not None and back["older"] is not None
        # The events are the stored ones, stamped with the laid-out created_at.
        sample = first["events"][0]
        assert sample["data"] == payloads[sample["id"]]["payload"]
        assert sample["timestamp"] == stamps[sample["id"]].isoformat(timespec="milliseconds").replace("+00:00", "Z")

        # A time without an offset is UTC; a relative one is taken from the database's clock.
        naive = since.replace(tzinfo=None).isoformat()
        _, body, _ = get(server, _query("/api/events", since=naive, until=_iso(until), order="asc"))
        assert [e["id"] for e in body["events"]] == in_range
        _, body, _ = get(server, _query("/api/events", since="-2h", order="asc"))
        assert [e["id"] for e in body["events"]] == by_time and body["newer"] is None and body["older"] is not None
        assert abs(datetime.fromisoformat(body["since"]) - (base + timedelta(hours=-1))) < timedelta(minutes=1)

        # -- filters
        def ids(**params: Any) -> list[int]:
            status, body, _ = get(server, _query("/api/events", order="asc", limit=500, **params))
            assert status == 200, body
            return [e["id"] for e in body["events"]]

        def expected(keep: Any) -> list[int]:
            return [i for i in by_time if keep(payloads[i])]

        assert ids(since="-2h", entity="Order") == expected(lambda e: e["entity"] == "Order")
        assert ids(since="-2h", entity="Order,Product") == by_time
        assert ids(since="-2h", event_type="update,delete") == expected(lambda e: e["event_type"] != "insert")
        assert ids(entity="Product", event_type="delete") == expected(
            lambda e: e["entity"] == "Product" and e["event_type"] == "delete"
        )

        def contains(needle: str) -> Any:
            return lambda e: any(isinstance(v, str) and needle.lower() in v.lower() for v in e["payload"].values())

        # % and _ are literal: "50%" is not "50 off", "a_b" is not "axb"; ASCII case is ignored.
        for needle in ("50%", "a_b", "WASHER", "O-1"):
            assert ids(q=needle) == expected(contains(needle)), needle
        assert len(ids(q="50%")) == 1 and len(ids(q="a_b")) == 1
        assert ids(q="50%", entity="Order") == []

        # -- one spelling in both modes: entities/types (as /ws), entity/event_type kept as aliases
        orders_updated = expected(lambda e: e["entity"] == "Order" and e["event_type"] == "update")
        assert ids(since="-2h", entities="Order", types="update") == orders_updated
        assert ids(since="-2h", entity="Order", event_type="update") == orders_updated
        assert ids(since="-2h", entities="Order", entity="Order", types="update") == orders_updated
        assert ids(since="-2h", entities="Order,Product", types="insert,update,delete") == by_time
        assert ids(since="-2h", entities="") == [] and ids(since="-2h", types="") == []
        id_mode = _query("/api/events", entities="Order", types="update", limit=500)
        _, body, _ = get(server, id_mode)
        assert [e["id"] for e in body["events"]] == sorted(orders_updated) and set(body) == {"events", "next_after"}
        _, body, _ = get(server, _query("/api/events", entity="Order,Product", event_type="delete", limit=500))
        assert [e["id"] for e in body["events"]] == sorted(expected(lambda e: e["event_type"] == "delete"))
        for spelling in ({"entities": "Order"}, {"entity": "Order"}):
            _, hist, _ = get(server, _query("/api/events/histogram", since="-30d", types="update", **spelling))
            assert hist["total"] == 3, spelling
        for path in ("/api/events", "/api/events/histogram"):
            for params in (
                {"entities": "Order", "entity": "Product"},
                {"entities": "Order", "entity": "Order,Product"},
                {"types": "insert", "event_type": "update"},
                {"since": "-2h", "entities": "Order", "entity": "Product"},
            ):
                status, body, _ = get(server, _query(path, **params))
                assert status == 422, (path, params, body)
                detail = str(body["detail"])
                assert "differ" in detail and "\n" not in detail, detail
                assert all(f"{name}=" in detail for name in params if name != "since"), detail

        # -- the old, id-based behaviour is untouched
        all_ids = sorted(stamps)
        status, body, _ = get(server, "/api/events?limit=5")
        assert [e["id"] for e in body["events"]] == all_ids[-5:] and body["next_after"] is None
        assert set(body) == {"events", "next_after"}
        status, body, _ = get(server, f"/api/events?after={all_ids[0]}&limit=3&entity=Product")
        assert [e["id"] for e in body["events"]] == [i for i in all_ids if payloads[i]["entity"] == "Product"][1:4]
        assert body["next_after"] == body["events"][-1]["id"]

        # -- bad values: one 422 naming the parameter
        assert "since=" in _error(server, since="yesterday")
        assert "until=" in _error(server, until="2026-13-45T00:00:00")
        assert "'Nope' in entity=" in _error(server, since="-1h", entity="Order,Nope")
        assert "'Nope' in entities=" in _error(server, since="-1h", entities="Order,Nope")
        assert "'upsert' in event_type=" in _error(server, order="asc", event_type="insert,upsert")
        assert "'upsert' in types=" in _error(server, order="asc", types="insert,upsert")
        assert "q:" in _error(server, q="")
        assert "q:" in _error(server, q="x" * 201)
        assert "order=" in _error(server, order="sideways")
        assert "cursor" in _error(server, cursor="not-a-cursor")
        assert "cursor" in _error(server, cursor=first["older"][:-3] + "AAA")
        assert "after/before" in _error(server, after=1, since="-1h")
        # Times past what a datetime holds in UTC (an offset carries 0001-01-01 before year 1), a NUL
        # (PostgreSQL refuses it in a parameter) and a forged cursor time past 9999: the same 422
        # on every database, not "database unavailable" (503) nor a traceback (500).
        for params in (
            {"since": "-999999d"},
            {"until": "-999999d"},
            {"since": "0001-01-01T00:00:00+01:00"},
            {"until": "9999-12-31T23:59:59-05:00"},
            {"until": "9999-12-31T23:59:59.999999"},
        ):
            for path in ("/api/events", "/api/events/histogram"):
                status, body, _ = get(server, _query(path, **params))
                detail = str(body["detail"]) if isinstance(body, dict) else body
                assert status == 422 and f"{next(iter(params))}=" in detail and "out of range" in detail, (path, body)
        assert "NUL" in _error(server, q="a\x00b")
        for forged in ("0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"):
            cursor = base64.urlsafe_b64encode(f"o|{forged}|5".encode()).decode().rstrip("=")
            assert "cursor" in _error(server, cursor=cursor)
        # A year before 1000 keeps its four digits (SQLite compares the text: "999-" sorts after "2026-").
        assert ids(since="0999-01-01") == by_time
        _, body, _ = get(server, _query("/api/events", since="0999-01-01", until="9999-12-31T23:59:59.999"))
        assert (body["since"], body["until"]) == ("0999-01-01T00:00:00.000000Z", "9999-12-31T23:59:59.999000Z")

        # -- histogram: counted per minute bucket and entity, over the range
        status, hist, _ = get(server, _query("/api/events/histogram", since=_iso(since), until=_iso(until)))
        assert status == 200, hist
        assert hist["bucket_seconds"] == 60 and hist["since"] == _iso(since)
        counts: dict[str, dict[str, int]] = {}
        for i in in_range:
            minute = stamps[i].replace(second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
            counts.setdefault(minute, {}).setdefault(payloads[i]["entity"], 0)
            counts[minute][payloads[i]["entity"]] += 1
        assert hist["buckets"] == [{"start": minute, "counts": counts[minute]} for minute in sorted(counts)]
        assert hist["total"] == len(in_range)
        _, hist, _ = get(server, _query("/api/events/histogram", since="-30d", entity="Order", event_type="update"))
        assert hist["bucket_seconds"] == 3600 and hist["total"] == 3
        _, hist, _ = get(server, "/api/events/histogram")  # from the oldest event to now
        assert hist["total"] == 25 and hist["bucket_seconds"] == 60
        status, body, _ = get(server, _query("/api/events/histogram", since="-1h", until="-2h"))
        assert status == 422 and "until" in body["detail"]

        # -- what is kept
        status, info, _ = get(server, "/api/history")
        assert status == 200 and info["retention_days"] == 3
        for key, event_id in (("oldest", by_time[0]), ("newest", by_time[-1])):
            stamp = stamps[event_id].isoformat(timespec="milliseconds").replace("+00:00", "Z")
            assert info[key] == {"id": event_id, "timestamp": stamp}
        assert abs(datetime.fromisoformat(info["database_time"]) - (base + timedelta(hours=1))) < timedelta(minutes=1)


# -- query plans -------------------------------------------------------------------------


@pytest.fixture(params=("postgresql", "mariadb", "sqlite"))
def filled_db(request: pytest.FixtureRequest, tmp_path: Path, tpch_project: Path) -> Iterator[TestDatabase]:
    """db_events with 30,000 events over the last day (enough that every planner prefers an index)."""
    with temporary_database(request.param, tmp_path) as db:
        result = run_in_project(
            tpch_project, "-m", "backend.migrate", "--create-entity-tables", env={"DATABASE_URL": db.url}
        )
        assert result.returncode == 0, result.stderr
        fill_events(db, 30_000, 86_400)
        yield db


def _page_sql(db: TestDatabase, order: Literal["asc", "desc"], *, cursor: bool, entity: bool) -> str:
    """The backend's own page statement, its values written in as literals."""
    from backend.db.database import Database
    from backend.db.url import parse_database_url
    from backend.stream.history import HistoryFilter, HistoryStore, Position, native_time

    store = HistoryStore(Database(parse_database_url(db.url)))  # builds SQL only: never connected
    now = _database_now(db)
    since, until = native_time(store.family, now - timedelta(hours=12)), native_time(store.family, now)
    position = Position(native_time(store.family, now - timedelta(hours=6)), 12345) if cursor else None
    filters = HistoryFilter(since=since, until=until, entities=("Order",) if entity else None)
    sql, values = store.page_sql(filters, position, order)
    values["limit"] = 500

    def literal(value: Any) -> str:
        if isinstance(value, datetime):
            text = value.strftime("%Y-%m-%d %H:%M:%S.%f")
            return f"'{text}+00'" if value.tzinfo is not None else f"'{text}'"
        return str(value) if isinstance(value, int) else f"'{value}'"

    for name in sorted(values, key=len, reverse=True):
        sql = sql.replace(f":{name}", literal(values[name]))
    return sql


def _plan(db: TestDatabase, sql: str) -> str:
    if db.dialect == "postgresql":
        return "\n".join(row[0] for row in db.query(f"EXPLAIN {sql}"))
    if db.dialect == "sqlite":
        return "\n".join(str(row[-1]) for row in db.query(f"EXPLAIN QUERY PLAN {sql}"))
    with db.connect() as conn:
        cursor = conn.cursor()
        cursor.execute("SET time_zone = '+00:00'")
        cursor.execute(f"EXPLAIN FORMAT=JSON {sql}")
        return str(cursor.fetchall()[0][0])


def _tables(node: Any) -> list[dict[str, Any]]:
    """The ``table`` objects of a MariaDB ``EXPLAIN FORMAT=JSON``, wherever they are nested."""
    if isinstance(node, list):
        return [table for item in node for table in _tables(item)]
    if not isinstance(node, dict):
        return []
    found = [node["table"]] if isinstance(node.get("table"), dict) else []
    return found + [table for key, value in node.items() if key != "table" for table in _tables(value)]


def test_a_time_range_page_is_an_index_range_scan(filled_db: TestDatabase) -> None:
    db = filled_db
    orders: tuple[Literal["asc", "desc"], ...] = ("desc", "asc")
    for order in orders:
        for cursor in (False, True):
            for entity in (False, True):
                plan = _plan(db, _page_sql(db, order, cursor=cursor, entity=entity))
                case = (order, cursor, entity, plan)
                if db.dialect == "postgresql":
                    assert "Index Scan" in plan and "db_events_created_at_id_idx" in plan, case
                    assert "Seq Scan" not in plan and "Sort" not in plan, case
                elif db.dialect == "sqlite":
                    assert (
                        "SEARCH db_events USING INDEX db_events_created_at_idx (created_at>? AND created_at<?)" in plan
                    ), case
                    assert "TEMP B-TREE" not in plan, case
                else:
                    (table,) = _tables(json.loads(plan))
                    assert table["access_type"] == "range" and table["key"] == "db_events_created_at_idx", case
                    assert "filesort" not in plan, case


def test_an_existing_postgresql_db_events_gets_the_time_index(tpch_project: Path, tmp_path: Path) -> None:
    """The runner replaces the old created_at index by (created_at, id), CONCURRENTLY; a second run adds nothing."""
    with temporary_database("postgresql", tmp_path) as db:
        db.execute(
            "CREATE TABLE db_events (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
            "txid xid8 NOT NULL DEFAULT pg_current_xact_id(), entity VARCHAR(100) NOT NULL, "
            "event_type VARCHAR(10) NOT NULL, payload JSON NOT NULL, changed_columns JSON, "
            "created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(), old_values JSON)"
        )
        db.execute("CREATE INDEX db_events_created_at_idx ON db_events (created_at)")
        db.execute("CREATE INDEX db_events_entity_id_idx ON db_events (entity, id)")
        fill_events(db, 1000, 3600)
        for _ in range(2):
            result = run_in_project(
                tpch_project, "-m", "backend.migrate", "--create-entity-tables", env={"DATABASE_URL": db.url}
            )
            assert result.returncode == 0, result.stderr
            indexes = db.query(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'db_events' ORDER BY indexname"
            )
            assert [name for name, _ in indexes] == [
                "db_events_created_at_id_idx",
                "db_events_entity_id_idx",
                "db_events_pkey",
            ]
            assert "(created_at, id)" in dict(indexes)["db_events_created_at_id_idx"]
        assert db.query("SELECT count(*) FROM db_events")[0][0] == 1000
