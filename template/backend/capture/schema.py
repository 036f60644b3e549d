"""What the database holds now (tables, columns, our triggers) and how it differs from the model.

The runner installs triggers only on tables that match the model, because a
trigger that names a missing column fails every write to its table, and one
that reads a column of an unexpected type must still encode every value (see
the README's "What the runner checks" and docs/design.md in dashboard-template).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..db.database import Database
from ..db.dialects import SqlDialect, TypeFamily
from ..model import Column, ColumnType, Entity, Model

ACCEPTED_FAMILIES: dict[ColumnType, frozenset[TypeFamily]] = {
    "string": frozenset({"text", "uuid", "enum", "any"}),
    "integer": frozenset({"integer", "boolean", "decimal", "any"}),
    "float": frozenset({"float", "decimal", "integer", "any"}),
    "boolean": frozenset({"boolean", "integer", "any"}),
    "date": frozenset({"date", "text", "any"}),
    "datetime": frozenset({"datetime", "date", "text", "any"}),
    "json": frozenset({"json", "text", "any"}),
}
"""Live column families each model type accepts: the combinations the triggers encode without
failing a write and without losing the value (docs/design.md, "Capture never fails a write")."""

_YAML_TYPE_FOR: dict[TypeFamily, str] = {
    "text": "String",
    "uuid": "String",
    "enum": "String",
    "integer": "Integer",
    "decimal": "Float",
    "float": "Float",
    "boolean": "Boolean",
    "date": "Date",
    "datetime": "DateTime",
    "json": "Json",
}
"""The YAML type that matches a live column family (binary and other types have none)."""


@dataclass(frozen=True)
class LiveColumn:
    name: str
    declared_type: str
    family: TypeFamily


TableKey = tuple[str, str]
"""(schema, table); the schema is ``""`` for the connection's current schema (MySQL: database)."""

LiveTables = dict[TableKey, dict[str, LiveColumn]]
"""Columns by name, by table, as the database spells them."""

SPELLINGS: dict[str, str] = {
    "as_written": "spelled as the field",
    "lower_case": "folded to lower case",
    "snake_case": "in snake_case",
}
"""dashboard.yaml's ``column_names`` styles, and how a message describes each."""


@dataclass(frozen=True)
class LiveTrigger:
    name: str
    schema: str
    """``""`` for the current schema."""
    table: str


async def current_schema(db: Database) -> str:
    """The connection's schema (MySQL: database); ``""`` on SQLite."""
    if db.sql.current_schema_query is None:
        return ""
    return str(await db.fetch_val(db.sql.current_schema_query) or "")


def table_key(entity: Entity, current: str) -> TableKey:
    """Where ``entity``'s table is, as :func:`live_tables` keys it."""
    return ("" if entity.schema == current else entity.schema, entity.table)


async def existing_triggers(db: Database) -> list[LiveTrigger]:
    """Every trigger in the current schema, and ours in other schemas (see ``SqlDialect.triggers_query``)."""
    rows = await db.fetch_all(db.sql.triggers_query)
    return [LiveTrigger(str(row["name"]), str(row["table_schema"] or ""), str(row["table_name"])) for row in rows]


async def existing_functions(db: Database) -> list[str]:
    """Trigger functions in the current schema (PostgreSQL; none elsewhere)."""
    if db.sql.trigger_functions_query is None:
        return []
    return [str(row["name"]) for row in await db.fetch_all(db.sql.trigger_functions_query)]


async def live_tables(db: Database, schemas: tuple[str, ...] = ()) -> LiveTables:
    """Every column of every table in the current schema and in ``schemas``, with its type family."""
    tables: LiveTables = {}
    for row in await db.fetch_all(db.sql.columns_query(schemas)):
        declared = str(row["declared_type"] or "")
        column = LiveColumn(str(row["column_name"]), declared, db.sql.type_family(str(row["type_key"] or ""), declared))
        key = (str(row["table_schema"] or ""), str(row["table_name"]))
        tables.setdefault(key, {})[column.name] = column
    return tables


def model_mismatches(
    model: Model, tables: LiveTables, sql: SqlDialect, *, create_missing_tables: bool, current: str = ""
) -> list[str]:
    """One line per difference between the model and the live tables, each with its fix.

    Empty when triggers can be installed. Missing tables are no problem when the
    runner is about to create them (``--create-entity-tables``). ``current``:
    the connection's schema (MySQL: database), which an entity may also name.
    """
    problems: list[str] = []
    for entity in model.entities:
        if entity.schema and sql.family == "sqlite":
            problems.append(
                f"{entity.qualified_table}: SQLite has no schemas (entity {entity.name}; an attached database "
                "is not supported); fix: name the table without a schema in the entity YAML and run "
                "python scripts/update.py"
            )
            continue
        live = tables.get(table_key(entity, current))
        if live is None:
            if not create_missing_tables:
                problems.append(
                    f"{entity.qualified_table}: no such table (entity {entity.name}); fix: create it, or pass "
                    "--create-entity-tables to create it from the model (demos and tests)"
                )
            continue
        problems.extend(_model_name_clashes(entity, sql))
        for column in entity.columns:
            problem = _column_problem(entity, column, live, sql)
            if problem:
                problems.append(problem)
    return problems


