"""Locks that one process of those sharing a database holds for as long as it lives.

A role (such as "the replica that sends the alert webhooks") goes to whoever
takes the lock; nobody waits for it. The lock belongs to something the holder
keeps open, so a holder that crashes or loses its database connection loses
the lock with it, and another process can take it:

- PostgreSQL, MySQL, MariaDB (:class:`SessionLock`): a session-level lock
  (``pg_try_advisory_lock``, ``GET_LOCK(name, 0)``) on a connection of its own,
  outside the backend's pool, kept open while the lock is held.
- SQLite (:class:`FileLock`): ``flock`` on a file next to the database file.
  Processes sharing a SQLite file run on one machine, and the kernel lets go of
  the lock when the holder's process ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from typing import Protocol
from urllib.parse import urlsplit

from .database import Database, describe_error
from .dialects import CONNECT_TIMEOUT_SECONDS
from .url import DatabaseTarget


class LockLost(RuntimeError):
    """The lock is no longer this process's (its connection or file went away)."""


class LockHandle(Protocol):
    async def try_take(self) -> bool:
        """Take the lock if nobody holds it; never waits for a holder."""
        ...

    async def check(self) -> None:
        """Raise when a lock taken earlier is no longer held (e.g. the connection died)."""
        ...


class HeldLock(Protocol):
    def open(self) -> contextlib.AbstractAsyncContextManager[LockHandle]:
        """What holds the lock: a connection or an open file; closing it lets the lock go."""
        ...


class _SessionHandle:
    def __init__(self, db: Database, take_statement: str):
        self._db = db
        self._take_statement = take_statement

    # asyncio.timeout, not wait_for: on Python 3.11 wait_for runs the statement in a task of its
    # own, which the driver layer would give a second connection (none left in a pool of one).

    async def try_take(self) -> bool:
        async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
            taken = await self._db.fetch_val(self._take_statement)
        # A lock held elsewhere answers 0/false, a failed GET_LOCK NULL: not taken either way.
        return bool(taken)

    async def check(self) -> None:
        # A connection that died (server restarted, connection killed) fails this statement; a
        # half-open one times out rather than hanging the holder.
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
                await self._db.fetch_val("SELECT 1")
        except Exception as error:  # noqa: BLE001 - the driver's words for a dead connection vary
            raise LockLost(f"the connection holding the lock failed: {describe_error(error)}") from None


class SessionLock:
    """A session-level lock taken by ``take_statement`` (which answers true when taken)."""

    def __init__(self, target: DatabaseTarget, take_statement: str):
        self.target = target
        self.take_statement = take_statement

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[LockHandle]:
        # A pool of one, outside the backend's pool: queries never borrow the lock's
        # connection, and the session below keeps it from going back to the pool (where
        # asyncpg's reset would unlock every advisory lock).
        db = Database(self.target, pool_size=1)
        await db.connect()
        try:
            async with db.session():
                yield _SessionHandle(db, self.take_statement)
        finally:
            await db.disconnect_quietly()


def sqlite_file(target: DatabaseTarget) -> str:
    """The database file's path as the driver opens it (relative to the working directory)."""
    path = urlsplit(target.driver_url).path
    return path[1:] if path.startswith("/") else path


class _FileHandle:
    def __init__(self, path: str, descriptor: int):
        self._path = path
        self._descriptor = descriptor

    async def try_take(self) -> bool:
        try:
            fcntl.flock(self._descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    async def check(self) -> None:
        # A lock file deleted (or replaced) under the holder would let another process lock a
        # new file of the same name: both would hold "the" lock.
        try:
            current = os.stat(self._path)
        except FileNotFoundError:
            raise LockLost(f"{self._path} was removed") from None
        held = os.fstat(self._descriptor)
        if (current.st_dev, current.st_ino) != (held.st_dev, held.st_ino):
            raise LockLost(f"{self._path} was replaced")


class FileLock:
    """``flock`` on ``path`` (created if missing); held while the file stays open."""

    def __init__(self, path: str):
        self.path = path

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[LockHandle]:
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            yield _FileHandle(self.path, descriptor)
        finally:
            os.close(descriptor)  # lets go of the flock
