"""The runner compares the live tables with the model and refuses before it changes anything."""

from __future__ import annotations

from pathlib import Path

from tests.support.capture import capture_snapshot, create_readings, family
from tests.support.databases import TestDatabase
from tests.support.events import events_with_old
from tests.support.paths import LOOSE_TYPES
from tests.support.projects import generate, run_in_project


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
            "the field's type to String in the entity YAML and run python scripts/update.py, "
            f"or change the column to {bigint}"
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
    code, out, err = migrate(loose_project, database)
    if database.dialect == "postgresql":
        assert code == 1
        assert err.splitlines()[0] == (
            "error: readings.amount: no such column, but the table has Amount (postgresql names are "
            "case-sensitive); fix: spell the field as the table does in the entity YAML and run "
            "python scripts/update.py"
        )
        return
    assert code == 0, err
    # Captured as the table spells it, and the runner says which column it found.
    assert out.splitlines()[1:] == [
        f"Reading.amount: captured from column Amount of readings ({database.dialect} column names ignore case)"
    ]
    database.execute("INSERT INTO readings (Amount) VALUES (3)")
    assert [event["payload"]["amount"] for event in database.events()] == [3]


def test_a_type_changed_in_the_yaml_is_checked_against_the_live_column(
    loose_project: Path, template_repo: Path, tmp_path: Path, database: TestDatabase
) -> None:
    """Integer -> String and String -> Integer in the YAML, regenerated: migrate refuses, naming both types."""
    code, _, err = migrate(loose_project, database, "--create-entity-tables")
    assert code == 0, err
    entities = tmp_path / "entities"
    entities.mkdir()
    text = (LOOSE_TYPES / "reading.yaml").read_text()
    for field, old, new in (("amount", "Integer", "String"), ("label", "String", "Integer")):
        text = text.replace(f"- name: {field}\n      type: {old}", f"- name: {field}\n      type: {new}")
        text = text.replace(f"- name: {field}\n        type: {old}", f"- name: {field}\n        type: {new}")
    (entities / "reading.yaml").write_text(text)
    changed = generate(template_repo, tmp_path / "changed", entities)
    before = capture_snapshot(database)
    code, out, err = migrate(changed, database)
    assert code == 1 and out == ""
    bigint = {"postgresql": "bigint", "sqlite": "INTEGER"}.get(database.dialect, "bigint(20)")
    text_type = {"postgresql": "text", "sqlite": "TEXT"}.get(database.dialect, "text")
    string_wanted = "TEXT"
    integer_wanted = "INTEGER" if database.dialect == "sqlite" else "BIGINT"
    fix = "in the entity YAML and run python scripts/update.py, or change the column to"
    assert err.splitlines() == [
        f"error: readings.label: model type integer cannot be captured from live type {text_type}; fix: change "
        f"the field's type to String {fix} {integer_wanted}",
        f"error: readings.amount: model type string cannot be captured from live type {bigint}; fix: change "
        f"the field's type to Integer {fix} {string_wanted}",
        f"error: the tables in {database.url} do not match the entity model (2 problems above); "
        "change capture was left as it was",
    ]
    assert capture_snapshot(database) == before


OLD_DB_EVENTS = {
    "postgresql": "CREATE TABLE db_events (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
    "txid xid8 NOT NULL DEFAULT pg_current_xact_id(), entity VARCHAR(100) NOT NULL, event_type VARCHAR(10) NOT NULL, "
    "payload JSON NOT NULL, changed_columns JSON, created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp())",
    "mysql": "CREATE TABLE db_events (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, "
    "entity VARCHAR(100) NOT NULL, event_type VARCHAR(10) NOT NULL, payload JSON NOT NULL, changed_columns JSON NULL, "
    "created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), INDEX db_events_created_at_idx (created_at), "
    "INDEX db_events_entity_id_idx (entity, id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
    "sqlite": "CREATE TABLE db_events (id INTEGER PRIMARY KEY AUTOINCREMENT, entity TEXT NOT NULL, "
    "event_type TEXT NOT NULL, payload TEXT NOT NULL CHECK (json_valid(payload)), changed_columns TEXT, "
    "created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))",
}
"""db_events as installed before updates carried their old values."""


def test_a_db_events_without_old_values_is_upgraded_keeping_its_events(
    loose_project: Path, database: TestDatabase
) -> None:
    create_readings(database)
    database.execute(OLD_DB_EVENTS[family(database.dialect)])
    database.execute("INSERT INTO db_events (entity, event_type, payload) VALUES ('Reading', 'insert', '{\"id\": 1}')")
    for _ in range(2):  # the second run finds the column and adds nothing
        code, _, err = migrate(loose_project, database)
        assert code == 0 and err == "", err
    database.execute("INSERT INTO readings (amount) VALUES (1)")
    database.execute("UPDATE readings SET amount = 2")
    events = events_with_old(database)
    assert [(e["event_type"], e["payload"].get("amount"), e["old_values"]) for e in events] == [
        ("insert", None, None),
        ("insert", 1, None),
        ("update", 2, {"amount": 1}),
    ]
