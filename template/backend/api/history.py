"""History over time ranges: ``/api/events`` history mode, ``/api/events/histogram``, ``/api/history``.

The parameters are parsed here into one :class:`HistoryFilter` (every bad value
is a 422 naming its parameter); the SQL is in ``stream/history.py`` and the
answer's wire format in ``stream/protocol.py``. Times are compared with
``created_at`` as the database wrote it; relative times (``-15m``) are taken
from the database's clock, never this process's.
"""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import StreamingResponse

from ..runtime import Runtime
from ..stream import protocol
from ..stream.event_store import Event, EventRef
from ..stream.history import (
    DbTime,
    HistoryFilter,
    HistoryStore,
    Order,
    Position,
    aware_time,
    native_time,
    time_text,
)
from ..stream.subscription import Subscription
from .dependencies import RuntimeDep, require_sign_in
from .event_filter import event_filter
from .problems import problems

router = APIRouter(dependencies=[Depends(require_sign_in)], responses=problems(401))

MAX_TEXT_CHARS = 200
"""``q`` is matched by a scan of the range: a bounded needle keeps each comparison cheap."""
MAX_BUCKETS = 720
NICE_BUCKETS_S = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
HISTORY_PARAMETERS = ("since", "until", "q", "order", "cursor")
"""Any of these turns ``/api/events`` into history mode."""

