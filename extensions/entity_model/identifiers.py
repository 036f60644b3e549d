"""Which names are safe to put in SQL, and the names we give our own objects."""

from __future__ import annotations

import hashlib
import re

from .errors import excerpt

# PostgreSQL truncates identifiers at 63 bytes and MySQL refuses more than 64:
# the lower bound keeps one model valid on every dialect.
MAX_IDENTIFIER_LENGTH = 63

_SAFE_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

EVENTS_TABLE = "db_events"
"""The change log every trigger writes to."""

OBJECT_PREFIX = "dashboard_"
"""Prefix of every trigger and function we create, so we can find and drop exactly ours."""


def identifier_problem(name: str) -> str | None:
    """Why ``name`` cannot be a table or column name, or None when it can."""
    if not _SAFE_IDENTIFIER.match(name):
        return (
            f"{excerpt(name)} is not a safe SQL identifier "
            "(use letters, digits and underscores, not starting with a digit)"
        )
    if len(name) > MAX_IDENTIFIER_LENGTH:
        return f"{excerpt(name)} is longer than {MAX_IDENTIFIER_LENGTH} characters"
    return None


def owned_name(table: str, suffix: str) -> str:
    """Name of a trigger or function we create for ``table``, at most 63 characters.

    Long table names are shortened with a hash so that two tables never share a name.
    """
    name = f"{OBJECT_PREFIX}{table}_{suffix}"
    if len(name) <= MAX_IDENTIFIER_LENGTH:
        return name
    digest = hashlib.sha256(table.encode()).hexdigest()[:8]
    room = MAX_IDENTIFIER_LENGTH - len(OBJECT_PREFIX) - len(digest) - len(suffix) - 2
    return f"{OBJECT_PREFIX}{table[:room]}_{digest}_{suffix}"


def index_name(table: str, column: str) -> str:
    """Name of an index we create on ``table(column)``, at most 63 characters."""
    name = f"{table}_{column}_idx"
    if len(name) <= MAX_IDENTIFIER_LENGTH:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_IDENTIFIER_LENGTH - len(digest) - 1]}_{digest}"
