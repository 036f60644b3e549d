"""What differs between the databases at run time, in one place.

One :class:`SqlDialect` per dialect: identifier quoting, the driver options, the
catalog queries (columns, triggers, row estimates) and the few statements whose
syntax differs. The rest of the backend asks the dialect object instead of
testing the dialect's name. MySQL and MariaDB share one *family*: everything
here is the same for both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from .url import Dialect

Family = Literal["postgresql", "mysql", "sqlite"]

TypeFamily = Literal[
    "text", "integer", "decimal", "float", "boolean", "date", "datetime", "json", "uuid", "enum", "binary",
    "any", "other",
]  # fmt: skip
"""What a live column holds, whatever the dialect calls its type (``any``: SQLite, no declared type)."""

CONNECT_TIMEOUT_SECONDS = 10.0


def _quote_double(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_backtick(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


@dataclass(frozen=True)
class SqlDialect:
    name: Dialect
    family: Family
    quote: Callable[[str], str]
    """A table or column name quoted for this dialect (quotes inside are doubled)."""
    driver_options: Callable[[int], dict[str, Any]]
    """Keyword arguments for the driver's pool of ``pool_size`` connections."""
    returning: bool
    """INSERT/DELETE ... RETURNING is available."""
    event_columns: str
    """The SELECT list of ``db_events``: JSON columns as text, passed on without parsing."""
    columns_query: Callable[[tuple[str, ...]], str]
    """For the schemas (MySQL databases) given, besides the current one: (table_schema,
    table_name, column_name, declared_type, type_key) of every column of every table;
    ``table_schema`` is ``''`` for the current schema, ``type_key`` is what
    :attr:`type_family` reads. The names are safe identifiers (the model checked them)."""
    type_family: Callable[[str, str], TypeFamily]
    """The family of a live column from its (type_key, declared_type)."""
    case_insensitive_columns: bool
    """Column names match whatever their case (MySQL, SQLite); PostgreSQL's quoted names do not."""
    model_column_type: Callable[[str, int | None], str]
    """The SQL type of a model column (model type, length), as entity_tables.sql creates it."""
    triggers_query: str
    """(name, table_schema, table_name) of every trigger in the current schema, and of the
    triggers of ours in other schemas: PostgreSQL triggers that call a function of the
    current schema, MySQL triggers that write to the current database's db_events
    (``table_schema`` is ``''`` for the current schema)."""
    trigger_functions_query: str | None
    """(name) of every trigger function in the current schema, where triggers call functions."""
    row_estimates_query: str | None
    """(schema_name, name, estimate) of every table, from the catalog (no scan);
    ``schema_name`` is ``''`` for the current schema."""
    current_schema_query: str | None
    """The name of the current schema (MySQL: database); None where there are no schemas."""
    drop_trigger: Callable[[str, str, str], str] = field(repr=False)
    """DROP TRIGGER for (trigger, table schema or ``''``, table)."""
    consistent_read: tuple[str, ...] = ()
    """Statements that open a read-only transaction whose queries all see one snapshot
    (ended with ROLLBACK); see :meth:`Database.consistent_read`."""
    as_text: str = "{}"
    """A JSON expression read as text (``{}`` is the expression): passed on without parsing."""

    def table(self, schema: str, table: str) -> str:
        """``table`` quoted, qualified by ``schema`` when there is one."""
        return f"{self.quote(schema)}.{self.quote(table)}" if schema else self.quote(table)


_POSTGRESQL_TYPES: dict[str, TypeFamily] = {
    "text": "text",
    "character varying": "text",
    "character": "text",
    '"char"': "text",
    "name": "text",
    "citext": "text",
    "smallint": "integer",
    "integer": "integer",
    "bigint": "integer",
    "numeric": "decimal",
    "real": "float",
    "double precision": "float",
    "boolean": "boolean",
    "date": "date",
    "timestamp without time zone": "datetime",
    "timestamp with time zone": "datetime",
    "json": "json",
    "jsonb": "json",
    "uuid": "uuid",
    "bytea": "binary",
    "enum": "enum",
}

_MYSQL_TYPES: dict[str, TypeFamily] = {
    "char": "text",
    "varchar": "text",
    "tinytext": "text",
    "text": "text",
    "mediumtext": "text",
    "longtext": "text",  # also MariaDB's JSON
    "smallint": "integer",
    "mediumint": "integer",
    "int": "integer",
    "integer": "integer",
    "bigint": "integer",
    "decimal": "decimal",
    "float": "float",
    "double": "float",
    "date": "date",
    "datetime": "datetime",
    "timestamp": "datetime",
    "json": "json",
    "enum": "enum",
    "set": "enum",
    "binary": "binary",
    "varbinary": "binary",
    "tinyblob": "binary",
    "blob": "binary",
    "mediumblob": "binary",
    "longblob": "binary",
}


