"""What an error answer is in the OpenAPI description (``/openapi.json``): ``{"detail": ...}``.

FastAPI describes every 422 as its own parameter check (``detail``: a list of
problems), but the endpoints' own checks answer a sentence naming the parameter:
the description says both, and the other error statuses the endpoints answer,
so that a client generated from it, or a schema fuzzer, is not told otherwise.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class Problem(BaseModel):
    """An error answer."""

    detail: str | list[dict[str, Any]]
    """What is wrong, naming the parameter: a sentence, or FastAPI's list when a parameter has the wrong type."""


_MEANING = {
    400: "a bad parameter (detail names it)",
    401: "missing or wrong token",
    404: "unknown entity",
    422: "a bad parameter (detail names it)",
    503: "the database is not available (or the stream has not started)",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route or router that answers these error statuses."""
    return {status: {"model": Problem, "description": _MEANING[status]} for status in statuses}
