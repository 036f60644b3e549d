"""The entity model as the backend reads it, from ``generated/entities.json``.

That file is rendered by dashboard-template from the entity YAML; this module
only gives it types.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from .alerts.rules import AlertRule, parse_rules

ColumnType = Literal["string", "integer", "float", "boolean", "date", "datetime", "json"]
EventType = Literal["insert", "update", "delete"]

MODEL_FILE = Path(__file__).resolve().parent / "generated" / "entities.json"


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    nullable: bool
    primary_key: bool
    length: int | None = None
    doc: str = ""
    sql_name: str = ""
    """The column's name in the table when it is not spelled as ``name`` (the payload key)."""
    autogenerate: bool = False
    """For the primary key: the database generates its values (identity / auto-increment)."""
    spellings: tuple[tuple[str, str], ...] = ()
    """(dashboard.yaml ``column_names`` style, the field's name in that style), for every style."""

    @property
    def sql(self) -> str:
        return self.sql_name or self.name


@dataclass(frozen=True)
class Entity:
    name: str
    table: str
    id_column: str
    kind: str
    columns: tuple[Column, ...]
    display_fields: tuple[str, ...]
    color: str
    icon: str
    max_records: int
    event_types: tuple[EventType, ...]
    triggers: dict[str, str]
    function: str
    unicity_fields: tuple[str, ...]
    parent: str
    doc: str
    schema: str = ""
    """PostgreSQL schema or MySQL / MariaDB database of ``table``; empty: the connection's own."""

    @property
    def qualified_table(self) -> str:
        return f"{self.schema}.{self.table}" if self.schema else self.table


@dataclass(frozen=True)
class Defaults:
    """Defaults from the answers and dashboard.yaml; the environment overrides them (see settings.py)."""

    poll_interval_ms: int
    max_events_per_poll: int
    retention_days: int
    frontend_port: int
    default_database_url: str
    features: dict[str, bool]


@dataclass(frozen=True)
class Model:
    entities: tuple[Entity, ...]
    defaults: Defaults
    object_prefix: str
    """Every trigger and function the migrations create starts with this."""
    version: str = ""
    """Hash of the entity model; the frontend bundle embeds the one it was built for."""
    alerts: tuple[AlertRule, ...] = ()
    """dashboard.yaml's alert rules (alerts/evaluator.py runs them)."""

    def entity(self, name: str) -> Entity | None:
        return next((entity for entity in self.entities if entity.name == name), None)

    @property
    def trigger_names(self) -> frozenset[str]:
        return frozenset(name for entity in self.entities for name in entity.triggers.values())

    @property
    def function_names(self) -> frozenset[str]:
        return frozenset(entity.function for entity in self.entities)


def _entity(data: dict[str, Any]) -> Entity:
    return Entity(
        name=data["name"],
        table=data["table"],
        id_column=data["id_column"],
        kind=data["kind"],
        columns=tuple(
            Column(
                c["name"],
                c["type"],
                c["nullable"],
                c["primary_key"],
                c.get("length"),
                c.get("doc", ""),
                c.get("sql_name", ""),
                c.get("autogenerate", False),
                tuple(c.get("spellings", {}).items()),
            )
            for c in data["columns"]
        ),
        display_fields=tuple(data["display_fields"]),
        color=data["color"],
        icon=data["icon"],
        max_records=data["max_records"],
        event_types=tuple(data["event_types"]),
        triggers=dict(data["triggers"]),
        function=data["function"],
        unicity_fields=tuple(data.get("unicity_fields", ())),
        parent=data.get("parent", ""),
        doc=data.get("doc", ""),
        schema=data.get("schema", ""),
    )


def parse_model(data: dict[str, Any]) -> Model:
    settings = data["settings"]
    return Model(
        entities=tuple(_entity(item) for item in data["entities"]),
        object_prefix=settings["object_prefix"],
        version=data.get("model_version", ""),
        alerts=parse_rules(data.get("alerts", [])),
        defaults=Defaults(
            poll_interval_ms=settings["poll_interval_ms"],
            max_events_per_poll=settings["max_events_per_poll"],
            retention_days=settings["retention_days"],
            frontend_port=settings["frontend_port"],
            default_database_url=settings["default_database_url"],
            features=dict(settings["features"]),
        ),
    )


@lru_cache(maxsize=1)
def load_model(path: Path = MODEL_FILE) -> Model:
    return parse_model(json.loads(path.read_text(encoding="utf-8")))
