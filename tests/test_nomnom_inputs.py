"""nomnom's own entity files (tests/fixtures/nomnom, see SOURCE.md) as real inputs.

Each folder (Entity Schema v1, the legacy TPC-H set, both mixed) generates a
project whose own checks pass and whose triggers capture every change on
PostgreSQL, MariaDB and SQLite; entities the dashboard leaves out are named
once by ``copier copy`` and ``copier update`` and listed in the README.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.databases import TestDatabase, temporary_database
from tests.support.paths import FIXTURES
from tests.support.projects import copier_cli, generate, run_in_project
from tests.support.sample_rows import insert_row, to_sql_params, update_row
from tests.support.template_repo import commit_all, git

NOMNOM = FIXTURES / "nomnom"
FOLDERS = ("v1", "tpch", "mixed")
DIAGNOSIS_SKIPPED = "skipped Diagnosis (diagnosis-v1.yaml): not persisted (no spec.persistence)"
BATCH_SKIPPED = "skipped StagingBatch (staging_batch.yaml): not persisted (spec.persistence.enabled: false)"


class _Projects(dict[str, Path]):
    """One generated project per fixture folder, generated on first use."""

    def __init__(self, template: Path, factory: pytest.TempPathFactory):
        super().__init__()
        self.template, self.factory = template, factory

    def __missing__(self, folder: str) -> Path:
        destination = self.factory.mktemp(folder) / f"{folder}-dashboard"
        self[folder] = generate(self.template, destination, NOMNOM / folder)
        return self[folder]


@pytest.fixture(scope="module")
def projects(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> _Projects:
    return _Projects(template_repo, tmp_path_factory)


def _model(project: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((project / "backend" / "generated" / "entities.json").read_text())
    return data


@pytest.mark.parametrize("folder", FOLDERS)
def test_generated_project_passes_its_own_checks(projects: _Projects, folder: str) -> None:
    project = projects[folder]
    for args in (("-m", "ruff", "check", "."), ("-m", "ruff", "format", "--check", "."), ("-m", "mypy")):
        result = run_in_project(project, *args, timeout=300)
        assert result.returncode == 0, " ".join(args) + "\n" + result.stdout + result.stderr
    # Its own test suite, on a temporary SQLite file.
    result = run_in_project(
        project, "-m", "pytest", "-p", "no:cacheprovider", "-q",
        env={"DATABASE_URL": "", "TEST_DATABASE_URL": ""}, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and " failed" not in result.stdout, result.stdout


@pytest.fixture(params=("postgresql", "mariadb", "sqlite"))
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestDatabase]:
    with temporary_database(request.param, tmp_path) as database:
        yield database


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_change_of_nomnoms_entities_is_captured(projects: _Projects, folder: str, server: TestDatabase) -> None:
    project = projects[folder]
    model = _model(project)
    result = run_in_project(
        project, "-m", "backend.migrate", "--create-entity-tables", env={"DATABASE_URL": server.url}
    )
    assert result.returncode == 0, result.stderr

    expected: list[tuple[str, str, int]] = []
    for entity in model["entities"]:
        table, key = entity["table"], entity["id_column"]
        row_id = server.insert(table, to_sql_params(entity, insert_row(entity)))
        changes = to_sql_params(entity, update_row(entity))
        assignments = ", ".join(f"{server.quote(name)} = {server.placeholder}" for name in changes)
        where = f"{server.quote(key)} = {server.placeholder}"
        server.execute(f"UPDATE {server.quote(table)} SET {assignments} WHERE {where}", (*changes.values(), row_id))
        server.execute(f"DELETE FROM {server.quote(table)} WHERE {where}", (row_id,))
        expected += [(entity["name"], kind, row_id) for kind in ("insert", "update", "delete")]

    events = server.events()
    columns = {entity["name"]: {column["name"] for column in entity["columns"]} for entity in model["entities"]}
    key_of = {entity["name"]: entity["id_column"] for entity in model["entities"]}
    assert [(e["entity"], e["event_type"], e["payload"][key_of[e["entity"]]]) for e in events] == expected
    for event in events:
        # The payload's keys are the field names as written in the YAML (camelCase for v1).
        assert set(event["payload"]) == columns[event["entity"]], event
    if folder != "tpch":
        assert "facilityId" in columns["PatientDiagnosisCore"]


def test_skipped_entities_are_named_once_by_copy_and_update(template_repo: Path, tmp_path: Path) -> None:
    entities = tmp_path / "entities"
    shutil.copytree(NOMNOM / "mixed", entities)
    project = tmp_path / "dashboard"
    copied = copier_cli(
        "copy", "--trust", "--defaults", "--vcs-ref", "HEAD", "--data", f"entities_dir={entities}",
        "--data", "database=sqlite", str(template_repo), str(project),
    )  # fmt: skip
    assert copied.returncode == 0, copied.stderr
    assert copied.stderr.splitlines().count(DIAGNOSIS_SKIPPED) == 1, copied.stderr
    assert "skipped" not in copied.stdout
    readme = (project / "README.md").read_text()
    assert "### Entities not shown" in readme
    assert "| Diagnosis | `diagnosis-v1.yaml` | not persisted (no spec.persistence) |" in readme

    git(project, "init", "-q", "-b", "main")
    commit_all(project, "generated")
    shutil.copy(FIXTURES / "v1_staging" / "staging_batch.yaml", entities)
    updated = copier_cli("update", "--trust", "--defaults", "--vcs-ref", "HEAD", cwd=project)
    assert updated.returncode == 0, updated.stderr
    lines = updated.stderr.splitlines()
    assert (lines.count(DIAGNOSIS_SKIPPED), lines.count(BATCH_SKIPPED)) == (1, 1), updated.stderr
    readme = (project / "README.md").read_text()
    assert "| StagingBatch | `staging_batch.yaml` | not persisted (spec.persistence.enabled: false) |" in readme
    answers = (project / ".copier-answers.yml").read_text()
    assert "StagingBatch" in answers  # recorded in the snapshot


def test_nothing_skipped_means_no_section(projects: _Projects) -> None:
    assert "Entities not shown" not in (projects["tpch"] / "README.md").read_text()
    assert "Entities not shown" in (projects["v1"] / "README.md").read_text()
