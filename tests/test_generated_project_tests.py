"""The generated project's own tests touch only what they create (issue 8, finding 9).

A user with ``DATABASE_URL`` exported to their real database runs ``pytest`` in
the generated project: their tables, rows and change capture must be exactly as
before, and the tests must still have run against that real server.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.databases import TestDatabase, temporary_database
from tests.support.projects import run_in_project

SCHEME = {"postgresql": "postgresql", "mariadb": "mariadb", "sqlite": "sqlite"}


def _state(db: TestDatabase) -> dict[str, Any]:
    """Everything of the user's database the tests could have touched."""
    return {
        "tables": db.table_names(),
        "triggers": db.trigger_names(),
        "notes": db.query("SELECT id, note FROM user_notes ORDER BY id"),
        "orders": db.query("SELECT id, order_key FROM orders ORDER BY id"),
        "events": db.query("SELECT id, entity, event_type FROM db_events ORDER BY id"),
    }


def _databases_named_like_test_runs(db: TestDatabase) -> set[str]:
    if db.dialect == "postgresql":
        sql = "SELECT datname FROM pg_database WHERE datname LIKE %s"
    else:
        sql = "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE %s"
    rows = db.query(sql, ("dashboard_test_%",))
    return {str(row[0]) for row in rows}


@pytest.mark.parametrize("dialect", ["postgresql", "mariadb", "sqlite"])
def test_pytest_in_the_generated_project_leaves_the_users_database_alone(
    tpch_project: Path, tmp_path: Path, dialect: str
) -> None:
    with temporary_database(dialect, tmp_path) as db:
        installed = run_in_project(
            tpch_project, "-m", "backend.migrate", "--create-entity-tables", env={"DATABASE_URL": db.url}
        )
        assert installed.returncode == 0, installed.stderr
        db.execute("CREATE TABLE user_notes (id INTEGER PRIMARY KEY, note VARCHAR(100))")
        db.execute("INSERT INTO user_notes (id, note) VALUES (1, 'keep me')")
        db.insert(
            "orders",
            {"order_key": "USER-1", "customer_key": "C-1", "order_status": "O", "total_price": 9.5,
             "order_date": "2024-05-01"},
        )  # fmt: skip
        before = _state(db)
        others_before = set() if dialect == "sqlite" else _databases_named_like_test_runs(db)

        result = run_in_project(
            tpch_project,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-v",
            env={"DATABASE_URL": db.url, "TEST_DATABASE_URL": ""},
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert re.search(r"\b\d+ passed\b", result.stdout) and " failed" not in result.stdout, result.stdout
        assert "test_simulated_records_stream_to_a_websocket_client PASSED" in result.stdout, result.stdout

        assert _state(db) == before
        assert before["notes"] == [(1, "keep me")] and [row[1] for row in before["orders"]] == ["USER-1"]
        header = next(line for line in result.stdout.splitlines() if line.startswith("test database:"))
        if dialect == "sqlite":
            assert header == "test database: a temporary SQLite file"
        else:
            # It ran on the same real server, in a database of its own, dropped afterwards.
            match = re.match(rf"test database: {SCHEME[dialect]}://\w+@127\.0\.0\.1:\d+/(dashboard_test_\w+) ", header)
            assert match is not None, header
            assert match.group(1) != db.name
            assert _databases_named_like_test_runs(db) == others_before
