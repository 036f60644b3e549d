"""Generating projects with Copier, through its API or its command line."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from copier import run_copy, run_update

from . import shared
from .template_repo import commit_all, git

COPIER = [sys.executable, "-m", "copier"]


# Copier's output for one template commit, entity folder content, answers and folder name is
# always the same, and dozens of tests generate the same few projects: the first copy of each is
# kept (before `git init`) in the run's shared folder, and later ones, in any xdist worker, are
# copies of it, about a tenth of the time.


def _entities_folder(destination: Path, entities_dir: Path | str) -> Path:
    """The folder Copier reads: a relative ``entities_dir`` is inside the project."""
    folder = Path(entities_dir)
    return folder if folder.is_absolute() else destination / folder


def _copy_key(template: Path, destination: Path, entities_dir: Path | str, data: dict[str, Any]) -> str | None:
    """What decides Copier's output, or None when it cannot be told (then Copier runs)."""
    folder = _entities_folder(destination, entities_dir)
    inside = not Path(entities_dir).is_absolute()
    # Only the project's own entities folder may be there already (the usual layout): anything
    # else would be merged into the copy.
    if destination.exists() and [path.name for path in destination.iterdir()] != [str(entities_dir)]:
        return None
    status = subprocess.run(["git", "status", "--porcelain"], cwd=template, capture_output=True, text=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=template, capture_output=True, text=True)
    # A dirty template is copied with its uncommitted changes: not keyed by the commit alone.
    if status.returncode or head.returncode or status.stdout.strip() or not folder.is_dir():
        return None
    # The folder's name is the default project_name.
    identity = f"{template.resolve()}\0{head.stdout.strip()}\0{sorted(data.items())!r}\0{destination.name}\0{inside}"
    digest = hashlib.sha256(identity.encode())
    files: list[Path] = []
    for root, directories, names in os.walk(folder):  # os.walk does not enter linked folders
        for name in [*directories, *names]:
            path = Path(root) / name
            if path.is_symlink():
                return None  # a link may lead anywhere: not worth keying
            if name in names:
                files.append(path)
    for path in sorted(files):
        digest.update(f"\0{path.relative_to(folder)}\0".encode() + path.read_bytes())
    return digest.hexdigest()


def _copier_copy(template: Path, destination: Path, data: dict[str, Any]) -> None:
    run_copy(str(template), str(destination), data=data, defaults=True, unsafe=True, vcs_ref="HEAD", quiet=True)


def generate(template: Path, destination: Path, entities_dir: Path | str, **answers: Any) -> Path:
    """``copier copy`` of ``template`` into ``destination`` as a committed git repo."""
    data = {"entities_dir": str(entities_dir), "database": "sqlite", **answers}
    key = _copy_key(template, destination, entities_dir, data)
    if key is None:
        _copier_copy(template, destination, data)
    else:

        def make(folder: Path) -> None:
            project = folder / destination.name
            if destination.exists():  # the entities folder inside it: Copier reads it there
                shutil.copytree(destination, project, symlinks=True)
            _copier_copy(template, project, data)

        kept = shared.made_once("copier", key, make) / destination.name
        shutil.copytree(kept, destination, symlinks=True, dirs_exist_ok=True)
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
