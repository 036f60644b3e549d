"""``GET /api/rows/{entity}``: the entity's table as it is now, with the event position it reflects."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse, Response

from ..db.database import describe_error
from ..stream.snapshot import MAX_LIMIT, BadKey, RowReader, RowsPage, key_column, parse_key, row_payloads
from .dependencies import RuntimeDep, require_sign_in
from .problems import problems

router = APIRouter(dependencies=[Depends(require_sign_in)], responses=problems(401))


def _error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def _body(entity: str, key: str, page: RowsPage) -> Iterator[str]:
    """The rows as the triggers encoded them (JSON text, not parsed and encoded again)."""
    position = page.position
    yield (
        f'{{"entity":{json.dumps(entity)},"key":{json.dumps(key)},'
        f'"last_event_id":{position.last_event_id},'
        f'"pending_event_ids":{json.dumps([list(span) for span in position.pending], separators=(",", ":"))},'
        f'"next_after_key":{json.dumps(page.next_after_key)},"rows":['
    )
    for index, row in enumerate(page.rows):
        yield row if index == 0 else "," + row
    yield "]}"


@router.get("/api/rows/{entity}", responses=problems(400, 404, 422, 503))
async def rows(
    runtime: RuntimeDep,
    entity: Annotated[str, Path(max_length=200)],
    limit: Annotated[str | None, Query(description=f"rows per page, 1 to {MAX_LIMIT}; default 100")] = None,
    after_key: Annotated[str | None, Query(description="rows with a smaller key (next_after_key of a page)")] = None,
) -> Response:
    """The newest rows by primary key, newest first, keyset-paginated.

    ``last_event_id`` and ``pending_event_ids`` say which events the rows reflect:
    apply a streamed event iff its id is above ``last_event_id`` or inside one of
    the ``pending_event_ids`` ranges (inclusive).
    """
    model_entity = runtime.model.entity(entity)
    if model_entity is None:
        known = ", ".join(e.name for e in runtime.model.entities)
        return _error(404, f"unknown entity {entity!r} (known: {known})")
    key = key_column(model_entity)
    if key is None:
        return _error(404, f"entity {entity!r} has no primary key column: its rows cannot be listed")
    count = 100
    if limit is not None:
        if not (limit.isascii() and limit.isdigit()) or len(limit) > 12 or not 1 <= int(limit) <= MAX_LIMIT:
            shown = limit if len(limit) <= 40 else limit[:40] + "…"
            return _error(400, f"limit={shown!r} is not a number of rows from 1 to {MAX_LIMIT}")
        count = int(limit)
    try:
        after = None if after_key is None else parse_key(key, after_key, runtime.db.sql.family)
    except BadKey as error:
        return _error(400, str(error))
    point = runtime.stream.resume_point()
    if point is None:  # the watermark is what makes the hand-off exact: none yet, no rows
        return _error(503, "starting: the stream has not read the database's newest event yet")
    reader = RowReader(runtime.db, row_payloads(runtime.db.dialect))
    try:
        page = await reader.page(model_entity, key, count, after, point.watermark)
    except BadKey as error:  # checked against the key column's live type
        return _error(400, str(error))
    except Exception as error:  # noqa: BLE001 - an outage (or no SELECT right) answers 503, not a traceback
        return _error(503, f"the rows of {model_entity.qualified_table} could not be read: {describe_error(error)}")
    return Response("".join(_body(model_entity.name, key.name, page)), media_type="application/json")
