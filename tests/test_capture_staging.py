"""Schema-qualified tables, camelCase fields, reserved-word columns and a key the application chooses.

tests/fixtures/staging_legacy: `StagingOrder` on `staging.orders` (a PostgreSQL
schema, a MariaDB database; renamed per test run, since a MariaDB database is
server-wide) with camelCase fields, columns named `order`, `group` and `select`
and a String key with `autogenerate: false`; `PlainOrder` on a bare `orders`.
Writers run in another search_path / current database than the dashboard's, and
every event is asserted exactly, old values and key changes included.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pymysql
import pytest

from tests.support.databases import TestDatabase, temporary_database
from tests.support.events import events_with_old
from tests.support.paths import FIXTURES
from tests.support.projects import generate, run_in_project

STAGING = FIXTURES / "staging_legacy"
SCHEMA = f"stg_{uuid.uuid4().hex[:10]}"
"""This run's name for `staging`: a MariaDB database is shared by everything on the server."""


def fixture_copy(destination: Path, table_prefix: str, dashboard: str = "") -> Path:
    """The staging fixture with `staging.` replaced by ``table_prefix``, and a dashboard.yaml."""
    destination.mkdir(parents=True)
    for path in STAGING.iterdir():
        (destination / path.name).write_text(path.read_text().replace("staging.", table_prefix))
    if dashboard:
        (destination / "dashboard.yaml").write_text(dashboard)
    return destination


@pytest.fixture(scope="module")
def staging_project(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("staging")
    return generate(template_repo, base / "staging-dashboard", fixture_copy(base / "entities", f"{SCHEMA}."))


@pytest.fixture(params=("postgresql", "mariadb"))
def server_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestDatabase]:
    """A fresh database; on MariaDB this run's staging database is dropped afterwards."""
    with temporary_database(request.param, tmp_path) as database:
        try:
            yield database
        finally:
            if database.dialect == "mariadb":
                database.execute(f"DROP DATABASE IF EXISTS `{SCHEMA}`")


def migrate(project: Path, database: TestDatabase, *args: str) -> tuple[int, str, str]:
    result = run_in_project(project, "-m", "backend.migrate", *args, env={"DATABASE_URL": database.url})
    return result.returncode, result.stdout, result.stderr


