"""Which names are safe to put in SQL, and the names we give our own objects."""

from __future__ import annotations

import hashlib
import re
from typing import Literal, get_args

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


def split_table(text: str) -> tuple[str, str]:
    """``"staging.orders"`` -> ``("staging", "orders")``; ``"orders"`` -> ``("", "orders")``.

    Raises ValueError naming the part that cannot be used.
    """
    parts = text.split(".")
    if len(parts) > 2:
        raise ValueError(f"{excerpt(text)} has more than one dot (write schema.table or table)")
    for part in parts:
        problem = identifier_problem(part)
        if problem:
            raise ValueError(problem if len(parts) == 1 else f"in {excerpt(text)}, {problem}")
    return (parts[0], parts[1]) if len(parts) == 2 else ("", parts[0])


ColumnNames = Literal["as_written", "lower_case", "snake_case"]
COLUMN_NAME_STYLES: tuple[ColumnNames, ...] = get_args(ColumnNames)

# Word boundaries as nomnom's to_snake_case (the Rust crate convert_case) finds
# them: lower->Upper, an acronym's end (HTTPCode -> HTTP|Code), letter<->digit.
_WORD_BOUNDARY = re.compile(
    r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])"
)


def spelled(name: str, style: ColumnNames) -> str:
    """A field name as a table spells its column under dashboard.yaml's ``column_names``."""
    if style == "lower_case":
        return name.lower()
    if style == "snake_case":
        words = [word for part in name.split("_") for word in _WORD_BOUNDARY.split(part) if word]
        return "_".join(word.lower() for word in words)
    return name


def owned_name(table: str, suffix: str, schema: str = "") -> str:
    """Name of a trigger or function we create for ``table``, at most 63 characters.

    Long table names are shortened with a hash so that two tables never share a name.
    A schema-qualified table always gets the hash of ``schema.table``: ``staging.orders``
    and ``orders`` (or ``staging_orders``) then never share a name, and the names of
    unqualified tables stay what they always were, so existing installs do not churn.
    """
    if schema:
        digest = hashlib.sha256(f"{schema}.{table}".encode()).hexdigest()[:8]
        room = MAX_IDENTIFIER_LENGTH - len(OBJECT_PREFIX) - len(digest) - len(suffix) - 2
        return f"{OBJECT_PREFIX}{f'{schema}_{table}'[:room]}_{digest}_{suffix}"
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
