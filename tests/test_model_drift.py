"""Issue 8, finding 1: a field added to the YAML must not break the application's writes.

As a user would: generate, migrate with --create-entity-tables (the generated
compose file always passes it), add a field to an entity YAML, `copier update`,
migrate again. The runner must refuse, naming the table, the column and the
ALTER TABLE that fixes it, and leave the installed triggers untouched, so the
application keeps writing. After the ALTER TABLE, migrating captures the column.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.capture import capture_snapshot
from tests.support.databases import TestDatabase, temporary_database
from tests.support.paths import TPCH
from tests.support.projects import generate, run_in_project, update
from tests.support.template_repo import commit_all

ORDER = {"order_key": "O-1", "customer_key": "C-1", "order_status": "O", "total_price": 9.5, "order_date": "2024-01-01"}


@pytest.fixture(params=("postgresql", "mariadb", "sqlite"))
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestDatabase]:
    with temporary_database(request.param, tmp_path) as database:
        yield database


def _add_battery_field(entities: Path) -> None:
    order = entities / "order.yaml"
    text = order.read_text()
    field = "    - name: comment\n      type: String\n      nullable: true\n"
    override = "      - name: comment\n        type: String\n        nullable: true\n"
    assert field in text and override in text
    text = text.replace(field, field + "    - name: battery\n      type: Float\n      nullable: true\n")
    text = text.replace(override, override + "      - name: battery\n        type: Float\n        nullable: true\n")
    order.write_text(text)


def _migrate(project: Path, database: TestDatabase) -> tuple[int, str, str]:
    result = run_in_project(
        project, "-m", "backend.migrate", "--create-entity-tables", env={"DATABASE_URL": database.url}
    )
    return result.returncode, result.stdout, result.stderr


def test_a_field_added_to_the_yaml_is_refused_until_the_column_exists(
    template_repo: Path, tmp_path: Path, server: TestDatabase
) -> None:
    destination = tmp_path / "dashboard"
    shutil.copytree(TPCH, destination / "entities")
    project = generate(template_repo, destination, "entities")
    code, _, err = _migrate(project, server)
    assert code == 0, err

    _add_battery_field(project / "entities")
    commit_all(project, "battery")
    update(project)
    before = capture_snapshot(server)

    code, out, err = _migrate(project, server)
    assert code == 1 and out == ""
    problem, summary = err.splitlines()
    assert problem.startswith("error: orders.battery: no such column (model type float); fix: ALTER TABLE ")
    assert "change capture was left as it was" in summary
    assert capture_snapshot(server) == before
    server.insert("orders", ORDER)  # the application still writes
    assert [event["payload"]["order_key"] for event in server.events()] == ["O-1"]

    match = re.search(r"fix: (ALTER TABLE [^;]+);", problem)
    assert match, problem
    server.execute(match.group(1))
    code, out, err = _migrate(project, server)
    assert code == 0, err
    assert out.startswith("installed change capture")
    server.insert("orders", {**ORDER, "order_key": "O-2", "battery": 0.75})
    assert [event["payload"].get("battery", "absent") for event in server.events()] == ["absent", 0.75]
