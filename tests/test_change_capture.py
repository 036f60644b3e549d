"""Triggers on the real PostgreSQL and MariaDB servers and on SQLite write the exact payloads.

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


def _exercise(database: TestDatabase, entity: dict[str, Any]) -> list[dict[str, Any]]:
    """Insert, update, no-op update and delete one row; return the events we expect."""
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
    database.execute(f"DELETE FROM {database.quote(table)} WHERE {where}", (row_id,))

    changed = [column["name"] for column in entity["columns"] if column["name"] in changes]
    expected = [
        ("insert", expected_payload(entity, row_id, inserted), None),
        ("update", expected_payload(entity, row_id, updated), changed),
        ("delete", expected_payload(entity, row_id, updated), None),
    ]
    return [
        {"entity": entity["name"], "event_type": kind, "payload": payload, "changed_columns": columns}
        for kind, payload, columns in expected
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

    events = database.events()
    assert [{k: v for k, v in event.items() if k != "id"} for event in events] == expected
    ids = [event["id"] for event in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
