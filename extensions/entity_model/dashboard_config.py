"""Reading the optional ``dashboard.yaml`` and applying it to the entities.

Unlike entity files (nomnom's format, which has many keys we do not use),
this file is ours: unknown keys are errors, so a typo never goes unnoticed.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from .errors import ModelError, excerpt
from .folder import require_inside
from .identifiers import COLUMN_NAME_STYLES, ColumnNames, spelled
from .model import DEFAULT_MAX_RECORDS, DIALECTS, EVENT_TYPES, Column, Dialect, Entity, EventType, Features, Settings
from .presentation import HEX_COLOR, default_colors, default_display_fields, default_icon
from .yaml_source import Node, load_yaml_file

CONFIG_FILE_NAMES = ("dashboard.yaml", "dashboard.yml")

POLL_INTERVAL_RANGE = (100, 5000)
MAX_RECORDS_RANGE = (1, 100_000)

# The numbers of dashboard.yaml: (section, key) -> (Settings field, minimum, maximum).
# Their defaults are the Settings field defaults, the single source of them.
NUMBER_SETTINGS: dict[tuple[str, str], tuple[str, int, int]] = {
    ("polling", "interval_ms"): ("poll_interval_ms", *POLL_INTERVAL_RANGE),
    ("polling", "max_events_per_poll"): ("max_events_per_poll", 1, 100_000),
    ("polling", "cleanup_after_days"): ("retention_days", 0, 36_500),
    ("ports", "backend"): ("backend_port", 1, 65_535),
    ("ports", "frontend"): ("frontend_port", 1, 65_535),
}
_DEFAULTS = Settings()


@dataclass(frozen=True)
class EntityDisplay:
    """Per-entity settings from ``dashboard.entities[]``; None means "use the default"."""

    node: Node
    color: str | None = None
    icon: str | None = None
    display_fields: tuple[str, ...] | None = None
    max_records: int | None = None
    event_types: tuple[EventType, ...] | None = None
    column_names: ColumnNames | None = None


@dataclass(frozen=True)
class DashboardConfig:
    settings: Settings
    event_types: tuple[EventType, ...]
    max_records: int
    entities: dict[str, EntityDisplay]
    file: Path | None
    column_names: ColumnNames = "as_written"
    """How the tables spell the fields' columns (see :func:`.identifiers.spelled`)."""
    alerts: Node | None = None
    """``dashboard.alerts`` as written; checked against the entities by :func:`.alerts.parse_alerts`."""


def read_dashboard_config(entities_dir: Path) -> DashboardConfig:
    for name in CONFIG_FILE_NAMES:
        require_inside(entities_dir / name, entities_dir)
    present = [entities_dir / name for name in CONFIG_FILE_NAMES if (entities_dir / name).is_file()]
    if len(present) > 1:
        raise ModelError("both dashboard.yaml and dashboard.yml exist; keep one", file=present[1])
    if not present:
        return DashboardConfig(_DEFAULTS, EVENT_TYPES, DEFAULT_MAX_RECORDS, {}, None)
    path = present[0]
    document = Node(load_yaml_file(path), path, "")
    if document.value is None:
        return DashboardConfig(_DEFAULTS, EVENT_TYPES, DEFAULT_MAX_RECORDS, {}, path)
    document.reject_unknown_keys({"dashboard"})
    root = document.child("dashboard")
    if root.value is None:
        return DashboardConfig(_DEFAULTS, EVENT_TYPES, DEFAULT_MAX_RECORDS, {}, path)
    root.reject_unknown_keys(
        {
            "database",
            "include_reference",
            "polling",
            "ports",
            "event_types",
            "entities",
            "features",
            "max_records",
            "column_names",
            "alerts",
        }
    )

    sections = {
        name: _section(root, name, {key for section, key in NUMBER_SETTINGS if section == name})
        for name in ("polling", "ports")
    }
    features_node = _section(root, "features", {f.name for f in fields(Features)})
    features = Features(
        **{f.name: features_node.bool_or(f.name, getattr(_DEFAULTS.features, f.name)) for f in fields(Features)}
    )

    settings = Settings(
        **{
            field: sections[section].int_or(key, getattr(_DEFAULTS, field), minimum, maximum)
            for (section, key), (field, minimum, maximum) in NUMBER_SETTINGS.items()
        },
        include_reference=root.bool_or("include_reference", _DEFAULTS.include_reference),
        database=_database(root),
        features=features,
    )
    if settings.backend_port == settings.frontend_port:
        raise sections["ports"].child("frontend").error("must differ from the backend port")

    entities: dict[str, EntityDisplay] = {}
    for item in root.child("entities").items():
        display = _entity_display(item)
        name = item.required_str("name")
        if name in entities:
            raise item.child("name").error(f"entity {excerpt(name)} is configured twice")
        entities[name] = display

    return DashboardConfig(
        settings=settings,
        event_types=_event_types(root.child("event_types")) if root.has("event_types") else EVENT_TYPES,
        max_records=root.int_or("max_records", DEFAULT_MAX_RECORDS, *MAX_RECORDS_RANGE),
        entities=entities,
        file=path,
        column_names=_column_names(root.child("column_names")) if root.has("column_names") else "as_written",
        alerts=root.child("alerts"),
    )


