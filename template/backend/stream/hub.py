"""Fan-out: every batch is JSON-encoded once and offered to each client's bounded queue.

A client that falls ``queue_size`` messages behind is disconnected (close code
1013, "try again later") instead of slowing anyone else down: publishing never
waits on a client.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field

from .event_store import Event

SLOW_CLIENT_CLOSE_CODE = 1013


def events_message(events: list[Event], resume_after: int, *, replay: bool = False) -> str:
    body = ",".join(event.to_json() for event in events)
    flag = ',"replay":true' if replay else ""
    return f'{{"type":"events","events":[{body}],"resume_after":{resume_after}{flag}}}'


@dataclass(eq=False)
class Client:
    id: int
    queue: asyncio.Queue[str]
    overflowed: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, message: str) -> bool:
        """Queue ``message``; False (and ``overflowed`` set) when the client is too far behind."""
        if self.overflowed.is_set():
            return False
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed.set()
            return False
        return True


class Hub:
    def __init__(self, queue_size: int):
        self.queue_size = queue_size
        self.clients: set[Client] = set()
        self._ids = itertools.count(1)
        self.events_published = 0
        self.messages_queued = 0
        self.slow_disconnects = 0

    def register(self) -> Client:
        client = Client(next(self._ids), asyncio.Queue(self.queue_size))
        self.clients.add(client)
        return client

    def unregister(self, client: Client) -> None:
        self.clients.discard(client)

    def publish(self, events: list[Event], resume_after: int) -> None:
        message = events_message(events, resume_after)
        self.events_published += len(events)
        for client in tuple(self.clients):
            if client.offer(message):
                self.messages_queued += 1
            else:
                # Dropped at once: no more encoding or queueing for it while its
                # connection is being closed.
                self.clients.discard(client)
                self.slow_disconnects += 1
