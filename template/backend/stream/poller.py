"""Polls ``db_events`` and publishes every committed event exactly once.

The cursor is gap-aware (see gaps.py): the poller remembers every id it skipped
and re-queries those on each poll until they commit or can no longer commit.
Events may thus arrive out of id order (in commit order); every message carries
``resume_after``, the id below which nothing is outstanding, for clients to
resume from.

Until the poller has read the head of ``db_events`` after a start it has no
position: :meth:`Poller.resume_point` is ``None`` and nobody may claim a head.

When to poll (:class:`Pace`): at once after a full page; every ``fast_s``
while events flow; back at ``interval_s`` after ``idle_after`` empty polls in a
row; never sooner after a batch than the batch took to reach the clients (its
fan-out). :meth:`Poller.wake` (PostgreSQL's NOTIFY, see db/listener.py) cuts any
wait short; the timer stays, so a lost notification only delays.
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

WAKE_MIN_GAP_S = 0.01
"""Woken polls start at least this long after the previous poll began (see ``Poller._wait``)."""


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
class Pace:
    """How long to wait before the next poll: fast while events flow, slow when idle.

    An empty poll costs about 0.1 ms, so polling every ``fast_s`` for a while
    after the last event is cheap, and an event in that while waits at most
    ``fast_s`` instead of ``interval_s``. More polls while events flow means
    more, smaller messages per client: that is where the extra CPU goes
    (docs/benchmarks.md).

    A batch costs one send per client, whatever its size, so the wait after a
    batch is at least its fan-out (``fanout_s``: from publishing it until the
    event loop comes back to the poller, every client's send done). The
    fan-out then takes at most about half of the loop, and with many clients
    the batches grow instead of the sends per second: 1,000 clients at 25 µs
    a send make a 25 ms fan-out, so about 20 batches a second, not 50.
    """

    interval_s: float
    """The configured (idle) interval."""
    fast_s: float
    idle_after: int
    """Empty polls in a row after which the pace falls back to ``interval_s``."""
    empty_in_row: int = 0
    fanout_s: float = 0.0
    """How long the last batch took to reach the clients; 0 after an empty poll."""

    def __post_init__(self) -> None:
        self.fast_s = min(self.fast_s, self.interval_s)
        # Start idle: nothing has flowed yet.
        self.empty_in_row = self.idle_after

    def after_poll(self, events: int, fanout_s: float = 0.0) -> None:
        self.empty_in_row = 0 if events else self.empty_in_row + 1
        self.fanout_s = fanout_s

    @property
    def fast(self) -> bool:
        return self.empty_in_row < self.idle_after

    def delay(self) -> float:
        return max(self.fast_s if self.fast else self.interval_s, self.fanout_s)

    def min_gap(self, wake_min_gap_s: float) -> float:
        """The least time from the start of a poll to a poll that a wake-up starts."""
        return max(wake_min_gap_s, self.fanout_s)


@dataclass(slots=True)
class PollerMetrics:
    polls: int = 0
    fast_polls: int = 0
    """Polls started by the fast timer (events were flowing)."""
    woken_polls: int = 0
    """Polls started by a wake-up (a NOTIFY) before their timer ran out."""
    events_after_wakeup: int = 0
    """Events delivered by polls that a wake-up started."""
    events_polled: int = 0
    poll_seconds_total: float = 0.0
    reconnects: int = 0
    full_pages: int = 0
    fanout_seconds_total: float = 0.0
    """Time from publishing a batch until the loop came back to the poller, summed (``Poller._fanout``)."""
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
        fast_interval_s: float | None = None,
        idle_after: int = 25,
    ):
        self.store = store
        self.interval_s = interval_s
        self.pace = Pace(interval_s, interval_s if fast_interval_s is None else fast_interval_s, idle_after)
        self.page_size = page_size
        self.page_chars = page_chars
        self.publish = publish
        self.gaps = GapTracker(horizon_strategy(store.family))
        self.cursor = Cursor()
        self.health = PollerHealth()
        self.metrics = PollerMetrics()
        self._started = asyncio.Event()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Poll now instead of at the end of the current wait (called from the event loop's thread)."""
        self._wake.set()

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
        later than that row. The re-query sees one moment however many gaps
        are open (EventStore.refs_of), so a transaction is never seen in part.
        Events are taken in id order, which for any one writer is its commit
        order, and only as many as fit in ``page_chars``: what does not fit is
        read by the next poll (a present gap is then kept open, never given up).
        """
        started = time.perf_counter()
        store, strategy, high = self.store, self.gaps.strategy, self.cursor.high
        horizon_read_at = time.monotonic()
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
            # Only gaps seen before the horizon was read, aged as they were then.
            self.gaps.close_final(horizon, read_at=horizon_read_at, present=left_for_later)
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

    async def _fanout(self) -> float:
        elapsed = await fanout_time()
        self.metrics.fanout_seconds_total += elapsed
        return elapsed

    async def _wait(self, polled_at: float) -> str:
        """Wait for the pace's delay or a wake-up, whichever comes first; say which.

        A wake-up polls no sooner than WAKE_MIN_GAP_S after the last poll began:
        at 1,000 commits/s every commit notifies, and one poll per commit would
        spend the CPU on polls instead of on events.
        """
        delay = self.pace.delay()
        fast = self.pace.fast
        try:
            await asyncio.wait_for(self._wake.wait(), delay)
        except TimeoutError:
            return "fast" if fast else "timer"
        gap = self.pace.min_gap(WAKE_MIN_GAP_S) - (time.monotonic() - polled_at)
        if gap > 0:
            await asyncio.sleep(gap)
        return "wake"

    async def run(self) -> None:
        """Poll forever; reconnect with backoff whenever the database goes away."""
        backoff = 0.5
        reason = "timer"
        while True:
            try:
                if not self.store.db.connected:
                    await self.store.db.connect()
                    self.metrics.reconnects += 1
                if not self.cursor.started:
                    await self.start_at_head()
                # Cleared before the poll: a notification arriving during it polls again.
                self._wake.clear()
                polled_at = time.monotonic()
                polled = self.metrics.events_polled
                more = await self.poll_once()
                events = self.metrics.events_polled - polled
                fanout = await self._fanout() if events and not more else 0.0
                self.pace.after_poll(events, fanout)
                if reason == "wake":
                    self.metrics.events_after_wakeup += events
                backoff = 0.5
                if more:
                    self.metrics.full_pages += 1
                    reason = "more"
                    continue  # the next page is waiting
                reason = await self._wait(polled_at)
                if reason == "wake":
                    self.metrics.woken_polls += 1
                elif reason == "fast":
                    self.metrics.fast_polls += 1
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


async def fanout_time() -> float:
    """How long the batch just published takes to reach its clients, awaited right after publishing.

    Publishing woke every waiting client's sender task, in order; one yield puts
    the caller behind them all, and each takes its message and sends it in one
    step (hub.Client.next, websocket._Connection.send) unless its socket is full,
    so the time until the caller runs again is the fan-out (with whatever else
    the loop had to do meanwhile, which is load all the same).
    """
    started = time.perf_counter()
    await asyncio.sleep(0)
    return time.perf_counter() - started


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
