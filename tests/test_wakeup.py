"""Latency without busy polling: PostgreSQL's NOTIFY wakes the poller, and the pace adapts to the flow.

Real uvicorn, real databases. Nothing here bounds wall-clock time: "woken
before the timed poll" is read from the backend's own counters.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.backend_server import BackendServer
from tests.support.databases import TestDatabase, temporary_database
from tests.support.projects import run_in_project
from tests.support.stream_client import StreamClient

_keys = itertools.count()


def _order(db: TestDatabase) -> str:
    key = f"W-{next(_keys)}"
    db.insert("orders", {"order_key": key, "customer_key": "C-1", "order_status": "O", "total_price": 1.5,
                         "order_date": "2024-01-01"})  # fmt: skip
    return key


async def _until(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def _migrate(project: Path, db: TestDatabase, *args: str) -> None:
    result = run_in_project(project, "-m", "backend.migrate", *args, env={"DATABASE_URL": db.url})
    assert result.returncode == 0, result.stderr


@pytest.fixture
def pg_db(tmp_path: Path, tpch_project: Path) -> Iterator[TestDatabase]:
    with temporary_database("postgresql", tmp_path) as db:
        _migrate(tpch_project, db, "--create-entity-tables", "--notify")
        yield db


def _notify_objects(db: TestDatabase) -> tuple[set[str], set[str]]:
    triggers = {str(row[0]) for row in db.query("SELECT tgname FROM pg_trigger WHERE tgrelid = 'db_events'::regclass")}
    return triggers, db.function_names() & {"db_events_notify"}


def test_the_notify_trigger_is_installed_upgraded_and_dropped(tpch_project: Path, pg_db: TestDatabase) -> None:
    installed = ({"db_events_notify"}, {"db_events_notify"})
    assert _notify_objects(pg_db) == installed
    # Without --notify, migrate takes it away again; with it, an install from before it existed gets it.
    _migrate(tpch_project, pg_db)
    assert _notify_objects(pg_db) == (set(), set())
    _migrate(tpch_project, pg_db, "--notify")
    assert _notify_objects(pg_db) == installed
    # A rolled-back write notifies nobody and fails nothing; a committed one is logged as before.
    with pg_db.connect() as conn:
        conn.autocommit = False
        conn.execute("INSERT INTO orders (order_key, customer_key, order_status, total_price, order_date) "
                     "VALUES ('R-1', 'C-1', 'O', 1, '2024-01-01')")  # fmt: skip
        conn.rollback()
    _order(pg_db)
    assert [event["event_type"] for event in pg_db.events()] == ["insert"]
    _migrate(tpch_project, pg_db, "--drop")
    assert "db_events_notify" not in pg_db.function_names()


@pytest.mark.parametrize(("dialect", "args"), [("sqlite", ["--notify"]), ("postgresql", ["--notify", "--drop"])])
def test_notify_where_it_means_nothing_is_one_error_line(
    tpch_project: Path, tmp_path: Path, dialect: str, args: list[str]
) -> None:
    with temporary_database(dialect, tmp_path) as db:
        result = run_in_project(tpch_project, "-m", "backend.migrate", *args, env={"DATABASE_URL": db.url})
        assert result.returncode == 1
        assert result.stderr.startswith("error: --notify") and len(result.stderr.splitlines()) == 1
        assert "db_events" not in db.table_names()


async def test_an_event_is_delivered_by_the_wakeup_not_the_timer(tpch_project: Path, pg_db: TestDatabase) -> None:
    # Timed polls 5 s apart at every pace: only a wake-up can deliver within the wait below.
    with BackendServer(tpch_project, pg_db.url, POLL_INTERVAL_MS="5000", POLL_FAST_INTERVAL_MS="5000") as server:
        await _until(lambda: server.metric("dashboard_listener_connected") == 1, "the LISTEN connection")
        client = await StreamClient(server.ws).start()
        # A timed poll may fall between an insert and its notification (one chance in hundreds):
        # a second and third event then still show the wake-up.
        delivered_by_wakeup = 0.0
        for _ in range(3):
            before = server.metric("dashboard_events_after_wakeup_total")
            await client.wait_for_keys({_order(pg_db)}, timeout=30)
            delivered_by_wakeup = server.metric("dashboard_events_after_wakeup_total") - before
            if delivered_by_wakeup == 1:
                break
        assert delivered_by_wakeup == 1
        assert server.metric("dashboard_notifications_total") >= 1
        assert server.metric("dashboard_polls_woken_total") >= 1
        await client.stop()


async def test_a_killed_listen_connection_is_reestablished_and_nothing_is_lost(
    tpch_project: Path, pg_db: TestDatabase
) -> None:
    with BackendServer(tpch_project, pg_db.url, POLL_INTERVAL_MS="5000", POLL_FAST_INTERVAL_MS="5000") as server:
        await _until(lambda: server.metric("dashboard_listener_connected") == 1, "the LISTEN connection")
        client = await StreamClient(server.ws).start()
        keys = {_order(pg_db) for _ in range(3)}
        terminated = pg_db.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'dashboard-listener' AND datname = current_database()"
        )
        assert terminated == [(True,)]
        # Inserted while nobody listens: the timer, or the wake-up that follows a reconnect, delivers them.
        keys |= {_order(pg_db) for _ in range(3)}
        await _until(lambda: server.metric("dashboard_listener_reconnects_total") == 1, "the LISTEN reconnect")
        await _until(lambda: server.metric("dashboard_listener_connected") == 1, "the LISTEN connection")
        # Woken again after the reconnect.
        before = server.metric("dashboard_notifications_total")
        keys |= {_order(pg_db) for _ in range(3)}
        await client.wait_for_keys(keys)
        assert server.metric("dashboard_notifications_total") > before
        await asyncio.sleep(0.5)  # a duplicate would show up now
        assert sorted(client.order_keys()) == sorted(keys)
        assert server.metric("dashboard_reconnects_total") == 1  # the poller's own connection was not touched
        await client.stop()


@pytest.mark.parametrize("dialect", ["mariadb", "sqlite"])
async def test_the_pace_is_fast_under_load_and_falls_back_when_idle(
    tpch_project: Path, tmp_path: Path, dialect: str
) -> None:
    with temporary_database(dialect, tmp_path) as db:
        _migrate(tpch_project, db, "--create-entity-tables")
        pace = {"POLL_INTERVAL_MS": "1000", "POLL_FAST_INTERVAL_MS": "20", "POLL_IDLE_AFTER": "10"}
        with BackendServer(tpch_project, db.url, port=None, clock_offset=None, **pace) as server:
            client = await StreamClient(server.ws).start()
            assert server.metric("dashboard_poll_delay_seconds") == 1.0
            fast_before = server.metric("dashboard_polls_fast_total")

            # Under load: an event every 50 ms keeps the pace at 20 ms.
            keys: set[str] = set()
            for _ in range(30):
                keys.add(_order(db))
                await asyncio.sleep(0.05)
            fast_under_load = server.metric("dashboard_polls_fast_total") - fast_before
            # At the idle pace alone 1.5 s would hold at most 2 polls.
            assert fast_under_load >= 10
            await client.wait_for_keys(keys)
            # Each batch's fan-out was measured: the wait after it is never shorter (stream/poller.py Pace).
            assert server.metric("dashboard_fanout_seconds_total") > 0

            # Idle: back to the configured interval after 10 empty polls, and no fast polls since.
            await _until(lambda: server.metric("dashboard_poll_delay_seconds") == 1.0, "the idle pace")
            fast_idle = server.metric("dashboard_polls_fast_total")
            polls = server.metric("dashboard_polls_total")
            await _until(lambda: server.metric("dashboard_polls_total") >= polls + 2, "two timed polls")
            assert server.metric("dashboard_polls_fast_total") == fast_idle
            assert "dashboard_listener_connected" not in server.metrics()
            await client.stop()
