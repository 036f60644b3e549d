"""Installing or removing change capture: which scripts, in which order, after which checks."""

from __future__ import annotations

from dataclasses import dataclass

from ..db.database import Database, StatementFailed
from ..db.dialects import sql_dialect
from ..db.url import DatabaseTarget, Dialect
from ..model import Model
from ..settings import PROJECT_ROOT
from .schema import existing_functions, existing_triggers, live_tables, model_mismatches
from .sql_script import split_statements

MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
LOCK_NAME = "dashboard_migrate"

ENTITY_TABLES = "entity_tables.sql"
APPLY_FILES = ("001_db_events.sql", "002_triggers.sql")
DROP_FILE = "drop.sql"
DROP_ENTITY_TABLES = "drop_entity_tables.sql"


class MigrationError(RuntimeError):
    """Reported as one line per line of its message, without a traceback."""


class ModelMismatch(MigrationError):
    """The live tables differ from the model: nothing was changed."""

    def __init__(self, display: str, problems: list[str]):
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        summary = (
            f"the tables in {display} do not match the entity model ({count} above); change capture was left as it was"
        )
        super().__init__("\n".join([*problems, summary]))
        self.problems = problems


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
        for number, sql in enumerate(split_statements(script, sql_dialect(dialect).family), start=1)
    ]


def planned_files(dialect: Dialect, *, drop: bool, entity_tables: bool) -> list[str]:
    if drop:
        return [DROP_FILE, *([DROP_ENTITY_TABLES] if entity_tables else [])]
    return [*([ENTITY_TABLES] if entity_tables else []), *APPLY_FILES]


# -- our objects that the model no longer wants ---------------------------------


async def stale_object_drops(db: Database, model: Model, *, drop: bool) -> list[Statement]:
    """DROP statements for our triggers and functions that ``model`` does not define (all of them on ``drop``)."""
    wanted_triggers = frozenset() if drop else model.trigger_names
    wanted_functions = frozenset() if drop else model.function_names
    prefix = model.object_prefix
    drops: list[Statement] = []
    for name, table in await existing_triggers(db):
        if not name.startswith(prefix) or name in wanted_triggers:
            continue
        drops.append(Statement(f"cleanup of trigger {name} on {table}", db.sql.drop_trigger(name, table)))
    for name in await existing_functions(db):
        if name.startswith(prefix) and name not in wanted_functions:
            sql = f"DROP FUNCTION IF EXISTS {db.quote(name)}() CASCADE"
            drops.append(Statement(f"cleanup of function {name}", sql))
    return drops


# -- running ---------------------------------------------------------------------


async def run(target: DatabaseTarget, model: Model, *, drop: bool, entity_tables: bool) -> str:
    db = Database(target, pool_size=1)
    await db.connect()
    try:
        statements = [
            statement
            for name in planned_files(target.dialect, drop=drop, entity_tables=entity_tables)
            for statement in _file_statements(target.dialect, name)
        ]
        if not drop:
            # Before the first statement: MySQL and MariaDB cannot roll DDL back, and a
            # trigger that names a missing column fails every write to its table.
            tables = await live_tables(db)
            problems = model_mismatches(model, tables, db.sql, create_missing_tables=entity_tables)
            if problems:
                raise ModelMismatch(target.display, problems)
        cleanup = await stale_object_drops(db, model, drop=drop)
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
