"""The alert rules as entities.json carries them (``alerts``), and the test of one row against a field rule.

The rules were checked against the model at generation (the template's
``entity_model/alerts.py``); here they are only read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

AlertKind = Literal["rate", "stale", "field"]
AlertValue = str | int | float | bool | None


@dataclass(frozen=True)
class AlertRule:
    name: str
    kind: AlertKind
    when: str
    entity: str = ""
    """"" = every entity."""
    event_types: tuple[str, ...] = ("insert", "update", "delete")
    operator: str = ""
    threshold: float = 0
    window_s: int = 0
    field: str = ""
    value: AlertValue = None
    for_s: int = 0
    """rate and stale rules: how long the condition must hold before firing; field rules:
    how long after the last matching row the rule resolves."""

    def applies_to(self, entity: str, event_type: str) -> bool:
        return (not self.entity or self.entity == entity) and event_type in self.event_types


def parse_rules(items: list[dict[str, Any]]) -> tuple[AlertRule, ...]:
    return tuple(
        AlertRule(
            name=item["name"],
            kind=item["kind"],
            when=item["when"],
            entity=item.get("entity", ""),
            event_types=tuple(item.get("event_types", ("insert", "update", "delete"))),
            operator=item.get("operator", ""),
            threshold=item.get("threshold", 0),
            window_s=item.get("window_s", 0),
            field=item.get("field", ""),
            value=item.get("value"),
            for_s=item.get("for_s", 0),
        )
        for item in items
    )


def compare(left: Any, operator: str, right: Any) -> bool:
    """``left OP right``; False when the two cannot be compared (never raises)."""
    try:
        if operator == "==":
            return bool(left == right)
        if operator == "!=":
            return bool(left != right)
        if operator == ">":
            return bool(left > right)
        if operator == ">=":
            return bool(left >= right)
        if operator == "<":
            return bool(left < right)
        if operator == "<=":
            return bool(left <= right)
    except TypeError:
        return False
    return False


def field_value(raw: Any, like: AlertValue) -> AlertValue:
    """A payload value in the type of the rule's literal, or None when it cannot be one.

    The triggers write what each database's JSON functions make of a column: a
    DECIMAL may arrive as a string, a MySQL BOOLEAN as 0 or 1.
    """
    if raw is None:
        return None
    if isinstance(like, bool):
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int | float) and raw in (0, 1):
            return bool(raw)
        if isinstance(raw, str) and raw.lower() in ("true", "false", "t", "f", "0", "1"):
            return raw.lower() in ("true", "t", "1")
        return None
    if isinstance(like, int | float):
        if isinstance(raw, bool):
            return None
        if isinstance(raw, int | float):
            return raw
        if isinstance(raw, str):
            try:
                number = float(raw)
            except ValueError:
                return None
            return number if math.isfinite(number) else None
        return None
    if isinstance(like, str):
        return raw if isinstance(raw, str) else None
    return None


def row_matches(rule: AlertRule, row: Any) -> tuple[bool, AlertValue]:
    """Whether an event's row meets a field rule, and the field's value in it."""
    if not isinstance(row, dict):
        return False, None
    value = field_value(row.get(rule.field), rule.value)
    if value is None:
        return False, None
    return compare(value, rule.operator, rule.value), value
