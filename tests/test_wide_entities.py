"""Payloads of entities with more columns than one JSON builder call takes keep every key.

The payload is built in chunks (PostgreSQL: 50 columns per call, SQLite: 60,
MySQL / MariaDB: 500). The chunks used to be merged with json_patch /
JSON_MERGE_PATCH, which drop the keys whose value is null.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.databases import TestDatabase
from tests.support.projects import generate, run_in_project

COLUMNS = 520


@pytest.fixture(scope="module")
def wide_project(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wide")
    entities = root / "entities"
    entities.mkdir()
    fields = "".join(f"    - name: c{n}\n      type: Integer\n      nullable: true\n" for n in range(COLUMNS))
    overrides = "".join(f"      - name: c{n}\n        type: Integer\n        nullable: true\n" for n in range(COLUMNS))
    (entities / "wide.yaml").write_text(
        "entity:\n  name: Wide\n  type: root\n  fields:\n" + fields + "  persistence:\n    database:\n"
        "      conformant_table: wide\n      conformant_id_column: id\n    primary_key:\n      name: id\n"
        "      type: Integer\n      autogenerate: true\n    field_overrides:\n" + overrides
    )
    return generate(template_repo, root / "project", entities)


def test_every_column_is_in_the_payload_null_or_not(wide_project: Path, database: TestDatabase) -> None:
    result = run_in_project(
        wide_project, "-m", "backend.migrate", "--create-entity-tables", env={"DATABASE_URL": database.url}
    )
    assert result.returncode == 0, result.stderr
    row = {f"c{n}": n if n % 3 == 0 else None for n in range(COLUMNS)}
    row_id = database.insert("wide", row)
    database.execute(f"UPDATE wide SET c1 = 1 WHERE id = {row_id}")
    database.execute(f"DELETE FROM wide WHERE id = {row_id}")
    inserted, updated, deleted = (event["payload"] for event in database.events())
    assert inserted == {"id": row_id, **row}
    assert updated == deleted == {"id": row_id, **row, "c1": 1}
