"""Alert webhooks from one backend of several sharing a database (``alerts/sender_role.py``).

Three real backends (uvicorn) on one PostgreSQL, MariaDB or SQLite database, a
webhook receiver on loopback that records every POST, and one field rule that
fires on a matching row and resolves two seconds later. Every backend evaluates
the rule; exactly one POSTs each change. Killing that backend (SIGKILL) hands
the role to another within the retry interval, and the next change is again
POSTed once. On PostgreSQL and MariaDB the role's connection is also killed
from the server side: the role moves (or comes back) without a traceback.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from tests.support.backend_server import BackendServer
from tests.support.databases import TestDatabase, temporary_database
from tests.support.projects import generate, run_in_project
from tests.support.webhook_receiver import WebhookReceiver
from tests.test_alerts import _folder, _order

RULE = '    - {name: big-order, entity: Order, when: "total_price > 100000", for: 2s}\n'
RETRY_S = 3.0
"""sender_role.RETRY_S in the generated backend."""


@pytest.fixture(scope="module")
def rule_project(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("webhook-replicas")
    return generate(template_repo, base / "webhook-dashboard", _folder(base, RULE))


@contextmanager
def _migrated(dialect: str, tmp_path: Path, project: Path) -> Iterator[TestDatabase]:
    with temporary_database(dialect, tmp_path) as db:
        result = run_in_project(
            project, "-m", "backend.migrate", "--create-entity-tables", env={"DATABASE_URL": db.url}
        )
        assert result.returncode == 0, result.stderr
        yield db


@pytest.fixture(params=("postgresql", "mariadb", "sqlite"))
def shared_db(request: pytest.FixtureRequest, tmp_path: Path, rule_project: Path) -> Iterator[TestDatabase]:
    with _migrated(request.param, tmp_path, rule_project) as db:
        yield db


@pytest.fixture(params=("postgresql", "mariadb"))
def server_db(request: pytest.FixtureRequest, tmp_path: Path, rule_project: Path) -> Iterator[TestDatabase]:
    """A database whose connections the test can kill (not SQLite)."""
    with _migrated(request.param, tmp_path, rule_project) as db:
        yield db


async def _eventually(condition: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        await asyncio.sleep(0.1)


def _senders(replicas: list[BackendServer]) -> list[BackendServer]:
    return [r for r in replicas if r.process is not None and r.metric("dashboard_alert_webhook_sender") == 1]


def _counted(replica: BackendServer, name: str) -> float:
    return replica.metric(f"dashboard_alert_webhooks_{name}_total")


async def _one_sender(replicas: list[BackendServer], timeout: float = 20) -> BackendServer:
    await _eventually(lambda: len(_senders(replicas)) == 1, "exactly one sender", timeout)
    (sender,) = _senders(replicas)
    return sender


async def _fire_and_resolve(db: TestDatabase, key: str, price: float, replicas: list[BackendServer]) -> None:
    """One matching row: every live replica sees the rule fire, then resolve after its hold."""
    live = [r for r in replicas if r.process is not None]
    before = {id(r): _counted(r, "sent") + _counted(r, "skipped") for r in live}
    _order(db, key, price)
    # Each replica either sent or skipped both changes: all of them evaluated both.
    await _eventually(
        lambda: all(_counted(r, "sent") + _counted(r, "skipped") == before[id(r)] + 2 for r in live),
        f"every replica to see {key} fire and resolve",
    )


async def test_one_post_per_change_and_another_backend_takes_over_after_a_kill(
    rule_project: Path, shared_db: TestDatabase
) -> None:
    with WebhookReceiver() as hook, ExitStack() as stack:
        replicas = [
            stack.enter_context(BackendServer(rule_project, shared_db.url, ALERT_WEBHOOK_URL=hook.url))
            for _ in range(3)
        ]
        sender = await _one_sender(replicas)

        await _fire_and_resolve(shared_db, "BIG-1", 250000.0, replicas)
        assert hook.posts() == [("firing", 250000), ("resolved", 250000)]
        assert [_counted(r, "sent") for r in replicas] == [2 if r is sender else 0 for r in replicas]
        assert [_counted(r, "skipped") for r in replicas] == [0 if r is sender else 2 for r in replicas]

        sender.kill()  # SIGKILL: its lock goes with its connection (its process, on SQLite)
        killed_at = time.monotonic()
        successor = await _one_sender(replicas, timeout=RETRY_S + 5)
        assert time.monotonic() - killed_at < RETRY_S + 5
        await _fire_and_resolve(shared_db, "BIG-2", 300000.0, replicas)
        assert hook.posts()[2:] == [("firing", 300000), ("resolved", 300000)]
        assert _counted(successor, "sent") == 2
        assert _senders(replicas) == [successor]
        for replica in replicas:
            assert "Traceback" not in replica.log()


def _lock_connection(db: TestDatabase) -> int | None:
    """The server's id of the connection holding the webhook sender lock of ``db``'s schema."""
    if db.dialect == "postgresql":
        (key,) = db.query("SELECT hashtext(COALESCE(current_schema(), '') || '.alert webhook')::bigint")[0]
        rows = db.query(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1"
            " AND classid::bigint = %s AND objid::bigint = %s AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())",
            ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF),
        )
        return int(rows[0][0]) if rows else None
    (holder,) = db.query("SELECT IS_USED_LOCK(CONCAT('dashboard_alert_webhook.', MD5(DATABASE())))")[0]
    return None if holder is None else int(holder)


def _kill_connection(db: TestDatabase, connection: int) -> None:
    if db.dialect == "postgresql":
        db.query("SELECT pg_terminate_backend(%s)", (connection,))
    else:
        db.execute(f"KILL {connection}")


async def test_a_killed_lock_connection_loses_the_role_without_a_traceback(
    rule_project: Path, server_db: TestDatabase
) -> None:
    with WebhookReceiver() as hook, ExitStack() as stack:
        replicas = [
            stack.enter_context(BackendServer(rule_project, server_db.url, ALERT_WEBHOOK_URL=hook.url))
            for _ in range(2)
        ]
        await _one_sender(replicas)
        first = _lock_connection(server_db)
        assert first is not None
        _kill_connection(server_db, first)
        # The holder notices at its next check; then one of the two takes the role on a new connection.
        await _eventually(
            lambda: _lock_connection(server_db) not in (None, first), "the role taken again", RETRY_S * 3 + 5
        )
        await _one_sender(replicas)
        logs = "".join(replica.log() for replica in replicas)
        assert "alert webhook sender role lost" in logs
        assert "Traceback" not in logs

        # The stream went on: the next change is POSTed once.
        await _fire_and_resolve(server_db, "BIG-3", 260000.0, replicas)
        assert hook.posts() == [("firing", 260000), ("resolved", 260000)]
