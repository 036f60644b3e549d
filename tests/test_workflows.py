"""The generated project's GitHub workflows, run for real: their `run:` steps in order with bash.

`origin` is a local bare repository, the checkout a clone of it (what actions/checkout does with
fetch-depth 0), `gh` a script on PATH that records its calls (GitHub is not reachable), and the
tools setup-python and `pip install` would provide are this test run's virtualenv. The install
steps really run, with the package index switched off (``PIP_NO_INDEX``): they pass because the
virtualenv already holds the pinned versions, and would fail rather than download otherwise.
ci.yml's database service container is stood in for by a database on the test server.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.databases import temporary_database
from tests.support.paths import TPCH
from tests.support.projects import generate, update
from tests.support.template_repo import commit_all, git
from tests.support.workflow_runner import JobRun, WorkflowError, load_job, run_job, runner_environment, substitute

VENV_BIN = Path(sys.executable).parent
RUN_ID = "4242"
BRANCH = f"regenerate/{RUN_ID}-1"
EXPRESSIONS = {
    "github.token": "test-token",
    "github.run_id": RUN_ID,
    "github.run_attempt": "1",
    "github.ref_name": "main",
    "github.server_url": "https://github.com",
    "github.repository": "example/tpch-dashboard",
}
OFFLINE = {"PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}

GH_RECORDER = """#!{python}
# Stands in for the GitHub CLI: records each call (and the body file's text), prints a PR URL.
import json, os, sys
args = sys.argv[1:]
body = None
if "--body-file" in args:
    with open(args[args.index("--body-file") + 1]) as f:
        body = f.read()
with open({record!r}, "a") as f:
    f.write(json.dumps({{"args": args, "body": body, "GH_TOKEN": os.environ.get("GH_TOKEN")}}) + "\\n")
print("https://github.com/example/tpch-dashboard/pull/1")
"""


class GitHub:
    """A generated project on a local `origin`, a recording `gh`, and runs of its workflows."""

    def __init__(self, project: Path, folder: Path):
        self.folder = folder
        self.origin = folder / "origin.git"
        git(folder, "clone", "-q", "--bare", str(project), str(self.origin))
        bin_dir = folder / "gh-bin"
        bin_dir.mkdir()
        self.record = folder / "gh-calls.jsonl"
        gh = bin_dir / "gh"
        gh.write_text(GH_RECORDER.format(python=sys.executable, record=str(self.record)))
        gh.chmod(0o755)
        self.env = runner_environment([bin_dir, VENV_BIN], OFFLINE)
        self.runs = 0

    def clone(self, name: str) -> Path:
        """A working clone of origin's main (a developer's, or the runner's checkout)."""
        target = self.folder / name
        git(self.folder, "clone", "-q", str(self.origin), str(target))
        return target

    def branches(self) -> set[str]:
        return set(git(self.origin, "for-each-ref", "--format=%(refname:short)", "refs/heads").split())

    def gh_calls(self) -> list[dict[str, Any]]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines()]

    def run(self, workflow: str, job: str, **options: Any) -> tuple[Path, JobRun]:
        """A fresh checkout of origin's main, then the job's steps in it."""
        self.runs += 1
        workspace = self.clone(f"workspace-{self.runs}")
        path = workspace / ".github" / "workflows" / workflow
        return workspace, run_job(path, job, workspace, EXPRESSIONS, self.env, **options)


@pytest.fixture
def github(template_repo: Path, tmp_path: Path) -> GitHub:
    """A TPC-H project whose entity YAML lives in its own `entities/` folder, on a local origin."""
    project = tmp_path / "generated"
    shutil.copytree(TPCH, project / "entities")
    generate(template_repo, project, "entities")
    return GitHub(project, tmp_path)


def _push(github: GitHub, edits: list[tuple[str, str, str]], message: str) -> Path:
    """A developer's commit on main, pushed: in each file, the first ``old`` text replaced by ``new``."""
    dev = github.clone("dev")
    for name, old, new in edits:
        path = dev / name
        text = path.read_text()
        assert old in text, (name, old)
        path.write_text(text.replace(old, new, 1))
    commit_all(dev, message)
    git(dev, "push", "-q", "origin", "main")
    return dev


