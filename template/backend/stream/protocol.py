"""Every message the server sends, and the parsing of the ids clients send (protocol 1).

One home for the wire format: the WebSocket messages mirror ``ServerMessage``
in ``frontend/src/lib/types.ts`` and the README's "WebSocket protocol" section;
the ``/api/events`` body is built here too. Event objects are written as text
around the payload JSON the triggers stored, never parsed and encoded again.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any

from .compression import DEFLATE
from .event_store import Event
from .subscription import Subscription

PROTOCOL_VERSION = 1
"""Raised whenever a message changes in a way an older client would misread."""

MAX_EVENT_ID = 2**63 - 1
"""Ids are signed 64-bit integers in every supported database."""

MESSAGE_CHARS = 1 << 20
"""An ``events`` message holds at most about this many characters of events
(one larger event goes alone), so no message is ever the size of a transaction."""

STARTING_MESSAGE = "waiting for the database"

_EVENT_TYPES = {"insert", "update", "delete"}
_MAX_ECHOED_ID_CHARS = 100
_JS_SAFE_INTEGER = 2**53 - 1


class BadEventId(ValueError):
    """An ``after``/``before`` value that is not an event id; the message says what is accepted."""


def parse_event_id(name: str, raw: str) -> int:
    """``raw`` as an event id: ASCII digits only, within a signed 64-bit integer."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 30 or int(raw) > MAX_EVENT_ID:
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        raise BadEventId(f"{name}={shown!r} is not an event id (ASCII digits, 0 to {MAX_EVENT_ID})")
    return int(raw)


def _json(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), allow_nan=False)


# -- events ------------------------------------------------------------------


def event_json(event: Event) -> str:
    """One event object: ``{"id", "entity", "event_type", "data", "changed", "old", "timestamp"}``.

    ``old``: for an update, the old values of the ``changed`` fields (the key
    included when it changed); null for inserts and deletes.
    """
    event_type = event.event_type if event.event_type in _EVENT_TYPES else "unknown"
    return (
        f'{{"id":{event.id},"entity":{json.dumps(event.entity)},"event_type":"{event_type}",'
        f'"data":{event.payload},"changed":{event.changed_columns or "null"},"old":{event.old_values or "null"},'
        f'"timestamp":"{event.timestamp}"}}'
    )


def events_messages(
    events: Sequence[Event],
    resume_after: int,
    *,
    replay: bool = False,
    max_chars: int = MESSAGE_CHARS,
    unsent: Mapping[str, Mapping[str, int]] | None = None,
) -> Iterator[str]:
    """``events`` (in id order) as ``events`` messages of at most ``max_chars`` of events each.

    Every message but the last says ``resume_after = min(resume_after, its last id)``:
    a client that received it has every id up to there, since the batch is in
    id order and ``resume_after`` covers what came before the batch.

    ``unsent`` (a subscribed client's batch): how many events of the batch its
    subscription left out, by entity and event type, on the last message; a
    batch with none for the client is one message with no events and the count.
    """
    flag = ',"replay":true' if replay else ""
    last_flag = flag + (f',"unsent":{_json(dict(unsent))}' if unsent else "")
    chunk: list[str] = []
    size = 0
    last_id = 0
    for event in events:
        text = event_json(event)
        if chunk and size + len(text) > max_chars:
            yield _events_message(chunk, min(resume_after, last_id), flag)
            chunk, size = [], 0
        chunk.append(text)
        size += len(text) + 1
        last_id = event.id
    if chunk or last_flag != flag:
        yield _events_message(chunk, resume_after, last_flag)


def _events_message(bodies: list[str], resume_after: int, flag: str) -> str:
    return f'{{"type":"events","events":[{",".join(bodies)}],"resume_after":{resume_after}{flag}}}'


def events_messages_for(
    events: Sequence[Event], resume_after: int, subscription: Subscription, *, replay: bool = False
) -> list[str]:
    """``events`` as a client with ``subscription`` gets them (:func:`events_messages`)."""
    wanted, unsent = subscription.split(events)
    return list(events_messages(wanted, resume_after, replay=replay, unsent=unsent))


async def history_body(pages: AsyncIterator[list[Event]], next_after: int | None) -> AsyncIterator[str]:
    """The ``GET /api/events`` answer, one piece per page: ``{"events": [...], "next_after": N|null}``."""
    yield '{"events":['
    first = True
    async for page in pages:
        if not page:
            continue
        text = ",".join(event_json(event) for event in page)
        yield text if first else "," + text
        first = False
    yield f'],"next_after":{"null" if next_after is None else next_after}}}'


async def history_page_body(pages: AsyncIterator[list[Event]], fields: dict[str, Any]) -> AsyncIterator[str]:
    """A history-mode ``GET /api/events`` answer: ``{"events": [...], "next_after": null, **fields}``."""
    async for piece in history_body(pages, None):
        if piece.startswith("],"):
            yield piece[:-1] + "".join(f",{json.dumps(key)}:{json.dumps(value)}" for key, value in fields.items()) + "}"
        else:
            yield piece


