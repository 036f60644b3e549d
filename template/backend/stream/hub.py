"""Fan-out: every batch is encoded once and offered to each client's bounded queue.

A queue is bounded in bytes (``CLIENT_QUEUE_BYTES``), not in messages, so large
events cannot make a slow client hoard memory. A client that falls that far
behind is disconnected (close code 1013, "try again later") instead of slowing
anyone else down: publishing never waits on a client.

"That far behind" is the backlog a new batch finds: a batch (one poll's page,
at most event_store.PAGE_CHARS) is queued whole when the client has at most
``CLIENT_QUEUE_BYTES`` still unsent, so a client that reads is never closed
because one poll brought a burst larger than its queue; a client's memory
stays under its limit plus one page.

A client that does not take a message within ``send_timeout_s`` is closed as
not reading, and an idle client gets a heartbeat every ``heartbeat_s``: both
by one watchdog sweeping all clients every ``SWEEP_S``, not by a timer per
message, since at a thousand clients arming and cancelling a timer per send and
per wait was a fifth of the backend's CPU (docs/benchmarks.md).

Connections are bounded too (``WS_MAX_CLIENTS``, :meth:`Hub.admit`): each one
holds memory (its queue, a task pair), so a flood of connections cannot add up
to more than the limit's worth; the ones past it are closed with 1013 and retry
with backoff. A replay holds a page of events (up to event_store.PAGE_CHARS)
while it sends it, so at most ``WS_MAX_REPLAYS`` pages are in memory at once
(:class:`ReplaySlots`): when a fleet of pages reconnects after an outage, the
replays take turns instead of each reading its page at the same time.

Clients are grouped by subscription (subscription.py): a batch is filtered and
encoded once per distinct subscription, then the same strings are offered to
every client of that group, so a thousand clients watching the same entity
cost one encoding, not a thousand. Clients that asked for compression
(compression.py) form their own groups: the encoded batch is compressed once
per subscription and the same bytes go to each of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from . import protocol
from .compression import LIVE_LEVEL, Message, compressed
from .event_store import Event
from .subscription import EVERYTHING, Subscription

SLOW_CLIENT_CLOSE_CODE = 1013
SWEEP_S = 0.5
"""How often the watchdog looks at every client: the slack of the send timeout and of the heartbeat."""


class ReplaySlots:
    """At most ``size`` replay pages in memory at once, across all connections."""

    def __init__(self, size: int):
        self._semaphore = asyncio.Semaphore(size)
        self.waiting = 0
        """Replay pages waiting for a slot."""

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        self.waiting += 1
        try:
            await self._semaphore.acquire()
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            self._semaphore.release()


@dataclass(eq=False)
class Client:
    limit_bytes: int
    subscription: Subscription = EVERYTHING
    """Set before the client is registered; fixed for the connection's life."""
    compression: bool = False
    """Large ``events`` messages as compressed binary frames (compression.py); set and fixed as ``subscription``."""
    messages: deque[Message] = field(default_factory=deque)
    queued_bytes: int = 0
    overflowed: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the client fell too far behind (``offer``)."""
    stalled: asyncio.Event = field(default_factory=asyncio.Event)
    """Set by the watchdog when a send did not complete within the send timeout (not reading)."""
    sending_since: float | None = None
    """``time.monotonic()`` when the send in progress started; None between sends."""
    idle_since: float = field(default_factory=time.monotonic)
    """When the client last took a message (or connected): the watchdog's heartbeat clock."""
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def group(self) -> tuple[Subscription, bool]:
        """The clients that get the same bytes of every batch."""
        return self.subscription, self.compression

    def offer(self, messages: list[Message]) -> bool:
        """Queue a batch; False (and ``overflowed`` set) when the client is too far behind to take it."""
        if self.overflowed.is_set():
            return False
        if self.queued_bytes > self.limit_bytes:
            self.overflowed.set()
            return False
        for message in messages:
            self.messages.append(message)
            self.queued_bytes += sys.getsizeof(message)
        self._arrived.set()
        return True

    async def next(self) -> Message:
        """The oldest queued message, once there is one."""
        if not self.messages:
            self._arrived.clear()
            await self._arrived.wait()
        message = self.messages.popleft()
        self.queued_bytes -= sys.getsizeof(message)
        self.idle_since = time.monotonic()
        return message

    def sending(self) -> None:
        self.sending_since = time.monotonic()

    def sent(self) -> None:
        self.sending_since = None


