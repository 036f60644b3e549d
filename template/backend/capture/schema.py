"""What the database holds now (tables, columns, our triggers) and how it differs from the model."""

from __future__ import annotations

from ..db.database import Database
from ..model import Model


async def existing_triggers(db: Database) -> list[tuple[str, str]]:
    """(trigger, table) for every trigger in the current schema."""
    return [(str(row["name"]), str(row["table_name"])) for row in await db.fetch_all(db.sql.triggers_query)]


async def existing_functions(db: Database) -> list[str]:
    """Trigger functions in the current schema (PostgreSQL; none elsewhere)."""
    if db.sql.trigger_functions_query is None:
        return []
    return [str(row["name"]) for row in await db.fetch_all(db.sql.trigger_functions_query)]


async def existing_columns(db: Database) -> dict[str, set[str]]:
    """Columns of every table in the current schema, by table."""
    columns: dict[str, set[str]] = {}
    for row in await db.fetch_all(db.sql.columns_query):
        columns.setdefault(str(row["table_name"]), set()).add(str(row["column_name"]))
    return columns


def model_mismatches(model: Model, columns: dict[str, set[str]]) -> list[str]:
    """What the tables lack compared with the model.

    PostgreSQL accepts a trigger function that names a missing column and then
    fails every insert into the table, so this is checked before installing.
    """
    problems: list[str] = []
    for entity in model.entities:
        present = columns.get(entity.table)
        if present is None:
            problems.append(f"no table {entity.table}")
            continue
        missing = [column.name for column in entity.columns if column.name not in present]
        if missing:
            problems.append(f"{entity.table} has no column {', '.join(missing)}")
    return problems
