"""Mapping nomnom field types onto the seven column types the dashboard knows."""

from __future__ import annotations

import re
from typing import Literal, get_args

ColumnType = Literal["string", "integer", "float", "boolean", "date", "datetime", "json"]
COLUMN_TYPES: tuple[ColumnType, ...] = get_args(ColumnType)

NOMNOM_NAMES: dict[ColumnType, str] = {
    "string": "String",
    "integer": "Integer",
    "float": "Float",
    "boolean": "Boolean",
    "date": "Date",
    "datetime": "DateTime",
    "json": "Json",
}
"""How nomnom spells each column type; error messages list these."""

_OTHER_ALIASES: dict[str, ColumnType] = {
    "str": "string",
    "text": "string",
    "char": "string",
    "varchar": "string",
    "int": "integer",
    "i16": "integer",
    "i32": "integer",
    "i64": "integer",
    "u32": "integer",
    "u64": "integer",
    "long": "integer",
    "bigint": "integer",
    "smallint": "integer",
    "double": "float",
    "f32": "float",
    "f64": "float",
    "decimal": "float",
    "numeric": "float",
    "real": "float",
    "bool": "boolean",
    "naivedate": "date",
    "naivedatetime": "datetime",
    "timestamp": "datetime",
    "jsonb": "json",
    "uuid": "string",
    "array": "json",
    "object": "json",
    "map": "json",
    "dict": "json",
}

_ALIASES: dict[str, ColumnType] = {
    **{name.lower(): column_type for column_type, name in NOMNOM_NAMES.items()},
    **_OTHER_ALIASES,
}

_CONTAINER = re.compile(r"^(list|vec|array|map|dict|hashmap)\s*[\[<(].*[\]>)]$", re.IGNORECASE)
_OPTIONAL = re.compile(r"^option(?:al)?\s*[\[<(](.*)[\]>)]$", re.IGNORECASE)


def normalize_type(raw: str) -> tuple[ColumnType, bool] | None:
    """Return (column type, implied nullable) for a nomnom type name, or None if unknown.

    ``Option[String]`` is a nullable string; ``List[...]`` and other containers
    are stored as JSON.
    """
    text = raw.strip()
    optional = _OPTIONAL.match(text)
    if optional:
        inner = normalize_type(optional.group(1))
        return (inner[0], True) if inner else None
    if _CONTAINER.match(text):
        return "json", False
    mapped = _ALIASES.get(text.lower())
    return (mapped, False) if mapped else None


def known_type_names() -> str:
    """For error messages: nomnom's names, then every other spelling accepted."""
    others = sorted(name for name in _OTHER_ALIASES if name != "object")
    return ", ".join([*NOMNOM_NAMES.values(), "Object", "List[...]", "Option[...]"]) + (
        f"; also {', '.join(others)}, in any letter case"
    )


V1_TYPES: dict[str, ColumnType] = {
    "string": "string",
    "integer": "integer",
    "bigint": "integer",
    "float": "float",
    # Fixed precision is a display concern here: the payload carries the number.
    "decimal": "float",
    "boolean": "boolean",
    "timestamp": "datetime",
    "date": "date",
    "json": "json",
    # PostgreSQL UUID, MySQL CHAR(36): text in the payload.
    "uuid": "string",
    # PostgreSQL arrays and MySQL's JSON serialization both arrive as JSON arrays.
    "array": "json",
}
"""Entity Schema v1's logical types (nomnom's docs/ENTITY_SCHEMA_V1.md, "Type System").

Every one is also known to :func:`normalize_type`, which v1 files go through like
legacy ones (nomnom passes a v1 type on unchanged, so ``String`` works there too)."""


def known_v1_type_names() -> str:
    return ", ".join(V1_TYPES)
