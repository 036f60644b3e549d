"""PostgreSQL LISTEN on one dedicated connection: wakes the poller when events commit.

``db_events`` fires ``NOTIFY db_events`` once per INSERT statement (see
``migrations/postgresql/003_notify.sql``, installed by ``migrate --notify``), delivered at COMMIT. A
notification carries nothing: it only says "poll now". The poller still reads
``db_events`` with its gap-aware cursor, so a notification that is lost (the
connection dropped, the server restarted) only delays delivery to the next
timed poll.

This talks to asyncpg directly: the ``databases`` package has no LISTEN, and
the connection must stay outside its pool (a pooled connection would be
handed to queries and lose the subscription).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from .database import describe_error
from .dialects import CONNECT_TIMEOUT_SECONDS
from .url import DatabaseTarget

log = logging.getLogger("dashboard.listener")

CHANNEL = "db_events"
"""The channel the NOTIFY trigger on ``db_events`` signals."""

CHECK_EVERY_S = 5.0
"""How often an idle connection is checked (a half-open TCP connection sends no error)."""

MAX_BACKOFF_S = 10.0

APPLICATION_NAME = "dashboard-listener"
"""Names the connection in ``pg_stat_activity``, so an operator can tell it from the poller's."""


@dataclass(slots=True)
class ListenerMetrics:
    connected: bool = False
    connects: int = 0
    """Successful LISTENs, the first one included."""
    reconnects: int = 0
    """LISTEN connections re-established after one was lost."""
    notifications: int = 0
    last_error: str | None = None


class Listener:
    """Keeps one LISTEN connection open and calls ``wake`` on each notification and on each (re)connect."""

    def __init__(self, target: DatabaseTarget, wake: Callable[[], None], *, channel: str = CHANNEL):
        self.target = target
        self.wake = wake
        self.channel = channel
        self.metrics = ListenerMetrics()

    def _notified(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        self.metrics.notifications += 1
        self.wake()

    async def run(self) -> None:
        """Listen forever; after a lost connection, listen again with backoff (counted)."""
        backoff = 0.5
        while True:
            try:
                await self._listen_once()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - any driver error means: listen again
                message = describe_error(error)
                if message != self.metrics.last_error:
                    log.warning("LISTEN %s lost (%s); the poller's timer covers meanwhile", self.channel, message)
                self.metrics.last_error = message
            if self.metrics.connected:
                backoff = 0.5  # it was up: the first retry comes soon
            self.metrics.connected = False
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)

    async def _listen_once(self) -> None:
        """Connect, LISTEN, and return (raise) only when the connection is gone."""
        lost = asyncio.Event()
        connection = await asyncpg.connect(
            self.target.driver_url,
            timeout=CONNECT_TIMEOUT_SECONDS,
            server_settings={"application_name": APPLICATION_NAME},
        )
        try:
            connection.add_termination_listener(lambda _connection: lost.set())
            await connection.add_listener(self.channel, self._notified)
            if self.metrics.connects:
                self.metrics.reconnects += 1
                log.info("LISTEN %s re-established", self.channel)
            self.metrics.connects += 1
            self.metrics.connected = True
            self.metrics.last_error = None
            # Events committed while nobody listened: one poll picks them up.
            self.wake()
            await self._hold(connection, lost)
        finally:
            connection.terminate()

    async def _hold(self, connection: Any, lost: asyncio.Event) -> None:
        """Return (raise) once the connection is gone; check it when idle."""
        while True:
            try:
                await asyncio.wait_for(lost.wait(), CHECK_EVERY_S)
            except TimeoutError:
                await connection.fetchval("SELECT 1", timeout=CONNECT_TIMEOUT_SECONDS)
                continue
            raise ConnectionError("the LISTEN connection was closed")