# -- history cursors -------------------------------------------------------------

CURSOR_DIRECTIONS = {"o": "desc", "n": "asc"}
"""``older`` cursors page newest first, ``newer`` ones oldest first."""
_MAX_CURSOR_CHARS = 200


class BadCursor(ValueError):
    """A ``cursor`` value that no answer gave out."""


def encode_cursor(direction: str, at: str, event_id: int) -> str:
    """Opaque to clients: ``o|<created_at>|<id>`` (or ``n|…``), base64url without padding."""
    raw = f"{direction}|{at}|{event_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[str, str, int]:
    """``(order, created_at text, id)`` of a cursor; raises :class:`BadCursor`."""
    problem = BadCursor("cursor: not a cursor from an answer's older or newer (keep it as given)")
    if len(text) > _MAX_CURSOR_CHARS or not text.isascii():
        raise problem
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise problem from None
    parts = raw.split("|")
    if len(parts) != 3 or parts[0] not in CURSOR_DIRECTIONS:
        raise problem
    try:
        event_id = parse_event_id("cursor", parts[2])
    except BadEventId:
        raise problem from None
    return CURSOR_DIRECTIONS[parts[0]], parts[1], event_id


# -- control messages ----------------------------------------------------------


def starting() -> str:
    """Sent instead of ``hello`` until the poller has read the head after a (re)start."""
    return _json({"type": "starting", "message": STARTING_MESSAGE})


def hello(
    *,
    last_event_id: int,
    resume_after: int,
    poll_interval_ms: int,
    server_time: float,
    subscription: Subscription | None = None,
    compression: bool = False,
) -> str:
    """``subscription`` (added within protocol 1): what a client that asked for some entities or types gets;
    ``compression`` (also added within protocol 1): ``"compression": "deflate"`` when the client asked for it."""
    message: dict[str, Any] = {
        "type": "hello",
        "protocol": PROTOCOL_VERSION,
        "last_event_id": last_event_id,
        "resume_after": resume_after,
        "poll_interval_ms": poll_interval_ms,
        "server_time": server_time,
    }
    if subscription is not None and not subscription.everything:
        message["subscription"] = {
            "entities": None if subscription.entities is None else sorted(subscription.entities),
            "types": None if subscription.types is None else sorted(subscription.types),
        }
    if compression:
        message["compression"] = DEFLATE
    return _json(message)


def heartbeat(*, last_event_id: int, resume_after: int) -> str:
    return _json({"type": "heartbeat", "last_event_id": last_event_id, "resume_after": resume_after})


def reset_ahead(*, after: int, last_event_id: int) -> str:
    message = f"event {after} is newer than the newest event ({last_event_id}): was the database reset?"
    return _json({"type": "reset", "reason": "ahead", "message": message, "last_event_id": last_event_id})


def reset_truncated(*, after: int, oldest_event_id: int | None, last_event_id: int) -> str:
    return _json(
        {
            "type": "reset",
            "reason": "truncated",
            "message": f"events after {after} are no longer retained: reload",
            "oldest_event_id": oldest_event_id,
            "last_event_id": last_event_id,
        }
    )


def pong(ping_id: object) -> str:
    """The answer to a ping; its ``id`` is echoed only when it is a short string or a safe integer."""
    short_text = isinstance(ping_id, str) and len(ping_id) <= _MAX_ECHOED_ID_CHARS
    safe_integer = isinstance(ping_id, int) and not isinstance(ping_id, bool) and abs(ping_id) <= _JS_SAFE_INTEGER
    return _json({"type": "pong", "id": ping_id if short_text or safe_integer else None})


def error(message: str) -> str:
    return _json({"type": "error", "message": message})


def alert(change: dict[str, Any]) -> str:
    """An alert rule changed state: ``{"type": "alert", "alert": {"name", "state", "since", "value", ...}}``.

    Added within protocol 1: older clients ignore message types they do not know.
    """
    return _json({"type": "alert", "alert": change})


# -- client messages -------------------------------------------------------------

MAX_CLIENT_MESSAGE_CHARS = 4096
"""Client messages are tiny (a ping); anything longer is ignored unparsed."""


def client_ping_id(text: str) -> tuple[bool, object]:
    """``(True, id)`` when ``text`` is a ping, ``(False, None)`` for anything else.

    Never raises: a malformed, huge or deeply nested message is simply not a ping.
    """
    if len(text) > MAX_CLIENT_MESSAGE_CHARS or not text.lstrip().startswith("{"):
        return False, None
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        return False, None
    if isinstance(message, dict) and message.get("type") == "ping":
        return True, message.get("id")
    return False, None
