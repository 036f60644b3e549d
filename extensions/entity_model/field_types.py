"""Mapping nomnom field types onto the seven column types the dashboard knows."""

from __future__ import annotations

import re
from typing import Literal, get_args

ColumnType = Literal["string", "integer", "float", "boolean", "date", "datetime", "json"]
COLUMN_TYPES: tuple[ColumnType, ...] = get_args(ColumnType)

_ALIASES: dict[str, ColumnType] = {
    "string": "string",
    "str": "string",
    "text": "string",
    "char": "string",
    "varchar": "string",
    "integer": "integer",
    "int": "integer",
    "i16": "integer",
    "i32": "integer",
    "i64": "integer",
    "u32": "integer",
    "u64": "integer",
    "long": "integer",
    "bigint": "integer",
    "smallint": "integer",
    "float": "float",
    "double": "float",
    "f32": "float",
    "f64": "float",
    "decimal": "float",
    "numeric": "float",
    "real": "float",
    "boolean": "boolean",
    "bool": "boolean",
    "date": "date",
    "naivedate": "date",
    "datetime": "datetime",
    "naivedatetime": "datetime",
    "timestamp": "datetime",
    "json": "json",
    "jsonb": "json",
    "object": "json",
    "map": "json",
    "dict": "json",
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
    """A short list for error messages."""
    return "String, Integer, Float, Boolean, Date, DateTime, Json, Object, List[...], Option[...]"
