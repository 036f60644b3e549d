"""The optional shared token, and which browser origins may connect."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from urllib.parse import urlsplit

from ..settings import Settings

TOKEN_HEADER = "x-dashboard-token"  # noqa: S105 - a header name, not a secret
TOKEN_QUERY = "token"  # noqa: S105 - a parameter name


def token_ok(settings: Settings, headers: Mapping[str, str], query: Mapping[str, str]) -> bool:
    """True when no token is configured, or the request carries it (header, bearer or ?token=)."""
    expected = settings.auth_token
    if expected is None:
        return True
    candidates = [headers.get(TOKEN_HEADER), query.get(TOKEN_QUERY)]
    authorization = headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        candidates.append(authorization[7:].strip())
    return any(c is not None and hmac.compare_digest(c.encode(), expected.encode()) for c in candidates)


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