ORDER_COMMENT = "      - name: comment\n        type: String\n        nullable: true\n"  # the column (override)
NEW_COLUMN = [  # a field and its column
    (
        "entities/order.yaml",
        "    - name: comment\n      type: String\n      nullable: true\n    # Not a column",
        "    - name: comment\n      type: String\n      nullable: true\n"
        "    - name: discount_code\n      type: String\n      nullable: true\n    # Not a column",
    ),
    (
        "entities/order.yaml",
        ORDER_COMMENT,
        ORDER_COMMENT + "      - name: discount_code\n        type: String\n        nullable: true\n",
    ),
]


def _regenerated_steps(run: JobRun) -> list[str]:
    return [step.name for step in run.steps]


def test_an_entity_change_is_pushed_as_a_branch_and_a_pull_request(github: GitHub) -> None:
    dev = _push(github, NEW_COLUMN, "Orders get a discount code")
    main = git(github.origin, "rev-parse", "main").strip()

    workspace, run = github.run("regenerate.yml", "regenerate")

    assert run.ok, run.output
    assert run.skipped == ["actions/checkout@v4", "actions/setup-python@v5"]
    assert _regenerated_steps(run) == [
        "pip install copier==9.19.1 copier-template-extensions==0.3.4",
        "copier update",
        "Fail on conflicts",
        "Open a pull request",
    ]
    assert github.branches() == {"main", BRANCH}
    assert git(github.origin, "rev-parse", f"{BRANCH}^").strip() == main  # one commit on top of main
    changed = set(git(github.origin, "diff", "--name-only", "main", BRANCH).split())
    assert {".copier-answers.yml", "backend/generated/entities.json", "docs/entities/Order.md"} <= changed
    assert not any(name.startswith("entities/") or name.endswith(".rej") for name in changed), changed
    model = json.loads(git(github.origin, "show", f"{BRANCH}:backend/generated/entities.json"))
    order = next(entity for entity in model["entities"] if entity["name"] == "Order")
    assert "discount_code" in [column["name"] for column in order["columns"]]
    # The branch holds exactly what `copier update` gives on a developer's machine.
    update(dev)
    git(dev, "fetch", "-q", "origin", BRANCH)
    assert git(dev, "diff", "--stat", "FETCH_HEAD") == ""

    [call] = github.gh_calls()
    args = call["args"]
    assert args[:2] == ["pr", "create"]
    options = dict(zip(args[2::2], args[3::2], strict=True))
    assert options["--base"] == "main" and options["--head"] == BRANCH
    source = git(dev, "rev-parse", "--short", "main").strip()
    assert options["--title"] == f"Regenerate the dashboard from the entity YAML at {source}"
    body = call["body"]
    assert f"at {source} (https://github.com/example/tpch-dashboard/actions/runs/{RUN_ID})" in body
    assert "Entity files changed since the last regeneration:\n- entities/order.yaml\n" in body
    assert "backend/generated/entities.json" in body and "docs/entities/Order.md" in body
    assert "python -m backend.migrate" in body
    assert call["GH_TOKEN"] == "test-token"
    assert git(workspace, "status", "--porcelain") == ""


def test_a_conflicting_hand_edit_fails_and_names_the_file(github: GitHub) -> None:
    row = "| `comment` | string | yes |  |  |"
    _push(
        github,
        [
            ("entities/order.yaml", ORDER_COMMENT, ORDER_COMMENT + "        doc: Free text from the clerk\n"),
            ("docs/entities/Order.md", row, "| `comment` | string | yes |  | Notes typed by the clerk |"),
        ],
        "Document the order comment, in the YAML and by hand",
    )

    _, run = github.run("regenerate.yml", "regenerate")

    assert not run.ok
    failed = run.steps[-1]
    assert failed.name == "Fail on conflicts" and failed.returncode == 1, run.output
    listed = failed.output.split("could not merge your edits into these files:\n", 1)[1].split("\nRun ", 1)[0]
    assert listed == "docs/entities/Order.md"
    assert "+| `comment` | string | yes |  | Notes typed by the clerk |" in failed.output  # the rejected hunk
    assert github.branches() == {"main"}
    assert github.gh_calls() == []


