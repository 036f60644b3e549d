"""Several backends on one database behind the shipped load balancer (``deploy/load-balancer.conf``).

- Retention runs in one backend at a time: the database's lock (PostgreSQL
  advisory lock, MySQL/MariaDB ``GET_LOCK``), taken per round, given back when
  its holder's connection dies.
- Real nginx (``apt-get install -y nginx``) with the project's own load-balancer
  config in front of three uvicorn replicas. The replicas listen on 127.0.0.2-4
  at one port and a small DNS server answers the service name with those three
  addresses, as Docker's DNS does for ``--scale backend=3``: only ``listen``,
  the ``resolver`` address and the port are moved. Killing (SIGKILL) the replica
  a client is on makes the client reconnect through nginx to another one and
  resume with ``?after=``: every committed event arrives, none twice after
  de-duplication by id.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.support.backend_server import BackendServer
from tests.support.databases import TestDatabase, temporary_database
from tests.support.dns_server import DnsServer
from tests.support.load_balancer import (
    REPLICA_HOSTS,
    load_balancer,
    port_free_on_every_replica_address,
    shipped_main_command,
)
from tests.support.projects import run_in_project
from tests.support.stream_client import ResumingClient
from tests.support.writers import WriterPool


def _migrated(project: Path, db: TestDatabase) -> None:
    result = run_in_project(project, "-m", "backend.migrate", "--create-entity-tables", env={"DATABASE_URL": db.url})
    assert result.returncode == 0, result.stderr


def _expired_orders(db: TestDatabase, count: int) -> None:
    """``count`` orders whose events the database calls 30 days old."""
    values = ", ".join(f"('old-{n}', 'C-1', 'O', 1.5, '2024-01-01')" for n in range(count))
    db.execute(f"INSERT INTO orders (order_key, customer_key, order_status, total_price, order_date) VALUES {values}")
    old = "2020-01-01 00:00:00"
    db.execute(f"UPDATE db_events SET created_at = {db.placeholder}", (old,))


def _event_count(db: TestDatabase) -> int:
    return int(db.query("SELECT COUNT(*) FROM db_events")[0][0])


@pytest.fixture(params=("postgresql", "mariadb"))
def server_db(request: pytest.FixtureRequest, tmp_path: Path, tpch_project: Path) -> Iterator[TestDatabase]:
    with temporary_database(request.param, tmp_path) as db:
        _migrated(tpch_project, db)
        yield db


# Two backends of one database, each with its own pool (sessions), in one process so
# that the test can start the second's round while the first one is deleting.
_TWO_BACKENDS = """
import asyncio, json, time
from backend.model import load_model
from backend.runtime import build_runtime
from backend.settings import load_settings
from backend.stream import retention

retention.BATCH = 10

async def backend(name, log):
    model = load_model()
    runtime = build_runtime(load_settings(model), model)
    await runtime.db.connect()
    await runtime.poller.start_at_head()
    delete_below = runtime.store.delete_below

    async def recorded(boundary, batch):  # when each DELETE ran, and in which backend
        started = time.monotonic()
        deleted = await delete_below(boundary, batch)
        log.append((name, started, time.monotonic(), deleted))
        return deleted

    runtime.store.delete_below = recorded
    return runtime

async def main():
    log = []
    a, b = await backend("a", log), await backend("b", log)
    first = asyncio.create_task(a.retention.run_once())
    while not log:
        await asyncio.sleep(0.01)
    during = await b.retention.run_once()  # while a is between its batches
    a_was_running = not first.done()
    await first
    after = await b.retention.run_once()  # a is done and has let go
    print(json.dumps({
        "during": during, "a_was_running": a_was_running, "after": after,
        "deleted": {"a": a.retention.deleted_total, "b": b.retention.deleted_total},
        "busy": {"a": a.retention.busy_total, "b": b.retention.busy_total},
        "failures": a.retention.failures_total + b.retention.failures_total,
        "log": log,
    }))
    for runtime in (a, b):
        await runtime.db.disconnect()

asyncio.run(main())
"""


def test_two_backends_never_delete_at_the_same_time(tpch_project: Path, server_db: TestDatabase) -> None:
    _expired_orders(server_db, 200)
    env = {"DATABASE_URL": server_db.url, "RETENTION_DAYS": "7"}
    result = run_in_project(tpch_project, "-c", _TWO_BACKENDS, env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["a_was_running"], "the first round ended before the second began: nothing was tested"
    # b's round during a's found the lock taken: skipped, counted, not a failure.
    assert (report["during"], report["busy"], report["failures"]) == (True, {"a": 0, "b": 1}, 0)
    # After a let go, b takes the lock (its round runs) and finds nothing left to delete.
    assert report["after"] is True and report["deleted"] == {"a": 199, "b": 0}
    a_deletes = [(start, end) for name, start, end, _ in report["log"] if name == "a"]
    b_deletes = [(start, end, count) for name, start, end, count in report["log"] if name == "b"]
    assert len(a_deletes) >= 20  # 199 rows in batches of 10: the round took many statements
    # b's only DELETE (its round after a's, finding nothing) began after a's last one ended.
    assert [count for *_, count in b_deletes] == [0]
    assert b_deletes[0][0] >= max(end for _, end in a_deletes)
    assert _event_count(server_db) == 1  # the newest expired event stays as the boundary


_HOLD_LOCK = """
import asyncio
from backend.model import load_model
from backend.runtime import build_runtime
from backend.settings import load_settings

