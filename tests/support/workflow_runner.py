"""Runs a GitHub Actions job's ``run:`` steps locally, the way the hosted runner would.

Each ``run:`` step is a script run by ``bash --noprofile --norc -eo pipefail`` (the runner's
default shell) from the workspace (or the step's / job default's ``working-directory``), with
the workflow, job and step ``env:`` merged in that order and every ``${{ ... }}`` replaced by a
test value. ``uses:`` steps (checkout, setup-python, ...) are not run: the caller prepares the
workspace as they would. Anything this emulation does not cover (an unknown expression, ``if:``,
``continue-on-error``, a shell other than bash, job services the caller does not stand in for,
a step writing to ``$GITHUB_ENV``/``$GITHUB_OUTPUT``/``$GITHUB_PATH``) fails the test loudly
rather than being silently ignored.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
STEP_KEYS = {"name", "run", "uses", "with", "env", "working-directory", "shell"}
JOB_KEYS = {"runs-on", "steps", "env", "services", "defaults", "permissions", "timeout-minutes"}
RUNNER_FILES = ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_PATH", "GITHUB_STEP_SUMMARY")


class WorkflowError(Exception):
    """The workflow uses something this emulation does not cover."""


def substitute(text: str, values: Mapping[str, str], where: str) -> str:
    """``text`` with each ``${{ expression }}`` replaced by ``values[expression]``; unknown ones are an error."""

    def value(match: re.Match[str]) -> str:
        expression = match.group(1).strip()
        if expression not in values:
            raise WorkflowError(f"{where}: no test value for the expression ${{{{ {expression} }}}}")
        return values[expression]

    result = EXPRESSION.sub(value, text)
    if "${{" in result:
        raise WorkflowError(f"{where}: an unterminated ${{{{ expression")
    return result


@dataclass
class StepRun:
    name: str
    returncode: int
    output: str


@dataclass
class JobRun:
    steps: list[StepRun] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # the `uses:` actions, emulated by the caller

    @property
    def ok(self) -> bool:
        return all(step.returncode == 0 for step in self.steps)

    @property
    def output(self) -> str:
        return "".join(f"--- {step.name} (exit {step.returncode})\n{step.output}" for step in self.steps)


def load_job(workflow: Path, job: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The workflow document and its job ``job``."""
    document = yaml.safe_load(workflow.read_text())
    jobs = document.get("jobs", {})
    if job not in jobs:
        raise WorkflowError(f"{workflow.name}: no job {job!r} (jobs: {', '.join(jobs)})")
    return document, jobs[job]


def run_job(
    workflow: Path,
    job: str,
    workspace: Path,
    expressions: Mapping[str, str],
    base_env: Mapping[str, str],
    *,
    services: frozenset[str] = frozenset(),
    env_overrides: Mapping[str, str] | None = None,
    step_timeout: float = 120,
) -> JobRun:
    """Run ``job``'s steps in order until one fails.

    ``base_env`` stands for the runner machine's environment (PATH with the tools the
    setup actions would install); ``services`` names the job services the caller provides
    (a test database for a service container); ``env_overrides`` replaces job ``env:``
    values that point at those services.
    """
    document, spec = load_job(workflow, job)
    unknown = set(spec) - JOB_KEYS
    if unknown:
        raise WorkflowError(f"{workflow.name} job {job}: keys not emulated: {', '.join(sorted(unknown))}")
    missing = set(spec.get("services", {})) - services
    if missing:
        raise WorkflowError(f"{workflow.name} job {job}: services nobody stands in for: {', '.join(sorted(missing))}")
    where = f"{workflow.name} job {job}"
    env = {**base_env}
    env.update(_env(document.get("env", {}), expressions, f"{workflow.name} env"))
    env.update(_env(spec.get("env", {}), expressions, f"{where} env"))
    for name, value in (env_overrides or {}).items():
        if name not in env:
            raise WorkflowError(f"{where}: override of {name}, which the job does not set")
        env[name] = value
    defaults = {**document.get("defaults", {}).get("run", {}), **spec.get("defaults", {}).get("run", {})}
    runner_temp = workspace.parent / f"{workspace.name}-runner"
    runner_temp.mkdir(exist_ok=True)
    env |= {"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(workspace), "RUNNER_TEMP": str(runner_temp)}
    run = JobRun()
    for index, step in enumerate(spec.get("steps", []), start=1):
        name = substitute(str(step.get("name", step.get("run", step.get("uses", "")))), expressions, where)
        label = f"{where} step {index} ({name.splitlines()[0]})"
        unknown = set(step) - STEP_KEYS
        if unknown:
            raise WorkflowError(f"{label}: keys not emulated: {', '.join(sorted(unknown))}")
        if "uses" in step:
            run.skipped.append(str(step["uses"]))
            continue
        if step.get("shell", defaults.get("shell", "bash")) != "bash":
            raise WorkflowError(f"{label}: only the bash shell is emulated")
        folder = str(step.get("working-directory", defaults.get("working-directory", ".")))
        folder = substitute(folder, expressions, label)
        script = runner_temp / f"step-{index}.sh"
        script.write_text(substitute(str(step["run"]), expressions, label))
        files = {name: runner_temp / f"{name.lower()}-{index}" for name in RUNNER_FILES}
        for path in files.values():
            path.write_text("")
        step_env = {**env, **_env(step.get("env", {}), expressions, label), **{k: str(v) for k, v in files.items()}}
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=workspace / folder,
            env=step_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=step_timeout,
            check=False,
        )
        run.steps.append(StepRun(name, result.returncode, result.stdout))
        written = [name for name, path in files.items() if name != "GITHUB_STEP_SUMMARY" and path.read_text()]
        if written:
            raise WorkflowError(f"{label}: writes ${' and $'.join(written)}, which this emulation does not apply")
        if result.returncode != 0:
            break
    return run


def _env(values: Mapping[str, Any], expressions: Mapping[str, str], where: str) -> dict[str, str]:
    return {str(name): substitute(_text(value), expressions, f"{where} {name}") for name, value in values.items()}


def _text(value: Any) -> str:
    """A YAML scalar as the runner passes it (booleans as true/false)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def runner_environment(path_first: list[Path], extra: Mapping[str, str]) -> dict[str, str]:
    """A runner-like environment: this machine's basics, ``path_first`` ahead on PATH, ``extra``; no test settings."""
    keep = ("HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "LOGNAME")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env["PATH"] = os.pathsep.join([*map(str, path_first), os.environ.get("PATH", "/usr/bin:/bin")])
    return {**env, **extra}
