"""Runtime settings: the environment, with defaults from the answers and dashboard.yaml."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .db.url import DatabaseTarget, DatabaseUrlError, parse_database_url
from .model import Model

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """An environment variable has a value we cannot use; the message names it."""


@dataclass(frozen=True)
class Settings:
    database: DatabaseTarget
    poll_interval_s: float
    """The idle pace; see stream/poller.py ``Pace``."""
    poll_fast_interval_s: float
    """The pace while events flow (never slower than ``poll_interval_s``)."""
    poll_idle_after: int
    """Empty polls in a row after which the pace falls back to ``poll_interval_s``."""
    max_events_per_poll: int
    retention_days: int
    cors_origins: tuple[str, ...]
    auth_token: str | None
    allowed_hosts: tuple[str, ...]
    """Host names the server answers to ("*": any); see ``_allowed_hosts``."""
    client_queue_bytes: int
    """Bytes of messages a client may fall behind before it is disconnected."""
    client_send_timeout_s: float
    """A send to a client that does not complete within this time closes it (it is not reading)."""
    heartbeat_s: float
    """An idle WebSocket client gets a heartbeat this often (keeps proxies from closing an idle connection)."""
    max_clients: int
    """Open WebSocket connections at most; more are closed at once with 1013 (stream/hub.py)."""
    max_replays: int
    """Replay pages in memory at once, across all connections (stream/hub.py ``ReplaySlots``)."""
    frontend_dist: Path
    alert_webhook_url: str | None = None
    """``ALERT_WEBHOOK_URL``: alert state changes are POSTed there (alerts/webhook.py)."""


def _int(environ: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}={value} is out of range ({low}-{high})")
    return value


LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def _allowed_hosts(env: Mapping[str, str], origins: tuple[str, ...], token: str | None) -> tuple[str, ...]:
    """Loopback names, plus ``ALLOWED_HOSTS``; without it: any host when a token is set (a DNS-rebinding
    page has no session), else the hosts of ``CORS_ORIGINS``.

    Loopback names are always allowed: DNS rebinding arrives under the attacker's
    name, never under these, and health checks inside a container use them.
    """
    raw = env.get("ALLOWED_HOSTS", "").strip()
    if not raw:
        if token is not None:
            return ("*",)
        origin_hosts = (urlsplit(origin).hostname for origin in origins if origin != "*")
        return tuple(dict.fromkeys([*LOOPBACK_HOSTS, *(host for host in origin_hosts if host)]))
    hosts = tuple(host.strip().lower().strip("[]") for host in raw.split(",") if host.strip())
    for host in hosts:
        pattern = host[2:] if host.startswith("*.") else host
        if host != "*" and (not pattern or any(c in pattern for c in "/@*?# ") or host.count(":") == 1):
            raise SettingsError(
                f"ALLOWED_HOSTS entry {host!r} must be a host name without scheme or port "
                "(like dash.example.org, *.example.org, or * for any)"
            )
    return tuple(dict.fromkeys([*LOOPBACK_HOSTS, *hosts]))


def load_settings(model: Model, environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    defaults = model.defaults
    try:
        database = parse_database_url(env.get("DATABASE_URL") or defaults.default_database_url)
    except DatabaseUrlError as error:
        raise SettingsError(str(error)) from None
    frontend = f"http://localhost:{defaults.frontend_port}", f"http://127.0.0.1:{defaults.frontend_port}"
    origins_raw = env.get("CORS_ORIGINS")
    origins = tuple(o.strip().rstrip("/") for o in origins_raw.split(",") if o.strip()) if origins_raw else frontend
    for origin in origins:
        if origin != "*" and not origin.startswith(("http://", "https://")):
            raise SettingsError(f"CORS_ORIGINS entry {origin!r} must start with http:// or https:// (or be *)")
    token = env.get("AUTH_TOKEN") or None
    if token is not None and len(token) < 16:
        raise SettingsError("AUTH_TOKEN must be at least 16 characters")
    webhook = (env.get("ALERT_WEBHOOK_URL") or "").strip() or None
    if webhook is not None and not (webhook.startswith(("http://", "https://")) and urlsplit(webhook).netloc):
        raise SettingsError("ALERT_WEBHOOK_URL must be an http:// or https:// URL")
    return Settings(
        database=database,
        poll_interval_s=_int(env, "POLL_INTERVAL_MS", defaults.poll_interval_ms, 10, 5000) / 1000,
        poll_fast_interval_s=_int(env, "POLL_FAST_INTERVAL_MS", 20, 5, 5000) / 1000,
        poll_idle_after=_int(env, "POLL_IDLE_AFTER", 25, 1, 100_000),
        max_events_per_poll=_int(env, "MAX_EVENTS_PER_POLL", defaults.max_events_per_poll, 1, 100_000),
        retention_days=_int(env, "RETENTION_DAYS", defaults.retention_days, 0, 36_500),
        cors_origins=origins,
        auth_token=token,
        allowed_hosts=_allowed_hosts(env, origins, token),
        client_queue_bytes=_int(env, "CLIENT_QUEUE_BYTES", 8 << 20, 64 << 10, 1 << 30),
        client_send_timeout_s=_int(env, "CLIENT_SEND_TIMEOUT_S", 10, 1, 3600),
        heartbeat_s=_int(env, "WS_HEARTBEAT_S", 15, 1, 3600),
        max_clients=_int(env, "WS_MAX_CLIENTS", 5000, 1, 1_000_000),
        max_replays=_int(env, "WS_MAX_REPLAYS", 4, 1, 1000),
        frontend_dist=Path(env.get("FRONTEND_DIST") or PROJECT_ROOT / "frontend" / "dist"),
        alert_webhook_url=webhook,
    )
