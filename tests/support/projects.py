"""Generating projects with Copier, through its API or its command line."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from copier import run_copy, run_update

from .template_repo import commit_all, git

COPIER = [sys.executable, "-m", "copier"]


def generate(template: Path, destination: Path, entities_dir: Path | str, **answers: Any) -> Path:
    """``copier copy`` of ``template`` into ``destination`` as a committed git repo."""
    data = {"entities_dir": str(entities_dir), "database": "sqlite", **answers}
    run_copy(
        str(template),
        str(destination),
        data=data,
        defaults=True,
        unsafe=True,
        vcs_ref="HEAD",
        quiet=True,
    )
    git(destination, "init", "-q", "-b", "main")
    commit_all(destination, "generated")
    return destination


def update(project: Path, **answers: Any) -> None:
    run_update(
        str(project),
        data=answers,
        defaults=True,
        unsafe=True,
        overwrite=True,
        quiet=True,
        vcs_ref="HEAD",
    )


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def copier_cli(*args: str, cwd: Path | None = None) -> CliResult:
    """Run the ``copier`` command line as a user would."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(
        [*COPIER, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    return CliResult(result.returncode, result.stdout, result.stderr)


def run_in_project(project: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> CliResult:
    """Run ``python ARGS`` from the generated project's root."""
    result = subprocess.run(
        [sys.executable, *args],
        cwd=project,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return CliResult(result.returncode, result.stdout, result.stderr)
