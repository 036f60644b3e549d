"""Polls ``db_events`` and publishes every committed event exactly once.

The cursor is gap-aware (see gaps.py): the poller remembers every id it skipped
and re-queries those on each poll until they commit or can no longer commit.
Events may thus arrive out of id order (in commit order); every message carries
``resume_after``, the id below which nothing is outstanding, for clients to
resume from.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..db.database import Database, describe_error
from .event_store import Event, EventStore
from .gaps import GapTracker, horizon_strategy

log = logging.getLogger("dashboard.poller")

STARTUP_SCAN = 10_000
"""At startup, ids this far below the head are checked for gaps (transactions in flight)."""


@dataclass
class PollerState:
    high: int = 0
    """Highest id delivered."""
    started: bool = False
    healthy: bool = False
    last_error: str | None = None
    last_poll_at: float | None = None  # time.monotonic()
    polls: int = 0
    events_polled: int = 0
    poll_seconds_total: float = 0.0
    reconnects: int = 0
    full_pages: int = 0
    lag_seconds: float = 0.0
    """How old the newest delivered event was when it was delivered."""
    durations: list[float] = field(default_factory=list)


Publisher = Callable[[list[Event], int], None]
"""Receives each batch (in delivery order) and the resume watermark, synchronously."""


class Poller:
    def __init__(
        self,
        db: Database,
        *,
        interval_s: float,
        page_size: int,
        publish: Publisher,
    ):
        self.db = db
        self.store = EventStore(db)
        self.interval_s = interval_s
        self.page_size = page_size
        self.publish = publish
        self.gaps = GapTracker(horizon_strategy(db.sql.family))
        self.state = PollerState()

    # -- what the WebSocket endpoint needs, read synchronously with no await in between --

    def delivered_snapshot(self) -> tuple[int, frozenset[int]]:
        """(high, open gap ids): the poller has delivered exactly the ids <= high that are not gaps."""
        return self.state.high, frozenset(self.gaps.open)

    @property
    def watermark(self) -> int:
        return self.gaps.watermark(self.state.high)

    # -- the loop -----------------------------------------------------------

    async def start_at_head(self) -> None:
        """Begin after the newest event (not id 0); recent missing ids become gaps."""
        _, high = await self.store.bounds()
        high = high or 0
        low = max(0, high - STARTUP_SCAN)
        present = set(await self.store.ids_between(low, high))
        missing = [i for i in range(low + 1, high + 1) if i not in present]
        if missing:
            token = await self.gaps.strategy.token_for_new_gaps(self.db)
            self.gaps.add(missing, token)
        self.state.high = high
        self.state.started = True
        log.info("polling db_events from id %d (%d recent gaps)", high, len(missing))

    async def poll_once(self) -> bool:
        """One poll; returns True when a full page came back (poll again at once).

        Order matters. The horizon is read first, so an old gap declared final
        was surely visible to the re-query. The re-query runs after the query for
        new ids and includes the gaps that query revealed: a transaction that
        committed before a newer row of the same writer is always delivered no
        later than that row. The batch is sorted by id, which for any one
        writer is its commit order.
        """
        started = time.perf_counter()
        strategy = self.gaps.strategy
        horizon = await strategy.current(self.db, sorted(self.gaps.open)) if self.gaps.open else None
        fresh = await self.store.after(self.state.high, self.page_size)

        new_gaps: list[int] = []
        expected = self.state.high + 1
        for event in fresh:
            if event.id > expected:
                new_gaps.extend(range(expected, event.id))
            expected = event.id + 1
        # Read after the query that revealed the gaps: any transaction that held one
        # of them then is either still running now, or has ended and will be seen.
        token = await strategy.token_for_new_gaps(self.db) if new_gaps else None
        to_fill = sorted({*self.gaps.open, *new_gaps})
        filled = await self.store.by_ids(to_fill) if to_fill else []

        # From here to publish: no await, so the WebSocket endpoint always sees
        # a state consistent with what was published.
        filled_ids = {event.id for event in filled}
        self.gaps.fill(list(filled_ids))
        if self.gaps.open:
            self.gaps.close_final(horizon)  # only gaps seen before the horizon was read
        unfilled = [gap for gap in new_gaps if gap not in filled_ids]
        if unfilled:
            self.gaps.add(unfilled, token)
        if fresh:
            self.state.high = fresh[-1].id
        batch = sorted(filled + fresh, key=lambda event: event.id)
        now = time.monotonic()
        self._record(batch, time.perf_counter() - started, now)
        if batch:
            self.publish(batch, self.watermark)
        return len(fresh) == self.page_size

    def _record(self, batch: list[Event], duration: float, now: float) -> None:
        state = self.state
        state.polls += 1
        state.poll_seconds_total += duration
        state.durations.append(duration)
        if len(state.durations) > 1000:
            del state.durations[:500]
        state.last_poll_at = now
        state.healthy = True
        state.last_error = None
        if batch:
            state.events_polled += len(batch)
            state.lag_seconds = _age_seconds(batch[-1].timestamp)

    async def run(self) -> None:
        """Poll forever; reconnect with backoff whenever the database goes away."""
        backoff = 0.5
        while True:
            try:
                if not self.db.connected:
                    await self.db.connect()
                    self.state.reconnects += 1
                if not self.state.started:
                    await self.start_at_head()
                full = await self.poll_once()
                backoff = 0.5
                if full:
                    self.state.full_pages += 1
                    continue  # a full page: the next one is waiting
                await asyncio.sleep(self.interval_s)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - any driver error means: reconnect
                message = describe_error(error)
                if "db_events" in message:
                    message += " (has `python -m backend.migrate` run on this database?)"
                if self.state.healthy or self.state.last_error != message:
                    log.warning("database unavailable (%s); retrying in %.1f s", message, backoff)
                self.state.healthy = False
                self.state.last_error = message
                await self.db.disconnect_quietly()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)


def _age_seconds(timestamp: str) -> float:
    try:
        created = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return max(0.0, (datetime.now(UTC) - created).total_seconds())