async def main():
    model = load_model()
    runtime = build_runtime(load_settings(model), model)
    await runtime.db.connect()
    async with runtime.retention.lock.held() as holding:
        print(holding, flush=True)
        await asyncio.sleep(600)

asyncio.run(main())
"""


async def test_a_killed_backends_lock_goes_with_its_connection(tpch_project: Path, server_db: TestDatabase) -> None:
    """A backend killed in the middle of a round does not stop retention for the others."""
    _expired_orders(server_db, 30)
    env = {**os.environ, "DATABASE_URL": server_db.url, "RETENTION_DAYS": "7"}
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK], cwd=tpch_project, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "True"
        with BackendServer(tpch_project, server_db.url, RETENTION_DAYS="7") as backend:
            await _eventually(lambda: backend.metric("dashboard_retention_busy_total") == 1, "a skipped round")
            assert _event_count(server_db) == 30
            assert backend.metric("dashboard_retention_failures_total") == 0
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # The next backend to start gets the lock and deletes.
    with BackendServer(tpch_project, server_db.url, RETENTION_DAYS="7") as backend:
        await _eventually(lambda: _event_count(server_db) == 1, "retention after the holder was killed")
        assert backend.metric("dashboard_retention_deleted_total") == 29
        assert backend.metric("dashboard_retention_busy_total") == 0


async def _eventually(predicate: object, what: str, timeout: float = 30) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


# -- the load balancer --------------------------------------------------------------------------


def test_shipped_load_balancer_config_passes_nginx_t(tpch_project: Path, tmp_path: Path) -> None:
    site = (tpch_project / "deploy" / "load-balancer.conf").read_text()
    # Unchanged but for the port (binding 80 needs root, which -t checks too) and the main file's paths.
    command = shipped_main_command(tpch_project, site.replace("listen 80;", "listen 127.0.0.1:1080;"), tmp_path)
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30, check=False)
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr
    # Room for thousands of WebSockets (two connections each), not the image's 1,024 per worker.
    dumped = subprocess.run([*command, "-T"], capture_output=True, text=True, timeout=30, check=False).stdout
    assert "worker_connections 16384;" in dumped and "worker_rlimit_nofile 65536;" in dumped


def _clients_on(replicas: list[BackendServer]) -> list[int]:
    return [0 if replica.process is None else int(replica.metric("dashboard_clients")) for replica in replicas]


async def test_a_client_survives_the_kill_of_its_replica_through_nginx(
    tpch_project: Path, tmp_path: Path, server_db: TestDatabase
) -> None:
    port = port_free_on_every_replica_address()
    # ALLOWED_HOSTS: the test reads each replica's /metrics by its own address (nginx forwards 127.0.0.1).
    allowed = ",".join(REPLICA_HOSTS)
    replicas = [
        BackendServer(tpch_project, server_db.url, host=host, port=port, ALLOWED_HOSTS=allowed)
        for host in REPLICA_HOSTS
    ]
    with ExitStack() as stack:
        for replica in replicas:
            stack.enter_context(replica)
        # Two replicas first, as after `up --scale backend=2`.
        records: dict[str, tuple[str, ...]] = {"backend": REPLICA_HOSTS[:2]}
        dns = stack.enter_context(DnsServer(records))
        origin, _ = stack.enter_context(load_balancer(tpch_project, dns, port, tmp_path / "nginx"))

        def served(requests: int = 6) -> list[int]:
            for _ in range(requests):
                assert httpx.get(origin + "/api/entities", timeout=10).status_code == 200
            return [replica.log().count("GET /api/entities") for replica in replicas]

        # nginx starts each request at a random address of the DNS answer (its resolver rotates the
        # answer), so six requests all land on one replica about one time in 32: ask until both
        # have answered, at most 60 times (2^-59 for a fair spread to miss one). Each answers 200
        # only because nginx forwards Host: "backend:PORT" is not an allowed host.
        first = served()
        for _ in range(9):
            if first[0] and first[1]:
                break
            first = served()
        assert first[0] and first[1] and not first[2], first
        # Scaled to three: nginx asks the resolver again (valid=5s) and the new replica gets requests.
        records["backend"] = REPLICA_HOSTS
        await _eventually(lambda: served()[2] > 0, "the added replica to get requests", timeout=20)

        client = await ResumingClient(origin.replace("http://", "ws://") + "/ws").start()
        writers = WriterPool(server_db, count=4).start()  # after the hello: every row is one the client is owed
        try:
            await _eventually(lambda: len(client.events) >= 20, "events through the load balancer")
            on = _clients_on(replicas)
            assert sorted(on) == [0, 0, 1], on
            victim = replicas[on.index(1)]
            victim.kill()  # SIGKILL, mid-stream, writers still writing
            await _eventually(lambda: len(client.connections) >= 2, "the client to reconnect")
            await _eventually(lambda: sum(_clients_on(replicas)) == 1, "the client on a surviving replica")
            at_kill = len(client.events)
            await _eventually(lambda: len(client.events) >= at_kill + 20, "events from the new replica")
        finally:
            await asyncio.to_thread(writers.stop)
        committed = writers.committed
        await client.wait_for_keys(set(committed))
        await client.stop()

    assert len(client.connections) >= 2 and client.connections[1].hello is not None
    assert client.resets == [], client.resets
    client.assert_duplicates_only_after_resume_points()
    # Zero lost, zero duplicated once de-duplicated by id: each committed row exactly once, nothing else.
    by_id = {event["id"]: event for event in client.events}
    keys = [e["data"]["order_key"] for e in by_id.values() if e["entity"] == "Order" and e["event_type"] == "insert"]
    assert sorted(keys) == sorted(committed)