def apply_dashboard_config(entities: list[Entity], config: DashboardConfig) -> list[Entity]:
    """Fill in each entity's look and tracked events; drop reference entities if asked."""
    by_name = {entity.name: entity for entity in entities}
    for name, display in config.entities.items():
        if name not in by_name:
            known = ", ".join(sorted(by_name)) or "none"
            raise display.node.child("name").error(f"no persistent entity named {excerpt(name)} (known: {known})")

    shown = [e for e in entities if e.kind != "reference" or config.settings.include_reference]
    # Colors are assigned over the whole project, so no two of its entities share one.
    chosen_colors = {name: d.color for name, d in config.entities.items() if d.color is not None}
    colors = default_colors((e.name for e in shown if e.name not in chosen_colors), taken=chosen_colors.values())
    result = [_apply_display(e, config.entities.get(e.name), config, colors.get(e.name, "")) for e in shown]
    kept = {entity.name for entity in result}
    return [entity if entity.parent in kept else replace(entity, parent="") for entity in result]


def _apply_display(
    entity: Entity, display: EntityDisplay | None, config: DashboardConfig, default_color: str
) -> Entity:
    display_fields = default_display_fields(entity.columns)
    if display is not None and display.display_fields is not None:
        for index, name in enumerate(display.display_fields):
            if name not in entity.column_names:
                node = display.node.child("display_fields")
                raise Node(name, node.file, f"{node.path}[{index}]").error(
                    f"{entity.name} has no column {excerpt(name)} (columns: {', '.join(entity.column_names)})"
                )
        display_fields = display.display_fields

    def chosen(value: Any, default: Any) -> Any:
        return default if value is None else value

    style = chosen(display and display.column_names, config.column_names)
    columns = _spelled_columns(entity, style, display.node if display and display.column_names else None, config)
    return replace(
        entity,
        columns=columns,
        color=chosen(display and display.color, default_color),
        icon=chosen(display and display.icon, default_icon(entity.name, entity.kind)),
        display_fields=display_fields,
        max_records=chosen(display and display.max_records, config.max_records),
        event_types=chosen(display and display.event_types, config.event_types),
    )


def _spelled_columns(
    entity: Entity, style: ColumnNames, entity_node: Node | None, config: DashboardConfig
) -> tuple[Column, ...]:
    """The columns with their SQL spelling; two fields spelled alike are an error."""
    columns: list[Column] = []
    taken: dict[str, str] = {}
    for column in entity.columns:
        sql = spelled(column.name, style)
        # MySQL, MariaDB and SQLite compare column names without case.
        twin = taken.get(sql.lower())
        if twin is not None:
            where = entity_node.child("column_names") if entity_node is not None else None
            message = (
                f"column_names {style} spells fields {twin!r} and {column.name!r} of entity {entity.name} "
                f"both as {sql!r}"
            )
            if where is not None:
                raise where.error(message)
            raise ModelError(message, file=config.file, key="dashboard.column_names")
        taken[sql.lower()] = column.name
        columns.append(replace(column, sql_name="" if sql == column.name else sql))
    return tuple(columns)


def _column_names(node: Node) -> ColumnNames:
    value = node.as_str()
    for style in COLUMN_NAME_STYLES:
        if value == style:
            return style
    raise node.error(f"unknown column_names {excerpt(value)} (expected one of {', '.join(COLUMN_NAME_STYLES)})")


def _section(root: Node, key: str, allowed: set[str]) -> Node:
    node = root.child(key)
    if node.value is None:
        return Node({}, node.file, node.path)
    node.reject_unknown_keys(allowed)
    return node


def _database(root: Node) -> Dialect | None:
    if not root.has("database"):
        return None
    node = root.child("database")
    if isinstance(node.value, str):
        type_node = node
    else:
        # The plan's `url: ${DATABASE_URL}` is accepted and ignored: the URL always
        # comes from the environment at run time, never from a generated file.
        node.reject_unknown_keys({"type", "url"})
        if not node.has("type"):
            return None
        type_node = node.child("type")
    value = type_node.as_str().lower()
    if value not in DIALECTS:
        raise type_node.error(f"unknown database {excerpt(value)} (expected one of {', '.join(DIALECTS)})")
    return value


def _event_types(node: Node) -> tuple[EventType, ...]:
    chosen: list[EventType] = []
    for item in node.items():
        value = item.as_str().lower()
        if value not in EVENT_TYPES:
            raise item.error(f"unknown event type {excerpt(value)} (expected some of {', '.join(EVENT_TYPES)})")
        if value not in chosen:
            chosen.append(value)
    if not chosen:
        raise node.error("must list at least one of insert, update, delete")
    # Keep the canonical order so the snapshot does not depend on how the list was written.
    return tuple(event for event in EVENT_TYPES if event in chosen)


def _entity_display(item: Node) -> EntityDisplay:
    item.reject_unknown_keys({"name", "color", "icon", "display_fields", "max_records", "event_types", "column_names"})
    color = None
    if item.has("color"):
        color = item.child("color").as_str()
        if not HEX_COLOR.match(color):
            raise item.child("color").error(f"must be a #rrggbb color, got {excerpt(color)}")
        color = color.lower()
    display_fields = None
    if item.has("display_fields"):
        display_fields = tuple(field.as_str() for field in item.child("display_fields").items())
        if not display_fields:
            raise item.child("display_fields").error("must name at least one column")
    return EntityDisplay(
        node=item,
        color=color,
        icon=item.child("icon").as_str() if item.has("icon") else None,
        display_fields=display_fields,
        max_records=item.child("max_records").as_int(*MAX_RECORDS_RANGE) if item.has("max_records") else None,
        event_types=_event_types(item.child("event_types")) if item.has("event_types") else None,
        column_names=_column_names(item.child("column_names")) if item.has("column_names") else None,
    )
