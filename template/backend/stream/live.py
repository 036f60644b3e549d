"""The stream's public face: subscribing, waiting for the start, and its status.

Resume without gap or duplicate rests on one rule: a client is registered with
the hub and the poller's resume point is read in the same synchronous step
(:meth:`LiveStream.subscribe`). Every event the poller publishes afterwards
reaches the client's queue; every event it published before is in the resume
point (delivered ids up to ``high``, minus the open gaps), which a replay reads
from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from ..db.listener import Listener
from . import protocol
from .hub import Client, Hub
from .poller import Poller, ResumePoint


@dataclass(frozen=True, slots=True)
class StreamStatus:
    """Everything /health and /metrics report about the stream, read at once."""

    started: bool
    healthy: bool
    last_error: str | None
    last_poll_age_s: float | None
    lag_s: float
    last_event_id: int
    open_gaps: int
    gaps_closed: int
    gaps_dropped: int
    clients: int
    events_published: int
    messages_queued: int
    subscriptions: int
    """Distinct subscriptions among the connected clients (hub groups)."""
    batches_published: int
    batch_encodings: int
    """Batches encoded: one per batch and distinct subscription, however many clients share it."""
    batch_compressions: int
    """Batches compressed: one per batch and distinct subscription among the clients that asked for compression."""
    bytes_queued: int
    """Size of all messages queued to clients (text in characters, compressed frames in bytes)."""
    clients_dropped_queue_full: int
    clients_dropped_not_reading: int
    connections: int
    """Open WebSocket connections (registered clients, and those still in their handshake or replay)."""
    connections_refused: int
    """Connections turned away because ``WS_MAX_CLIENTS`` were open."""
    replays_waiting: int
    """Replay pages waiting for one of the ``WS_MAX_REPLAYS`` slots."""
    polls: int
    events_polled: int
    poll_seconds_total: float
    poll_p99_s: float | None
    full_pages: int
    reconnects: int
    fast_polls: int
    woken_polls: int
    events_after_wakeup: int
    poll_delay_s: float
    """The wait before the next timed poll: the fast interval while events flow, else the configured one;
    never less than the last batch's fan-out."""
    fanout_seconds_total: float
    """Time from publishing each batch until every client's send was done, summed."""
    listener_connected: bool | None
    """None: no LISTEN (not PostgreSQL)."""
    listener_reconnects: int
    notifications: int


class LiveStream:
    def __init__(self, poller: Poller, hub: Hub, listener: Listener | None = None):
        self._poller = poller
        self._hub = hub
        self._listener = listener

    async def run(self) -> None:
        """The poller, and the LISTEN connection that wakes it (PostgreSQL), until cancelled."""
        if self._listener is None:
            await self._poller.run()
            return
        async with asyncio.TaskGroup() as group:
            group.create_task(self._poller.run(), name="poller")
            group.create_task(self._listener.run(), name="listener")

    async def watch(self) -> None:
        """The hub's watchdog (stalled sends, heartbeats), until cancelled: its own task, beside ``run``."""
        await self._hub.watch(self._heartbeat)

    def _heartbeat(self) -> str | None:
        """What an idle client is told: it has everything published, so the current watermark is a safe
        point to resume from; None until the poller has read the head."""
        point = self._poller.resume_point()
        return None if point is None else protocol.heartbeat(last_event_id=point.high, resume_after=point.watermark)

    def admit(self) -> Client | None:
        """A client for a new connection; None when the backend has its maximum open (hub.py)."""
        return self._hub.admit()

    def leave(self, client: Client) -> None:
        """``client``'s connection ended (whatever the way)."""
        self._hub.leave(client)

    def replay_slot(self) -> contextlib.AbstractAsyncContextManager[None]:
        """``async with``: one replay page in memory (at most ``WS_MAX_REPLAYS`` at once, hub.py)."""
        return self._hub.replays.slot()

    def subscribe(self, client: Client) -> ResumePoint | None:
        """Start ``client``'s live feed and say what it already covers; None (and no feed)
        until the poller has read the head."""
        point = self._poller.resume_point()
        if point is not None:
            self._hub.register(client)
        return point

    def unsubscribe(self, client: Client) -> None:
        self._hub.unregister(client)

    def fell_behind(self, client: Client) -> None:
        """``client`` is being closed because its queue overflowed."""
        self._hub.fell_behind(client)

    def not_reading(self, client: Client) -> None:
        """``client`` is being closed because a send did not complete in time."""
        self._hub.not_reading(client)

    def resume_point(self) -> ResumePoint | None:
        return self._poller.resume_point()

    async def wait_started(self, timeout: float) -> bool:
        return await self._poller.wait_started(timeout)

    @property
    def healthy(self) -> bool:
        return self._poller.health.healthy

    def status(self) -> StreamStatus:
        poller, hub, listener = self._poller, self._hub, self._listener
        health, metrics, gaps = poller.health, poller.metrics, poller.gaps
        return StreamStatus(
            started=poller.cursor.started,
            healthy=health.healthy,
            last_error=health.last_error,
            last_poll_age_s=None if health.last_poll_at is None else time.monotonic() - health.last_poll_at,
            lag_s=metrics.lag_seconds,
            last_event_id=poller.cursor.high,
            open_gaps=len(gaps.open),
            gaps_closed=gaps.closed_unfilled,
            gaps_dropped=gaps.dropped_over_limit,
            clients=len(hub.clients),
            events_published=hub.events_published,
            messages_queued=hub.messages_queued,
            subscriptions=len({subscription for subscription, _ in hub.groups}),
            batches_published=hub.batches,
            batch_encodings=hub.encodings,
            batch_compressions=hub.compressions,
            bytes_queued=hub.bytes_queued,
            clients_dropped_queue_full=hub.dropped_queue_full,
            clients_dropped_not_reading=hub.dropped_not_reading,
            connections=len(hub.connections),
            connections_refused=hub.refused_full,
            replays_waiting=hub.replays.waiting,
            polls=metrics.polls,
            events_polled=metrics.events_polled,
            poll_seconds_total=metrics.poll_seconds_total,
            poll_p99_s=metrics.p99(),
            full_pages=metrics.full_pages,
            reconnects=metrics.reconnects,
            fast_polls=metrics.fast_polls,
            woken_polls=metrics.woken_polls,
            events_after_wakeup=metrics.events_after_wakeup,
            poll_delay_s=poller.pace.delay(),
            fanout_seconds_total=metrics.fanout_seconds_total,
            listener_connected=None if listener is None else listener.metrics.connected,
            listener_reconnects=0 if listener is None else listener.metrics.reconnects,
            notifications=0 if listener is None else listener.metrics.notifications,
        )
