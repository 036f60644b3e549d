"""The alert webhook sender role: one holder at a time among the backends of one database.

Two roles in one process stand for two backends: each has its own lock
connection (PostgreSQL, MySQL, MariaDB) or its own open lock file (SQLite), on
the test database of ``conftest.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from backend.alerts.sender_role import WebhookSenderRole, sender_lock
from backend.db.held_lock import FileLock, LockHandle, LockLost
from backend.db.url import parse_database_url


async def _until(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


async def _stopped(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_one_backend_holds_the_role_and_another_takes_it_when_it_goes(database_url: str) -> None:
    target = parse_database_url(database_url)
    first = WebhookSenderRole(sender_lock(target), retry_s=0.1, check_s=0.1)
    second = WebhookSenderRole(sender_lock(target), retry_s=0.1, check_s=0.1)
    first_task = asyncio.create_task(first.run())
    await _until(lambda: first.holding, "the first to take the role")
    second_task = asyncio.create_task(second.run())
    try:
        await asyncio.sleep(1.0)  # ten tries of the second
        assert (first.holding, second.holding, second.taken) == (True, False, 0)
        await _stopped(first_task)  # its connection (or lock file) closes: the lock goes with it
        assert not first.holding
        await _until(lambda: second.holding, "the second to take the role over")
        assert second.taken == 1
    finally:
        await _stopped(first_task)
        await _stopped(second_task)


async def test_a_removed_lock_file_is_a_lost_lock(tmp_path: Path) -> None:
    path = str(tmp_path / "app.db.alert-webhook.lock")
    async with FileLock(path).open() as holder, FileLock(path).open() as other:
        assert await holder.try_take()
        assert not await other.try_take()
        await holder.check()
        os.remove(path)  # a new file of that name could be locked by anyone
        with pytest.raises(LockLost):
            await holder.check()


class _FailingCheck:
    async def try_take(self) -> bool:
        return True

    async def check(self) -> None:
        raise LockLost("the connection holding the lock failed: timed out")


class _LockWithSlowRelease:
    """A lock whose check fails once taken and whose release then hangs, as a lock connection's
    release does on a dead network (the driver waits for the server to answer a cancel)."""

    def __init__(self) -> None:
        self.released = asyncio.Event()
        self.releasing = asyncio.Event()

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[LockHandle]:
        try:
            yield _FailingCheck()
        finally:
            self.releasing.set()
            await self.released.wait()


async def test_the_role_is_given_up_when_the_check_fails_not_when_the_release_ends() -> None:
    lock = _LockWithSlowRelease()
    role = WebhookSenderRole(lock, retry_s=0.1, check_s=0.1)
    task = asyncio.create_task(role.run())
    try:
        await _until(lambda: role.taken == 1, "the role to be taken")
        await _until(lock.releasing.is_set, "the check to fail")
        # Another backend may hold the role from here on: this one must not send meanwhile.
        assert not role.holding
        lock.released.set()
        await _until(lambda: role.taken == 2, "the role to be sought and taken again")
    finally:
        lock.released.set()
        await _stopped(task)
