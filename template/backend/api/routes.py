"""HTTP endpoints: entities, stats, history and metrics (signed in), and health (public)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import JSONResponse, Response, StreamingResponse

from ..model import Entity
from ..stream import protocol
from ..stream.event_store import Event
from .dependencies import RuntimeDep, SignedIn, require_sign_in
from .event_filter import event_filter
from .frontend import source_version
from .history import HISTORY_PARAMETERS, history_page
from .history import router as history_router
from .metrics import CONTENT_TYPE, render_metrics
from .problems import problems

router = APIRouter(dependencies=[Depends(require_sign_in)], responses=problems(401))
"""Everything that needs the token."""
router.include_router(history_router)
public_router = APIRouter()
"""``/health``: probes have no token (details are added for callers that have it)."""

HEALTH_STALE_AFTER_S = 10.0


def _entity_view(entity: Entity) -> dict[str, Any]:
    """What the page needs of an entity (lib/entityModel.ts reads exactly these keys)."""
    return {
        "name": entity.name,
        "table": entity.qualified_table,  # shown as is: schema.table when it has a schema
        "kind": entity.kind,
        "id_column": entity.id_column,
        "color": entity.color,
        "icon": entity.icon,
        "doc": entity.doc,
        "columns": [
            {
                "name": column.name,
                "type": column.type,
                "nullable": column.nullable,
                "primary_key": column.primary_key,
                "length": column.length,
                "doc": column.doc,
            }
            for column in entity.columns
        ],
        "display_fields": list(entity.display_fields),
        "max_records": entity.max_records,
        "event_types": list(entity.event_types),
    }


@router.get("/api/entities")
def entities(runtime: RuntimeDep) -> dict[str, Any]:
    """The entity model for the UI: tables, columns, colors, icons, display fields, features."""
    return {
        "entities": [_entity_view(entity) for entity in runtime.model.entities],
        "model_version": runtime.model.version,
        # The page compares it with the hash its build embedded: a stale build says so.
        "frontend_version": source_version(runtime.settings.frontend_dist),
        "poll_interval_ms": round(runtime.settings.poll_interval_s * 1000),
        "features": runtime.model.defaults.features,
        "database": runtime.settings.database.dialect,
    }


@router.get("/api/stats")
def stats(runtime: RuntimeDep) -> dict[str, Any]:
    """Per entity: rows (cached, estimated on large tables), events seen this session, rate."""
    point = runtime.stream.resume_point()  # None until the poller has read the head: no head is claimed
    return {
        "entities": runtime.stats.snapshot(),
        "since": runtime.stats.started_at,
        "last_event_id": point.high if point is not None else None,
    }


def _event_id(name: str, raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        return protocol.parse_event_id(name, raw)
    except protocol.BadEventId as error:
        raise HTTPException(status_code=422, detail=str(error)) from None


@router.get("/api/events", responses=problems(422, 503))
async def events(
    runtime: RuntimeDep,
    after: Annotated[str | None, Query(description="events with a larger id, oldest first")] = None,
    before: Annotated[str | None, Query(description="the newest events with a smaller id")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    entities: Annotated[str | None, Query(description="entity names, comma-separated (as /ws)")] = None,
    types: Annotated[str | None, Query(description="event types, comma-separated (as /ws)")] = None,
    entity: Annotated[str | None, Query(description="older spelling of entities")] = None,
    event_type: Annotated[str | None, Query(description="older spelling of types")] = None,
    since: Annotated[str | None, Query(description="history mode: ISO 8601 (UTC without offset) or -15m")] = None,
    until: Annotated[str | None, Query(description="history mode: exclusive, same forms as since")] = None,
    q: Annotated[str | None, Query(description="history mode: text in the payload (a scan of the range)")] = None,
    order: Annotated[str | None, Query(description="history mode: desc (newest first, default) or asc")] = None,
    cursor: Annotated[str | None, Query(description="history mode: an answer's older or newer")] = None,
) -> Response:
    """History of retained events. Without ``after``: the newest ``limit`` events.

    ``entities`` / ``types`` filter as a WebSocket subscription does, in both
    modes: a page that widens its subscription fetches what it did not receive
    with them. ``entity`` / ``event_type`` are their older spellings (event_filter.py).

    With any of ``since``, ``until``, ``q``, ``order``, ``cursor``: history mode
    (api/history.py), paged by ``(created_at, id)`` with cursors.

    Streamed page by page (at most ``PAGE_CHARS`` of events in memory), so large
    rows and concurrent requests cannot exhaust the server's memory.
    """
    known = [e.name for e in runtime.model.entities]
    wanted = event_filter(known, entities=entities, types=types, entity=entity, event_type=event_type)
    history = {"since": since, "until": until, "q": q, "order": order, "cursor": cursor}
    given = [name for name in HISTORY_PARAMETERS if history[name] is not None]
    if given:
        if after is not None or before is not None:
            raise HTTPException(
                status_code=422,
                detail=f"after/before page by id; with {given[0]} page with cursor (an answer's older or newer)",
            )
        return await history_page(runtime, wanted=wanted, limit=limit, **history)
    after_id, before_id = _event_id("after", after), _event_id("before", before)
    if before_id == 0:
        raise HTTPException(status_code=422, detail="before=0: no event id is smaller than 0")
    store = runtime.store
    try:
        if after_id is not None:
            refs = await store.refs_after(
                after_id, limit, before=before_id, entities=wanted.entities, types=wanted.types
            )
        else:
            refs = await store.refs_before(before_id, limit, entities=wanted.entities, types=wanted.types)
        pages = store.read(refs)
        # The first page is read before the 200 goes out, so an outage answers 503.
        first: list[Event] = await anext(pages, [])
    except Exception as error:  # an outage answers 503, not a traceback
        raise HTTPException(status_code=503, detail="database unavailable") from error
    next_after = refs[-1].id if len(refs) == limit and after_id is not None else None
    body = protocol.history_body(_prepend(first, pages), next_after)
    return StreamingResponse(body, media_type="application/json")


async def _prepend(first: list[Event], rest: AsyncIterator[list[Event]]) -> AsyncIterator[list[Event]]:
    yield first
    async for page in rest:
        yield page


@public_router.get("/health", responses={503: {"description": "the poller does not reach the database"}})
def health(runtime: RuntimeDep, signed_in: SignedIn) -> JSONResponse:
    """200 while the poller reaches the database; 503 otherwise. Details need the token."""
    status = runtime.stream.status()
    age = status.last_poll_age_s
    fresh = age is not None and age < max(HEALTH_STALE_AFTER_S, 5 * runtime.settings.poll_interval_s)
    up = status.healthy and fresh
    body: dict[str, Any] = {"status": "ok" if up else "unavailable"}
    if signed_in:
        body.update(
            {
                "database": runtime.settings.database.dialect,
                "database_error": status.last_error,
                "last_poll_age_seconds": None if age is None else round(age, 3),
                "poll_lag_seconds": round(status.lag_s, 3),
                "open_gaps": status.open_gaps,
                "clients": status.clients,
                "last_event_id": status.last_event_id if status.started else None,
            }
        )
    return JSONResponse(body, status_code=200 if up else 503)


@router.get(
    "/metrics",
    response_class=Response,  # no JSON 200 in the description: Prometheus text
    responses={200: {"description": "Prometheus text", "content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def metrics(runtime: RuntimeDep) -> Response:
    return Response(render_metrics(runtime.metrics), media_type=CONTENT_TYPE)
