"""Rows of test data for any entity of the model, and the payloads they must produce."""

from __future__ import annotations

import json
from typing import Any

# Non-ASCII, quotes and a backslash: the payload must carry them unchanged.
TEXT = "Zoë Ünïcödé 日本語 🚀 'single' \"double\" back\\slash"
JSON_VALUE = {"nested": [1, 2.5, None, True], "ünï": "🚀", "quote": "it's"}


def _value(column: dict[str, Any], variant: int) -> Any:
    kind = column["type"]
    if kind == "string":
        text = f"{variant}·{TEXT}"
        return text[: column["length"]] if column["length"] else text
    if kind == "integer":
        return 40 + variant
    if kind == "float":
        return 12.5 + variant
    if kind == "boolean":
        return variant % 2 == 0
    if kind == "date":
        return f"2024-02-{28 + variant % 2:02d}"
    if kind == "datetime":
        return f"2024-02-29 13:45:{10 + variant:02d}"
    if kind == "json":
        return {**JSON_VALUE, "variant": variant}
    raise AssertionError(kind)


def insert_row(entity: dict[str, Any]) -> dict[str, Any]:
    """Every non-nullable data column filled, every nullable one NULL."""
    return {
        column["name"]: None if column["nullable"] else _value(column, 0)
        for column in entity["columns"]
        if not column["primary_key"]
    }


def update_row(entity: dict[str, Any]) -> dict[str, Any]:
    """New values for every nullable column and for the first non-nullable data column."""
    changes: dict[str, Any] = {}
    first_required = True
    for column in entity["columns"]:
        if column["primary_key"]:
            continue
        if column["nullable"]:
            changes[column["name"]] = _value(column, 1)
        elif first_required:
            changes[column["name"]] = _value(column, 1)
            first_required = False
    return changes


def to_sql_params(entity: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """Values as the drivers take them (JSON as text)."""
    types = {column["name"]: column["type"] for column in entity["columns"]}
    return {
        name: json.dumps(value) if types[name] == "json" and value is not None else value for name, value in row.items()
    }


def expected_payload(entity: dict[str, Any], row_id: int, row: dict[str, Any]) -> dict[str, Any]:
    """The payload every dialect must write: ISO datetimes, JSON embedded, booleans true/false."""
    payload: dict[str, Any] = {}
    for column in entity["columns"]:
        if column["primary_key"]:
            payload[column["name"]] = row_id
            continue
        value = row[column["name"]]
        if column["type"] == "datetime" and value is not None:
            value = value.replace(" ", "T")
        payload[column["name"]] = value
    return payload