_RELATIVE = re.compile(r"-(\d{1,6})([smhd])")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_SQLITE_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")
_MAX_TIME_CHARS = 64
EARLIEST = datetime(1, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
"""The times a range may name: what Python's datetime holds in UTC, with room for SQLite's millisecond ceiling."""
_RANGE_TEXT = "times from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z"


def _unprocessable(detail: str) -> HTTPException:
    return HTTPException(status_code=422, detail=detail)


def _shown(raw: str) -> str:
    return repr(raw if len(raw) <= 40 else raw[:40] + "…")


@dataclass(frozen=True, slots=True)
class TimeBound:
    """A ``since`` / ``until`` value: absolute, or an offset back from the database's now."""

    name: str
    raw: str
    absolute: datetime | None
    back: timedelta | None

    def resolve(self, now: datetime | None) -> datetime:
        """The absolute time; a 422 when an offset reaches before year 1 (``-999999d``)."""
        if self.absolute is not None:
            return self.absolute
        assert now is not None and self.back is not None
        if now - EARLIEST < self.back:
            raise _unprocessable(f"{self.name}={_shown(self.raw)} is out of range: {_RANGE_TEXT}")
        return now - self.back


def parse_time(name: str, raw: str | None) -> TimeBound | None:
    """ISO 8601 (no offset: UTC), or ``-<n><s|m|h|d>`` before the database's now."""
    if raw is None:
        return None
    relative = _RELATIVE.fullmatch(raw)
    if relative:
        return TimeBound(name, raw, None, timedelta(seconds=int(relative[1]) * _UNIT_S[relative[2]]))
    try:
        if len(raw) > _MAX_TIME_CHARS:
            raise ValueError(raw)
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise _unprocessable(
            f"{name}={_shown(raw)} is not a time: ISO 8601 (e.g. 2026-11-27T03:00:00Z; no offset means UTC) "
            "or relative to the database's clock (-15m, -1h, -7d)"
        ) from None
    try:
        # An offset can carry a time past either end in UTC (0001-01-01T00:00+01:00): OverflowError.
        utc = moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc <= LATEST:
        raise _unprocessable(f"{name}={_shown(raw)} is out of range: {_RANGE_TEXT}")
    return TimeBound(name, raw, utc, None)


def parse_text(raw: str | None) -> str | None:
    if raw is None:
        return None
    if not 1 <= len(raw) <= MAX_TEXT_CHARS:
        raise _unprocessable(f"q: the text filter takes 1 to {MAX_TEXT_CHARS} characters (got {len(raw)})")
    if "\x00" in raw:
        # JSON text never holds a raw NUL (it is written \u0000), and PostgreSQL refuses one in a
        # text parameter: the same 422 on every database rather than an error from one of them.
        raise _unprocessable("q: the text filter cannot contain a NUL character (JSON text writes it \\u0000)")
    return raw


def parse_order(raw: str | None) -> Order:
    if raw is None or raw == "desc":
        return "desc"
    if raw == "asc":
        return "asc"
    raise _unprocessable(f"order={_shown(raw)}: asc (oldest first) or desc (newest first)")


def cursor_position(family: str, raw: str) -> tuple[Order, Position]:
    try:
        order, at, event_id = protocol.decode_cursor(raw)
        if family == "sqlite":
            if not _SQLITE_STAMP.fullmatch(at):
                raise protocol.BadCursor("cursor: not a cursor from an answer's older or newer")
            return ("desc" if order == "desc" else "asc"), Position(at, event_id)
        moment = aware_time(at)
    except (protocol.BadCursor, ValueError, OverflowError) as error:  # Overflow: a time past 9999 in UTC
        message = str(error) if isinstance(error, protocol.BadCursor) else "cursor: not a cursor from an answer"
        raise _unprocessable(message) from None
    return ("desc" if order == "desc" else "asc"), Position(native_time(family, moment), event_id)


def cursor_text(family: str, at: DbTime) -> str:
    """``created_at`` as a cursor keeps it: exactly as the database compares it."""
    if family == "sqlite":
        return at.decode() if isinstance(at, (bytes, bytearray)) else str(at)
    return time_text(aware_time(at))


async def resolve_range(
    store: HistoryStore, since: TimeBound | None, until: TimeBound | None
) -> tuple[datetime | None, datetime | None]:
    """Both bounds as absolute times (one query to the database's clock when one is relative)."""
    relative = any(bound is not None and bound.absolute is None for bound in (since, until))
    now = await store.now() if relative else None
    return (
        since.resolve(now) if since is not None else None,
        until.resolve(now) if until is not None else None,
    )


def native_filter(
    family: str,
    since: datetime | None,
    until: datetime | None,
    wanted: Subscription,
    text: str | None,
) -> HistoryFilter:
    return HistoryFilter(
        since=native_time(family, since) if since is not None else None,
        until=native_time(family, until) if until is not None else None,
        entities=None if wanted.entities is None else tuple(sorted(wanted.entities)),
        event_types=None if wanted.types is None else tuple(sorted(wanted.types)),
        text=text,
    )


# -- /api/events in history mode -------------------------------------------------------


async def history_page(
    runtime: Runtime,
    *,
    since: str | None,
    until: str | None,
    wanted: Subscription,
    q: str | None,
    order: str | None,
    cursor: str | None,
    limit: int,
) -> StreamingResponse:
    store = HistoryStore(runtime.db)
    family = store.family
    since_bound, until_bound = parse_time("since", since), parse_time("until", until)
    text = parse_text(q)
    direction = parse_order(order)
    position: Position | None = None
    if cursor is not None:
        direction, position = cursor_position(family, cursor)
    try:
        since_at, until_at = await resolve_range(store, since_bound, until_bound)
        filters = native_filter(family, since_at, until_at, wanted, text)
        refs = await store.page(filters, position, direction, limit)
        pages = runtime.store.read(refs)
        first: list[Event] = await anext(pages, [])  # before the 200: an outage answers 503
    except HTTPException:
        raise  # a bad value found while resolving the range (-999999d): its 422
    except Exception as error:  # an outage answers 503, not a traceback
        raise HTTPException(status_code=503, detail="database unavailable") from error
    older, newer = _cursors(family, refs, direction, full=len(refs) == limit)
    fields = {
        "order": direction,
        "since": time_text(since_at) if since_at is not None else None,
        "until": time_text(until_at) if until_at is not None else None,
        "older": older,
        "newer": newer,
    }
    return StreamingResponse(protocol.history_page_body(_prepend(first, pages), fields), media_type="application/json")


def _cursors(family: str, refs: list[EventRef], direction: Order, *, full: bool) -> tuple[str | None, str | None]:
    """``(older, newer)``: null in the direction of travel after a short page, and both on an empty one."""
    if not refs:
        return None, None
    newest, oldest = (refs[0], refs[-1]) if direction == "desc" else (refs[-1], refs[0])
    older = protocol.encode_cursor("o", cursor_text(family, oldest.at or ""), oldest.id)
    newer = protocol.encode_cursor("n", cursor_text(family, newest.at or ""), newest.id)
    if not full:
        return (None, newer) if direction == "desc" else (older, None)
    return older, newer


async def _prepend(first: list[Event], rest: AsyncIterator[list[Event]]) -> AsyncIterator[list[Event]]:
    yield first
    async for page in rest:
        yield page


# -- histogram -------------------------------------------------------------------------


def bucket_seconds(span: timedelta) -> int:
    """The smallest nice bucket (at least a minute) that cuts ``span`` into at most MAX_BUCKETS."""
    seconds = max(span.total_seconds(), 1.0)
    for size in NICE_BUCKETS_S:
        if seconds / size <= MAX_BUCKETS:
            return size
    return math.ceil(seconds / 86400 / MAX_BUCKETS) * 86400


@router.get("/api/events/histogram", responses=problems(422, 503))
async def histogram(
    runtime: RuntimeDep,
    since: Annotated[str | None, Query(description="ISO 8601 or -15m; absent: the oldest retained event")] = None,
    until: Annotated[str | None, Query(description="ISO 8601 or -5m; absent: the database's now")] = None,
    entities: Annotated[str | None, Query(description="entity names, comma-separated (as /ws)")] = None,
    types: Annotated[str | None, Query(description="event types, comma-separated (as /ws)")] = None,
    entity: Annotated[str | None, Query(description="older spelling of entities")] = None,
    event_type: Annotated[str | None, Query(description="older spelling of types")] = None,
) -> dict[str, Any]:
    """Events per time bucket and entity over a range (counted in the database, over the time index)."""
    store = HistoryStore(runtime.db)
    since_bound, until_bound = parse_time("since", since), parse_time("until", until)
    known = [e.name for e in runtime.model.entities]
    wanted = event_filter(known, entities=entities, types=types, entity=entity, event_type=event_type)
    try:
        now = await store.now()
        until_at = until_bound.resolve(now) if until_bound is not None else now
        if since_bound is not None:
            since_at = since_bound.resolve(now)
        else:
            oldest = await store.bound(newest=False)
            since_at = aware_time(oldest[1]) if oldest is not None else until_at
        if until_at < since_at:
            raise _unprocessable("until: before since")
        size = bucket_seconds(until_at - since_at)
        filters = native_filter(store.family, since_at, until_at, wanted, None)
        rows = await store.histogram(filters, size)
    except HTTPException:
        raise
    except Exception as error:  # an outage answers 503, not a traceback
        raise HTTPException(status_code=503, detail="database unavailable") from error
    buckets: dict[int, dict[str, int]] = {}
    for row in rows:
        buckets.setdefault(int(row["bucket"]), {})[str(row["entity"])] = int(row["events"])
    return {
        "since": time_text(since_at),
        "until": time_text(until_at),
        "bucket_seconds": size,
        "buckets": [
            {"start": datetime.fromtimestamp(number * size, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "counts": counts}
            for number, counts in sorted(buckets.items())
        ],
        "total": sum(sum(counts.values()) for counts in buckets.values()),
    }


# -- what is kept --------------------------------------------------------------------------


@router.get("/api/history", responses=problems(503))
async def history_info(runtime: RuntimeDep) -> dict[str, Any]:
    """Retention and the oldest and newest retained events, so a range older than what is kept can say so."""
    store = HistoryStore(runtime.db)
    try:
        oldest, newest, now = await store.bound(newest=False), await store.bound(newest=True), await store.now()
    except Exception as error:  # an outage answers 503, not a traceback
        raise HTTPException(status_code=503, detail="database unavailable") from error
    days = runtime.settings.retention_days
    return {
        "retention_days": days if days > 0 else None,
        "oldest": _bound_view(oldest),
        "newest": _bound_view(newest),
        "database_time": time_text(now),
    }


def _bound_view(bound: tuple[int, DbTime] | None) -> dict[str, Any] | None:
    if bound is None:
        return None
    return {"id": bound[0], "timestamp": _event_timestamp(bound[1])}


def _event_timestamp(at: DbTime) -> str:
    """As events carry it (milliseconds, Z), so a bound reads like the events it bounds."""
    return aware_time(at).isoformat(timespec="milliseconds").replace("+00:00", "Z")
