"""Deletes ``db_events`` rows older than the retention window, in small batches.

What is old is decided by the database's clock and by id, never by this
process's clock: the database names the highest id older than the window
(event_store.py), and everything below it goes. Never above the poller's
watermark either, so no event is deleted before every connected client was
sent it; a client resuming from below the oldest retained id gets the
``truncated`` reset instead of a silent hole.

Several backends may share one database (replicas behind a load balancer):
a round runs only while its backend holds the database's retention lock
(:class:`RetentionLock`), so no two of them ever delete at the same time; the
others skip the round and count it as ``busy``. The watermark that bounds a
round is the holder's own; the others' pollers are never near an event older
than the window (a full page is followed by another poll at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from ..db.database import Database, describe_error
from .event_store import EventStore
from .live import LiveStream

log = logging.getLogger("dashboard.retention")

BATCH = 1000
PAUSE_BETWEEN_BATCHES_S = 0.05
"""Short batches with pauses keep row locks brief for the writers."""
EVERY_S = 300.0
RETRY_S = 30.0
"""After a failed round (e.g. SQLite's write lock held by the application), try again sooner."""
_REMEMBERED_ERRORS = 100

# A session-level lock, never waited for: a backend that does not get it skips
# the round. Named after the schema (MySQL: database) holding db_events, so two
# dashboards on one server do not hold each other up. A crashed backend's lock
# goes with its connection.
_LOCK_NAME = {
    "postgresql": "hashtext(COALESCE(current_schema(), '') || '.db_events retention')",
    "mysql": "CONCAT('dashboard_retention.', MD5(COALESCE(DATABASE(), '')))",
}
_TRY_LOCK = {
    "postgresql": f"SELECT pg_try_advisory_lock({_LOCK_NAME['postgresql']})",
    "mysql": f"SELECT GET_LOCK({_LOCK_NAME['mysql']}, 0)",
}
_UNLOCK = {
    "postgresql": f"SELECT pg_advisory_unlock({_LOCK_NAME['postgresql']})",
    "mysql": f"SELECT RELEASE_LOCK({_LOCK_NAME['mysql']})",
}


class RetentionLock:
    """At most one backend of those sharing a database holds it at a time.

    PostgreSQL: an advisory lock; MySQL and MariaDB: ``GET_LOCK``. SQLite needs
    none: every DELETE takes the file's single write lock, so two processes'
    deletes never run at the same time (and replicas on one SQLite file only
    work on one machine anyway).
    """

    def __init__(self, db: Database):
        self.db = db
        self._try_lock = _TRY_LOCK.get(db.sql.family)
        self._unlock = _UNLOCK.get(db.sql.family)

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[bool]:
        """Try to take the lock; yields whether this backend holds it for the block.

        The statements of the block run on the connection holding the lock (the
        lock lives in that session).
        """
        async with self.db.session():
            if self._try_lock is None or self._unlock is None:
                yield True
                return
            acquired = bool(await self.db.fetch_val(self._try_lock))
            try:
                yield acquired
            finally:
                if acquired:
                    await self.db.fetch_val(self._unlock)


async def delete_expired(store: EventStore, days: int, *, keep_from: int | None = None) -> int:
    """Delete the events older than ``days`` (none at or above ``keep_from``); returns how many went.

    The newest expired event is kept as the boundary (see EventStore.delete_below).
    """
    boundary = await store.expired_through(days)
    if boundary is None:
        return 0
    if keep_from is not None:
        boundary = min(boundary, keep_from)
    total = 0
    while True:
        deleted = await store.delete_below(boundary, BATCH)
        total += deleted
        if deleted < BATCH:
            return total
        await asyncio.sleep(PAUSE_BETWEEN_BATCHES_S)


class Retention:
    def __init__(self, store: EventStore, stream: LiveStream, days: int, every_s: float = EVERY_S):
        self.store = store
        self.stream = stream
        self.days = days
        self.every_s = every_s
        self.deleted_total = 0
        self.failures_total = 0
        self.busy_total = 0
        """Rounds skipped because another backend held the retention lock."""
        self.lock = RetentionLock(store.db)
        self._reported: set[str] = set()

    async def run(self) -> None:
        if self.days <= 0:
            return
        # Not before the poller has reached the database and read the head: until
        # then there is no watermark to stay below (and nothing to report to).
        while not await self.stream.wait_started(timeout=60.0):
            pass
        while True:
            succeeded = await self.run_once()
            await asyncio.sleep(self.every_s if succeeded else min(self.every_s, RETRY_S))

    async def run_once(self) -> bool:
        """One round; False when it failed (and was reported).

        A round skipped because another backend is running one counts as done:
        that backend deletes what has expired.
        """
        point = self.stream.resume_point()
        if point is None:
            return False
        try:
            async with self.lock.held() as holding:
                if not holding:
                    self.busy_total += 1
                    log.debug("retention: another backend holds the retention lock; skipping this round")
                    return True
                deleted = await delete_expired(self.store, self.days, keep_from=point.watermark + 1)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - e.g. no DELETE permission, or an outage
            self.failures_total += 1
            message = describe_error(error)
            if message not in self._reported:  # once per distinct error, not every round
                if len(self._reported) < _REMEMBERED_ERRORS:
                    self._reported.add(message)
                log.warning("retention could not delete old events (%s); retrying", message)
            return False
        self.deleted_total += deleted
        if deleted:
            log.info("retention: deleted %d events older than %d days", deleted, self.days)
        return True
