"""What endpoints ask FastAPI for: the running backend, and whether the caller has signed in."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException
from starlette.requests import HTTPConnection

from ..runtime import Runtime
from .security import authenticated


def _runtime(connection: HTTPConnection) -> Runtime:
    runtime: Runtime = connection.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(_runtime)]
"""The live parts of the backend (built in the app's lifespan)."""


def _signed_in(connection: HTTPConnection, runtime: RuntimeDep) -> bool:
    return authenticated(runtime.settings, connection)


SignedIn = Annotated[bool, Depends(_signed_in)]
"""True when no token is configured, or the caller sent it (header) or holds a session cookie."""


def require_sign_in(signed_in: SignedIn) -> None:
    """A router-level dependency: the whole router needs the token.

    The access gate (``security.AccessGate``) already refuses such requests
    before routing; this keeps each router's requirement visible where it is
    declared, and in the OpenAPI description.
    """
    if not signed_in:
        raise HTTPException(status_code=401, detail="missing or wrong token", headers={"WWW-Authenticate": "Bearer"})
