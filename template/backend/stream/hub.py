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

Clients are grouped by subscription (subscription.py): a batch is filtered and
encoded once per distinct subscription, then the same strings are offered to
every client of that group, so a thousand clients watching the same entity
cost one encoding, not a thousand.
"""

from __future__ import annotations

import asyncio
import sys
from collections import deque
from dataclasses import dataclass, field

from . import protocol
from .event_store import Event
from .subscription import EVERYTHING, Subscription

SLOW_CLIENT_CLOSE_CODE = 1013


@dataclass(eq=False)
class Client:
    limit_bytes: int
    subscription: Subscription = EVERYTHING
    """Set before the client is registered; fixed for the connection's life."""
    messages: deque[str] = field(default_factory=deque)
    queued_bytes: int = 0
    overflowed: asyncio.Event = field(default_factory=asyncio.Event)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, messages: list[str]) -> bool:
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

    async def next(self, timeout: float) -> str | None:
        """The oldest queued message, or None when nothing arrived within ``timeout`` seconds."""
        if not self.messages:
            self._arrived.clear()
            try:
                # asyncio.timeout, not wait_for: no task per message (wait_for makes one on Python 3.11),
                # so a published batch reaches a waiting client in one step of its task.
                async with asyncio.timeout(timeout):
                    await self._arrived.wait()
            except TimeoutError:
                return None
        message = self.messages.popleft()
        self.queued_bytes -= sys.getsizeof(message)
        return message


class Hub:
    def __init__(self, queue_bytes: int):
        self.queue_bytes = queue_bytes
        self.clients: set[Client] = set()
        self.groups: dict[Subscription, set[Client]] = {}
        """The registered clients by subscription."""
        self.events_published = 0
        self.batches = 0
        """Batches published (one per poll that brought events)."""
        self.encodings = 0
        """Batches encoded: one per batch and distinct subscription among the clients."""
        self.messages_queued = 0
        self.dropped_queue_full = 0
        """Clients disconnected for falling ``queue_bytes`` behind."""
        self.dropped_not_reading = 0
        """Clients disconnected because a send did not complete in time."""

    def new_client(self) -> Client:
        """A client with its queue, not yet receiving published events."""
        return Client(self.queue_bytes)

    def register(self, client: Client) -> None:
        self.clients.add(client)
        self.groups.setdefault(client.subscription, set()).add(client)

    def unregister(self, client: Client) -> None:
        self.clients.discard(client)
        group = self.groups.get(client.subscription)
        if group is not None:
            group.discard(client)
            if not group:
                del self.groups[client.subscription]

    def publish(self, events: list[Event], resume_after: int) -> None:
        self.events_published += len(events)
        self.batches += 1
        for subscription, group in tuple(self.groups.items()):
            messages = protocol.events_messages_for(events, resume_after, subscription)
            self.encodings += 1
            for client in tuple(group):
                if not client.offer(messages):
                    # Dropped at once: no more queueing for it while its
                    # connection is being closed (and counted there).
                    self.unregister(client)
                    continue
                self.messages_queued += len(messages)

    def broadcast(self, message: str) -> None:
        """One control message (an alert change) to every client, on the same terms as events."""
        for client in tuple(self.clients):
            if not client.offer([message]):
                self.unregister(client)
                continue
            self.messages_queued += 1

    def fell_behind(self, client: Client) -> None:
        self.unregister(client)
        self.dropped_queue_full += 1

    def not_reading(self, client: Client) -> None:
        self.unregister(client)
        self.dropped_not_reading += 1
