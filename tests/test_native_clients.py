"""The generated SQL files also run through each database's own command-line client.

The MySQL / MariaDB trigger files need no DELIMITER command: each trigger body
is a single statement.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.support.databases import (
    MARIADB_HOST,
    MARIADB_PORT,
    MARIADB_USER,
    PG_HOST,
    PG_PORT,
    PG_USER,
    TestDatabase,
    temporary_database,
)
from tests.support.paths import FIXTURES
from tests.support.projects import generate, run_in_project

FILES = ("entity_tables.sql", "001_db_events.sql", "002_triggers.sql")


def _client(database: TestDatabase) -> list[str]:
    if database.dialect == "postgresql":
        return ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER,
                "-d", database.name]  # fmt: skip
    if database.dialect == "sqlite":
        assert database.sqlite_path is not None
        return ["sqlite3", "-bail", str(database.sqlite_path)]
    return ["mysql", "-h", MARIADB_HOST, "-P", str(MARIADB_PORT), "-u", MARIADB_USER, "--default-character-set=utf8mb4",
            database.name]  # fmt: skip


def test_files_run_through_the_native_client(tpch_project: Path, database: TestDatabase) -> None:
    command = _client(database)
    if shutil.which(command[0]) is None:
        pytest.fail(f"{command[0]} is not installed (.ci/run installs the database clients)")
    for _ in range(2):  # twice: the files are idempotent on their own too
        for name in FILES:
            script = (tpch_project / "migrations" / database.dialect / name).read_text()
            result = subprocess.run(command, input=script, capture_output=True, text=True, timeout=60, check=False)
            assert result.returncode == 0, f"{name}: {result.stderr}"
    database.insert("orders", {"order_key": "O-1", "customer_key": "C-1", "order_status": "O",
                               "total_price": 9.5, "order_date": "2024-01-01"})  # fmt: skip
    events = database.events()
    assert [(e["entity"], e["event_type"], e["payload"]["order_key"]) for e in events] == [("Order", "insert", "O-1")]


def test_print_output_of_a_schema_qualified_table_runs_through_the_mysql_client(
    template_repo: Path, tmp_path: Path
) -> None:
    """`--print` fills the dashboard database into the triggers of a table in another database."""
    schema = f"stg_{uuid.uuid4().hex[:10]}"
    entities = tmp_path / "entities"
    entities.mkdir()
    for path in (FIXTURES / "staging_legacy").iterdir():
        entities.joinpath(path.name).write_text(path.read_text().replace("staging.", f"{schema}."))
    project = generate(template_repo, tmp_path / "project", entities)
    with temporary_database("mariadb", tmp_path) as database:
        try:
            printed = run_in_project(
                project,
                "-m",
                "backend.migrate",
                "--print",
                "--create-entity-tables",
                env={"DATABASE_URL": database.url},
            )
            assert printed.returncode == 0, printed.stderr
            assert "<dashboard_database>" not in printed.stdout
            raw = (project / "migrations" / "mariadb" / "002_triggers.sql").read_text()
            assert "<dashboard_database>.`db_events`" in raw  # the raw file cannot run as is
            result = subprocess.run(_client(database), input=printed.stdout, capture_output=True, text=True,
                                    timeout=60, check=False)  # fmt: skip
            assert result.returncode == 0, result.stderr
            database.execute(f"INSERT INTO `{schema}`.orders (`orderCode`, `customerName`) VALUES ('P-1', 'x')")
            assert [(e["entity"], e["payload"]["orderCode"]) for e in database.events()] == [("StagingOrder", "P-1")]
        finally:
            database.execute(f"DROP DATABASE IF EXISTS `{schema}`")