class Hub:
    def __init__(
        self,
        queue_bytes: int,
        send_timeout_s: float = 10.0,
        heartbeat_s: float = 15.0,
        max_connections: int | None = None,
        max_replays: int = 4,
    ):
        self.queue_bytes = queue_bytes
        self.send_timeout_s = send_timeout_s
        self.heartbeat_s = heartbeat_s
        self.max_connections = max_connections
        """Open connections at most (:meth:`admit`); None: no limit."""
        self.clients: set[Client] = set()
        """Clients registered for published events."""
        self.connections: set[Client] = set()
        """Every client of an open connection, registered or not yet: the watchdog's sends to watch, and
        what ``max_connections`` counts (each leaves when its connection ends: :meth:`leave`)."""
        self.refused_full = 0
        """Connections turned away because ``max_connections`` were open."""
        self.replays = ReplaySlots(max_replays)
        self.groups: dict[tuple[Subscription, bool], set[Client]] = {}
        """The registered clients by :attr:`Client.group`."""
        self.events_published = 0
        self.batches = 0
        """Batches published (one per poll that brought events)."""
        self.encodings = 0
        """Batches encoded: one per batch and distinct subscription among the clients."""
        self.compressions = 0
        """Batches compressed: one per batch and distinct subscription among the clients that asked for it."""
        self.bytes_queued = 0
        """Size of the messages queued for clients (text counted in characters), summed over clients."""
        self.messages_queued = 0
        self.dropped_queue_full = 0
        """Clients disconnected for falling ``queue_bytes`` behind."""
        self.dropped_not_reading = 0
        """Clients disconnected because a send did not complete in time."""

    def new_client(self) -> Client:
        """A client with its queue, not yet receiving published events."""
        client = Client(self.queue_bytes)
        self.connections.add(client)
        return client

    def admit(self) -> Client | None:
        """A client for a new connection, or None (counted) when ``max_connections`` are open;
        every client admitted must :meth:`leave`."""
        if self.max_connections is not None and len(self.connections) >= self.max_connections:
            self.refused_full += 1
            return None
        return self.new_client()

    def leave(self, client: Client) -> None:
        """``client``'s connection ended."""
        self.unregister(client)
        self.connections.discard(client)

    def register(self, client: Client) -> None:
        self.clients.add(client)
        self.groups.setdefault(client.group, set()).add(client)

    def unregister(self, client: Client) -> None:
        self.clients.discard(client)
        group = self.groups.get(client.group)
        if group is not None:
            group.discard(client)
            if not group:
                del self.groups[client.group]

    def publish(self, events: list[Event], resume_after: int) -> None:
        self.events_published += len(events)
        self.batches += 1
        encoded: dict[Subscription, list[str]] = {}
        for (subscription, compression), group in tuple(self.groups.items()):
            texts = encoded.get(subscription)
            if texts is None:
                texts = encoded[subscription] = protocol.events_messages_for(events, resume_after, subscription)
                self.encodings += 1
            messages: list[Message] = list(texts)
            if compression:
                messages = [compressed(text, LIVE_LEVEL) for text in texts]
                self.compressions += 1
            size = sum(len(message) for message in messages)
            for client in tuple(group):
                if not client.offer(messages):
                    # Dropped at once: no more queueing for it while its
                    # connection is being closed (and counted there).
                    self.unregister(client)
                    continue
                self.messages_queued += len(messages)
                self.bytes_queued += size

    def broadcast(self, message: str) -> None:
        """One control message (an alert change) to every client, on the same terms as events."""
        for client in tuple(self.clients):
            if not client.offer([message]):
                self.unregister(client)
                continue
            self.messages_queued += 1
            self.bytes_queued += len(message)

    def fell_behind(self, client: Client) -> None:
        self.unregister(client)
        self.dropped_queue_full += 1

    def not_reading(self, client: Client) -> None:
        self.unregister(client)
        self.dropped_not_reading += 1

    async def watch(self, heartbeat: Callable[[], str | None]) -> None:
        """Until cancelled: flag stalled sends, and queue ``heartbeat()`` (None: none yet) to idle clients."""
        while True:
            await asyncio.sleep(SWEEP_S)
            self.sweep(heartbeat, time.monotonic())

    def sweep(self, heartbeat: Callable[[], str | None], now: float) -> None:
        message: str | None = None
        for client in tuple(self.connections):
            if client.sending_since is not None:
                if now - client.sending_since > self.send_timeout_s:
                    client.stalled.set()
            elif client in self.clients and not client.messages and now - client.idle_since >= self.heartbeat_s:
                # One read of the resume point for the sweep, in the same step as the offers: every event
                # published before it is queued ahead of the heartbeat (hub.publish runs between sweeps).
                message = message or heartbeat()
                if message is not None and client.offer([message]):
                    client.idle_since = now
