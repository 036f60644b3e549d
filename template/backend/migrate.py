"""Install or remove change capture on the database named by ``DATABASE_URL``.

Run from the project root::

    DATABASE_URL=postgresql://app@127.0.0.1/app python -m backend.migrate
    DATABASE_URL=sqlite:///demo.db python -m backend.migrate --create-entity-tables
    DATABASE_URL=mysql://root@127.0.0.1/app python -m backend.migrate --drop

The dialect comes from the URL scheme and picks ``migrations/<dialect>/``.
Applying is idempotent: tables and indexes are created if missing and triggers
replaced. Triggers and functions of ours (named ``dashboard_*``) that the
current entity model no longer wants (a removed entity, an event type no
longer tracked) are dropped, so the database always matches the model.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .database import Database, DatabaseUnavailable, StatementFailed
from .database_url import DatabaseTarget, DatabaseUrlError, Dialect, parse_database_url
from .model import OBJECT_PREFIX, Model, load_model
from .sql_script import split_statements

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
LOCK_NAME = "dashboard_migrate"

ENTITY_TABLES = "entity_tables.sql"
APPLY_FILES = ("001_db_events.sql", "002_triggers.sql")
DROP_FILE = "drop.sql"
DROP_ENTITY_TABLES = "drop_entity_tables.sql"


class MigrationError(RuntimeError):
    """Reported as one line, without a traceback."""


@dataclass(frozen=True)
class Statement:
    source: str  # "migrations/postgresql/002_triggers.sql #3", or "cleanup"
    sql: str


def _file_statements(dialect: Dialect, name: str) -> list[Statement]:
    path = MIGRATIONS_DIR / dialect / name
    try:
        script = path.read_text(encoding="utf-8")
    except OSError as error:
        raise MigrationError(f"cannot read {path.relative_to(PROJECT_ROOT)}: {error.strerror}") from None
    relative = path.relative_to(PROJECT_ROOT)
    return [
        Statement(f"{relative} statement {number}", sql)
        for number, sql in enumerate(split_statements(script, dialect), start=1)
    ]


def planned_files(dialect: Dialect, *, drop: bool, entity_tables: bool) -> list[str]:
    if drop:
        return [DROP_FILE, *([DROP_ENTITY_TABLES] if entity_tables else [])]
    return [*([ENTITY_TABLES] if entity_tables else []), *APPLY_FILES]


# -- our objects that the model no longer wants ---------------------------------


async def _existing_triggers(db: Database) -> list[tuple[str, str]]:
    """(trigger, table) for every trigger in the current schema."""
    if db.dialect == "postgresql":
        query = (
            "SELECT t.tgname AS name, c.relname AS table_name FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE NOT t.tgisinternal AND n.nspname = current_schema()"
        )
    elif db.dialect == "sqlite":
        query = "SELECT name, tbl_name AS table_name FROM sqlite_master WHERE type = 'trigger'"
    else:
        query = (
            "SELECT TRIGGER_NAME AS name, EVENT_OBJECT_TABLE AS table_name "
            "FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()"
        )
    return [(str(row["name"]), str(row["table_name"])) for row in await db.fetch_all(query)]


async def _existing_functions(db: Database) -> list[str]:
    if db.dialect != "postgresql":
        return []
    query = (
        "SELECT p.proname AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = current_schema() AND p.prorettype = 'trigger'::regtype"
    )
    return [str(row["name"]) for row in await db.fetch_all(query)]


async def existing_columns(db: Database) -> dict[str, set[str]]:
    """Columns of every table in the current schema, by table."""
    if db.dialect == "sqlite":
        query = (
            "SELECT m.name AS table_name, p.name AS column_name "
            "FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table'"
        )
    elif db.dialect == "postgresql":
        query = "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()"
    else:
        query = (
            "SELECT TABLE_NAME AS table_name, COLUMN_NAME AS column_name "
            "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()"
        )
    columns: dict[str, set[str]] = {}
    for row in await db.fetch_all(query):
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


async def stale_object_drops(db: Database, model: Model | None) -> list[Statement]:
    """DROP statements for our triggers and functions that ``model`` does not define.

    ``model=None`` means "want none of them" (``--drop``).
    """
    wanted_triggers = model.trigger_names if model else frozenset()
    wanted_functions = model.function_names if model else frozenset()
    dialect = db.dialect
    drops: list[Statement] = []
    for name, table in await _existing_triggers(db):
        if not name.startswith(OBJECT_PREFIX) or name in wanted_triggers:
            continue
        if dialect == "postgresql":
            sql = f"DROP TRIGGER IF EXISTS {db.quote(name)} ON {db.quote(table)}"
        else:
            sql = f"DROP TRIGGER IF EXISTS {db.quote(name)}"
        drops.append(Statement(f"cleanup of trigger {name} on {table}", sql))
    for name in await _existing_functions(db):
        if name.startswith(OBJECT_PREFIX) and name not in wanted_functions:
            sql = f"DROP FUNCTION IF EXISTS {db.quote(name)}() CASCADE"
            drops.append(Statement(f"cleanup of function {name}", sql))
    return drops


# -- running ---------------------------------------------------------------------


async def _run(target: DatabaseTarget, model: Model, *, drop: bool, entity_tables: bool) -> str:
    db = Database(target, pool_size=1)
    await db.connect()
    try:
        statements = [
            statement
            for name in planned_files(target.dialect, drop=drop, entity_tables=entity_tables)
            for statement in _file_statements(target.dialect, name)
        ]
        if not drop and not entity_tables:
            problems = model_mismatches(model, await existing_columns(db))
            if problems:
                raise MigrationError(
                    f"the tables in {target.display} do not match the entity model: {'; '.join(problems)} "
                    "(create the tables first, or pass --create-entity-tables for demo tables; "
                    "after changing the entity YAML, run `copier update`)"
                )
        cleanup = await stale_object_drops(db, None if drop else model)
        # On --drop our leftovers go first, before the tables they hang on.
        statements = cleanup + statements if drop else statements + cleanup
        try:
            await db.run_script([statement.sql for statement in statements], lock_name=LOCK_NAME)
        except StatementFailed as failure:
            where = statements[failure.index].source if failure.index >= 0 else "locking"
            raise MigrationError(f"{where}: {failure.message}") from None
    finally:
        await db.disconnect()
    if drop:
        return f"removed change capture from {target.display} (db_events, {len(cleanup)} triggers and functions)"
    triggers = sum(len(entity.triggers) for entity in model.entities)
    cleaned = f"; dropped {len(cleanup)} left over from removed entities or events" if cleanup else ""
    return (
        f"installed change capture on {target.display} ({len(model.entities)} entities, {triggers} triggers{cleaned})"
    )


def _parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m backend.migrate",
        description="Install (default) or remove the db_events change log and its triggers.",
    )
    parser.add_argument("--database-url", help="overrides the DATABASE_URL environment variable")
    parser.add_argument("--drop", action="store_true", help="remove db_events, our triggers and functions")
    parser.add_argument(
        "--create-entity-tables",
        action="store_true",
        help="also create the entity tables from the model (demos, tests); with --drop, drop them",
    )
    parser.add_argument("--print", action="store_true", help="print the SQL instead of running it")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    try:
        target = parse_database_url(args.database_url or os.environ.get("DATABASE_URL"))
        if args.print:
            for name in planned_files(target.dialect, drop=args.drop, entity_tables=args.create_entity_tables):
                print((MIGRATIONS_DIR / target.dialect / name).read_text(encoding="utf-8"))
            return 0
        message = asyncio.run(_run(target, load_model(), drop=args.drop, entity_tables=args.create_entity_tables))
    except (DatabaseUrlError, DatabaseUnavailable, MigrationError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    print(message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
