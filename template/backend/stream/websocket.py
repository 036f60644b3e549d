"""``WS /ws[?after=ID]``: hello, optional replay of retained events, then the live stream.

Resume without gap or duplicate: the client is registered with the hub and the
poller's delivered set (ids <= high, minus open gaps) is read in the same
synchronous step. Replay sends exactly that set's retained events after ID;
every live message queued meanwhile holds only ids outside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect

from ..api.security import authenticated, origin_ok
from ..runtime import Runtime
from .hub import SLOW_CLIENT_CLOSE_CODE, Client, events_message

log = logging.getLogger("dashboard.websocket")

HEARTBEAT_S = 15.0
REPLAY_PAGE = 1000
POLICY_VIOLATION = 1008
INTERNAL_ERROR = 1011


def _json(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


async def websocket_endpoint(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    settings = runtime.settings
    if not origin_ok(settings, websocket.headers) or not authenticated(settings, websocket):
        await websocket.close(code=POLICY_VIOLATION)  # before accept: the handshake gets 403
        return
    await websocket.accept()
    raw_after = websocket.query_params.get("after")
    after: int | None = None
    if raw_after is not None:
        if not raw_after.isdigit():
            await websocket.send_text(_json({"type": "error", "message": "after must be a non-negative integer id"}))
            await websocket.close(code=POLICY_VIOLATION, reason="bad after parameter")
            return
        after = int(raw_after)

    poller, hub = runtime.poller, runtime.hub
    client = hub.register()
    high, open_gaps = poller.delivered_snapshot()
    watermark = poller.watermark
    try:
        await websocket.send_text(
            _json(
                {
                    "type": "hello",
                    "last_event_id": high,
                    "resume_after": watermark,
                    "poll_interval_ms": round(settings.poll_interval_s * 1000),
                    "server_time": time.time(),
                }
            )
        )
        if after is not None:
            await _replay(websocket, runtime, after, high, open_gaps, watermark)
        await _stream(websocket, runtime, client)
    except WebSocketDisconnect:
        pass
    except Exception as error:  # noqa: BLE001 - e.g. the database went away during replay
        log.warning("closing a WebSocket: %s", error)
        with contextlib.suppress(Exception):
            await websocket.close(code=INTERNAL_ERROR, reason="server error, reconnect later")
    finally:
        hub.unregister(client)


async def _replay(
    websocket: WebSocket, runtime: Runtime, after: int, high: int, open_gaps: frozenset[int], watermark: int
) -> None:
    low, _ = await runtime.store.bounds()
    if after > high:
        message = f"event {after} is newer than the newest event ({high}): was the database reset?"
        await websocket.send_text(
            _json({"type": "reset", "reason": "ahead", "message": message, "last_event_id": high})
        )
    elif (low is None and after < high) or (low is not None and after + 1 < low):
        await websocket.send_text(
            _json(
                {
                    "type": "reset",
                    "reason": "truncated",
                    "message": f"events after {after} are no longer retained: reload",
                    "oldest_event_id": low,
                    "last_event_id": high,
                }
            )
        )
    cursor = after
    while cursor < high:
        page = [event for event in await runtime.store.after(cursor, REPLAY_PAGE) if event.id <= high]
        if not page:
            break
        cursor = page[-1].id
        events = [event for event in page if event.id not in open_gaps]
        if events:
            await websocket.send_text(events_message(events, min(cursor, watermark), replay=True))


async def _stream(websocket: WebSocket, runtime: Runtime, client: Client) -> None:
    sender = asyncio.create_task(_send_queued(websocket, runtime, client))
    receiver = asyncio.create_task(_receive(websocket, client))
    overflow = asyncio.create_task(client.overflowed.wait())
    done, pending = await asyncio.wait({sender, receiver, overflow}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    for task in pending:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    if overflow in done:
        reason = f"too slow: more than {runtime.hub.queue_size} messages behind; reconnect with ?after="
        with contextlib.suppress(Exception):
            await websocket.close(code=SLOW_CLIENT_CLOSE_CODE, reason=reason)
        return
    for task in done:
        error = task.exception()
        if error is not None and not isinstance(error, WebSocketDisconnect):
            raise error


async def _send_queued(websocket: WebSocket, runtime: Runtime, client: Client) -> None:
    while True:
        try:
            message = await asyncio.wait_for(client.queue.get(), timeout=HEARTBEAT_S)
        except TimeoutError:
            if not client.queue.empty():
                continue
            # Queue empty: the client has everything published so far, so the
            # current watermark is a safe point to resume from.
            poller = runtime.poller
            message = _json({"type": "heartbeat", "last_event_id": poller.state.high, "resume_after": poller.watermark})
        await websocket.send_text(message)


async def _receive(websocket: WebSocket, client: Client) -> None:
    """Client messages are optional; anything malformed is ignored, never fatal."""
    while True:
        frame = await websocket.receive()
        if frame["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(frame.get("code", 1000))
        text = frame.get("text")
        if text is None:
            continue  # binary frames mean nothing here
        try:
            message = json.loads(text)
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("type") == "ping":
            client.offer(_json({"type": "pong", "id": message.get("id")}))
