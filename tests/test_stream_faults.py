"""The fault suite: everything at once, on each real database, against a real uvicorn.

Writers with rollbacks and long transactions, clients that resume with ``?after=``
like the browser, a kill -9 of the backend and a restart while the database is
unreachable (a TCP proxy the test cuts; SQLite has no server to cut), retention
running with the backend's clock 30 days ahead, a client that never reads and
1 MB rows. What must hold: every committed event reaches every client, nothing
else does, no client is told to reset, and an id repeats only across a reconnect,
above the point the client resumed from (the protocol allows that; clients
de-duplicate by id).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.backend_server import BackendServer
from tests.support.databases import TestDatabase, temporary_database
from tests.support.projects import run_in_project
from tests.support.stream_client import ResumingClient, stalled_websocket
from tests.support.tcp_proxy import TcpProxy
from tests.support.writers import WriterPool


async def _wait_for_status(server: BackendServer, status: int, timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while server.status("/health") != status:
        assert asyncio.get_running_loop().time() < deadline, f"/health never answered {status}"
        await asyncio.sleep(0.1)


class HugeRowWriter:
    """Transactions of a few 1 MB orders, one after the other, until stopped."""

    def __init__(self, db: TestDatabase, rows_per_transaction: int = 4, size: int = 1_000_000):
        self.db = db
        self.rows = rows_per_transaction
        self.size = size
        self.committed: list[str] = []
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> HugeRowWriter:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
        if self.errors:
            raise self.errors[0]

    def _run(self) -> None:
        db = self.db
        try:
            with db.connect() as conn:
                cursor = conn.cursor()
                if db.dialect == "sqlite":
                    cursor.execute("PRAGMA busy_timeout = 30000")
                transaction = 0
                while not self._stop.is_set():
                    keys = [f"huge-{transaction:04d}-{n}" for n in range(self.rows)]
                    cursor.execute("BEGIN IMMEDIATE" if db.dialect == "sqlite" else "BEGIN")
                    for key in keys:
                        cursor.execute(
                            "INSERT INTO orders (order_key, customer_key, order_status, total_price, order_date, "
                            f"comment) VALUES ({db.placeholder}, 'C-1', 'O', 1.0, '2024-01-01', {db.placeholder})",
                            (key, "h" * self.size),
                        )
                    cursor.execute("COMMIT")
                    self.committed.extend(keys)
                    transaction += 1
                    self._stop.wait(0.3)
        except BaseException as error:  # noqa: BLE001 - reported by stop()
            self.errors.append(error)


@contextlib.contextmanager
def _reachable_through_proxy(db: TestDatabase) -> Iterator[tuple[str, TcpProxy | None]]:
    """The URL the backend should use, and the proxy that can cut it (None for SQLite)."""
    if db.dialect == "sqlite":
        yield db.url, None
        return
    with TcpProxy(db.server.host, db.server.port) as proxy:
        yield db.url_through(proxy.port), proxy


@pytest.mark.parametrize("dialect", ["postgresql", "mariadb", "sqlite"])
async def test_nothing_lost_or_faked_through_crash_outage_retention_and_abuse(
    tpch_project: Path, tmp_path: Path, dialect: str
) -> None:
    with temporary_database(dialect, tmp_path) as db:
        result = run_in_project(
            tpch_project, "-m", "backend.migrate", "--create-entity-tables", env={"DATABASE_URL": db.url}
        )
        assert result.returncode == 0, result.stderr
        if dialect == "mariadb":
            db.execute("ALTER TABLE orders MODIFY comment LONGTEXT")  # TEXT holds 64 KB there
        # Events the database calls old: retention must delete them, and nothing else,
        # although the backend's clock is 30 days ahead.
        for number in range(20):
            row = {"order_key": f"old-{number}", "customer_key": "C-1", "order_status": "O", "total_price": 1.0}
            db.insert("orders", {**row, "order_date": "2024-01-01"})
        stamp = "2020-01-01T00:00:00.000Z" if dialect == "sqlite" else "2020-01-01 00:00:00"
        db.execute(f"UPDATE db_events SET created_at = {db.placeholder}", (stamp,))
        newest_old = int(db.query("SELECT MAX(id) FROM db_events")[0][0])
        # SQLite's clock is the backend process's own: it is capped by the newest event's stamp.
        db.insert("orders", {**row, "order_key": "fresh", "order_date": "2024-01-01"})
        head = int(db.query("SELECT MAX(id) FROM db_events")[0][0])

        with _reachable_through_proxy(db) as (url, proxy):
            server = BackendServer(
                tpch_project, url, RETENTION_DAYS="7", CLIENT_SEND_TIMEOUT_S="3", clock_offset="+30d"
            ).start()
            clients: list[ResumingClient] = []
            stalled: socket.socket | None = None
            pool = WriterPool(db, long_transaction_ratio=0.05, long_transaction_s=1.0)
            huge = HugeRowWriter(db)
            try:
                clients = [await ResumingClient(server.ws).start(after=head) for _ in range(2)]
                pool.start()
                await asyncio.sleep(2.0)

                server.kill()  # kill -9: no shutdown code runs
                if proxy is not None:
                    proxy.cut()
                server.start(wait_healthy=False)  # back while the database is unreachable
                await asyncio.sleep(3.0)
                if proxy is not None:
                    proxy.restore()
                await _wait_for_status(server, 200)

                stalled = stalled_websocket(server.port)  # connects, then never reads
                if dialect == "sqlite":
                    # SQLite's busy handler is not fair: beside eight busy writers the huge
                    # one starves past any busy timeout. There they take turns.
                    await asyncio.to_thread(pool.stop)
                huge.start()
                # Huge transactions after the restart until the client that never reads has
                # been dropped: how many that takes depends on the kernel's socket buffers and
                # on the dialect (MariaDB's triggers shorten values past their packet share).
                deadline = asyncio.get_running_loop().time() + 90
                while len(huge.committed) < 8 or server.metric("dashboard_slow_clients_total") < 1:
                    assert asyncio.get_running_loop().time() < deadline, (
                        f"after {len(huge.committed)} huge rows the client that never reads is still connected"
                    )
                    await asyncio.sleep(0.2)
            finally:
                await asyncio.to_thread(pool.stop)
                await asyncio.to_thread(huge.stop)
            try:
                committed = set(pool.committed) | set(huge.committed)
                assert len(pool.committed) > 100 and sum(log.rolled_back for log in pool.logs) > 0
                assert len(huge.committed) >= 8
                for client in clients:
                    await client.wait_for_keys(committed)
                await asyncio.sleep(1.0)  # anything extra (a rolled-back row, a repeat) would show up now
                for client in clients:
                    assert client.resets == [], client.resets
                    assert client.order_keys() == committed, "a row that never committed was streamed"
                    client.assert_duplicates_only_after_resume_points()
                    assert len(client.connections) >= 2, "the kill -9 did not reach the client"

                # The newest old event stays as the boundary of what retention deleted.
                remaining_old = db.query(f"SELECT COUNT(*) FROM db_events WHERE id < {newest_old}")[0][0]
                assert remaining_old == 0, "retention did not delete the old events"
                assert db.query(f"SELECT COUNT(*) FROM db_events WHERE id > {head}")[0][0] >= len(committed)
            finally:
                if stalled is not None:
                    stalled.close()
                for client in clients:
                    await client.stop()
                server.stop()
