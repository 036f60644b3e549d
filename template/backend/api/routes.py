"""HTTP endpoints: entities, stats, history, health and metrics."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from ..model import Entity
from ..runtime import Runtime
from .metrics import render_metrics
from .security import authenticated

router = APIRouter()

HEALTH_STALE_AFTER_S = 10.0


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def require_token(request: Request) -> Runtime:
    runtime = runtime_of(request)
    if not authenticated(runtime.settings, request):
        raise HTTPException(status_code=401, detail="missing or wrong token", headers={"WWW-Authenticate": "Bearer"})
    return runtime


def _entity_view(entity: Entity) -> dict[str, Any]:
    """What the page needs of an entity (lib/entityModel.ts reads exactly these keys)."""
    return {
        "name": entity.name,
        "table": entity.table,
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
def entities(request: Request) -> dict[str, Any]:
    """The entity model for the UI: tables, columns, colors, icons, display fields, features."""
    runtime = require_token(request)
    return {
        "entities": [_entity_view(entity) for entity in runtime.model.entities],
        "poll_interval_ms": round(runtime.settings.poll_interval_s * 1000),
        "features": runtime.model.defaults.features,
        "database": runtime.settings.database.dialect,
    }


@router.get("/api/stats")
def stats(request: Request) -> dict[str, Any]:
    """Per entity: rows (cached, estimated on large tables), events seen this session, rate."""
    runtime = require_token(request)
    return {
        "entities": runtime.stats.snapshot(),
        "since": runtime.stats.started_at,
        "last_event_id": runtime.poller.state.high,
    }


@router.get("/api/events")
async def events(
    request: Request,
    after: Annotated[int | None, Query(ge=0, description="events with a larger id, oldest first")] = None,
    before: Annotated[int | None, Query(ge=1, description="the newest events with a smaller id")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    entity: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """History of retained events. Without ``after``: the newest ``limit`` events."""
    runtime = require_token(request)
    if entity is not None and runtime.model.entity(entity) is None:
        known = ", ".join(e.name for e in runtime.model.entities)
        raise HTTPException(status_code=422, detail=f"unknown entity {entity!r} (known: {known})")
    try:
        page = await runtime.store.page(after=after, before=before, limit=limit, entity=entity)
    except Exception as error:  # an outage answers 503, not a traceback
        raise HTTPException(status_code=503, detail="database unavailable") from error
    next_after = page[-1].id if len(page) == limit and after is not None else None
    body = ",".join(event.to_json() for event in page)
    text = f'{{"events":[{body}],"next_after":{"null" if next_after is None else next_after}}}'
    return Response(content=text, media_type="application/json")


@router.get("/health")
def health(request: Request) -> JSONResponse:
    """200 while the poller reaches the database; 503 otherwise. Details need the token."""
    runtime = runtime_of(request)
    state = runtime.poller.state
    age = time.monotonic() - state.last_poll_at if state.last_poll_at is not None else None
    fresh = age is not None and age < max(HEALTH_STALE_AFTER_S, 5 * runtime.settings.poll_interval_s)
    up = state.healthy and fresh
    body: dict[str, Any] = {"status": "ok" if up else "unavailable"}
    if authenticated(runtime.settings, request):
        body.update(
            {
                "database": runtime.settings.database.dialect,
                "database_error": state.last_error,
                "last_poll_age_seconds": None if age is None else round(age, 3),
                "poll_lag_seconds": round(state.lag_seconds, 3),
                "open_gaps": len(runtime.poller.gaps.open),
                "clients": len(runtime.hub.clients),
                "last_event_id": state.high,
            }
        )
    return JSONResponse(body, status_code=200 if up else 503)


@router.get("/metrics")
def metrics(request: Request) -> PlainTextResponse:
    runtime = require_token(request)
    return PlainTextResponse(render_metrics(runtime.poller, runtime.hub), media_type="text/plain; version=0.0.4")
