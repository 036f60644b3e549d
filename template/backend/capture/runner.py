"""Installing or removing change capture: which scripts, in which order, after which checks."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from ..db.database import Database, StatementFailed, describe_error
from ..db.dialects import sql_dialect
from ..db.url import DatabaseTarget, Dialect
from ..model import Model
from ..settings import PROJECT_ROOT
from .schema import (
    LiveTables,
    case_matches,
    current_schema,
    existing_functions,
    existing_triggers,
    live_tables,
    model_mismatches,
    table_key,
)
from .sql_script import split_statements

MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
LOCK_NAME = "dashboard_migrate"

ENTITY_TABLES = "entity_tables.sql"
APPLY_FILES = ("001_db_events.sql", "002_triggers.sql")
DROP_FILE = "drop.sql"
NOTIFY_FILE = "003_notify.sql"
"""PostgreSQL only, with ``--notify``: the NOTIFY trigger on db_events that wakes the poller."""
NOTIFY_TRIGGER = "db_events_notify"
NOTIFY_REMOVAL = (
    f"DROP TRIGGER IF EXISTS {NOTIFY_TRIGGER} ON db_events",
    "DROP FUNCTION IF EXISTS db_events_notify()",
)
"""Runs instead of NOTIFY_FILE when ``--notify`` is not given (no-ops when it was never installed)."""
DROP_ENTITY_TABLES = "drop_entity_tables.sql"

EVENTS_DATABASE_PLACEHOLDER = "<dashboard_database>"
"""MySQL / MariaDB trigger files: stands for the dashboard's database in the triggers of
tables in other databases (dashboard-template's sql.EVENTS_DATABASE_PLACEHOLDER)."""

OLD_VALUES_COLUMN = "old_values"
_ADD_OLD_VALUES = {
    "postgresql": "ALTER TABLE db_events ADD COLUMN old_values JSON",
    "mysql": "ALTER TABLE db_events ADD COLUMN old_values JSON NULL",
    "sqlite": "ALTER TABLE db_events ADD COLUMN old_values TEXT CHECK (old_values IS NULL OR json_valid(old_values))",
}
"""Upgrades a db_events created before updates carried their old values (instant on all three:
a nullable column without a default, added at the end as 001_db_events.sql has it)."""


TIME_INDEX = "db_events_created_at_id_idx"
OLD_TIME_INDEX = "db_events_created_at_idx"
_EVENT_INDEXES = (
    "SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i "
    "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid "
    "JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = current_schema() AND t.relname = 'db_events'"
)
"""PostgreSQL: the indexes of db_events, and whether each is usable (a failed CONCURRENTLY build is not)."""


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


def url_database(target: DatabaseTarget) -> str:
    """The database DATABASE_URL names (MySQL / MariaDB fill the events placeholder with it)."""
    return unquote(urlsplit(target.driver_url).path.lstrip("/"))


def script_text(dialect: Dialect, name: str, events_database: str) -> str:
    """A migration file as it runs: the MySQL / MariaDB events placeholder filled."""
    path = MIGRATIONS_DIR / dialect / name
    try:
        script = path.read_text(encoding="utf-8")
    except OSError as error:
        raise MigrationError(f"cannot read {path.relative_to(PROJECT_ROOT)}: {error.strerror}") from None
    if sql_dialect(dialect).family == "mysql":
        script = script.replace(EVENTS_DATABASE_PLACEHOLDER, sql_dialect(dialect).quote(events_database))
    return script


def _file_statements(dialect: Dialect, name: str, events_database: str) -> list[Statement]:
    path = MIGRATIONS_DIR / dialect / name
    script = script_text(dialect, name, events_database)
    relative = path.relative_to(PROJECT_ROOT)
    return [
        Statement(f"{relative} statement {number}", sql)
        for number, sql in enumerate(split_statements(script, sql_dialect(dialect).family), start=1)
    ]


def planned_files(dialect: Dialect, *, drop: bool, entity_tables: bool, notify: bool = False) -> list[str]:
    if drop:
        return [DROP_FILE, *([DROP_ENTITY_TABLES] if entity_tables else [])]
    return [*([ENTITY_TABLES] if entity_tables else []), *APPLY_FILES, *([NOTIFY_FILE] if notify else [])]


def check_notify(dialect: Dialect, *, notify: bool, drop: bool) -> None:
    """``--notify`` exists on PostgreSQL only, and means nothing with ``--drop``."""
    if notify and sql_dialect(dialect).family != "postgresql":
        raise MigrationError(f"--notify is for PostgreSQL only (this DATABASE_URL is {dialect}); leave it out")
    if notify and drop:
        raise MigrationError("--notify installs the NOTIFY trigger, --drop removes everything: use one of them")


# -- our objects that the model no longer wants ---------------------------------


async def stale_object_drops(db: Database, model: Model, *, drop: bool, current: str = "") -> list[Statement]:
    """DROP statements for our triggers and functions that ``model`` does not define (all of them on ``drop``).

    Triggers are ours by name and by where they are: in the current schema, or
    in another one but writing to this dashboard's db_events (see
    ``SqlDialect.triggers_query``); each is wanted only on its entity's table.
    """
    wanted_triggers = (
        frozenset()
        if drop
        else frozenset(
            (*table_key(entity, current), name) for entity in model.entities for name in entity.triggers.values()
        )
    )
    wanted_functions = frozenset() if drop else model.function_names
    prefix = model.object_prefix
    drops: list[Statement] = []
    for trigger in await existing_triggers(db):
        if not trigger.name.startswith(prefix) or (trigger.schema, trigger.table, trigger.name) in wanted_triggers:
            continue
        table = f"{trigger.schema}.{trigger.table}" if trigger.schema else trigger.table
        sql = db.sql.drop_trigger(trigger.name, trigger.schema, trigger.table)
        drops.append(Statement(f"cleanup of trigger {trigger.name} on {table}", sql))
    for name in await existing_functions(db):
        if name.startswith(prefix) and name not in wanted_functions:
            sql = f"DROP FUNCTION IF EXISTS {db.quote(name)}() CASCADE"
            drops.append(Statement(f"cleanup of function {name}", sql))
    return drops


# -- running ---------------------------------------------------------------------


def _events_upgrade(dialect: Dialect, tables: LiveTables) -> list[Statement]:
    """Adds old_values to a db_events created before it existed (checked first: nothing when present)."""
    events = tables.get(("", "db_events"))
    if events is None or any(name.lower() == OLD_VALUES_COLUMN for name in events):
        return []
    return [Statement("upgrade of db_events (old values of updates)", _ADD_OLD_VALUES[sql_dialect(dialect).family])]


async def _time_index_upgrade(db: Database) -> tuple[list[str], list[str]]:
    """PostgreSQL: ``(before, after)`` the script, to give an existing db_events the (created_at, id) index.

    Built CONCURRENTLY, outside the script's transaction: a plain CREATE INDEX
    would hold the application's writes (through the triggers) for as long as it
    reads the table. MySQL / MariaDB and SQLite need nothing: their created_at
    index already ends with the primary key.
    """
    if db.sql.family != "postgresql":
        return [], []
    indexes = {str(row["name"]): bool(row["valid"]) for row in await db.fetch_all(_EVENT_INDEXES)}
    if OLD_TIME_INDEX not in indexes and indexes.get(TIME_INDEX) is not False:
        # Not an install of an earlier version (none yet, or a table that is not ours):
        # 001_db_events.sql creates what is missing, in the script's transaction.
        return [], []
    before: list[str] = []
    if indexes.get(TIME_INDEX) is False:  # a build that failed or was interrupted
        before.append(f"DROP INDEX CONCURRENTLY IF EXISTS {TIME_INDEX}")
    if not indexes.get(TIME_INDEX):
        before.append(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {TIME_INDEX} ON db_events (created_at, id)")
    after = [f"DROP INDEX CONCURRENTLY IF EXISTS {OLD_TIME_INDEX}"] if OLD_TIME_INDEX in indexes else []
    return before, after


async def _run_each(db: Database, statements: list[str]) -> None:
    for sql in statements:
        try:
            await db.execute(sql)
        except Exception as error:  # noqa: BLE001 - every driver has its own error types
            raise MigrationError(f"upgrade of db_events (time index): {describe_error(error)}") from None


BINARY_LOG_REFUSAL = "(MySQL error 1419)"
"""MySQL / MariaDB with binary logging on (mysql:8.4's default) refuse CREATE TRIGGER to an account
without SUPER unless the server trusts every account with log_bin_trust_function_creators."""


def _fix_for(message: str) -> str:
    """The way out of a refusal the server's own message leaves unclear, when we know one."""
    if message.endswith(BINARY_LOG_REFUSAL):
        return (
            "; fix: migrate as an account with the SUPER privilege, such as the server's admin (docker compose: "
            "MIGRATE_DATABASE_URL), or set log_bin_trust_function_creators = 1 on the server"
        )
    return ""


async def run(target: DatabaseTarget, model: Model, *, drop: bool, entity_tables: bool, notify: bool = False) -> str:
    check_notify(target.dialect, notify=notify, drop=drop)
    db = Database(target, pool_size=1)
    await db.connect()
    try:
        current = await current_schema(db)
        files = planned_files(target.dialect, drop=drop, entity_tables=entity_tables, notify=notify)
        statements = {name: _file_statements(target.dialect, name, current) for name in files}
        upgrade: list[Statement] = []
        index_after: list[str] = []
        notes: list[str] = []
        if not drop:
            # Before the first statement: MySQL and MariaDB cannot roll DDL back, and a
            # trigger that names a missing column fails every write to its table.
            schemas = tuple(sorted({entity.schema for entity in model.entities if entity.schema not in ("", current)}))
            tables = await live_tables(db, schemas)
            problems = model_mismatches(model, tables, db.sql, create_missing_tables=entity_tables, current=current)
            if problems:
                raise ModelMismatch(target.display, problems)
            notes = case_matches(model, tables, db.sql, current)
            upgrade = _events_upgrade(target.dialect, tables)
            index_before, index_after = await _time_index_upgrade(db)
            await _run_each(db, index_before)
        # The upgrade goes between db_events (a no-op then) and the triggers that write old_values.
        ordered = [
            statement
            for name in files
            for statement in (statements[name] + (upgrade if name == APPLY_FILES[0] else []))
        ]
        cleanup = await stale_object_drops(db, model, drop=drop, current=current)
        notify_removal: list[Statement] = []
        remove_notify = not drop and not notify and db.sql.family == "postgresql"
        if remove_notify and any(trigger.name == NOTIFY_TRIGGER for trigger in await existing_triggers(db)):
            source = "removal of the NOTIFY trigger (no --notify)"
            notify_removal = [Statement(source, sql) for sql in NOTIFY_REMOVAL]
        # On --drop our leftovers go first, before the tables they hang on.
        statements_run = cleanup + ordered if drop else ordered + cleanup + notify_removal
        try:
            await db.run_script([statement.sql for statement in statements_run], lock_name=LOCK_NAME)
        except StatementFailed as failure:
            where = statements_run[failure.index].source if failure.index >= 0 else "locking"
            raise MigrationError(f"{where}: {failure.message}{_fix_for(failure.message)}") from None
        await _run_each(db, index_after)
    finally:
        await db.disconnect()
    if drop:
        return f"removed change capture from {target.display} (db_events, {len(cleanup)} triggers and functions)"
    triggers = sum(len(entity.triggers) for entity in model.entities)
    left_over = ", ".join(statement.source.removeprefix("cleanup of ") for statement in cleanup)
    cleaned = f"; dropped {len(cleanup)} left over from removed entities or events: {left_over}" if cleanup else ""
    cleaned += "; removed the NOTIFY trigger (install it with --notify)" if notify_removal else ""
    return "\n".join(
        [f"installed change capture on {target.display} ({len(model.entities)} entities, {triggers} triggers{cleaned})",
         *notes]
    )  # fmt: skip
