"""The runner compares the live tables with the model and refuses before it changes anything."""

from __future__ import annotations

from pathlib import Path

from tests.support.capture import capture_snapshot, create_readings, family
from tests.support.databases import TestDatabase
from tests.support.projects import run_in_project


def migrate(project: Path, database: TestDatabase, *args: str) -> tuple[int, str, str]:
    result = run_in_project(project, "-m", "backend.migrate", *args, env={"DATABASE_URL": database.url})
    return result.returncode, result.stdout, result.stderr


def test_a_refused_migrate_leaves_the_installed_capture_exactly_as_it_was(
    tpch_project: Path, database: TestDatabase
) -> None:
    code, _, err = migrate(tpch_project, database, "--create-entity-tables")
    assert code == 0, err
    database.insert("products", {"part_key": "P-1", "name": "bolt", "retail_price": 1.5})
    # The user's own change: the products trigger now names a column that is gone.
    database.execute("ALTER TABLE products RENAME COLUMN brand TO brand_name")
    before = capture_snapshot(database)
    for flags in (("--create-entity-tables",), ()):
        code, out, err = migrate(tpch_project, database, *flags)
        assert code == 1 and out == "", err
        assert "products.brand: no such column" in err
        assert capture_snapshot(database) == before
    # The application's writes still work, and are still captured.
    database.insert("orders", {"order_key": "O-1", "customer_key": "C-1", "order_status": "O",
                               "total_price": 9.5, "order_date": "2024-01-01"})  # fmt: skip
    assert [event["entity"] for event in database.events()] == ["Product", "Order"]


def test_live_types_the_triggers_cannot_capture_are_refused_one_line_each(
    loose_project: Path, database: TestDatabase
) -> None:
    wrong = {
        "postgresql": {"amount": "TEXT", "ratio": "TEXT", "body": "BYTEA", "Day": "TEXT"},
        "mysql": {"amount": "VARCHAR(10)", "ratio": "VARCHAR(10)", "body": "BLOB"},
        # A BLOB column takes any value, which the SQLite triggers all encode.
        "sqlite": {"amount": "TEXT", "ratio": "TEXT", "body": "BLOB"},
    }[family(database.dialect)]
    create_readings(database, **wrong)
    declared = {"postgresql": "text", "mysql": "varchar(10)", "sqlite": "TEXT"}[family(database.dialect)]
    bigint = "INTEGER" if database.dialect == "sqlite" else "BIGINT"
    for flags in ((), ("--create-entity-tables",)):
        code, out, err = migrate(loose_project, database, *flags)
        assert code == 1 and out == ""
        lines = err.splitlines()
        assert (
            f"error: readings.amount: model type integer cannot be captured from live type {declared}; fix: change "
            f"the field's type to String in the entity YAML and run copier update, or change the column to {bigint}"
        ) in lines
        assert any(line.startswith("error: readings.ratio: model type float cannot be captured") for line in lines)
        expected = {"amount", "ratio"}
        if database.dialect != "sqlite":
            expected.add("body")
            assert any(
                line.startswith("error: readings.body: model type json cannot be captured from live type ")
                and "remove the field from the entity YAML" in line
                for line in lines
            ), err
        if database.dialect == "postgresql":
            expected.add("day")
            assert "error: readings.day: the table has columns day, Day that differ only in case" in err
        assert {line.split(":")[1].strip().removeprefix("readings.") for line in lines[:-1]} == expected
        assert len(lines) == len(expected) + 1
        assert database.table_names() == {"readings"}
        assert database.trigger_names() == set()


def test_a_column_spelled_in_another_case(loose_project: Path, database: TestDatabase) -> None:
    """MySQL and SQLite column names ignore case; PostgreSQL's quoted names do not."""
    columns = {"amount": "BIGINT"} if database.dialect != "sqlite" else {}
    create_readings(database, **columns)
    database.execute(f"ALTER TABLE readings RENAME COLUMN {database.quote('amount')} TO {database.quote('Amount')}")
    code, _, err = migrate(loose_project, database)
    if database.dialect == "postgresql":
        assert code == 1
        assert err.splitlines()[0] == (
            "error: readings.amount: no such column, but the table has Amount (postgresql names are "
            "case-sensitive); fix: spell the field as the table does in the entity YAML and run copier update"
        )
        return
    assert code == 0, err
    database.execute("INSERT INTO readings (Amount) VALUES (3)")
    assert [event["payload"]["amount"] for event in database.events()] == [3]