def case_matches(model: Model, tables: LiveTables, sql: SqlDialect, current: str = "") -> list[str]:
    """One line per column found only by ignoring case, naming the column the triggers read.

    MySQL, MariaDB and SQLite compare column names without case, so such a column is captured
    as it is; the runner says so, since the table and the YAML disagree on its spelling.
    """
    if not sql.case_insensitive_columns:
        return []
    lines = []
    for entity in model.entities:
        live = tables.get(table_key(entity, current)) or {}
        for column in entity.columns:
            if column.sql in live:
                continue
            found = [name for name in live if name.lower() == column.sql.lower()]
            if len(found) == 1:
                lines.append(
                    f"{entity.name}.{column.name}: captured from column {found[0]} of {entity.qualified_table} "
                    f"({sql.name} column names ignore case)"
                )
    return lines


def _model_name_clashes(entity: Entity, sql: SqlDialect) -> list[str]:
    if not sql.case_insensitive_columns:
        return []
    seen: dict[str, str] = {}
    problems = []
    for column in entity.columns:
        other = seen.setdefault(column.sql.lower(), column.sql)
        if other != column.sql:
            problems.append(
                f"{entity.qualified_table}.{column.sql}: the model also has {other}, and {sql.name} column names "
                "ignore case; fix: rename one of the fields in the entity YAML and run python scripts/update.py"
            )
    return problems


def _other_spelling(column: Column, live: dict[str, LiveColumn], sql: SqlDialect) -> tuple[str, str] | None:
    """(live name, column_names style) when the table spells the field another way that a style gives."""
    for style, wanted in column.spellings:
        if wanted == column.sql:
            continue
        for name in live:
            if name == wanted or (sql.case_insensitive_columns and name.lower() == wanted.lower()):
                return name, style
    return None


def _column_problem(entity: Entity, column: Column, live: dict[str, LiveColumn], sql: SqlDialect) -> str | None:
    where = f"{entity.qualified_table}.{column.sql}"
    same_but_case = [name for name in live if name.lower() == column.sql.lower() and name != column.sql]
    found = live.get(column.sql)
    if found is None and sql.case_insensitive_columns and len(same_but_case) == 1:
        found = live[same_but_case[0]]
        same_but_case = []
    if found is None:
        other = _other_spelling(column, live, sql)
        if other is not None:
            name, style = other
            return (
                f'{entity.name}.{column.name}: {entity.qualified_table} has no column "{column.sql}" but has '
                f"{name} ({SPELLINGS[style]}): set column_names: {style} for this entity in dashboard.yaml, "
                "run python scripts/update.py, then migrate"
            )
        if same_but_case:
            spelled_as = ", ".join(same_but_case)
            return (
                f"{where}: no such column, but the table has {spelled_as} ({sql.name} names are case-sensitive); "
                f"fix: spell the field as the table does in the entity YAML and run python scripts/update.py"
            )
        add = (
            f"ALTER TABLE {sql.table(entity.schema, entity.table)} ADD COLUMN {sql.quote(column.sql)} "
            f"{sql.model_column_type(column.type, column.length)}"
        )
        return (
            f"{where}: no such column (model type {column.type}); fix: {add}; "
            "or remove the field from the entity YAML and run python scripts/update.py"
        )
    if same_but_case:
        spelled_as = ", ".join([found.name, *same_but_case])
        return (
            f"{where}: the table has columns {spelled_as} that differ only in case (model type {column.type}); "
            "fix: rename all but one of them, or remove the field from the entity YAML and run python scripts/update.py"
        )
    if found.family in ACCEPTED_FAMILIES[column.type]:
        return None
    yaml_type = _YAML_TYPE_FOR.get(found.family)
    change = (
        f"change the field's type to {yaml_type} in the entity YAML and run python scripts/update.py"
        if yaml_type
        else "remove the field from the entity YAML and run python scripts/update.py (no model type reads this column)"
    )
    wanted = sql.model_column_type(column.type, column.length)
    return (
        f"{where}: model type {column.type} cannot be captured from live type {found.declared_type}; "
        f"fix: {change}, or change the column to {wanted}"
    )