def _literals(names: tuple[str, ...]) -> str:
    """``, 'a', 'b'`` for an IN list after a first item; the model allows only safe identifiers."""
    return "".join(", '" + name.replace("'", "''") + "'" for name in names)


def _postgresql_family(type_key: str, declared_type: str) -> TypeFamily:
    return _POSTGRESQL_TYPES.get(type_key.lower(), "other")


def _mysql_family_of(type_key: str, declared_type: str) -> TypeFamily:
    key = type_key.lower()
    if key in ("tinyint", "bit"):
        # BOOLEAN is TINYINT(1) in MySQL and MariaDB.
        one = declared_type.lower().startswith(("tinyint(1)", "bit(1)"))
        return "boolean" if one else ("integer" if key == "tinyint" else "other")
    return _MYSQL_TYPES.get(key, "other")


def _sqlite_family(type_key: str, declared_type: str) -> TypeFamily:
    """SQLite's affinity rules (https://sqlite.org/datatype3.html 3.1), after the names the model uses."""
    key = type_key.upper()
    named: dict[str, TypeFamily] = {"BOOLEAN": "boolean", "BOOL": "boolean", "DATE": "date", "DATETIME": "datetime",
                                    "TIMESTAMP": "datetime", "JSON": "json", "JSONB": "json"}  # fmt: skip
    if key in named:
        return named[key]
    if "INT" in key:
        return "integer"
    if any(part in key for part in ("CHAR", "CLOB", "TEXT")):
        return "text"
    if key == "" or "BLOB" in key:
        return "any"  # no conversion: the column keeps whatever it is given
    if any(part in key for part in ("REAL", "FLOA", "DOUB")):
        return "float"
    return "decimal"


def _postgresql_column_type(model_type: str, length: int | None) -> str:
    if model_type == "string":
        return f"VARCHAR({length})" if length else "TEXT"
    return {"integer": "BIGINT", "float": "DOUBLE PRECISION", "boolean": "BOOLEAN", "date": "DATE",
            "datetime": "TIMESTAMP", "json": "JSONB"}[model_type]  # fmt: skip


def _mysql_column_type(model_type: str, length: int | None) -> str:
    if model_type == "string":
        return f"VARCHAR({length})" if length else "TEXT"
    return {"integer": "BIGINT", "float": "DOUBLE", "boolean": "BOOLEAN", "date": "DATE",
            "datetime": "DATETIME(6)", "json": "JSON"}[model_type]  # fmt: skip


def _sqlite_column_type(model_type: str, length: int | None) -> str:
    return {"string": "TEXT", "integer": "INTEGER", "float": "REAL", "boolean": "BOOLEAN", "date": "TEXT",
            "datetime": "TEXT", "json": "TEXT"}[model_type]  # fmt: skip


def _postgresql_options(pool_size: int) -> dict[str, Any]:
    return {"min_size": 1, "max_size": pool_size, "timeout": CONNECT_TIMEOUT_SECONDS}


def _mysql_options(pool_size: int) -> dict[str, Any]:
    return {
        "minsize": 1,
        "maxsize": pool_size,
        "charset": "utf8mb4",
        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
        # TIMESTAMP columns come back in UTC whatever the server's zone.
        "init_command": "SET time_zone = '+00:00'",
    }


def _sqlite_options(pool_size: int) -> dict[str, Any]:
    return {}


POSTGRESQL = SqlDialect(
    name="postgresql",
    family="postgresql",
    quote=_quote_double,
    driver_options=_postgresql_options,
    returning=True,
    # Reading JSON as text is 3x faster than letting asyncpg parse it.
    event_columns="id, entity, event_type, CAST(payload AS text) AS payload, "
    "CAST(changed_columns AS text) AS changed_columns, CAST(old_values AS text) AS old_values, created_at",
    # Domains are read as their base type; every enum type is "enum".
    columns_query=lambda schemas: (
        "SELECT CASE WHEN n.nspname = current_schema() THEN '' ELSE n.nspname END "
        "AS table_schema, c.relname AS table_name, a.attname AS column_name, "
        "format_type(a.atttypid, a.atttypmod) AS declared_type, "
        "CASE WHEN b.typtype = 'e' THEN 'enum' ELSE format_type(b.oid, NULL) END AS type_key "
        "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid "
        "JOIN pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END "
        f"WHERE n.nspname IN (current_schema(){_literals(schemas)}) "
        "AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped"
    ),
    type_family=_postgresql_family,
    case_insensitive_columns=False,
    model_column_type=_postgresql_column_type,
    triggers_query="SELECT t.tgname AS name, CASE WHEN n.nspname = current_schema() THEN '' ELSE n.nspname END "
    "AS table_schema, c.relname AS table_name FROM pg_trigger t "
    "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
    "JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_namespace pn ON pn.oid = p.pronamespace "
    "WHERE NOT t.tgisinternal AND (n.nspname = current_schema() OR pn.nspname = current_schema())",
    trigger_functions_query="SELECT p.proname AS name FROM pg_proc p "
    "JOIN pg_namespace n ON n.oid = p.pronamespace "
    "WHERE n.nspname = current_schema() AND p.prorettype = 'trigger'::regtype",
    row_estimates_query="SELECT CASE WHEN n.nspname = current_schema() THEN '' ELSE n.nspname END AS schema_name, "
    "c.relname AS name, CAST(c.reltuples AS bigint) AS estimate FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' "
    "AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
    current_schema_query="SELECT current_schema()",
    drop_trigger=lambda name, schema, table: (
        f"DROP TRIGGER IF EXISTS {_quote_double(name)} ON "
        + (f"{_quote_double(schema)}.{_quote_double(table)}" if schema else _quote_double(table))
    ),
    # REPEATABLE READ: one snapshot, taken at the first query, for the whole transaction.
    consistent_read=("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",),
    as_text="CAST({} AS text)",
)


