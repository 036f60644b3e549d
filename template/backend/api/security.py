"""Who may use the dashboard: the optional shared token, the session cookie, and the Host and Origin checks.

With ``AUTH_TOKEN`` set, every request but the login page and ``/health``
must carry either the token in a header (``Authorization: Bearer`` or
``X-Dashboard-Token``: scripts, Prometheus) or the session cookie the login
page sets (browsers). The token is never accepted in a URL: URLs end up in
access logs, proxy logs and browser history.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping
from functools import lru_cache
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocketClose

from ..settings import Settings

TOKEN_HEADER = b"x-dashboard-token"
SESSION_COOKIE = "dashboard_session"
SESSION_MAX_AGE_S = 7 * 24 * 3600
LOGIN_PATH = "/login"
SESSION_PATH = "/api/session"
PUBLIC_PATHS = frozenset({LOGIN_PATH, SESSION_PATH, "/health"})
"""Reachable without signing in (``GET /api/session`` answers 401 itself when signed out)."""
POLICY_VIOLATION = 1008


def token_bytes(settings: Settings) -> bytes | None:
    """``AUTH_TOKEN`` as the UTF-8 bytes clients send (environment values may hold undecodable bytes)."""
    if settings.auth_token is None:
        return None
    return settings.auth_token.encode("utf-8", "surrogateescape")


def header_token_ok(expected: bytes, raw_headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """The token in ``X-Dashboard-Token`` or ``Authorization: Bearer``, compared as raw bytes.

    Starlette decodes header values as latin-1, which would turn a UTF-8 token
    into different characters; the raw bytes are what the client sent.
    """
    for name, value in raw_headers:
        if name == TOKEN_HEADER:
            candidate = value.strip()
        elif name == b"authorization" and value[:7].lower() == b"bearer ":
            candidate = value[7:].strip()
        else:
            continue
        if hmac.compare_digest(candidate, expected):
            return True
    return False


@lru_cache(maxsize=4)
def _session_key(token: bytes) -> bytes:
    # A slow derivation: a leaked cookie must not make the token cheap to guess
    # offline. Derived from the token, so every worker and restart agrees, and
    # changing AUTH_TOKEN ends every session.
    return hashlib.scrypt(token, salt=b"dashboard-session-v1", n=2**14, r=8, p=1, dklen=32)


def _signature(token: bytes, expires: int) -> str:
    return hmac.new(_session_key(token), f"session:{expires}".encode(), hashlib.sha256).hexdigest()


def new_session(token: bytes, now: float | None = None) -> str:
    """A cookie value that proves a sign-in until it expires: ``<expiry>.<HMAC>``, never the token."""
    expires = int(now if now is not None else time.time()) + SESSION_MAX_AGE_S
    return f"{expires}.{_signature(token, expires)}"


def session_ok(token: bytes, cookie: str | None, now: float | None = None) -> bool:
    if not cookie:
        return False
    expires_text, _, signature = cookie.partition(".")
    if not expires_text.isascii() or not expires_text.isdigit() or len(expires_text) > 12:
        return False
    expires = int(expires_text)
    if expires < (now if now is not None else time.time()):
        return False
    return hmac.compare_digest(signature.encode(), _signature(token, expires).encode())


def authenticated(settings: Settings, connection: HTTPConnection) -> bool:
    """True when no token is configured, or the request carries the token (header) or a valid session cookie."""
    expected = token_bytes(settings)
    if expected is None:
        return True
    if header_token_ok(expected, connection.scope["headers"]):
        return True
    return session_ok(expected, connection.cookies.get(SESSION_COOKIE))


def host_of(header: str) -> str:
    """The host name of a ``Host`` header, without the port; IPv6 addresses without brackets."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def host_allowed(allowed: tuple[str, ...], header: str | None) -> bool:
    if "*" in allowed:
        return True
    host = host_of(header or "")
    for pattern in allowed:
        if pattern.startswith("*.") and host.endswith(pattern[1:]):
            return True
        if host == pattern:
            return True
    return False


def origin_ok(settings: Settings, headers: Mapping[str, str]) -> bool:
    """Browsers send Origin on WebSocket handshakes, which CORS does not cover: check it here.

    Allowed: no Origin (not a browser), the page's own host, or a configured origin.
    """
    origin = headers.get("origin")
    if origin is None or "*" in settings.cors_origins:
        return True
    if origin.rstrip("/") in settings.cors_origins:
        return True
    return urlsplit(origin).netloc == headers.get("host")


def _refusal(connection: HTTPConnection) -> Response:
    wants_page = (
        connection.scope.get("method") in ("GET", "HEAD")
        and not connection.scope["path"].startswith("/api/")
        and "text/html" in connection.headers.get("accept", "")
    )
    if wants_page:  # a person at a browser: the login page
        return RedirectResponse(LOGIN_PATH, status_code=303)
    return JSONResponse(
        {"detail": "sign in first: the session cookie from /login, or the token in an Authorization: Bearer header"},
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


class AccessGate:
    """Refuses a request for a host not in ``ALLOWED_HOSTS``, then one without the token where one is needed.

    An ASGI middleware, so it covers every route at once: the API, the
    WebSocket, ``/metrics``, ``/docs``, ``/openapi.json`` and the built frontend.
    """

    def __init__(self, app: ASGIApp, settings: Settings):
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        websocket = scope["type"] == "websocket"
        if not host_allowed(self.settings.allowed_hosts, connection.headers.get("host")):
            host = connection.headers.get("host", "")
            shown = host if len(host) <= 100 else host[:100] + "…"  # a header can be kilobytes long
            message = f"Host {shown!r} is not allowed: add it to ALLOWED_HOSTS"
            refusal: ASGIApp = WebSocketClose(POLICY_VIOLATION) if websocket else PlainTextResponse(message, 400)
            await refusal(scope, receive, send)
            return
        if self.settings.auth_token is None:
            await self.app(scope, receive, send)
            return
        # The raw path, not ``connection.url`` (which is rebuilt from the Host header).
        if scope["path"] not in PUBLIC_PATHS and not authenticated(self.settings, connection):
            refusal = WebSocketClose(POLICY_VIOLATION) if websocket else _refusal(connection)
            await refusal(scope, receive, send)
            return
        if websocket:
            await self.app(scope, receive, send)
            return

        async def send_uncached(message: Message) -> None:
            # Signed-in content: no shared cache may keep it, and the browser asks
            # again each time, so a signed-out browser gets the login, not a cached page.
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).setdefault("cache-control", "private, no-cache")
            await send(message)

        await self.app(scope, receive, send_uncached)
