"""The template as Copier sees it: a git repository with commits."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .paths import ROOT

TEMPLATE_PARTS = ("copier.yml", "template", "extensions")

GIT_ENV = {
    "GIT_AUTHOR_NAME": "dashboard-template tests",
    "GIT_AUTHOR_EMAIL": "tests@dashboard-template.invalid",
    "GIT_COMMITTER_NAME": "dashboard-template tests",
    "GIT_COMMITTER_EMAIL": "tests@dashboard-template.invalid",
}


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_ENV},
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout


def snapshot_template(destination: Path) -> Path:
    """Copy the working tree's template into a fresh git repo with one commit.

    Tests thus exercise uncommitted edits too, and can add commits of their own
    to play a newer template version.
    """
    destination.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache", ".ruff_cache", "node_modules", "dist")
    for part in TEMPLATE_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, destination / part, ignore=ignore)
        else:
            shutil.copy2(source, destination / part)
    git(destination, "init", "-q", "-b", "main")
    git(destination, "add", "-A")
    git(destination, "commit", "-q", "-m", "template")
    return destination


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def is_clean(repo: Path) -> bool:
    return git(repo, "status", "--porcelain") == ""
