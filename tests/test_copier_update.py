"""`copier update` follows the entity YAML and keeps the user's own edits.

The generated project points at an entities folder inside itself (the usual
layout); the test edits, adds, renames and removes entity files, commits, and
updates, as a user would.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.paths import TPCH
from tests.support.projects import copier_cli, generate, update
from tests.support.template_repo import commit_all, git, is_clean


@pytest.fixture
def project(template_repo: Path, tmp_path: Path) -> Path:
    """A project whose entity YAML lives in its own `entities/` folder."""
    destination = tmp_path / "dashboard"
    shutil.copytree(TPCH, destination / "entities")
    return generate(template_repo, destination, "entities")


def _entities(project: Path) -> dict[str, Any]:
    data = json.loads((project / "backend" / "generated" / "entities.json").read_text())
    return {entity["name"]: entity for entity in data["entities"]}


def _snapshot_names(project: Path) -> list[str]:
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    return [entity["name"] for entity in answers["entities_snapshot"]["entities"]]


HAND_EDIT = "\n## Our team's notes\n\nThe dashboard runs on the ops host.\n"


def test_yaml_changes_flow_into_the_project_and_hand_edits_stay(project: Path) -> None:
    entities = project / "entities"
    # Hand edit in a file the template also renders: must survive updates.
    readme = project / "README.md"
    readme.write_text(readme.read_text() + HAND_EDIT)
    # A file of the user's own.
    (project / "notes.txt").write_text("ours\n")
    commit_all(project, "hand edits")

    # Edit: a new column on Order (a field and its override).
    order = entities / "order.yaml"
    text = order.read_text()
    text = text.replace(
        "    - name: comment\n      type: String\n      nullable: true\n    # Not a column",
        "    - name: comment\n      type: String\n      nullable: true\n"
        "    - name: discount_code\n      type: String\n      nullable: true\n    # Not a column",
    )
    text = text.replace(
        "      - name: comment\n        type: String\n        nullable: true\n",
        "      - name: comment\n        type: String\n        nullable: true\n"
        "      - name: discount_code\n        type: String\n        nullable: true\n",
    )
    order.write_text(text)
    # Add: a new entity.
    (entities / "supplier.yaml").write_text(
        "entity:\n  name: Supplier\n  type: reference\n  fields:\n    - name: supplier_key\n      type: String\n"
        "  persistence:\n    database:\n      conformant_table: suppliers\n      conformant_id_column: id\n"
        "    field_overrides:\n      - name: supplier_key\n        type: String\n"
    )
    # Rename: OrderLineItem becomes LineItem on a new table.
    line_item = entities / "orderlineitem.yaml"
    renamed = line_item.read_text().replace("name: OrderLineItem", "name: LineItem")
    renamed = renamed.replace("conformant_table: order_line_items", "conformant_table: line_items")
    line_item.unlink()
    (entities / "lineitem.yaml").write_text(renamed)
    dashboard = (entities / "dashboard.yaml").read_text().replace("name: OrderLineItem", "name: LineItem")
    (entities / "dashboard.yaml").write_text(dashboard)
    # Remove: Customer.
    (entities / "customer.yaml").unlink()
    (entities / "dashboard.yaml").write_text(
        (entities / "dashboard.yaml")
        .read_text()
        .replace("    - name: Customer\n      event_types: [insert, update]\n", "")
    )
    commit_all(project, "entity changes")

    update(project)

    model = _entities(project)
    assert sorted(model) == ["LineItem", "Order", "Product", "Supplier"]
    assert "discount_code" in [column["name"] for column in model["Order"]["columns"]]
    assert model["LineItem"]["table"] == "line_items"
    assert sorted(_snapshot_names(project)) == sorted(model)
    for dialect in ("postgresql", "mysql", "mariadb", "sqlite"):
        triggers = (project / "migrations" / dialect / "002_triggers.sql").read_text()
        assert '"discount_code"' in triggers or "`discount_code`" in triggers
        assert "suppliers" in triggers and "line_items" in triggers
        assert "customers" not in triggers and "order_line_items" not in triggers
    # Hand edits survive, and nothing is left half-merged.
    assert readme.read_text().endswith(HAND_EDIT)
    assert "Supplier" in readme.read_text() and "Customer" not in readme.read_text()
    assert (project / "notes.txt").read_text() == "ours\n"
    assert not list(project.rglob("*.rej"))
    assert "<<<<<<<" not in readme.read_text()

    # A second update with nothing changed leaves the tree clean.
    commit_all(project, "after update")
    update(project)
    assert is_clean(project), git(project, "status", "--porcelain")


def test_files_of_removed_entities_are_deleted(template_repo: Path, tmp_path: Path) -> None:
    """Per-entity files (one per entity, via Copier's `yield`) disappear with their entity."""
    destination = tmp_path / "dashboard"
    shutil.copytree(TPCH, destination / "entities")
    project = generate(template_repo, destination, "entities")
    per_entity = project / "docs" / "entities"
    assert sorted(path.name for path in per_entity.iterdir()) == [
        "Customer.md",
        "Order.md",
        "OrderLineItem.md",
        "Product.md",
    ]
    # Even a hand-edited one goes, since its entity is gone.
    (per_entity / "Customer.md").write_text((per_entity / "Customer.md").read_text() + "edited\n")
    (project / "entities" / "customer.yaml").unlink()
    dashboard = project / "entities" / "dashboard.yaml"
    dashboard.write_text(
        dashboard.read_text().replace("    - name: Customer\n      event_types: [insert, update]\n", "")
    )
    commit_all(project, "remove Customer")
    update(project)
    assert sorted(path.name for path in per_entity.iterdir()) == ["Order.md", "OrderLineItem.md", "Product.md"]


def test_update_with_broken_yaml_stops_with_one_line_and_changes_nothing(project: Path) -> None:
    (project / "entities" / "order.yaml").write_text("entity:\n  name: Order\n  fields: [\n")
    commit_all(project, "broken")
    result = copier_cli("update", "--defaults", "--trust", cwd=project)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "order.yaml: invalid YAML at line 4" in result.stderr
    assert is_clean(project), git(project, "status", "--porcelain")
    assert "orders" in (project / "migrations" / "sqlite" / "002_triggers.sql").read_text()


def test_command_line_update_refreshes_the_snapshot(project: Path) -> None:
    (project / "entities" / "dashboard.yaml").write_text("dashboard:\n  include_reference: false\n")
    commit_all(project, "hide reference entities")
    result = copier_cli("update", "--defaults", "--trust", cwd=project)
    assert result.returncode == 0, result.stderr
    assert sorted(_entities(project)) == ["Order", "OrderLineItem"]
