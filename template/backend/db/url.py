"""Turning ``DATABASE_URL`` into a dialect and a driver URL, with one-line errors."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

Dialect = Literal["postgresql", "mysql", "mariadb", "sqlite"]

_SCHEMES: dict[str, Dialect] = {
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "mysql": "mysql",
    "mariadb": "mariadb",
    "sqlite": "sqlite",
}

# SQLAlchemy-style driver names (`mysql+pymysql://`, `postgresql+psycopg://`, ...):
# the URL may come from another tool, so the part after `+` is accepted and ignored,
# since this backend always talks through its own drivers (asyncpg, aiomysql, aiosqlite).
_DRIVER = re.compile(r"[a-z][a-z0-9_]*")


def scheme_dialect(scheme: str) -> Dialect | None:
    """The dialect of a URL scheme, with or without a driver: ``mariadb+pymysql`` -> ``mariadb``."""
    base, plus, driver = scheme.lower().partition("+")
    if plus and not _DRIVER.fullmatch(driver):
        return None
    return _SCHEMES.get(base)


# Scheme of the URL handed to the `databases` package: asyncpg, aiomysql, aiosqlite.
_DRIVER_SCHEME: dict[Dialect, str] = {
    "postgresql": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
    "sqlite": "sqlite",
}


class DatabaseUrlError(ValueError):
    """The URL cannot be used; the message says why in one line."""


@dataclass(frozen=True)
class DatabaseTarget:
    dialect: Dialect
    driver_url: str
    display: str
    """The URL without its password, safe to print and log."""


def parse_database_url(url: str | None) -> DatabaseTarget:
    if url is None or not url.strip():
        raise DatabaseUrlError(
            "DATABASE_URL is not set (examples: postgresql://user@127.0.0.1:5432/app, "
            "mysql://root@127.0.0.1:3306/app, sqlite:///dashboard.db)"
        )
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise DatabaseUrlError(f"DATABASE_URL {_masked(text)!r} is malformed: {error}") from None
    dialect = scheme_dialect(parts.scheme)
    if "://" not in text or dialect is None:
        known = ", ".join(f"{name}://" for name in _SCHEMES)
        raise DatabaseUrlError(
            f"DATABASE_URL {_masked(text)!r} has an unknown scheme (use {known}, optionally with a driver "
            "such as postgresql+asyncpg:// or mysql+pymysql://)"
        )
    display = urlunsplit(_without_password(parts))
    if dialect == "sqlite":
        return _sqlite_target(parts, text, display)
    if not parts.hostname:
        raise DatabaseUrlError(f"DATABASE_URL {display!r} names no host")
    if port == 0:
        raise DatabaseUrlError(f"DATABASE_URL {display!r} has port 0")
    database = unquote(parts.path.lstrip("/"))
    if not database or "/" in database:
        raise DatabaseUrlError(f"DATABASE_URL {display!r} must name one database after the host, like host:port/name")
    driver_url = urlunsplit(parts._replace(scheme=_DRIVER_SCHEME[dialect]))
    return DatabaseTarget(dialect, driver_url, display)


def _sqlite_target(parts: SplitResult, text: str, display: str) -> DatabaseTarget:
    if parts.netloc:
        raise DatabaseUrlError(
            f"DATABASE_URL {display!r}: a SQLite URL has three slashes before a relative path "
            "(sqlite:///dashboard.db) and four before an absolute one (sqlite:////srv/dashboard.db)"
        )
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if not path or path == ":memory:":
        raise DatabaseUrlError(
            f"DATABASE_URL {display!r} names no SQLite file (an in-memory database would "
            "not be shared between the writers and the dashboard)"
        )
    driver_url = "sqlite:///" + path + (f"?{parts.query}" if parts.query else "")
    return DatabaseTarget("sqlite", driver_url, text)


def _without_password(parts: SplitResult) -> SplitResult:
    if parts.password is None:
        return parts
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc)


def _masked(text: str) -> str:
    """Best effort for URLs too broken to parse: hide anything between ':' and '@'."""
    head, sep, tail = text.partition("://")
    if not sep or "@" not in tail:
        return text
    credentials, _, rest = tail.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{head}://{user}:***@{rest}" if ":" in credentials else text
