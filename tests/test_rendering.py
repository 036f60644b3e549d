"""What `copier copy` produces, and that the generated project passes its own checks."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.paths import SHOWCASE, TPCH
from tests.support.projects import copier_cli

DIALECTS = ("postgresql", "mysql", "mariadb", "sqlite")
MIGRATION_FILES = ("001_db_events.sql", "002_triggers.sql", "entity_tables.sql", "drop.sql", "drop_entity_tables.sql")


def test_copy_with_pytest_copie_records_answers_and_renders(copie: Any, template_repo: Path) -> None:
    result = copie.copy(extra_answers={"entities_dir": str(TPCH), "project_name": "Sales Dashboard"},
                        template_dir=template_repo)  # fmt: skip
    assert result.exception is None, result.exception
    project: Path = result.project_dir
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["project_name"] == "Sales Dashboard"
    # Not answered: recorded empty, so they follow dashboard.yaml on every update.
    assert (answers["database"], answers["poll_interval_ms"]) == ("", "")
    assert [e["name"] for e in answers["entities_snapshot"]["entities"]] == [
        "Customer",
        "Order",
        "OrderLineItem",
        "Product",
    ]
    assert "answers_check" not in answers
    for dialect in DIALECTS:
        for name in MIGRATION_FILES:
            text = (project / "migrations" / dialect / name).read_text()
            assert "{{" not in text and "{%" not in text
    runtime = json.loads((project / "backend" / "generated" / "entities.json").read_text())
    # The default database, and the poll interval of dashboard.yaml.
    assert (runtime["settings"]["database"], runtime["settings"]["poll_interval_ms"]) == ("postgresql", 500)
    assert runtime["entities"][1]["triggers"] == {
        "insert": "dashboard_orders_insert",
        "update": "dashboard_orders_update",
        "delete": "dashboard_orders_delete",
    }
    assert 'name = "sales-dashboard"' in (project / "pyproject.toml").read_text()
    readme = (project / "README.md").read_text()
    assert readme.startswith("# Sales Dashboard")
    assert "| 📦 Order | `orders` | root | insert, update, delete |" in readme


def test_showcase_quotes_reserved_words(copie: Any, template_repo: Path) -> None:
    result = copie.copy(extra_answers={"entities_dir": str(SHOWCASE)}, template_dir=template_repo)
    assert result.exception is None, result.exception
    project: Path = result.project_dir
    pg = (project / "migrations" / "postgresql" / "entity_tables.sql").read_text()
    assert 'CREATE TABLE IF NOT EXISTS "group" (' in pg
    assert '"order" BIGINT NOT NULL' in pg
    my = (project / "migrations" / "mysql" / "002_triggers.sql").read_text()
    assert "AFTER INSERT ON `group` FOR EACH ROW" in my
    assert "NEW.`order`" in my
    assert "DROP TRIGGER IF EXISTS `dashboard_group_insert`;" in my
    maria = (project / "migrations" / "mariadb" / "002_triggers.sql").read_text()
    assert "CREATE OR REPLACE TRIGGER `dashboard_group_insert`" in maria
    # Alert tracks inserts only.
    assert "dashboard_alerts_update" not in my and "dashboard_alerts_insert" in my
    # dashboard.yaml's poll interval is used, and followed: the answer stays empty.
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["poll_interval_ms"] == ""
    assert (
        json.loads((project / "backend" / "generated" / "entities.json").read_text())["settings"]["poll_interval_ms"]
        == 250
    )


@pytest.mark.parametrize("database", DIALECTS)
def test_documented_non_interactive_command(template_repo: Path, tmp_path: Path, database: str) -> None:
    destination = tmp_path / "dash"
    result = copier_cli(
        "copy", "--trust", "--defaults", "--vcs-ref", "HEAD",
        "--data", f"entities_dir={TPCH}", "--data", f"database={database}",
        str(template_repo), str(destination),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load((destination / ".copier-answers.yml").read_text())["database"] == database


def test_relative_entities_dir_is_read_from_inside_the_project(template_repo: Path, tmp_path: Path) -> None:
    destination = tmp_path / "dash"
    shutil.copytree(TPCH, destination / "model")
    result = copier_cli(
        "copy", "--trust", "--defaults", "--vcs-ref", "HEAD", "--data", "entities_dir=model",
        str(template_repo), str(destination),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text())
    assert answers["entities_dir"] == "model"
    # Nothing of the machine's layout leaks into the answers.
    assert str(tmp_path) not in (destination / ".copier-answers.yml").read_text()


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


def test_generated_project_passes_its_own_lint_and_type_checks(showcase_project: Path) -> None:
    python = sys.executable
    ruff = _run([python, "-m", "ruff", "check", "."], showcase_project)
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr
    fmt = _run([python, "-m", "ruff", "format", "--check", "."], showcase_project)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    mypy = _run([python, "-m", "mypy"], showcase_project)
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr


def test_template_code_passes_lint_and_type_checks() -> None:
    root = Path(__file__).resolve().parents[1]
    python = sys.executable
    for command in (
        [python, "-m", "ruff", "check", "."],
        [python, "-m", "ruff", "format", "--check", "."],
        [python, "-m", "mypy"],
    ):
        result = _run(command, root)
        assert result.returncode == 0, " ".join(command[2:]) + "\n" + result.stdout + result.stderr
