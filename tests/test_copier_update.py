"""`copier update` follows the entity YAML and keeps the user's own edits.

The generated project points at an entities folder inside itself (the usual
layout); the test edits, adds, renames and removes entity files, commits, and
updates, as a user would.
"""

from __future__ import annotations

import json
import re
import shutil
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from copier import run_copy

from tests.support.backend_server import BackendServer
from tests.support.databases import temporary_database
from tests.support.frontend import browser_page, install_and_build, node_tool
from tests.support.paths import TPCH
from tests.support.projects import copier_cli, generate, run_in_project, update
from tests.support.template_repo import commit_all, git, is_clean, snapshot_template


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


def _add_discount_code(order: Path) -> None:
    """A new column on Order: a field and its override."""
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
    assert text.count("discount_code") == 2
    order.write_text(text)


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
    _add_discount_code(entities / "order.yaml")
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


# --- dashboard.yaml keys follow updates; explicit answers win --------------------------------


def _settings(project: Path) -> dict[str, Any]:
    settings: dict[str, Any] = json.loads((project / "backend" / "generated" / "entities.json").read_text())["settings"]
    return settings


def _answers(project: Path) -> dict[str, Any]:
    answers: dict[str, Any] = yaml.safe_load((project / ".copier-answers.yml").read_text())
    return answers


def _edit_dashboard(project: Path, old: str, new: str) -> None:
    dashboard = project / "entities" / "dashboard.yaml"
    text = dashboard.read_text()
    assert old in text
    dashboard.write_text(text.replace(old, new))


def test_dashboard_yaml_changes_follow_update(template_repo: Path, tmp_path: Path) -> None:
    destination = tmp_path / "dashboard"
    shutil.copytree(TPCH, destination / "entities")
    # No database answer: both questions take dashboard.yaml's value.
    project = generate(template_repo, destination, "entities", database="")
    assert (_settings(project)["poll_interval_ms"], _settings(project)["database"]) == (500, "postgresql")
    assert (_answers(project)["poll_interval_ms"], _answers(project)["database"]) == ("", "")

    _edit_dashboard(project, "interval_ms: 500", "interval_ms: 250")
    _edit_dashboard(project, "backend: 8000", "backend: 8100")
    _edit_dashboard(project, "  # database:\n  #   type: postgresql", "  database:\n    type: mariadb")
    commit_all(project, "dashboard.yaml: faster polling, another port, MariaDB")
    update(project)

    settings = _settings(project)
    assert (settings["poll_interval_ms"], settings["database"]) == (250, "mariadb")
    readme = (project / "README.md").read_text()
    assert "| `POLL_INTERVAL_MS` | 250 |" in readme
    assert "--port 8100" in readme
    assert "mariadb" in (project / "docker-compose.yml").read_text()
    assert "follow\n`database.type` and `polling.interval_ms` in `dashboard.yaml` on every update" in readme
    # The answers stay empty, so the next change of dashboard.yaml follows too.
    assert (_answers(project)["poll_interval_ms"], _answers(project)["database"]) == ("", "")


def test_explicit_answer_wins_until_cleared(project: Path) -> None:
    # `project` was generated with --data database=sqlite (explicit).
    _edit_dashboard(project, "interval_ms: 500", "interval_ms: 250")
    _edit_dashboard(project, "  # database:\n  #   type: postgresql", "  database:\n    type: mariadb")
    commit_all(project, "dashboard.yaml changes")
    update(project, poll_interval_ms="200")
    settings = _settings(project)
    assert (settings["poll_interval_ms"], settings["database"]) == (200, "sqlite")
    readme = (project / "README.md").read_text()
    assert "| `database` | `sqlite` | `database.type` |" in readme
    assert "| `poll_interval_ms` | `200` | `polling.interval_ms` |" in readme
    assert (_answers(project)["poll_interval_ms"], _answers(project)["database"]) == ("200", "sqlite")

    # A later update keeps the explicit answer over dashboard.yaml.
    commit_all(project, "updated")
    _edit_dashboard(project, "interval_ms: 250", "interval_ms: 300")
    commit_all(project, "slower")
    update(project)
    assert _settings(project)["poll_interval_ms"] == 200

    # An empty answer on the command line follows dashboard.yaml again.
    commit_all(project, "updated again")
    result = copier_cli("update", "--defaults", "--trust", "--data", "poll_interval_ms=", cwd=project)
    assert result.returncode == 0, result.stderr
    assert _settings(project)["poll_interval_ms"] == 300
    assert _answers(project)["poll_interval_ms"] == ""


