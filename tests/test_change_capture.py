"""Triggers on the real PostgreSQL and MariaDB servers and on SQLite write the exact payloads.

Every update carries the old values of exactly the columns it changed; an update
of the primary key alone is captured, with the new key in the payload and the old
one in the old values, and so is one that changes the key and a data column.

Both the example entities and the showcase set (abstract parent, reference entity,
`.yml` file, Kubernetes-style file, DateTime / Boolean / Json columns, a table
named `group` with columns `order` and `select`) are captured on every dialect.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.databases import TestDatabase, temporary_database
from tests.support.events import events_with_old
from tests.support.projects import run_in_project
from tests.support.sample_rows import expected_payload, insert_row, to_sql_params, update_row


def _model(project: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((project / "backend" / "generated" / "entities.json").read_text())
    return data


def _migrate(project: Path, database: TestDatabase, *args: str) -> str:
    result = run_in_project(project, "-m", "backend.migrate", *args, env={"DATABASE_URL": database.url})
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def _moved(entity: dict[str, Any], key: Any, step: int) -> Any:
    """Another primary-key value for the row keyed ``key``."""
    id_type = next(column["type"] for column in entity["columns"] if column["primary_key"])
    return key + step if id_type == "integer" else f"{key}-{step}"


def _exercise(database: TestDatabase, entity: dict[str, Any]) -> list[dict[str, Any]]:
    """Insert, update, no-op update, key-only update, key-and-data update and delete one row.

    Returns the events we expect, with the old values of each update's changed columns.
    """
    table, id_column = entity["table"], entity["id_column"]
    inserted = insert_row(entity)
    row_id = database.insert(table, to_sql_params(entity, inserted))
    changes = update_row(entity)
    updated = {**inserted, **changes}
    params = to_sql_params(entity, changes)
    assignments = ", ".join(f"{database.quote(name)} = {database.placeholder}" for name in params)
    where = f"{database.quote(id_column)} = {database.placeholder}"
    update_sql = f"UPDATE {database.quote(table)} SET {assignments} WHERE {where}"
    database.execute(update_sql, (*params.values(), row_id))
    database.execute(update_sql, (*params.values(), row_id))  # no change: no event
    # The key alone, then the key and the first changed column back to its inserted value.
    moved, moved_again = _moved(entity, row_id, 1000), _moved(entity, row_id, 2000)
    set_key = f"UPDATE {database.quote(table)} SET {database.quote(id_column)} = {database.placeholder}"
    database.execute(f"{set_key} WHERE {where}", (moved, row_id))
    first = next(iter(changes))
    restored = to_sql_params(entity, {first: inserted[first]})[first]
    database.execute(
        f"{set_key}, {database.quote(first)} = {database.placeholder} WHERE {where}", (moved_again, restored, moved)
    )
    database.execute(f"DELETE FROM {database.quote(table)} WHERE {where}", (moved_again,))

    inserted_payload = expected_payload(entity, row_id, inserted)
    changed = [column["name"] for column in entity["columns"] if column["name"] in changes]
    last = {**updated, first: inserted[first]}
    updated_payload = expected_payload(entity, row_id, updated)
    expected = [
        ("insert", inserted_payload, None, None),
        ("update", updated_payload, changed, {name: inserted_payload[name] for name in changed}),
        ("update", expected_payload(entity, moved, updated), [id_column], {id_column: row_id}),
        (
            "update",
            expected_payload(entity, moved_again, last),
            [id_column, first],
            {id_column: moved, first: updated_payload[first]},
        ),
        ("delete", expected_payload(entity, moved_again, last), None, None),
    ]
    return [
        {
            "entity": entity["name"],
            "event_type": kind,
            "payload": payload,
            "changed_columns": columns,
            "old_values": old,
        }
        for kind, payload, columns, old in expected
        if kind in entity["event_types"]
    ]


@pytest.mark.parametrize("project_fixture", ["tpch_project", "showcase_project"])
def test_every_change_is_captured_with_exact_payload(
    request: pytest.FixtureRequest, project_fixture: str, database: TestDatabase
) -> None:
    project: Path = request.getfixturevalue(project_fixture)
    model = _model(project)
    output = _migrate(project, database, "--create-entity-tables")
    assert f"{len(model['entities'])} entities" in output

    expected: list[dict[str, Any]] = []
    for entity in model["entities"]:
        expected.extend(_exercise(database, entity))

    events = events_with_old(database)
    assert [{k: v for k, v in event.items() if k != "id"} for event in events] == expected
    ids = [event["id"] for event in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def _order_rows(entity: dict[str, Any], keys: list[str]) -> list[dict[str, Any]]:
    return [{**insert_row(entity), "order_key": key, "total_price": 10.5 + number} for number, key in enumerate(keys)]


def _insert_many(database: TestDatabase, table: str, rows: list[dict[str, Any]]) -> None:
    """One INSERT statement of all ``rows``."""
    columns = list(rows[0])
    values = "(" + ", ".join(database.placeholder for _ in columns) + ")"
    sql = f"INSERT INTO {database.quote(table)} ({', '.join(database.quote(c) for c in columns)}) VALUES "
    database.execute(sql + ", ".join(values for _ in rows), tuple(value for row in rows for value in row.values()))


def _many_rows_written(database: TestDatabase, entity: dict[str, Any], copy: bool) -> list[dict[str, Any]]:
    """A multi-row INSERT (and on PostgreSQL a COPY), then one DELETE of every row: the events we expect."""
    table = entity["table"]
    inserted = _order_rows(entity, ["K-3", "K-1", "K-2"])
    _insert_many(database, table, inserted)
    if copy:
        copied = _order_rows(entity, ["K-9", "K-8"])
        with database.connect() as conn, conn.cursor().copy(f"COPY {table} ({', '.join(copied[0])}) FROM STDIN") as cp:
            for row in copied:
                cp.write_row(tuple(row.values()))
        inserted += copied
    ids = dict(database.query(f"SELECT order_key, id FROM {database.quote(table)}"))
    database.execute(f"DELETE FROM {database.quote(table)}")
    return [
        {"entity": entity["name"], "event_type": kind, "payload": expected_payload(entity, ids[row["order_key"]], row),
         "changed_columns": None, "old_values": None}
        for kind in ("insert", "delete")
        for row in sorted(inserted, key=lambda row: ids[row["order_key"]])
    ]  # fmt: skip


def test_statements_of_many_rows_give_one_exact_event_per_row_in_order(
    tpch_project: Path, database: TestDatabase
) -> None:
    """PostgreSQL captures INSERT and DELETE once per statement, from its transition table: every row
    still gets its own event, with its exact payload, in the order the rows were written."""
    _migrate(tpch_project, database, "--create-entity-tables")
    order = next(entity for entity in _model(tpch_project)["entities"] if entity["table"] == "orders")
    expected = _many_rows_written(database, order, copy=database.dialect == "postgresql")
    events = events_with_old(database)
    assert [{k: v for k, v in event.items() if k != "id"} for event in events] == expected
    ids = [event["id"] for event in events]
    assert ids == sorted(ids)


def _trigger_levels(database: TestDatabase) -> dict[str, str]:
    rows = database.query(
        "SELECT tgname, CASE WHEN tgtype & 1 = 1 THEN 'row' ELSE 'statement' END FROM pg_trigger "
        "WHERE tgrelid = 'orders'::regclass AND NOT tgisinternal"
    )
    return {str(name): str(level) for name, level in rows}


def test_postgresql_upgrades_per_row_triggers_and_keeps_them_on_partitioned_tables(
    tpch_project: Path, tmp_path: Path
) -> None:
    """An install from before (per-row INSERT and DELETE triggers, a pinned search_path) becomes per statement
    without a setting on `migrate`;
    a partitioned table keeps per-row triggers, since a statement trigger on it would miss the rows
    written straight into a partition (and one on a partition those written through the parent)."""
    order = next(entity for entity in _model(tpch_project)["entities"] if entity["table"] == "orders")
    statement = {"dashboard_orders_insert": "statement", "dashboard_orders_update": "row",
                 "dashboard_orders_delete": "statement"}  # fmt: skip
    with temporary_database("postgresql", tmp_path) as database:
        _migrate(tpch_project, database, "--create-entity-tables")
        for event in ("insert", "delete"):
            database.execute(
                f"CREATE OR REPLACE TRIGGER dashboard_orders_{event} AFTER {event.upper()} ON orders "
                "FOR EACH ROW EXECUTE FUNCTION dashboard_orders_capture()"
            )
        # The functions of before also pinned their search_path, which cost every statement a setting change.
        database.execute("ALTER FUNCTION dashboard_orders_capture() SET search_path FROM CURRENT")
        assert set(_trigger_levels(database).values()) == {"row"}
        _migrate(tpch_project, database)
        assert _trigger_levels(database) == statement
        settings = "SELECT proconfig FROM pg_proc WHERE proname = 'dashboard_orders_capture'"
        assert database.query(settings) == [(None,)]
    with temporary_database("postgresql", tmp_path) as database:
        _migrate(tpch_project, database, "--create-entity-tables")
        database.execute("DROP TABLE orders")
        types = {"float": "DOUBLE PRECISION", "integer": "BIGINT", "string": "TEXT"}
        columns = "id BIGINT GENERATED BY DEFAULT AS IDENTITY, " + ", ".join(
            f"{column['name']} {types[column['type']]}" for column in order["columns"] if not column["primary_key"]
        )
        database.execute(f"CREATE TABLE orders ({columns}, PRIMARY KEY (id)) PARTITION BY RANGE (id)")
        database.execute("CREATE TABLE orders_low PARTITION OF orders FOR VALUES FROM (0) TO (1000)")
        database.execute("CREATE TABLE orders_high PARTITION OF orders FOR VALUES FROM (1000) TO (MAXVALUE)")
        _migrate(tpch_project, database)
        assert set(_trigger_levels(database).values()) == {"row"}
        through_parent = _order_rows(order, ["P-1", "P-2"])
        _insert_many(database, "orders", through_parent)
        straight = {**_order_rows(order, ["P-3"])[0], "id": 5000}
        _insert_many(database, "orders_high", [straight])
        events = events_with_old(database)
        ids = [1, 2, 5000]
        assert [event["payload"] for event in events] == [
            expected_payload(order, row_id, {k: v for k, v in row.items() if k != "id"})
            for row_id, row in zip(ids, [*through_parent, straight], strict=True)
        ]
