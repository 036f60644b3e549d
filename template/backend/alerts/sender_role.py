"""Which replica sends the alert webhooks, when several backends share one database.

Every replica reads every event and evaluates every rule (its ``/api/alerts``
and WebSocket ``alert`` messages need that), so every replica sees each state
change. Only the holder of the "alert webhook sender" role POSTs it; the others
drop their copy. The role is a lock named after the schema (MySQL: database),
taken without waiting and kept on a connection of its own (db/held_lock.py): a
holder that dies or loses that connection loses the role, and the others,
trying again every ``RETRY_S``, take it over. No table is involved.
"""

from __future__ import annotations

import asyncio
import logging

from ..db.database import describe_error
from ..db.dialects import sql_dialect
from ..db.held_lock import FileLock, HeldLock, SessionLock, sqlite_file
from ..db.url import DatabaseTarget

log = logging.getLogger("dashboard.alerts.webhook")

RETRY_S = 3.0
"""How often a replica without the role tries to take it (the longest a failover waits for)."""
CHECK_S = 3.0
"""How often the holder checks that its lock's connection is alive."""

_TAKE_STATEMENT = {
    "postgresql": "SELECT pg_try_advisory_lock(hashtext(COALESCE(current_schema(), '') || '.alert webhook'))",
    "mysql": "SELECT GET_LOCK(CONCAT('dashboard_alert_webhook.', MD5(COALESCE(DATABASE(), ''))), 0)",
}
SQLITE_LOCK_SUFFIX = ".alert-webhook.lock"


def sender_lock(target: DatabaseTarget) -> HeldLock:
    family = sql_dialect(target.dialect).family
    if family == "sqlite":
        return FileLock(sqlite_file(target) + SQLITE_LOCK_SUFFIX)
    return SessionLock(target, _TAKE_STATEMENT[family])


class WebhookSenderRole:
    def __init__(self, lock: HeldLock, *, retry_s: float = RETRY_S, check_s: float = CHECK_S):
        self.lock = lock
        self.retry_s = retry_s
        self.check_s = check_s
        self.holding = False
        """True while this replica holds the role (the webhook sends only then)."""
        self.taken = 0
        """Times this replica took the role."""
        self._last_error: str | None = None

    async def run(self) -> None:
        """Seek the role, hold it while the lock lives, and seek it again after losing it; never raises."""
        while True:
            taken_before = self.taken
            try:
                await self._seek_and_hold()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - any driver or OS error means: try again later
                self._lost(describe_error(error), held=self.taken != taken_before)
            finally:
                self.holding = False
            await asyncio.sleep(self.retry_s)

    async def _seek_and_hold(self) -> None:
        async with self.lock.open() as handle:
            while not await handle.try_take():
                await asyncio.sleep(self.retry_s)
            self.holding = True
            self.taken += 1
            self._last_error = None
            log.info("this backend sends the alert webhooks (it holds the sender role)")
            try:
                while True:
                    await asyncio.sleep(self.check_s)
                    await handle.check()
            finally:
                # Before the lock's connection is let go: on a dead network that can take minutes
                # (the driver waits for the server to answer a cancel), and another replica may
                # hold the role from the moment the check failed.
                self.holding = False

    def _lost(self, message: str, *, held: bool) -> None:
        if held:
            log.warning(
                "alert webhook sender role lost (%s); another backend takes it over, this one retries every %.0f s",
                message,
                self.retry_s,
            )
        elif message != self._last_error:  # a lasting outage is said once, not every retry
            log.warning("cannot seek the alert webhook sender role (%s); retrying every %.0f s", message, self.retry_s)
        self._last_error = message