def _old_template(tmp_path: Path) -> tuple[Path, str]:
    """A template repo whose first commit records answers the way it did before `answers_format`."""
    repo = snapshot_template(tmp_path / "dashboard-template")
    copier_yml = repo / "copier.yml"
    current = copier_yml.read_text()
    old = current.replace(
        '  default: ""\n  validator: "{{ database',
        '  default: "{{ entities_snapshot.settings.database or \'postgresql\' }}"\n  validator: "{{ database',
    ).replace(
        '  default: ""\n  validator: "{{ poll_interval_ms',
        '  default: "{{ entities_snapshot.settings.poll_interval_ms }}"\n  validator: "{{ poll_interval_ms',
    )
    start = old.index("answers_format:")
    old = old[:start] + old[old.index("answers_check:") :]
    assert old.count("entities_snapshot.settings") == 4  # two help texts, two defaults
    copier_yml.write_text(old)
    commit_all(repo, "old answers")
    old_commit = git(repo, "rev-parse", "HEAD").strip()
    copier_yml.write_text(current)
    commit_all(repo, "answers follow dashboard.yaml")
    return repo, old_commit


@pytest.mark.parametrize(("poll_answer", "after_update"), [(None, 250), ("200", 200)])
def test_old_projects_answers_keep_working(tmp_path: Path, poll_answer: str | None, after_update: int) -> None:
    """A project generated before recorded dashboard.yaml's value as its answer: it follows dashboard.yaml from
    the next update on, while an answer that differed from dashboard.yaml was explicit and stays."""
    repo, old_commit = _old_template(tmp_path)
    project = tmp_path / "dashboard"
    shutil.copytree(TPCH, project / "entities")
    data = {"entities_dir": "entities", "database": "sqlite"}
    if poll_answer is not None:
        data["poll_interval_ms"] = poll_answer
    run_copy(str(repo), str(project), data=data, defaults=True, unsafe=True, vcs_ref=old_commit, quiet=True)
    git(project, "init", "-q", "-b", "main")
    commit_all(project, "generated by the old template")
    assert "answers_format" not in _answers(project)
    assert _answers(project)["poll_interval_ms"] == (poll_answer or "500")

    _edit_dashboard(project, "interval_ms: 500", "interval_ms: 250")
    commit_all(project, "faster polling")
    update(project)

    assert _settings(project)["poll_interval_ms"] == after_update
    assert _settings(project)["database"] == "sqlite"  # differed from dashboard.yaml's: explicit
    answers = _answers(project)
    assert (answers["answers_format"], answers["poll_interval_ms"]) == (2, poll_answer or "")
    assert not list(project.rglob("*.rej"))
    assert "<<<<<<<" not in (project / "README.md").read_text()


# --- the generated update command: conflicts and a lost template -------------------------------


ORDER_ROW = "| 📦 Order | `orders` |"


def _hand_edit_order_row_then_change_its_icon(project: Path) -> None:
    readme = project / "README.md"
    assert ORDER_ROW in readme.read_text()
    readme.write_text(readme.read_text().replace(ORDER_ROW, "| 📦 Order (our main table) | `orders` |"))
    commit_all(project, "hand edit of the Order row")
    _edit_dashboard(project, 'icon: "📦"', 'icon: "🧾"')
    commit_all(project, "a new icon for Order")


def test_update_command_succeeds_and_names_the_next_steps(project: Path) -> None:
    _edit_dashboard(project, "interval_ms: 500", "interval_ms: 250")
    commit_all(project, "faster polling")
    result = run_in_project(project, "scripts/update.py")
    assert result.returncode == 0, result.stderr
    assert "rebuild the frontend" in result.stdout and "python -m backend.migrate" in result.stdout
    assert _settings(project)["poll_interval_ms"] == 250
    commit_all(project, "updated")
    again = run_in_project(project, "scripts/update.py")
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1] == (
        "update: done; nothing changed (the project already matches the template and the YAML)"
    )


