"""``dashboard.alerts``: alert rules, parsed and checked against the entity model.

Each rule has a ``name``, an optional ``entity`` (omitted: every entity), optional
``event_types`` and one ``when:`` condition:

- a rate over a window: ``count > 100 per 1m``, ``count < 5 per 10m`` (units s, m, h);
- silence: ``stale 10m`` (no event for that long: the ETL stopped);
- a field condition on inserted or updated rows: ``total_price > 100000``,
  ``status == 'FAILED'`` (the field must be a column of the entity; the literal
  must suit the column's type).

``for:`` (a duration) delays firing until a rate or stale condition has held that
long, and says how long a field rule stays firing after its last matching row
(default 5 minutes). Every problem is one error naming the rule and the key.
"""

from __future__ import annotations

import re

from .errors import excerpt
from .model import DEFAULT_FIELD_ALERT_FOR_S, EVENT_TYPES, AlertRule, Entity, EventType
from .yaml_source import Node

RULE_KEYS = {"name", "entity", "event_types", "when", "for"}

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
"""Rule names become Prometheus label values, URL-safe ids and alert names: kept plain."""

DURATION = re.compile(r"^(\d{1,6})\s*([smh])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600}
DURATION_RANGE_S = (1, 86_400)
"""Windows live in the backend's memory, in buckets: one second to one day."""

_RATE = re.compile(r"^count\s*(>=|<=|>|<)\s*(\S+)\s+per\s+(.+)$")
_STALE = re.compile(r"^stale\s+(.+)$")
_FIELD = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(==|!=|>=|<=|>|<)\s*(.+)$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?$")
_QUOTED = re.compile(r"""^(?:'([^']*)'|"([^"]*)")$""")

ROW_EVENT_TYPES: tuple[EventType, ...] = ("insert", "update")
"""A field condition looks at the row an event carries: inserted or updated rows only."""

AlertValue = str | int | float | bool


def parse_alerts(node: Node, entities: list[Entity]) -> tuple[AlertRule, ...]:
    """The rules of ``dashboard.alerts`` (a list node; nothing: no rules)."""
    by_name = {entity.name: entity for entity in entities}
    rules: list[AlertRule] = []
    seen: set[str] = set()
    for item in node.items():
        item.reject_unknown_keys(RULE_KEYS)
        name = item.required_str("name")
        if not NAME.match(name):
            raise item.child("name").error(
                f"alert name {excerpt(name)} must be letters, digits and _ . - (at most 63, starting with a "
                "letter or digit)"
            )
        if name in seen:
            raise item.child("name").error(f"alert {name!r} is defined twice")
        seen.add(name)
        rules.append(_rule(item, name, by_name))
    return tuple(rules)


def _rule(item: Node, name: str, by_name: dict[str, Entity]) -> AlertRule:
    entity: Entity | None = None
    if item.has("entity"):
        entity_name = item.child("entity").as_str()
        entity = by_name.get(entity_name)
        if entity is None:
            known = ", ".join(sorted(by_name))
            raise item.child("entity").error(
                f"alert {name!r}: no entity named {excerpt(entity_name)} in the dashboard (known: {known})"
            )
    if not item.has("when"):
        raise item.child("when").error(f"alert {name!r}: is required (e.g. 'count > 100 per 1m', 'stale 10m')")
    when_node = item.child("when")
    when = " ".join(when_node.as_str().split())
    for_s = _duration(item.child("for"), name) if item.has("for") else None

    rate = _RATE.match(when)
    if rate:
        operator, count_text, window_text = rate.groups()
        if not count_text.isascii() or not count_text.isdigit() or len(count_text) > 12:
            raise when_node.error(f"alert {name!r}: the count {excerpt(count_text)} must be a whole number")
        window_s = _duration_text(window_text, when_node, name)
        event_types = _event_types(item, name, entity, EVENT_TYPES)
        return AlertRule(
            name=name,
            kind="rate",
            when=when,
            entity=entity.name if entity else "",
            event_types=event_types,
            operator=operator,
            threshold=int(count_text),
            window_s=window_s,
            for_s=for_s or 0,
        )
    stale = _STALE.match(when)
    if stale:
        window_s = _duration_text(stale.group(1), when_node, name)
        event_types = _event_types(item, name, entity, EVENT_TYPES)
        return AlertRule(
            name=name,
            kind="stale",
            when=when,
            entity=entity.name if entity else "",
            event_types=event_types,
            window_s=window_s,
            for_s=for_s or 0,
        )
    condition = _FIELD.match(when)
    if condition:
        field, operator, literal_text = condition.groups()
        if field == "count" and (entity is None or field not in entity.column_names):
            raise when_node.error(f"alert {name!r}: a rate needs a window: 'count {operator} N per 1m'")
        if entity is None:
            raise item.child("entity").error(f"alert {name!r}: a field condition ({field}) needs an entity")
        if field not in entity.column_names:
            fields = ", ".join(entity.column_names)
            raise when_node.error(f"alert {name!r}: {entity.name} has no field {excerpt(field)} (fields: {fields})")
        value = _literal(entity, field, operator, literal_text, when_node, name)
        return AlertRule(
            name=name,
            kind="field",
            when=when,
            entity=entity.name,
            event_types=_event_types(item, name, entity, ROW_EVENT_TYPES),
            operator=operator,
            field=field,
            value=value,
            for_s=DEFAULT_FIELD_ALERT_FOR_S if for_s is None else for_s,
        )
    raise when_node.error(
        f"alert {name!r}: cannot read {excerpt(when)} (expected 'count > N per 1m', 'count < N per 10m', "
        "'stale 10m' or a field condition such as \"total_price > 100000\" or \"status == 'FAILED'\")"
    )


def _duration(node: Node, name: str) -> int:
    return _duration_text(node.as_str(), node, name)


def _duration_text(text: str, node: Node, name: str) -> int:
    found = DURATION.match(text.strip())
    if not found:
        raise node.error(f"alert {name!r}: {excerpt(text)} is not a duration (a whole number and s, m or h: 30s, 10m)")
    seconds = int(found.group(1)) * _UNIT_S[found.group(2)]
    low, high = DURATION_RANGE_S
    if not low <= seconds <= high:
        raise node.error(f"alert {name!r}: {text.strip()} is out of range (1s to 24h)")
    return seconds


def _event_types(item: Node, name: str, entity: Entity | None, allowed: tuple[EventType, ...]) -> tuple[EventType, ...]:
    """The rule's event types: as given, else every allowed one the entity tracks."""
    tracked = entity.event_types if entity is not None else EVENT_TYPES
    if not item.has("event_types"):
        chosen = tuple(event for event in allowed if event in tracked)
        if not chosen:
            raise item.child("event_types").error(
                f"alert {name!r}: {entity.name if entity else 'the dashboard'} tracks none of {', '.join(allowed)}"
            )
        return chosen
    node = item.child("event_types")
    picked: list[EventType] = []
    for entry in node.items():
        value = entry.as_str().lower()
        match = next((event for event in allowed if event == value), None)
        if match is None:
            raise entry.error(f"alert {name!r}: event type {excerpt(value)} is not one of {', '.join(allowed)}")
        if match not in tracked:
            assert entity is not None  # every entity-less rule tracks every type
            raise entry.error(
                f"alert {name!r}: {entity.name} does not track {match} events (it tracks {', '.join(tracked)})"
            )
        if match not in picked:
            picked.append(match)
    if not picked:
        raise node.error(f"alert {name!r}: must list at least one of {', '.join(allowed)}")
    return tuple(event for event in EVENT_TYPES if event in picked)


def _literal(entity: Entity, field: str, operator: str, text: str, node: Node, name: str) -> AlertValue:
    """The literal of a field condition, typed as the column; an unsuitable one is an error."""
    column_type = entity.column(field).type
    text = text.strip()
    quoted = _QUOTED.match(text)

    def wrong(expected: str) -> Exception:
        return node.error(
            f"alert {name!r}: {entity.name}.{field} is a {column_type} field, so compare it with {expected}, "
            f"not {excerpt(text)}"
        )

    if column_type in ("integer", "float"):
        if not _NUMBER.match(text):
            raise wrong("a number")
        if column_type == "integer":
            if not re.fullmatch(r"-?\d+", text):
                raise wrong("a whole number")
            return int(text)
        return float(text)
    if column_type == "boolean":
        if text not in ("true", "false"):
            raise wrong("true or false")
        if operator not in ("==", "!="):
            raise node.error(f"alert {name!r}: a boolean field is compared with == or != only, not {operator}")
        return text == "true"
    if column_type in ("string", "date", "datetime"):
        if not quoted:
            raise wrong("a quoted string ('FAILED')")
        return quoted.group(1) if quoted.group(1) is not None else quoted.group(2)
    raise node.error(
        f"alert {name!r}: {entity.name}.{field} is a {column_type} field; conditions compare strings, numbers, "
        "dates and booleans"
    )
