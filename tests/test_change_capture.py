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

from tests.support.databases import TestDatabase
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
