"""`python -m backend.migrate` of a generated project, against the real servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.databases import TestDatabase, server
from tests.support.projects import run_in_project

ENTITY_TABLES = {"customers", "products", "orders", "order_line_items"}


def migrate(project: Path, url: str, *args: str) -> tuple[int, str, str]:
    result = run_in_project(project, "-m", "backend.migrate", *args, env={"DATABASE_URL": url})
    return result.returncode, result.stdout, result.stderr


def _our_triggers(database: TestDatabase) -> set[str]:
    return {name for name in database.trigger_names() if name.startswith("dashboard_")}


def test_twice_is_harmless_and_drop_removes_exactly_ours(tpch_project: Path, database: TestDatabase) -> None:
    code, _, err = migrate(tpch_project, database.url, "--create-entity-tables")
    assert code == 0, err
    first = (_our_triggers(database), database.table_names(), database.function_names())
    code, _, err = migrate(tpch_project, database.url, "--create-entity-tables")
    assert code == 0, err
    assert (_our_triggers(database), database.table_names(), database.function_names()) == first
    # Customer tracks insert and update only (examples/tpch/dashboard.yaml): 11 triggers.
    assert len(first[0]) == 11
    assert first[1] == ENTITY_TABLES | {"db_events"}

    # Triggers were replaced, not duplicated: one insert, one event.
    database.insert("products", {"part_key": "P-1", "name": "bolt", "retail_price": 1.5})
    assert [event["event_type"] for event in database.events()] == ["insert"]

    # Objects that are not ours survive --drop.
    if database.dialect == "postgresql":
        database.execute(
            "CREATE FUNCTION audit_noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$"
        )
        database.execute(
            "CREATE TRIGGER audit_orders AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION audit_noop()"
        )
    elif database.dialect == "sqlite":
        database.execute("CREATE TRIGGER audit_orders AFTER INSERT ON orders BEGIN SELECT 1; END")
    else:
        database.execute("CREATE TRIGGER audit_orders AFTER INSERT ON orders FOR EACH ROW SET @seen = 1")
    database.execute("CREATE TABLE keep_me (id INTEGER PRIMARY KEY)")

    code, out, err = migrate(tpch_project, database.url, "--drop")
    assert code == 0, err
    assert "removed change capture" in out
    assert _our_triggers(database) == set()
    assert "audit_orders" in database.trigger_names()
    assert "db_events" not in database.table_names()
    assert ENTITY_TABLES | {"keep_me"} <= database.table_names()
    assert not {name for name in database.function_names() if name.startswith("dashboard_")}
    if database.dialect == "postgresql":
        assert "audit_noop" in database.function_names()

    code, _, err = migrate(tpch_project, database.url, "--drop", "--create-entity-tables")
    assert code == 0, err
    assert database.table_names() & (ENTITY_TABLES | {"db_events"}) == set()
    assert "keep_me" in database.table_names()


def test_leftover_triggers_of_removed_entities_are_dropped(tpch_project: Path, database: TestDatabase) -> None:
    code, _, err = migrate(tpch_project, database.url, "--create-entity-tables")
    assert code == 0, err
    # A trigger an earlier version created for an entity that is gone now.
    database.execute("CREATE TABLE legacy (id INTEGER PRIMARY KEY)")
    if database.dialect == "postgresql":
        database.execute(
            "CREATE FUNCTION dashboard_legacy_capture() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$"
        )
        database.execute(
            "CREATE TRIGGER dashboard_legacy_insert AFTER INSERT ON legacy "
            "FOR EACH ROW EXECUTE FUNCTION dashboard_legacy_capture()"
        )
    elif database.dialect == "sqlite":
        database.execute("CREATE TRIGGER dashboard_legacy_insert AFTER INSERT ON legacy BEGIN SELECT 1; END")
    else:
        database.execute("CREATE TRIGGER dashboard_legacy_insert AFTER INSERT ON legacy FOR EACH ROW SET @seen = 1")
    code, out, err = migrate(tpch_project, database.url)
    assert code == 0, err
    assert "dropped" in out
    assert "dashboard_legacy_insert" not in database.trigger_names()
    assert "dashboard_legacy_capture" not in database.function_names()
    assert len(_our_triggers(database)) == 11


def test_missing_entity_tables_is_one_line_each_and_changes_nothing(tpch_project: Path, database: TestDatabase) -> None:
    code, out, err = migrate(tpch_project, database.url)
    assert code == 1
    assert out == ""
    lines = err.splitlines()
    assert all(line.startswith("error: ") for line in lines)
    assert sorted(line.split(":")[1].strip() for line in lines[:-1]) == sorted(ENTITY_TABLES)
    assert all("no such table" in line and "--create-entity-tables" in line for line in lines[:-1])
    assert lines[-1].startswith("error: the tables in ") and "change capture was left as it was" in lines[-1]
    assert "db_events" not in database.table_names()


def test_a_column_missing_from_a_table_is_caught_before_installing(tpch_project: Path, database: TestDatabase) -> None:
    """PostgreSQL would accept such a trigger, then fail every insert into the table."""
    code, _, err = migrate(tpch_project, database.url, "--create-entity-tables")
    assert code == 0, err
    database.execute("ALTER TABLE products RENAME COLUMN brand TO brand_name")
    for flags in ((), ("--create-entity-tables",)):
        code, out, err = migrate(tpch_project, database.url, *flags)
        assert code == 1 and out == ""
        lines = err.splitlines()
        assert len(lines) == 2, err
        sql_type = "TEXT" if database.dialect == "sqlite" else "VARCHAR(20)"
        add = f"ALTER TABLE {database.quote('products')} ADD COLUMN {database.quote('brand')} {sql_type}"
        assert lines[0] == (
            f"error: products.brand: no such column (model type string); fix: {add}; "
            "or remove the field from the entity YAML and run python scripts/update.py"
        )


def test_a_failing_statement_rolls_back_and_is_named(tpch_project: Path, database: TestDatabase) -> None:
    if database.dialect not in ("postgresql", "sqlite"):
        pytest.skip("MySQL and MariaDB commit each DDL statement: there is no rollback to check")
    # A db_events table of someone else's, without the columns our indexes need.
    database.execute("CREATE TABLE db_events (id INTEGER PRIMARY KEY)")
    code, out, err = migrate(tpch_project, database.url, "--create-entity-tables")
    assert code == 1 and out == ""
    assert err.startswith("error: migrations/") and "001_db_events.sql statement 2" in err
    assert err.count("\n") == 1
    # All or nothing: the entity tables created earlier in the same run are gone again.
    assert database.table_names() == {"db_events"}


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("", "DATABASE_URL is not set"),
        ("oracle://scott@127.0.0.1/orcl", "unknown scheme"),
        ("127.0.0.1:5432/app", "unknown scheme"),
        ("postgresql://postgres@127.0.0.1:5432", "must name one database"),
        ("postgresql://postgres@127.0.0.1:99999/app", "malformed"),
        ("mysql:///app", "names no host"),
        ("sqlite://dashboard.db", "three slashes"),
        ("sqlite:///:memory:", "names no SQLite file"),
        ("postgresql://postgres:secret@127.0.0.1:1/app", "cannot connect to postgresql://postgres:***@127.0.0.1:1/app"),
        ("mysql://root@127.0.0.1:1/app", "cannot connect to mysql://root@127.0.0.1:1/app"),
        (
            "postgresql://{postgresql}/no_such_database_here",
            'database "no_such_database_here" does not exist',
        ),
        ("mariadb://{mariadb}/no_such_database_here", "Unknown database"),
        ("sqlite:////nonexistent-folder/x.db", "cannot connect to sqlite:////nonexistent-folder/x.db"),
    ],
)
def test_bad_urls_and_unreachable_servers_give_one_line(tpch_project: Path, url: str, fragment: str) -> None:
    for kind in ("postgresql", "mariadb"):  # {kind}: the test server of that kind, resolved when the test runs
        if "{" + kind + "}" in url:
            live = server(kind)
            url = url.replace("{" + kind + "}", f"{live.user}@{live.host}:{live.port}")
    code, out, err = migrate(tpch_project, url)
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith("error: ")
    assert fragment in err
    assert "secret" not in err


def test_print_shows_the_sql_without_connecting(tpch_project: Path) -> None:
    code, out, err = migrate(tpch_project, "mysql://root@127.0.0.1:1/app", "--print", "--create-entity-tables")
    assert code == 0, err
    assert "CREATE TABLE IF NOT EXISTS `orders`" in out
    assert "CREATE TRIGGER `dashboard_orders_insert`" in out
    assert "DELIMITER $$" not in out and "DELIMITER ;" not in out
