"""Entities and columns named like JavaScript's Object.prototype keys work in the live page.

An entity called ``__proto__`` used to blank the page (``i.reduce is not a function``):
the frontend kept per-entity data in plain objects, where that key is the prototype.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.backend_server import BackendServer
from tests.support.databases import temporary_database
from tests.support.frontend import browser_page, install_and_build, node_tool
from tests.support.projects import generate, run_in_project

COLUMNS = ("constructor", "toString", "valueOf", "hasOwnProperty", "__proto__")


def _entity_yaml(name: str, table: str) -> str:
    fields = "".join(f"    - name: {column}\n      type: String\n      nullable: true\n" for column in COLUMNS)
    overrides = "".join(f"      - name: {column}\n        type: String\n        nullable: true\n" for column in COLUMNS)
    return (
        f"entity:\n  name: {name}\n  type: root\n  fields:\n{fields}"
        f"  persistence:\n    database:\n      conformant_table: {table}\n      conformant_id_column: id\n"
        f"    field_overrides:\n{overrides}"
    )


def test_prototype_names_show_live_rows(template_repo: Path, tmp_path: Path) -> None:
    entities = tmp_path / "entities"
    entities.mkdir()
    (entities / "proto.yaml").write_text(_entity_yaml("__proto__", "proto_records"))
    (entities / "constructor.yaml").write_text(_entity_yaml("constructor", "constructor_records"))
    project = generate(template_repo, tmp_path / "odd-names", entities)

    frontend = project / "frontend"
    install_and_build(frontend)
    typecheck = node_tool(frontend, "typescript/bin/tsc", "--noEmit")
    assert typecheck.returncode == 0, typecheck.stdout + typecheck.stderr

    with temporary_database("sqlite", tmp_path) as db:
        migrated = run_in_project(
            project, "-m", "backend.migrate", "--create-entity-tables", env={"DATABASE_URL": db.url}
        )
        assert migrated.returncode == 0, migrated.stderr
        with BackendServer(project, db.url, POLL_INTERVAL_MS="100") as server, browser_page() as page:
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(server.http + "/")
            page.get_by_test_id("connection-status").filter(has_text="Live").wait_for(timeout=10_000)

            db.insert("proto_records", {"constructor": "C-1", "toString": "T-1", "__proto__": "P-1"})
            db.insert("constructor_records", {"valueOf": "V-2", "hasOwnProperty": "H-2"})
            proto_row = page.get_by_test_id("table-__proto__").locator("tr", has_text="P-1")
            proto_row.wait_for(timeout=5_000)
            page.get_by_test_id("table-constructor").locator("tr", has_text="V-2").wait_for(timeout=5_000)

            assert all(value in proto_row.inner_text() for value in ("C-1", "T-1", "P-1"))
            # The cards redraw at most once a second (Dashboard's STATS_PACE): wait for both counts.
            for card in ("stats-__proto__", "stats-constructor"):
                page.wait_for_function(
                    "id => /Inserts\\s*1\\b/.test(document.querySelector(`[data-testid='${id}']`).innerText)",
                    arg=card,
                    timeout=5_000,
                )
            # A column the row does not have shows NULL, not Object.prototype's function.
            assert "native code" not in page.locator("body").inner_text()
            assert errors == []
