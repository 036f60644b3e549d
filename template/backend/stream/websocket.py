"""``WS /ws[?after=ID][&entities=A,B][&types=insert,...][&compression=deflate]``: hello, optional
replay of retained events, then the live stream; with ``entities`` / ``types``, only those
(subscription.py); with ``compression``, large ``events`` messages compressed (compression.py).

Until the poller has read the head after a (re)start, the server claims no head:
it sends ``starting`` (again every heartbeat interval) and waits, so that a
resuming client is never told it is ahead of a database that is merely not
reached yet. Resume without gap or duplicate: see live.py.

Memory per connection is bounded: the live queue in bytes (hub.py), the replay
by reading and sending one page at a time, and a client that does not take a
message within ``CLIENT_SEND_TIMEOUT_S`` is closed (1013) as not reading (the
hub's watchdog flags the send).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from fastapi import WebSocket, WebSocketDisconnect

from ..api.dependencies import RuntimeDep, SignedIn
from ..api.security import POLICY_VIOLATION, origin_ok
from ..runtime import Runtime
from . import protocol
from .compression import REPLAY_LEVEL, BadCompression, Message, compressed, parse_compression
from .event_store import PAGE_CHARS, EventRef, EventStore, within_budget
from .hub import SLOW_CLIENT_CLOSE_CODE, Client
from .live import LiveStream
from .poller import ResumePoint
from .subscription import BadSubscription, Tally, close_reason, count, parse_subscription

log = logging.getLogger("dashboard.websocket")

PARAMETERS = ("after", "entities", "types", "compression")
"""The query parameters of ``/ws``; each may be given once."""
REPLAY_PAGE = 1000
INTERNAL_ERROR = 1011
CLOSE_WAIT_S = 30.0


async def websocket_endpoint(websocket: WebSocket, runtime: RuntimeDep, signed_in: SignedIn) -> None:
    settings = runtime.settings
    if not origin_ok(settings, websocket.headers) or not signed_in:
        await websocket.close(code=POLICY_VIOLATION)  # before accept: the handshake gets 403
        return
    await websocket.accept()
    client = runtime.stream.admit()
    if client is None:
        reason = f"server full: {settings.max_clients} connections (WS_MAX_CLIENTS); retry later"
        with contextlib.suppress(Exception):
            await asyncio.wait_for(websocket.close(code=SLOW_CLIENT_CLOSE_CODE, reason=reason), CLOSE_WAIT_S)
        return
    try:
        await _Connection(websocket, runtime, client).start()
    finally:
        runtime.stream.leave(client)


class _Connection:
    def __init__(self, websocket: WebSocket, runtime: Runtime, client: Client):
        self.websocket = websocket
        self.runtime = runtime
        self.stream: LiveStream = runtime.stream
        self.store: EventStore = runtime.store
        self.poll_interval_ms = round(runtime.settings.poll_interval_s * 1000)
        self.send_timeout_s = runtime.settings.client_send_timeout_s
        self.heartbeat_s = runtime.settings.heartbeat_s
        self.queue_bytes = runtime.settings.client_queue_bytes
        self.client = client

    async def start(self) -> None:
        """The query parameters, then :meth:`serve`; a bad one closes with 1008 naming it."""
        params = self.websocket.query_params
        repeated = next((name for name in PARAMETERS if len(params.getlist(name)) > 1), None)
        if repeated is not None:  # which one was meant? (a page never sends two)
            with contextlib.suppress(Exception):
                await self.send(protocol.error(f"{repeated} is given more than once"))
            await self.close(POLICY_VIOLATION, f"{repeated} given more than once")
            return
        raw_after = params.get("after")
        after: int | None = None
        if raw_after is not None:
            try:
                after = protocol.parse_event_id("after", raw_after)
            except protocol.BadEventId as error:
                with contextlib.suppress(Exception):
                    await self.send(protocol.error(str(error)))
                await self.close(POLICY_VIOLATION, "bad after parameter")
                return
        try:
            known = [entity.name for entity in self.runtime.model.entities]
            self.client.subscription = parse_subscription(params.get("entities"), params.get("types"), known)
            self.client.compression = parse_compression(params.get("compression"))
        except (BadSubscription, BadCompression) as error:
            with contextlib.suppress(Exception):
                await self.send(protocol.error(str(error)))
            await self.close(POLICY_VIOLATION, close_reason(str(error)))
            return
        await self.serve(after)

    async def send(self, message: Message) -> None:
        """Sends; a send still waiting after ``CLIENT_SEND_TIMEOUT_S`` is flagged by the hub's watchdog."""
        self.client.sending()
        try:
            if isinstance(message, bytes):
                await self.websocket.send_bytes(message)
            else:
                await self.websocket.send_text(message)
        finally:
            self.client.sent()

    async def close(self, code: int, reason: str) -> None:
        # The close frame waits behind what the client has not read yet: it gets it if
        # it reads again soon. Bounded: the connection is then dropped without it.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.websocket.close(code=code, reason=reason), CLOSE_WAIT_S)

    async def serve(self, after: int | None) -> None:
        sender = asyncio.create_task(self._send_all(after))
        receiver = asyncio.create_task(self._receive())
        overflow = asyncio.create_task(self.client.overflowed.wait())
        stalled = asyncio.create_task(self.client.stalled.wait())
        tasks: tuple[asyncio.Task[object], ...] = (sender, receiver, overflow, stalled)
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.stream.unsubscribe(self.client)  # no more queueing while it is being closed
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if overflow in done:
            self.stream.fell_behind(self.client)
            reason = f"too slow: more than {self.queue_bytes} bytes behind; reconnect with ?after="
            await self.close(SLOW_CLIENT_CLOSE_CODE, reason)
            return
        if stalled in done:
            self.stream.not_reading(self.client)
            reason = f"not reading: a message waited more than {self.send_timeout_s:g} s"
            await self.close(SLOW_CLIENT_CLOSE_CODE, reason)
            return
        for finished in done:
            error = finished.exception()
            if error is None or isinstance(error, WebSocketDisconnect):
                continue
            # A server-side failure (e.g. the database went away during a replay);
            # nothing a client sends can get here.
            log.warning("closing a WebSocket: %s", error)
            await self.close(INTERNAL_ERROR, "server error, reconnect later")
            return

    async def _send_all(self, after: int | None) -> None:
        point = self.stream.subscribe(self.client)
        while point is None:
            await self.send(protocol.starting())
            await self.stream.wait_started(self.heartbeat_s)
            point = self.stream.subscribe(self.client)
        await self.send(
            protocol.hello(
                last_event_id=point.high,
                resume_after=point.watermark,
                poll_interval_ms=self.poll_interval_ms,
                server_time=time.time(),
                subscription=self.client.subscription,
                compression=self.client.compression,
            )
        )
        if after is not None:
            await self._replay(after, point)
        while True:  # heartbeats come through the queue too (hub.py)
            await self.send(await self.client.next())

    async def _replay(self, after: int, point: ResumePoint) -> None:
        """The retained events after ``after`` that the live feed will not bring."""
        store, high = self.store, point.high
        oldest = await store.oldest()
        truncated = (oldest is None and after < high) or (oldest is not None and after + 1 < oldest)
        if after > high:
            await self.send(protocol.reset_ahead(after=after, last_event_id=high))
        elif truncated:
            await self.send(protocol.reset_truncated(after=after, oldest_event_id=oldest, last_event_id=high))
        position, subscription = after, self.client.subscription
        while position < high:
            page = [ref for ref in await store.refs_after(position, REPLAY_PAGE) if ref.id <= high]
            if not page:
                break
            # Open gaps come live when they commit; what the subscription leaves out is counted, not read.
            wanted: list[EventRef] = []
            unsent: Tally = {}
            for ref in page:
                if ref.id in point.open_gaps:
                    continue
                if subscription.wants(ref.entity, ref.event_type):
                    wanted.append(ref)
                else:
                    count(unsent, ref.entity, ref.event_type)
            groups = within_budget(wanted, PAGE_CHARS) or [[]]
            for number, group in enumerate(groups):
                last = number == len(groups) - 1
                read_through = page[-1].id if last else group[-1].id
                async with self.stream.replay_slot():  # the page's events are in memory until sent
                    events = await store.by_ids([ref.id for ref in group]) if group else []
                    # Checked after the read, which may have waited for its slot: retention that ran
                    # meanwhile, here (its marker) or in another backend (rows of the page are gone).
                    if not truncated and (len(events) < len(group) or store.deleting_below > position + 1):
                        truncated = True
                        oldest = await store.oldest()
                        await self.send(
                            protocol.reset_truncated(after=position, oldest_event_id=oldest, last_event_id=high)
                        )
                    messages = protocol.events_messages(
                        events, min(read_through, point.watermark), replay=True, unsent=unsent if last else None
                    )
                    del events  # the page is let go before the next one waits for its slot
                    for message in messages:
                        await self.send(compressed(message, REPLAY_LEVEL) if self.client.compression else message)
                    del messages
                position = read_through

    async def _receive(self) -> None:
        """Client messages are optional; anything malformed is ignored, never fatal."""
        while True:
            frame = await self.websocket.receive()
            if frame["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(frame.get("code", 1000))
            text = frame.get("text")
            if text is None:
                continue  # binary frames mean nothing here
            is_ping, ping_id = protocol.client_ping_id(text)
            if is_ping:
                self.client.offer([protocol.pong(ping_id)])
