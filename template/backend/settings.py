"""Runtime settings: the environment, with defaults from the answers and dashboard.yaml."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .db.url import DatabaseTarget, DatabaseUrlError, parse_database_url
from .model import Model

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """An environment variable has a value we cannot use; the message names it."""


@dataclass(frozen=True)
class Settings:
    database: DatabaseTarget
    poll_interval_s: float
    max_events_per_poll: int
    retention_days: int
    cors_origins: tuple[str, ...]
    auth_token: str | None
    client_queue_size: int
    """Messages a client may fall behind before it is disconnected."""
    frontend_dist: Path


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
    return Settings(
        database=database,
        poll_interval_s=_int(env, "POLL_INTERVAL_MS", defaults.poll_interval_ms, 10, 5000) / 1000,
        max_events_per_poll=_int(env, "MAX_EVENTS_PER_POLL", defaults.max_events_per_poll, 1, 100_000),
        retention_days=_int(env, "RETENTION_DAYS", defaults.retention_days, 0, 36_500),
        cors_origins=origins,
        auth_token=token,
        client_queue_size=_int(env, "CLIENT_QUEUE_SIZE", 256, 1, 100_000),
        frontend_dist=Path(env.get("FRONTEND_DIST") or PROJECT_ROOT / "frontend" / "dist"),
    )
