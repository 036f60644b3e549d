from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import servers, shared
from tests.support.databases import DIALECTS, TestDatabase, temporary_database
from tests.support.frontend import install_and_build
from tests.support.paths import LOOSE_TYPES, SHOWCASE, TEMPLATE_BACKEND_PARENT, TPCH
from tests.support.projects import generate, run_in_project
from tests.support.template_repo import snapshot_template

# The generated backend's plain modules are unit-tested straight from template/.
sys.path.insert(0, str(TEMPLATE_BACKEND_PARENT))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say when the run used throwaway database servers (started because none answered, or TEST_DATABASES)."""
    for server in servers.running():
        terminalreporter.write_line(f"database server: {server.describe()}, deleted at exit")


# Under `pytest -n 2 --dist loadgroup` (make test) each test file runs whole in one worker, so its
# module fixtures (projects, servers, migrated databases) are made once. Files that watch
# server-wide state another file changes share a worker: the generated project's own test run
# creates and drops `dashboard_test_*` databases, which test_generated_project_tests.py counts.
SAME_WORKER = {"test_workflows.py": "test_generated_project_tests.py"}
# Long files without module fixtures (each test makes its own project): spread test by test, so
# that one of them does not end the run alone in one worker.
SPREAD = {"test_copier_update.py"}


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups into the test ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        if item.get_closest_marker("xdist_group") is None and item.path.name not in SPREAD:
            item.add_marker(pytest.mark.xdist_group(SAME_WORKER.get(item.path.name, item.path.name)))


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop and delete the throwaway database servers; pytest calls this after Ctrl-C too."""
    servers.stop_all()


@pytest.fixture(scope="session", autouse=True)
def shared_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder all processes of this run share (under xdist, the workers' common parent)."""
    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "shared"
    shared.set_folder(folder)
    return folder


@pytest.fixture(scope="session")
def template_repo(shared_folder: Path) -> Path:
    """One snapshot per run, so that every worker's Copier outputs have the same source (and are shared)."""
    return shared.made_once("template", "snapshot", lambda folder: snapshot_template(folder / "dashboard-template")) / (
        "dashboard-template"
    )


@pytest.fixture(scope="session")
def tpch_project(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(template_repo, tmp_path_factory.mktemp("tpch") / "tpch-dashboard", TPCH)


@pytest.fixture(scope="session")
def built_frontend(tpch_project: Path) -> Path:
    """The TPC-H project's frontend, installed and built once (shared by the browser tests)."""
    frontend = tpch_project / "frontend"
    install_and_build(frontend)
    return frontend


@pytest.fixture(scope="session")
def showcase_project(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(
        template_repo, tmp_path_factory.mktemp("showcase") / "showcase-dashboard", SHOWCASE, database="postgresql"
    )


@pytest.fixture(scope="session")
def loose_project(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One entity with every model type, for tables whose columns are looser than the model."""
    return generate(template_repo, tmp_path_factory.mktemp("loose") / "loose-dashboard", LOOSE_TYPES)


@pytest.fixture(params=("postgresql", "mariadb", "sqlite"))
def stream_db(request: pytest.FixtureRequest, tmp_path: Path, tpch_project: Path) -> Iterator[TestDatabase]:
    """A fresh database with the example's tables and change capture, on each real server."""
    with temporary_database(request.param, tmp_path) as db:
        result = run_in_project(
            tpch_project, "-m", "backend.migrate", "--create-entity-tables", env={"DATABASE_URL": db.url}
        )
        assert result.returncode == 0, result.stderr
        yield db


@pytest.fixture(params=DIALECTS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestDatabase]:
    """A fresh database for each dialect; ``mysql`` and ``mariadb`` both run on the MariaDB server."""
    with temporary_database(request.param, tmp_path) as db:
        yield db


@pytest.fixture
def sqlite_db(tmp_path: Path, tpch_project: Path) -> Iterator[TestDatabase]:
    """A SQLite file with the example's tables and change capture (the quickest real database)."""
    with temporary_database("sqlite", tmp_path) as db:
        result = run_in_project(
            tpch_project, "-m", "backend.migrate", "--create-entity-tables", env={"DATABASE_URL": db.url}
        )
        assert result.returncode == 0, result.stderr
        yield db


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """A built frontend: page, bundle and source map (the backend serves whatever is there)."""
    folder = tmp_path / "dist"
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_text('<!doctype html><title>dashboard</title><script src="/assets/app.js"></script>')
    (folder / "assets" / "app.js").write_text("console.log('bundle');\n//# sourceMappingURL=app.js.map\n")
    (folder / "assets" / "app.js.map").write_text('{"version":3,"sources":["App.tsx"],"mappings":""}')
    return folder
