"""The normalized entity model: the single source for every generated artifact.

It is built once from the YAML (see :mod:`.loader`), stored in the generated
project's answers as a JSON snapshot, and read back from that snapshot on every
render, so rendering depends only on (template version, answers).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

from .errors import ModelError, excerpt
from .field_types import ColumnType
from .identifiers import owned_name

EntityKind = Literal["root", "derived", "reference"]
ENTITY_KINDS: tuple[EntityKind, ...] = get_args(EntityKind)

EventType = Literal["insert", "update", "delete"]
EVENT_TYPES: tuple[EventType, ...] = get_args(EventType)

Dialect = Literal["postgresql", "mysql", "mariadb", "sqlite"]
DIALECTS: tuple[Dialect, ...] = get_args(Dialect)

DEFAULT_MAX_RECORDS = 500
"""Rows kept in the browser per entity unless dashboard.yaml says otherwise."""

SNAPSHOT_FORMAT = 1
"""Bumped whenever the snapshot's shape changes, so old answers can be migrated."""


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    nullable: bool = False
    length: int | None = None
    primary_key: bool = False
    autogenerate: bool = False
    indexed: bool = False
    doc: str = ""
    sql_name: str = ""
    """The column's name in the table when it is not spelled as ``name`` (the payload key):
    folded to lower case or snake_case, as dashboard.yaml's ``column_names`` says."""

    @property
    def sql(self) -> str:
        """The name to use in SQL (quoted by the dialect)."""
        return self.sql_name or self.name


@dataclass(frozen=True)
class Entity:
    name: str
    table: str
    id_column: str
    kind: EntityKind
    columns: tuple[Column, ...]
    unicity_fields: tuple[str, ...] = ()
    doc: str = ""
    source: str = ""
    parent: str = ""
    """For a derived entity: the entity whose records it is derived from (nomnom's
    ``parent`` or ``repeated_for.entity``), when that entity is in the model."""
    color: str = "#3b82f6"
    icon: str = "🔹"
    display_fields: tuple[str, ...] = ()
    max_records: int = DEFAULT_MAX_RECORDS
    event_types: tuple[EventType, ...] = EVENT_TYPES
    schema: str = ""
    """PostgreSQL schema, or MySQL / MariaDB database, holding ``table``; empty: the
    connection's own (``staging.orders`` in the YAML gives schema ``staging``)."""

    @property
    def qualified_table(self) -> str:
        """``schema.table`` as people write it (unquoted), for messages and the UI."""
        return f"{self.schema}.{self.table}" if self.schema else self.table

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def data_columns(self) -> tuple[Column, ...]:
        """Every column but the primary key: the ones an UPDATE can change."""
        return tuple(column for column in self.columns if not column.primary_key)

    def trigger_name(self, event_type: EventType) -> str:
        return owned_name(self.table, event_type, self.schema)

    @property
    def function_name(self) -> str:
        """PostgreSQL trigger function shared by the entity's triggers."""
        return owned_name(self.table, "capture", self.schema)

    @property
    def trigger_names(self) -> tuple[str, ...]:
        return tuple(self.trigger_name(event) for event in self.event_types)


@dataclass(frozen=True)
class Features:
    statistics: bool = True
    filters: bool = True
    search: bool = True
    pause: bool = True
    auto_scroll: bool = True
    export_csv: bool = True
    dark_mode: bool = True


@dataclass(frozen=True)
class Settings:
    """Everything ``dashboard.yaml`` configures besides the entities."""

    poll_interval_ms: int = 500
    max_events_per_poll: int = 1000
    retention_days: int = 7
    backend_port: int = 8000
    frontend_port: int = 5173
    include_reference: bool = True
    database: Dialect | None = None
    features: Features = field(default_factory=Features)


AlertKind = Literal["rate", "stale", "field"]
ALERT_KINDS: tuple[AlertKind, ...] = get_args(AlertKind)

