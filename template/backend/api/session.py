"""The login page, and ``/api/session``: sign in (token -> HttpOnly cookie), check, sign out."""

from __future__ import annotations

import hmac
import json
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from .dependencies import RuntimeDep, SignedIn
from .problems import problems
from .security import (
    LOGIN_PATH,
    SESSION_COOKIE,
    SESSION_MAX_AGE_S,
    SESSION_PATH,
    new_session,
    token_bytes,
)

router = APIRouter()

LOGIN_PAGE = (Path(__file__).resolve().parent / "login.html").read_text(encoding="utf-8")
FAILED_MESSAGE = '<p class="error" role="alert">That token is not right.</p>'
MAX_BODY = 4096
# The login form must not be framed by another site (clickjacking).
PAGE_HEADERS = {
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


@router.get(LOGIN_PATH, include_in_schema=False)
def login_page(request: Request, runtime: RuntimeDep) -> Response:
    if token_bytes(runtime.settings) is None:
        return RedirectResponse("/", status_code=303)  # nothing to sign in to
    page = LOGIN_PAGE.replace("<!--error-->", FAILED_MESSAGE if "failed" in request.query_params else "")
    return HTMLResponse(page, headers=PAGE_HEADERS)


@router.get(SESSION_PATH, responses=problems(401))
def session(runtime: RuntimeDep, signed_in: SignedIn) -> JSONResponse:
    """200 with ``{"required": bool}`` when signed in (or when no token is needed), else 401."""
    settings = runtime.settings
    if not signed_in:
        return JSONResponse({"detail": "not signed in"}, status_code=401, headers={"Cache-Control": "no-store"})
    return JSONResponse({"required": settings.auth_token is not None}, headers={"Cache-Control": "no-store"})


async def _limited_body(request: Request) -> bytes | None:
    """The body, or None past ``MAX_BODY``: read no further than that (this endpoint needs no sign-in)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    return bytes(body)


async def _submitted_token(request: Request) -> str | None:
    body = await _limited_body(request)
    if body is None:
        return None
    try:
        if request.headers.get("content-type", "").startswith("application/json"):
            data = json.loads(body)
            token = data.get("token") if isinstance(data, dict) else None
            return token if isinstance(token, str) else None
        values = parse_qs(body.decode("utf-8", "replace"), max_num_fields=4).get("token")
    except (ValueError, RecursionError):  # malformed, too many fields, too deeply nested: no token
        return None
    return values[0] if values else None


@router.post(
    SESSION_PATH,
    status_code=204,
    responses={
        303: {"description": "the login form: to the page, or back to the login page when the token is wrong"},
        **problems(401),
    },
)
async def sign_in(request: Request, runtime: RuntimeDep) -> Response:
    """The login form (form-encoded: redirects) or a script (JSON ``{"token": ...}``: 204 / 401) signs in."""
    expected = token_bytes(runtime.settings)
    form = not request.headers.get("content-type", "").startswith("application/json")
    submitted = await _submitted_token(request)
    if expected is None:
        return RedirectResponse("/", status_code=303) if form else Response(status_code=204)
    if submitted is None or not hmac.compare_digest(submitted.encode("utf-8", "surrogatepass"), expected):
        if form:
            return RedirectResponse(f"{LOGIN_PATH}?failed", status_code=303)
        return JSONResponse({"detail": "wrong token"}, status_code=401)
    response: Response = RedirectResponse("/", status_code=303) if form else Response(status_code=204)
    response.set_cookie(
        SESSION_COOKIE,
        new_session(expected),
        max_age=SESSION_MAX_AGE_S,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.delete(SESSION_PATH, status_code=204)
def sign_out() -> Response:
    """Clears the cookie in this browser (a copied cookie stays valid until it expires or AUTH_TOKEN changes)."""
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response