@pytest.mark.parametrize(
    ("arguments", "listed"),
    [((), "README.md (conflict markers)"), (("--conflict", "rej"), "README.md.rej (rejected changes of README.md)")],
)
def test_update_command_fails_and_lists_conflicts(project: Path, arguments: tuple[str, ...], listed: str) -> None:
    _hand_edit_order_row_then_change_its_icon(project)
    result = run_in_project(project, "scripts/update.py", *arguments)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "update: copier update left conflicts in 1 file(s); resolve them, then commit:" in result.stderr
    assert f"\n  {listed}\n" in result.stderr
    assert "Traceback" not in result.stderr


def test_update_command_never_moves_a_hand_edit_to_another_entitys_identical_block(project: Path) -> None:
    """Customer's and Order's `comment` columns render identically: with Copier's default of 3
    context lines an edit of Order's was re-applied to Customer's without a conflict."""
    model_file = project / "backend" / "generated" / "entities.json"
    text = model_file.read_text()
    order_at = text.index('"name": "Order"')
    comment_at = text.index('"name": "comment"', order_at)
    doc_at = text.index('"doc": ""', comment_at)
    model_file.write_text(text[:doc_at] + '"doc": "Typed by the clerk"' + text[doc_at + len('"doc": ""') :])
    commit_all(project, "hand-written doc of Order.comment")
    order_yaml = project / "entities" / "order.yaml"
    order_yaml.write_text(
        order_yaml.read_text().replace(
            "      - name: comment\n        type: String\n        nullable: true\n",
            "      - name: comment\n        type: String\n        nullable: true\n        doc: Free text\n",
        )
    )
    commit_all(project, "the YAML documents Order.comment")

    result = run_in_project(project, "scripts/update.py")

    entities = _entities(project) if result.returncode == 0 else {}
    customer_docs = [line for line in model_file.read_text().splitlines() if "Typed by the clerk" in line]
    if result.returncode == 0:
        order_comment = next(c for c in entities["Order"]["columns"] if c["name"] == "comment")
        customer_comment = next(c for c in entities["Customer"]["columns"] if c["name"] == "comment")
        assert customer_comment["doc"] == "", "the hand edit landed on Customer"
        assert order_comment["doc"] in ("Typed by the clerk", "Free text")
    else:
        assert result.returncode == 1, result.stderr
        assert "backend/generated/entities.json" in result.stderr
        assert len(customer_docs) <= 2  # ours and theirs in the conflict, nowhere else


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("../no-such-template", "the template '../no-such-template' recorded in .copier-answers.yml is not found"),
        (".", "is not a Copier template"),
    ],
)
def test_update_command_with_a_lost_relative_template_says_so_in_one_line(
    project: Path, source: str, message: str
) -> None:
    answers = project / ".copier-answers.yml"
    text = answers.read_text()
    recorded = _answers(project)["_src_path"]
    answers.write_text(text.replace(f"_src_path: {recorded}\n", f"_src_path: {source}\n"))
    assert _answers(project)["_src_path"] == source
    commit_all(project, "a relative template path")
    result = run_in_project(project, "scripts/update.py")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert result.stderr.startswith("update: ") and "set _src_path" in result.stderr
    assert is_clean(project)


# --- stale frontend: the backend serves the hash of the sources the page compares -----------


def _model_version(project: Path) -> str:
    version = json.loads((project / "backend" / "generated" / "entities.json").read_text())["model_version"]
    assert re.fullmatch(r"[0-9a-f]{16}", version), version
    return str(version)


def _frontend_sources(project: Path) -> dict[str, str]:
    frontend = project / "frontend"
    return {str(path.relative_to(frontend)): path.read_text() for path in sorted((frontend / "src").rglob("*.ts*"))}


