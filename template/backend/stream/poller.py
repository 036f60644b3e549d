"""Polls ``db_events`` and publishes every committed event exactly once.

The cursor is gap-aware (see gaps.py): the poller remembers every id it skipped
and re-queries those on each poll until they commit or can no longer commit.
Events may thus arrive out of id order (in commit order); every message carries
``resume_after``, the id below which nothing is outstanding, for clients to
resume from.

Until the poller has read the head of ``db_events`` after a start it has no
position: :meth:`Poller.resume_point` is ``None`` and nobody may claim a head.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..db.database import describe_error
from .event_store import PAGE_CHARS, Event, EventRef, EventStore
from .gaps import GapTracker, horizon_strategy

log = logging.getLogger("dashboard.poller")

STARTUP_SCAN = 10_000
"""At startup, ids this far below the head are checked for gaps (transactions in flight)."""


@dataclass(frozen=True, slots=True)
class ResumePoint:
    """What the poller has delivered, read in one synchronous step."""

    high: int
    """Highest id delivered."""
    open_gaps: frozenset[int]
    """Ids at or below ``high`` that were skipped and may still commit (delivered live when they do)."""
    watermark: int
    """Every id up to this one was delivered or can no longer appear."""


@dataclass(slots=True)
class Cursor:
    high: int = 0
    started: bool = False
    """True once the head has been read: before that, ``high`` means nothing."""


@dataclass(slots=True)
class PollerHealth:
    healthy: bool = False
    last_error: str | None = None
    last_poll_at: float | None = None  # time.monotonic()


@dataclass(slots=True)
class PollerMetrics:
    polls: int = 0
    events_polled: int = 0
    poll_seconds_total: float = 0.0
    reconnects: int = 0
    full_pages: int = 0
    lag_seconds: float = 0.0
    """How old the newest delivered event was when it was delivered."""
    durations: list[float] = field(default_factory=list)

    def record(self, batch: list[Event], duration: float) -> None:
        self.polls += 1
        self.poll_seconds_total += duration
        self.durations.append(duration)
        if len(self.durations) > 1000:
            del self.durations[:500]
        if batch:
            self.events_polled += len(batch)
            self.lag_seconds = _age_seconds(batch[-1].timestamp)

    def p99(self) -> float | None:
        durations = sorted(self.durations)
        return durations[min(len(durations) - 1, int(len(durations) * 0.99))] if durations else None


Publisher = Callable[[list[Event], int], None]
"""Receives each batch (in delivery order) and the resume watermark, synchronously."""


class Poller:
    def __init__(
        self,
        store: EventStore,
        *,
        interval_s: float,
        page_size: int,
        publish: Publisher,
        page_chars: int = PAGE_CHARS,
    ):
        self.store = store
        self.interval_s = interval_s
        self.page_size = page_size
        self.page_chars = page_chars
        self.publish = publish
        self.gaps = GapTracker(horizon_strategy(store.family))
        self.cursor = Cursor()
        self.health = PollerHealth()
        self.metrics = PollerMetrics()
        self._started = asyncio.Event()

    # -- what subscribers need, read synchronously ----------------------------------

    def resume_point(self) -> ResumePoint | None:
        """Where the stream stands now; ``None`` until the head has been read."""
        if not self.cursor.started:
            return None
        high = self.cursor.high
        return ResumePoint(high, frozenset(self.gaps.open), self.gaps.watermark(high))

    async def wait_started(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._started.wait(), timeout)
        except TimeoutError:
            return False
        return True

    # -- the loop -----------------------------------------------------------------

    async def start_at_head(self) -> None:
        """Begin after the newest event (not id 0); recent missing ids become gaps."""
        high = await self.store.head()
        low = max(0, high - STARTUP_SCAN)
        present = set(await self.store.ids_between(low, high))
        missing = [i for i in range(low + 1, high + 1) if i not in present]
        if missing:
            token = await self.gaps.strategy.token_for_new_gaps(self.store)
            self.gaps.add(missing, token)
        self.cursor.high = high
        self.cursor.started = True
        self._started.set()
        log.info("polling db_events from id %d (%d recent gaps)", high, len(missing))

    async def poll_once(self) -> bool:
        """One poll; returns True when more is waiting (poll again at once).

        Order matters. The horizon is read first, so an old gap declared final
        was surely visible to the re-query. The re-query runs after the query for
        new ids and includes the gaps that query revealed: a transaction that
        committed before a newer row of the same writer is always delivered no
        later than that row. Events are taken in id order, which for any one
        writer is its commit order, and only as many as fit in ``page_chars``:
        what does not fit is read by the next poll (a present gap is then kept
        open, never given up).
        """
        started = time.perf_counter()
        store, strategy, high = self.store, self.gaps.strategy, self.cursor.high
        horizon = await strategy.current(store, sorted(self.gaps.open)) if self.gaps.open else None
        fresh = await store.refs_after(high, self.page_size)

        skipped: list[range] = []
        expected = high + 1
        for ref in fresh:
            if ref.id > expected:
                skipped.append(range(expected, ref.id))
            expected = ref.id + 1
        # A rolled-back bulk load burns ids by the million: only the newest
        # MAX_OPEN become gaps, before anything is queried or allocated per id.
        new_gaps = self.gaps.admit(skipped)
        # Read after the query that revealed the gaps: any transaction that held one
        # of them then is either still running now, or has ended and will be seen.
        token = await strategy.token_for_new_gaps(store) if new_gaps else None
        wanted = sorted({*self.gaps.open, *new_gaps})
        present = await store.refs_of(wanted) if wanted else []
        candidates = sorted([*present, *fresh], key=lambda ref: ref.id)
        taken = _prefix_within(candidates, self.page_chars)
        events = await store.by_ids([ref.id for ref in taken]) if taken else []

        # From here to publish: no await, so a subscriber always sees a resume
        # point consistent with what was published.
        delivered = {event.id for event in events}
        new_high = max(high, taken[-1].id) if taken else high
        left_for_later = frozenset(ref.id for ref in candidates[len(taken) :] if ref.id <= high)
        self.gaps.fill(list(delivered))
        if self.gaps.open:
            self.gaps.close_final(horizon, present=left_for_later)  # only gaps seen before the horizon was read
        unfilled = [gap for gap in new_gaps if gap <= new_high and gap not in delivered]
        vanished = [ref.id for ref in taken if ref.id > high and ref.id not in delivered]  # deleted meanwhile
        if unfilled or vanished:
            self.gaps.add(sorted({*unfilled, *vanished}), token)
        self.cursor.high = new_high
        self.metrics.record(events, time.perf_counter() - started)
        self._healthy()
        if events:
            self.publish(events, self.gaps.watermark(new_high))
        return len(fresh) == self.page_size or len(taken) < len(candidates)

    def _healthy(self) -> None:
        self.health.healthy = True
        self.health.last_error = None
        self.health.last_poll_at = time.monotonic()

    async def run(self) -> None:
        """Poll forever; reconnect with backoff whenever the database goes away."""
        backoff = 0.5
        while True:
            try:
                if not self.store.db.connected:
                    await self.store.db.connect()
                    self.metrics.reconnects += 1
                if not self.cursor.started:
                    await self.start_at_head()
                more = await self.poll_once()
                backoff = 0.5
                if more:
                    self.metrics.full_pages += 1
                    continue  # the next page is waiting
                await asyncio.sleep(self.interval_s)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - any driver error means: reconnect
                message = describe_error(error)
                if "db_events" in message:
                    message += " (has `python -m backend.migrate` run on this database?)"
                if self.health.healthy or self.health.last_error != message:
                    log.warning("database unavailable (%s); retrying in %.1f s", message, backoff)
                self.health.healthy = False
                self.health.last_error = message
                await self.store.db.disconnect_quietly()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)


def _prefix_within(refs: list[EventRef], budget: int) -> list[EventRef]:
    """The longest prefix of ``refs`` within ``budget`` characters (at least one ref)."""
    size = 0
    for count, ref in enumerate(refs):
        size += ref.size
        if count and size > budget:
            return refs[:count]
    return refs


def _age_seconds(timestamp: str) -> float:
    try:
        created = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return max(0.0, (datetime.now(UTC) - created).total_seconds())