def _mysql_family(name: Dialect) -> SqlDialect:
    return SqlDialect(
        name=name,
        family="mysql",
        quote=_quote_backtick,
        driver_options=_mysql_options,
        returning=False,
        event_columns="id, entity, event_type, payload, changed_columns, old_values, created_at",
        columns_query=lambda schemas: (
            "SELECT IF(c.TABLE_SCHEMA = DATABASE(), '', c.TABLE_SCHEMA) AS table_schema, "
            "c.TABLE_NAME AS table_name, c.COLUMN_NAME AS column_name, "
            "c.COLUMN_TYPE AS declared_type, c.DATA_TYPE AS type_key FROM information_schema.COLUMNS c "
            "JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME "
            f"WHERE c.TABLE_SCHEMA IN (DATABASE(){_literals(schemas)}) AND t.TABLE_TYPE = 'BASE TABLE'"
        ),
        type_family=_mysql_family_of,
        case_insensitive_columns=True,
        model_column_type=_mysql_column_type,
        # Ours in another database are those whose body writes to this database's db_events
        # (002_triggers.sql qualifies it exactly so).
        triggers_query="SELECT TRIGGER_NAME AS name, IF(EVENT_OBJECT_SCHEMA = DATABASE(), '', EVENT_OBJECT_SCHEMA) "
        "AS table_schema, EVENT_OBJECT_TABLE AS table_name FROM information_schema.TRIGGERS "
        "WHERE TRIGGER_SCHEMA = DATABASE() "
        "OR LOCATE(CONCAT('`', REPLACE(DATABASE(), '`', '``'), '`.`db_events`'), ACTION_STATEMENT) > 0",
        trigger_functions_query=None,
        row_estimates_query="SELECT IF(TABLE_SCHEMA = DATABASE(), '', TABLE_SCHEMA) AS schema_name, "
        "TABLE_NAME AS name, TABLE_ROWS AS estimate FROM information_schema.TABLES "
        "WHERE TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')",
        current_schema_query="SELECT DATABASE()",
        drop_trigger=lambda trigger, schema, table: (
            "DROP TRIGGER IF EXISTS "
            + (f"{_quote_backtick(schema)}.{_quote_backtick(trigger)}" if schema else _quote_backtick(trigger))
        ),
        # The snapshot is taken at START (not at the first read), in REPEATABLE READ whatever
        # the server's default isolation level.
        consistent_read=(
            "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
            "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
        ),
    )


SQLITE = SqlDialect(
    name="sqlite",
    family="sqlite",
    quote=_quote_double,
    driver_options=_sqlite_options,
    returning=True,
    event_columns="id, entity, event_type, payload, changed_columns, old_values, created_at",
    # No schemas: the runner refuses a schema-qualified table before it asks.
    columns_query=lambda schemas: (
        "SELECT '' AS table_schema, m.name AS table_name, p.name AS column_name, "
        "p.type AS declared_type, p.type AS type_key FROM sqlite_master m JOIN pragma_table_info(m.name) p "
        "WHERE m.type = 'table'"
    ),
    type_family=_sqlite_family,
    case_insensitive_columns=True,
    model_column_type=_sqlite_column_type,
    triggers_query="SELECT name, '' AS table_schema, tbl_name AS table_name FROM sqlite_master WHERE type = 'trigger'",
    trigger_functions_query=None,
    row_estimates_query=None,
    current_schema_query=None,
    drop_trigger=lambda name, schema, table: f"DROP TRIGGER IF EXISTS {_quote_double(name)}",
    # A deferred transaction reads one snapshot of the file from its first SELECT on
    # (write-ahead logging: writers go on meanwhile).
    consistent_read=("BEGIN",),
)

DIALECTS: dict[Dialect, SqlDialect] = {
    "postgresql": POSTGRESQL,
    "mysql": _mysql_family("mysql"),
    "mariadb": _mysql_family("mariadb"),
    "sqlite": SQLITE,
}


def sql_dialect(name: Dialect) -> SqlDialect:
    return DIALECTS[name]