def test_backend_serves_the_model_version_and_a_build_hint_before_the_first_build(
    project: Path, tmp_path: Path
) -> None:
    model_before, sources_before = _model_version(project), _frontend_sources(project)
    # A new column: the model changes, the page's sources do not (it reads the model at run time).
    _add_discount_code(project / "entities" / "order.yaml")
    commit_all(project, "a new column")
    update(project)
    served_by_generated = _model_version(project)
    assert served_by_generated != model_before
    assert _frontend_sources(project) == sources_before

    with temporary_database("sqlite", tmp_path) as db:
        migrated = run_in_project(project, "-m", "backend.migrate", "--create-entity-tables",
                                  env={"DATABASE_URL": db.url})  # fmt: skip
        assert migrated.returncode == 0, migrated.stderr
        with BackendServer(project, db.url) as server:
            with urllib.request.urlopen(server.http + "/api/entities", timeout=10) as response:
                body = json.load(response)
            assert body["model_version"] == served_by_generated
            assert re.fullmatch(r"[0-9a-f]{16}", body["frontend_version"]), body
            # Never built: `/` says how to build it (503: not the dashboard yet), other paths stay 404.
            with pytest.raises(urllib.error.HTTPError) as not_built:
                urllib.request.urlopen(server.http + "/", timeout=10)
            page = not_built.value.read().decode()
            assert not_built.value.code == 503
            assert not_built.value.headers["Content-Type"].startswith("text/html")
            assert "npm ci" in page and "npm run build" in page and "not built yet" in page
            assert server.status("/assets/app.js") == 404
            # Built while the backend runs: served at once, no restart.
            dist = project / "frontend" / "dist"
            (dist / "assets").mkdir(parents=True)
            (dist / "index.html").write_text("<!doctype html><title>the dashboard</title>")
            with urllib.request.urlopen(server.http + "/", timeout=10) as response:
                assert response.status == 200 and "the dashboard" in response.read().decode()


def test_build_hint_stays_behind_the_token(project: Path, tmp_path: Path) -> None:
    with temporary_database("sqlite", tmp_path) as db:
        migrated = run_in_project(project, "-m", "backend.migrate", "--create-entity-tables",
                                  env={"DATABASE_URL": db.url})  # fmt: skip
        assert migrated.returncode == 0, migrated.stderr
        token = "a-long-enough-test-token"
        with BackendServer(project, db.url, AUTH_TOKEN=token) as server:
            request = urllib.request.Request(server.http + "/", headers={"Accept": "application/json"})
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=10)
            assert refused.value.code == 401
            assert "npm" not in refused.value.read().decode()
            signed_in = urllib.request.Request(server.http + "/", headers={"Authorization": f"Bearer {token}"})
            with pytest.raises(urllib.error.HTTPError) as not_built:
                urllib.request.urlopen(signed_in, timeout=10)
            assert not_built.value.code == 503 and "npm run build" in not_built.value.read().decode()


def test_page_says_to_rebuild_only_when_its_own_sources_changed(project: Path, tmp_path: Path) -> None:
    """The whole cycle in Chromium: build, update for a new column (no rebuild needed: the page shows it),
    then a change to the page's own code (as a template update brings): the old page says it is stale."""
    frontend = project / "frontend"
    install_and_build(frontend)
    _add_discount_code(project / "entities" / "order.yaml")
    commit_all(project, "a new column")
    assert run_in_project(project, "scripts/update.py").returncode == 0

    with temporary_database("sqlite", tmp_path) as db:
        migrated = run_in_project(project, "-m", "backend.migrate", "--create-entity-tables",
                                  env={"DATABASE_URL": db.url})  # fmt: skip
        assert migrated.returncode == 0, migrated.stderr
        with BackendServer(project, db.url) as server, browser_page() as page:
            page.goto(server.http + "/")
            page.get_by_test_id("connection-status").filter(has_text="Live").wait_for(timeout=10_000)
            # The build's hash (Node) equals the backend's of the same files (Python): no false alarm,
            # and the new column is there without a rebuild.
            assert page.get_by_test_id("stale-build").count() == 0
            entities = page.evaluate("() => fetch('/api/entities').then((r) => r.json())")
            order = next(entity for entity in entities["entities"] if entity["name"] == "Order")
            assert "discount_code" in [column["name"] for column in order["columns"]]

            main = frontend / "src" / "main.tsx"
            main.write_text(main.read_text() + "// a change to the page's own code\n")
            page.reload()
            banner = page.get_by_test_id("stale-build")
            banner.wait_for(timeout=10_000)
            assert "This page was built from older frontend sources - rebuild the frontend" in banner.inner_text()
            assert "npm run build" in banner.inner_text()
            # The rows still show: the banner explains, it does not replace the page.
            page.get_by_test_id("table-Order").wait_for(timeout=10_000)

            rebuilt = node_tool(frontend, "vite/bin/vite.js", "build")
            assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
            page.reload()
            page.get_by_test_id("connection-status").filter(has_text="Live").wait_for(timeout=10_000)
            assert page.get_by_test_id("stale-build").count() == 0