def test_nothing_changed_does_nothing(github: GitHub) -> None:
    main = git(github.origin, "rev-parse", "main").strip()

    workspace, run = github.run("regenerate.yml", "regenerate")

    assert run.ok, run.output
    assert "Nothing to regenerate" in run.steps[-1].output
    assert github.branches() == {"main"}
    assert git(github.origin, "rev-parse", "main").strip() == main
    assert github.gh_calls() == []
    assert git(workspace, "status", "--porcelain") == ""


@pytest.fixture(params=("postgresql", "mysql", "mariadb", "sqlite"))  # mysql: on the MariaDB test server
def ci_project(request: pytest.FixtureRequest, template_repo: Path, tmp_path: Path) -> Iterator[tuple[str, GitHub]]:
    dialect = str(request.param)
    project = generate(template_repo, tmp_path / "generated", TPCH, database=dialect)
    yield dialect, GitHub(project, tmp_path)


def test_the_ci_backend_job_passes_against_a_real_database(ci_project: tuple[str, GitHub], tmp_path: Path) -> None:
    dialect, github = ci_project
    workflow = github.clone("peek") / ".github" / "workflows" / "ci.yml"
    _, job = load_job(workflow, "backend")
    job_url = urlsplit(job["env"]["DATABASE_URL"])
    with temporary_database(dialect, tmp_path) as db:
        if dialect == "sqlite":
            services, overrides = frozenset[str](), {}
            header = "test database: a temporary SQLite file"
        else:
            # The service container publishes the database's port on the runner; the test server stands in.
            [published] = job["services"]["db"]["ports"]
            service = (dialect, "127.0.0.1", published.split(":")[0])
            assert (job_url.scheme, job_url.hostname, str(job_url.port)) == service
            services, overrides = frozenset({"db"}), {"DATABASE_URL": db.url}
            header = f"test database: {dialect}://{db.server.user}@{db.server.host}:{db.server.port}/dashboard_test_"

        _, run = github.run("ci.yml", "backend", services=services, env_overrides=overrides, step_timeout=300)

    assert run.ok, run.output
    assert _regenerated_steps(run) == [
        "pip install -r requirements-dev.txt",
        "ruff check . && ruff format --check .",
        "mypy",
        "python -m pytest",
    ]
    tests = run.steps[-1].output
    assert header in tests, tests
    assert " passed" in tests and " failed" not in tests and " skipped" not in tests, tests


def test_the_runner_refuses_what_it_does_not_emulate(tmp_path: Path) -> None:
    values = {"github.run_id": "1"}
    assert substitute("id ${{ github.run_id }}/${{github.run_id}}", values, "here") == "id 1/1"
    with pytest.raises(WorkflowError, match=r"here: no test value for the expression \$\{\{ github.event.before \}\}"):
        substitute("${{ github.event.before }}", values, "here")
    with pytest.raises(WorkflowError, match="unterminated"):
        substitute("${{ github.run_id", values, "here")
    workflow = tmp_path / "w.yml"
    workflow.write_text("jobs:\n  j:\n    runs-on: x\n    steps:\n      - run: echo hi\n        if: always()\n")
    with pytest.raises(WorkflowError, match=r"step 1 \(echo hi\): keys not emulated: if"):
        run_job(workflow, "j", tmp_path, values, {})
    workflow.write_text("jobs:\n  j:\n    runs-on: x\n    services:\n      db:\n        image: y\n    steps: []\n")
    with pytest.raises(WorkflowError, match="services nobody stands in for: db"):
        run_job(workflow, "j", tmp_path, values, {})
    workflow.write_text("jobs:\n  j:\n    runs-on: x\n    steps:\n      - run: echo A=1 >> $GITHUB_ENV\n")
    with pytest.raises(WorkflowError, match=r"writes \$GITHUB_ENV"):
        run_job(workflow, "j", tmp_path, values, {"PATH": "/usr/bin:/bin"})
    workflow.write_text("jobs:\n  j:\n    runs-on: x\n    steps:\n      - run: exit 3\n      - run: echo never\n")
    run = run_job(workflow, "j", tmp_path, values, {"PATH": "/usr/bin:/bin"})
    assert [(step.name, step.returncode) for step in run.steps] == [("exit 3", 3)]