class Writer:
    """The application, on a connection whose search_path (PostgreSQL) or current database
    (MariaDB) is the staging schema, not the dashboard's: names are resolved there."""

    def __init__(self, database: TestDatabase):
        self.database = database

    def run(self, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        server = self.database.server
        if self.database.dialect == "postgresql":
            with psycopg.connect(
                host=server.host, port=server.port, user=server.user, dbname=self.database.name, autocommit=True
            ) as conn:
                conn.execute(f'SET search_path = "{SCHEMA}"')
                for sql, params in statements:
                    conn.execute(sql.replace("`", '"'), params)
            return
        conn = pymysql.connect(host=server.host, port=server.port, user=server.user, password="",
                               database=SCHEMA, autocommit=True, charset="utf8mb4")  # fmt: skip
        try:
            for sql, params in statements:
                conn.cursor().execute(sql, params)
        finally:
            conn.close()


ROW = {
    "orderCode": "A-1",
    "customerName": "Zoë 'quoted'",
    "totalAmount": 12.5,
    "order": 3,
    "group": "north",
    "select": True,
    "placedAt": "2024-02-29 13:45:10",
    "details": {"lines": [1, 2], "note": None},
}


def payload(**changes: Any) -> dict[str, Any]:
    row = {**ROW, **changes}
    return {**row, "placedAt": row["placedAt"].replace(" ", "T")}


def test_a_table_in_another_schema_is_captured_exactly(staging_project: Path, server_db: TestDatabase) -> None:
    database = server_db
    code, out, err = migrate(staging_project, database, "--create-entity-tables")
    assert code == 0 and err == "", err
    assert "2 entities, 6 triggers" in out
    columns = ", ".join(f"`{name}`" for name in ROW)
    marks = ", ".join(["%s"] * len(ROW))
    values = tuple(json.dumps(v) if isinstance(v, dict) else v for v in ROW.values())
    Writer(database).run(
        [
            (f"INSERT INTO orders ({columns}) VALUES ({marks})", values),  # the staging table, unqualified
            ("UPDATE orders SET `orderCode` = %s WHERE `orderCode` = %s", ("A-2", "A-1")),  # the key alone
            ("UPDATE orders SET `orderCode` = %s WHERE `orderCode` = %s", ("A-2", "A-2")),  # no change
            (
                "UPDATE orders SET `orderCode` = %s, `order` = %s, `select` = %s, `details` = %s "
                "WHERE `orderCode` = %s",
                ("A-3", None, False, '{"lines": []}', "A-2"),
            ),
            ("DELETE FROM orders WHERE `orderCode` = %s", ("A-3",)),
        ]
    )
    database.insert("orders", {"note": "plain"})  # the dashboard's own bare `orders`
    database.execute(f"UPDATE {database.quote('orders')} SET {database.quote('id')} = 40")

    final = payload(orderCode="A-3", order=None, select=False, details={"lines": []})
    expected = [
        ("StagingOrder", "insert", payload(), None, None),
        ("StagingOrder", "update", payload(orderCode="A-2"), ["orderCode"], {"orderCode": "A-1"}),
        (
            "StagingOrder",
            "update",
            final,
            ["orderCode", "order", "select", "details"],
            {"orderCode": "A-2", "order": 3, "select": True, "details": {"lines": [1, 2], "note": None}},
        ),
        ("StagingOrder", "delete", final, None, None),
        ("PlainOrder", "insert", {"id": 1, "note": "plain"}, None, None),
        ("PlainOrder", "update", {"id": 40, "note": "plain"}, ["id"], {"id": 1}),
    ]
    events = events_with_old(database)
    found = [(e["entity"], e["event_type"], e["payload"], e["changed_columns"], e["old_values"]) for e in events]
    assert found == expected

    # Our triggers are where the tables are, named apart; --drop finds them all.
    model = json.loads((staging_project / "backend" / "generated" / "entities.json").read_text())
    names = {entity["name"]: set(entity["triggers"].values()) for entity in model["entities"]}
    assert names["PlainOrder"] == {"dashboard_orders_insert", "dashboard_orders_update", "dashboard_orders_delete"}
    assert not names["PlainOrder"] & names["StagingOrder"]
    assert _our_triggers(database) == names["PlainOrder"] | names["StagingOrder"]
    code, out, err = migrate(staging_project, database, "--drop", "--create-entity-tables")
    assert code == 0, err
    assert _our_triggers(database) == set()
    # The staging schema stays (it might hold other tables by now); its table is gone.
    assert _schema_tables(database) == set()


def _our_triggers(database: TestDatabase) -> set[str]:
    """Every dashboard_ trigger on the server's tables of this database and of this run's staging schema."""
    if database.dialect == "postgresql":
        sql = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND left(tgname, 10) = 'dashboard_'"
        return {str(row[0]) for row in database.query(sql)}
    sql = (
        "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA IN (DATABASE(), %s) "
        "AND LEFT(TRIGGER_NAME, 10) = 'dashboard_'"
    )
    return {str(row[0]) for row in database.query(sql, (SCHEMA,))}


def _schema_tables(database: TestDatabase) -> set[str]:
    if database.dialect == "postgresql":
        assert database.query("SELECT 1 FROM pg_namespace WHERE nspname = %s", (SCHEMA,)) == [(1,)]
        return {
            str(row[0]) for row in database.query("SELECT tablename FROM pg_tables WHERE schemaname = %s", (SCHEMA,))
        }
    assert database.query("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (SCHEMA,)) == [(1,)]
    rows = database.query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (SCHEMA,))
    return {str(row[0]) for row in rows}


def test_a_removed_entity_in_another_schema_leaves_no_trigger(
    staging_project: Path, template_repo: Path, server_db: TestDatabase, tmp_path: Path
) -> None:
    """The cleanup finds our triggers on tables in other schemas, not only in the dashboard's."""
    database = server_db
    code, _, err = migrate(staging_project, database, "--create-entity-tables")
    assert code == 0, err
    entities = fixture_copy(tmp_path / "entities", f"{SCHEMA}.")
    (entities / "staging_order.yaml").unlink()
    plain_only = generate(template_repo, tmp_path / "plain-only", entities)
    code, out, err = migrate(plain_only, database)
    assert code == 0, err
    dropped = 4 if database.dialect == "postgresql" else 3  # PostgreSQL: and the trigger function
    assert f"dropped {dropped} left over from removed entities or events" in out
    assert _our_triggers(database) == {"dashboard_orders_insert", "dashboard_orders_update", "dashboard_orders_delete"}
    Writer(database).run([("INSERT INTO orders (`orderCode`, `customerName`) VALUES (%s, %s)", ("B-1", "x"))])
    assert [event["entity"] for event in database.events()] == []


def test_sqlite_refuses_a_schema_qualified_table(staging_project: Path, tmp_path: Path) -> None:
    with temporary_database("sqlite", tmp_path) as database:
        refusal = (
            f"error: {SCHEMA}.orders: SQLite has no schemas (entity StagingOrder; an attached database is not "
            "supported); fix: name the table without a schema in the entity YAML and run python scripts/update.py"
        )
        code, out, err = migrate(staging_project, database, "--create-entity-tables")
        assert code == 1 and out == ""
        assert err.splitlines() == [
            refusal,
            f"error: the tables in {database.url} do not match the entity model (1 problem above); "
            "change capture was left as it was",
        ]
        code, out, err = migrate(staging_project, database)  # the bare table is missing too
        assert code == 1 and out == ""
        assert err.splitlines()[:2] == [
            "error: orders: no such table (entity PlainOrder); fix: create it, or pass --create-entity-tables "
            "to create it from the model (demos and tests)",
            refusal,
        ]
        assert database.table_names() == set()


# -- column spellings -------------------------------------------------------------

CAMEL_FIELDS = ("orderCode", "customerName", "totalAmount", "placedAt")
"""The fixture's fields whose lower_case and snake_case spellings differ from the field name."""


def _orders_ddl(dialect: str, table: str, spell: dict[str, str]) -> str:
    """CREATE TABLE for StagingOrder with each column named ``spell.get(field, field)``."""
    mysql = dialect in ("mysql", "mariadb")
    types = {
        "orderCode": "VARCHAR(40) NOT NULL PRIMARY KEY",
        "customerName": "VARCHAR(100) NOT NULL",
        "totalAmount": "DOUBLE" if mysql else "DOUBLE PRECISION" if dialect == "postgresql" else "REAL",
        "order": "BIGINT",
        "group": "VARCHAR(40)",
        "select": "BOOLEAN",
        "placedAt": "DATETIME(6)" if mysql else "TIMESTAMP" if dialect == "postgresql" else "TEXT",
        "details": "JSON" if mysql else "JSONB" if dialect == "postgresql" else "TEXT",
    }
    mark = "`" if mysql else '"'
    body = ", ".join(f"{mark}{spell.get(field, field)}{mark} {sql}" for field, sql in types.items())
    return f"CREATE TABLE {table} ({body})"


@pytest.fixture(scope="module")
def snake_project(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture on a bare `camel_orders` whose columns are in snake_case, as nomnom's worker creates them."""
    base = tmp_path_factory.mktemp("snake")
    entities = fixture_copy(base / "entities", "camel_", "dashboard:\n  column_names: snake_case\n")
    return generate(template_repo, base / "snake-dashboard", entities)


@pytest.fixture(params=("postgresql", "mariadb", "sqlite"))
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestDatabase]:
    with temporary_database(request.param, tmp_path) as database:
        yield database


def test_snake_case_columns_are_created_and_captured_under_the_field_names(
    snake_project: Path, any_db: TestDatabase
) -> None:
    database = any_db
    code, _, err = migrate(snake_project, database, "--create-entity-tables")
    assert code == 0, err
    if database.dialect == "sqlite":
        live = [str(row[1]) for row in database.query("PRAGMA table_info(camel_orders)")]
    else:
        where = "table_schema = current_schema()" if database.dialect == "postgresql" else "TABLE_SCHEMA = DATABASE()"
        live = [
            str(row[0])
            for row in database.query(
                "SELECT column_name FROM information_schema.columns "
                f"WHERE {where} AND table_name = 'camel_orders' ORDER BY ordinal_position"
            )
        ]
    assert live == ["order_code", "customer_name", "total_amount", "order", "group", "select", "placed_at", "details"]
    q, mark = database.quote, database.placeholder
    database.execute(
        f"INSERT INTO camel_orders ({q('order_code')}, {q('customer_name')}, {q('total_amount')}) "
        f"VALUES ({mark}, {mark}, {mark})",
        ("S-1", "snake", 2.5),
    )
    database.execute(f"UPDATE camel_orders SET {q('order_code')} = {mark}, {q('order')} = 7", ("S-2",))
    events = events_with_old(database)
    nulls = dict.fromkeys(("order", "group", "select", "placedAt", "details"))
    row = {"orderCode": "S-1", "customerName": "snake", "totalAmount": 2.5, **nulls}
    assert [(e["event_type"], e["payload"], e["changed_columns"], e["old_values"]) for e in events] == [
        ("insert", row, None, None),
        (
            "update",
            {**row, "orderCode": "S-2", "order": 7},
            ["orderCode", "order"],
            {"orderCode": "S-1", "order": None},
        ),
    ]


def test_columns_spelled_as_the_fields_under_snake_case_are_refused_naming_what_was_found(
    snake_project: Path, any_db: TestDatabase
) -> None:
    database = any_db
    database.execute(_orders_ddl(database.dialect, "camel_orders", {}))
    code, out, err = migrate(snake_project, database, "--create-entity-tables")
    assert code == 1 and out == ""
    snake = {"orderCode": "order_code", "customerName": "customer_name", "totalAmount": "total_amount",
             "placedAt": "placed_at"}  # fmt: skip
    assert err.splitlines()[:-1] == [
        f'error: StagingOrder.{field}: camel_orders has no column "{snake[field]}" but has {field} (spelled as the '
        "field): set column_names: as_written for this entity in dashboard.yaml, run python scripts/update.py, "
        "then migrate"
        for field in CAMEL_FIELDS
    ]
    assert database.table_names() == {"camel_orders"}  # nothing created, no trigger, no db_events
    assert database.trigger_names() == set()


def test_columns_folded_to_lower_case(staging_project: Path, server_db: TestDatabase) -> None:
    """PostgreSQL refuses, naming the spelling it found; MariaDB compares names without case and captures."""
    database = server_db
    create = "CREATE SCHEMA" if database.dialect == "postgresql" else "CREATE DATABASE"
    database.execute(f"{create} {database.quote(SCHEMA)}")
    folded = {field: field.lower() for field in CAMEL_FIELDS}
    database.execute(_orders_ddl(database.dialect, f"{database.quote(SCHEMA)}.{database.quote('orders')}", folded))
    code, out, err = migrate(staging_project, database, "--create-entity-tables")
    if database.dialect == "postgresql":
        assert code == 1 and out == ""
        assert err.splitlines()[:-1] == [
            f'error: StagingOrder.{field}: {SCHEMA}.orders has no column "{field}" but has {field.lower()} (folded '
            "to lower case): set column_names: lower_case for this entity in dashboard.yaml, "
            "run python scripts/update.py, then migrate"
            for field in CAMEL_FIELDS
        ]
        assert database.table_names() == set() and database.trigger_names() == set()
        return
    assert code == 0, err
    assert out.splitlines()[1:] == [
        f"StagingOrder.{field}: captured from column {field.lower()} of {SCHEMA}.orders (mariadb column names "
        "ignore case)"
        for field in CAMEL_FIELDS
    ]
    Writer(database).run([("INSERT INTO orders (ordercode, customername) VALUES (%s, %s)", ("F-1", "folded"))])
    (event,) = database.events()
    assert event["payload"] == {
        "orderCode": "F-1",
        "customerName": "folded",
        **dict.fromkeys(("totalAmount", "order", "group", "select", "placedAt", "details")),
    }


# -- the v1 set written for the tests (tests/fixtures/v1_staging) ---------------------


@pytest.fixture(scope="module")
def v1_project(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("v1-staging")
    entities = base / "entities"
    entities.mkdir()
    for path in (FIXTURES / "v1_staging").glob("*.yaml"):
        (entities / path.name).write_text(path.read_text().replace("staging.", f"{SCHEMA}."))
    return generate(template_repo, base / "v1-dashboard", entities)


def test_the_v1_staging_set_is_captured_with_key_changes_and_old_values(
    v1_project: Path, server_db: TestDatabase
) -> None:
    database = server_db
    code, _, err = migrate(v1_project, database, "--create-entity-tables")
    assert code == 0, err
    row = {"orderNumber": "N-1", "customerName": "Zoë", "totalPrice": 10.25, "order": 1, "group": None,
           "select": None, "placedAt": "2024-02-29 13:45:10", "shipDate": None}  # fmt: skip
    columns = ", ".join(f"`{name}`" for name in row)
    Writer(database).run(
        [
            (f"INSERT INTO orders ({columns}) VALUES ({', '.join(['%s'] * len(row))})", tuple(row.values())),
            ("UPDATE orders SET `orderNumber` = %s", ("N-2",)),
            ("UPDATE orders SET `group` = %s, `select` = %s", ("g", True)),
            ("DELETE FROM orders", ()),
        ]
    )
    first = {**row, "placedAt": "2024-02-29T13:45:10"}
    moved = {**first, "orderNumber": "N-2"}
    last = {**moved, "group": "g", "select": True}
    events = events_with_old(database)
    found = [(e["entity"], e["event_type"], e["payload"], e["changed_columns"], e["old_values"]) for e in events]
    assert found == [
        ("StagingOrder", "insert", first, None, None),
        ("StagingOrder", "update", moved, ["orderNumber"], {"orderNumber": "N-1"}),
        ("StagingOrder", "update", last, ["group", "select"], {"group": None, "select": None}),
        ("StagingOrder", "delete", last, None, None),
    ]


def test_the_simulator_runs_twice_on_the_v1_staging_set(v1_project: Path, server_db: TestDatabase) -> None:
    """Application keys (a string and an integer named `key`), reserved words, camelCase, another schema."""
    code, _, err = migrate(v1_project, server_db, "--create-entity-tables")
    assert code == 0, err
    for run in (1, 2):
        result = run_in_project(
            v1_project, "-m", "backend.simulate", "--rate", "1000", "--records", "40", "--seed", "7",
            env={"DATABASE_URL": server_db.url}, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, f"run {run}: {result.stderr}"
    table = f"{server_db.quote(SCHEMA)}.{server_db.quote('orders')}"
    key = server_db.quote("orderNumber")
    orders, keys = server_db.query(f"SELECT COUNT(*), COUNT(DISTINCT {key}) FROM {table}")[0]
    assert orders == keys > 0
    entities = {row[0] for row in server_db.query("SELECT DISTINCT entity FROM db_events")}
    assert entities == {"StagingOrder", "StagingOrderLine", "LoadNote"}