DEFAULT_FIELD_ALERT_FOR_S = 300
"""A field rule fires on a matching row and resolves this long after the last one."""


@dataclass(frozen=True)
class AlertRule:
    """One rule of ``dashboard.alerts``, parsed and checked against the model (see :mod:`.alerts`)."""

    name: str
    kind: AlertKind
    when: str
    """The condition as written (normalized spacing), for messages and the UI."""
    entity: str = ""
    """"" = every entity."""
    event_types: tuple[EventType, ...] = EVENT_TYPES
    operator: str = ""
    """rate and field rules: one of ``> >= < <= == !=``."""
    threshold: float = 0
    """rate rules: the count compared with."""
    window_s: int = 0
    """rate rules: the window; stale rules: the silence that fires."""
    field: str = ""
    """field rules: the field (payload key) compared."""
    value: str | int | float | bool | None = None
    """field rules: the literal compared with, typed as the column."""
    for_s: int = 0
    """rate and stale rules: how long the condition must hold before firing (0: at once);
    field rules: how long after the last matching row the rule resolves."""


@dataclass(frozen=True)
class SkippedEntity:
    """An entity of the YAML that the dashboard does not show, and why (never dropped silently)."""

    name: str
    file: str
    """The file's name in the entities folder."""
    reason: str

    @property
    def line(self) -> str:
        """What generation prints for it."""
        return f"skipped {self.name} ({self.file}): {self.reason}"


@dataclass(frozen=True)
class ProjectModel:
    entities: tuple[Entity, ...]
    settings: Settings = field(default_factory=Settings)
    skipped: tuple[SkippedEntity, ...] = ()
    alerts: tuple[AlertRule, ...] = ()

    def entity(self, name: str) -> Entity:
        for entity in self.entities:
            if entity.name == name:
                return entity
        raise KeyError(name)

    # -- snapshot ------------------------------------------------------------

    def to_snapshot(self) -> dict[str, Any]:
        """A plain JSON-able dict; stable, so an unchanged model gives identical answers."""
        return {"format": SNAPSHOT_FORMAT, **asdict(self)}

    @classmethod
    def from_snapshot(cls, snapshot: Any) -> ProjectModel:
        if not isinstance(snapshot, dict) or snapshot.get("format") != SNAPSHOT_FORMAT:
            found = snapshot.get("format") if isinstance(snapshot, dict) else type(snapshot).__name__
            raise ModelError(
                f"entities_snapshot has format {excerpt(found)}, this template reads format "
                f"{SNAPSHOT_FORMAT}; run `copier update` so it is rebuilt from the YAML"
            )
        try:
            settings_data = dict(snapshot["settings"])
            settings_data["features"] = Features(**settings_data.get("features", {}))
            entities = tuple(_entity_from_snapshot(item) for item in snapshot["entities"])
            # Absent from snapshots written before skipped entities were recorded.
            skipped = tuple(SkippedEntity(**item) for item in snapshot.get("skipped", ()))
            # Absent from snapshots written before alert rules existed.
            alerts = tuple(_alert_from_snapshot(item) for item in snapshot.get("alerts", ()))
            return cls(entities=entities, settings=Settings(**settings_data), skipped=skipped, alerts=alerts)
        except (KeyError, TypeError) as error:
            raise ModelError(f"entities_snapshot is damaged ({error}); run `copier update`") from None


def _entity_from_snapshot(data: dict[str, Any]) -> Entity:
    values = dict(data)
    values["columns"] = tuple(Column(**column) for column in values["columns"])
    for key in ("unicity_fields", "display_fields", "event_types"):
        values[key] = tuple(values.get(key, ()))
    return Entity(**values)


def _alert_from_snapshot(data: dict[str, Any]) -> AlertRule:
    values = dict(data)
    values["event_types"] = tuple(values.get("event_types", EVENT_TYPES))
    return AlertRule(**values)
