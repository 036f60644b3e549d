"""Update this project from dashboard-template, and say plainly when something is left to resolve.

Run from the project's root, with everything committed::

    python scripts/update.py                                  # copier update --trust --defaults -c 12
    python scripts/update.py --data poll_interval_ms=200      # extra arguments go to `copier update`

It checks that the template recorded in ``.copier-answers.yml`` (``_src_path``) can be
found, runs ``copier update --trust --defaults`` with this Python, then lists the files
the update left in conflict (inline ``<<<<<<<`` markers, or ``.rej`` files with
``--conflict rej``) and exits with 1 when there are any. Exit code 2: it could not start.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import yaml

ANSWERS_FILE = ".copier-answers.yml"
INSTALL = "pip install -r requirements-update.txt"
NEXT_STEPS = (
    "next: rebuild the frontend (cd frontend && npm ci && npm run build), "
    "migrate (python -m backend.migrate), restart the backend"
)
# A template given as a URL or a git remote, rather than a folder on this machine.
_REMOTE = re.compile(r"^([a-z][a-z0-9+.-]*://|gh:|gl:|[^/]+@[^/]+:)", re.IGNORECASE)
_MARKERS = (b"<<<<<<< ", b"=======", b">>>>>>> ")
CONTEXT_LINES = "12"
"""Copier's default of 3 lines lets a hand edit in one of several identical blocks (a column's
doc in entities.json, say) be re-applied to another block without a conflict; 12 lines tie an
edit to its own entity, and an edit that cannot be placed exactly becomes a conflict."""


class UpdateError(Exception):
    """Why the update cannot start, in one line."""


def template_problem(project: Path) -> str | None:
    """What is wrong with the recorded template location, or None when Copier can try it."""
    answers_path = project / ANSWERS_FILE
    try:
        answers = yaml.safe_load(answers_path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        return f"cannot read {ANSWERS_FILE} ({error}); run this from the project's root"
    source = answers.get("_src_path") if isinstance(answers, dict) else None
    if not isinstance(source, str) or not source.strip():
        return f"{ANSWERS_FILE} names no template (_src_path)"
    if _REMOTE.match(source):
        return None
    folder = (project / Path(source).expanduser()).resolve()
    fix = f"set _src_path in {ANSWERS_FILE} to the template's absolute path or URL, commit, and run again"
    if not folder.is_dir():
        return f"the template {source!r} recorded in {ANSWERS_FILE} is not found (looked in {folder}); {fix}"
    if not any((folder / name).is_file() for name in ("copier.yml", "copier.yaml")):
        return f"{folder} (_src_path {source!r} in {ANSWERS_FILE}) is not a Copier template; {fix}"
    return None


def _status(project: Path) -> str:
    """``git status --porcelain -z``: every change, deletions included."""
    return subprocess.run(
        ["git", "status", "--porcelain", "-z", "--untracked-files=all"],  # noqa: S607 - git from PATH
        cwd=project,
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8", "surrogateescape")


def changed_files(project: Path) -> list[str]:
    """Files the update touched: modified or new, as ``git status`` lists them."""
    entries = _status(project).split("\0")
    files: list[str] = []
    index = 0
    while index < len(entries):
        entry = entries[index]
        index += 1
        if len(entry) < 4:
            continue
        code, path = entry[:2], entry[3:]
        if code[0] in "RC":  # a rename is followed by its old path
            index += 1
        if "D" not in code:
            files.append(path)
    return files


def conflicts(project: Path, files: list[str]) -> list[str]:
    """The touched files Copier could not merge: ``.rej`` files and files with conflict markers."""
    found: list[str] = []
    for name in files:
        path = project / name
        if name.endswith(".rej"):
            found.append(f"{name} (rejected changes of {name.removesuffix('.rej')})")
            continue
        try:
            lines = path.read_bytes().splitlines()
        except OSError:
            continue
        if all(any(line.startswith(marker) for line in lines) for marker in _MARKERS):
            found.append(f"{name} (conflict markers)")
    return sorted(found)


def main(argv: list[str]) -> int:
    project = Path.cwd()
    if importlib.util.find_spec("copier") is None:
        print(f"update: copier is not installed for {sys.executable}; {INSTALL}", file=sys.stderr)
        return 2
    problem = template_problem(project)
    if problem is not None:
        print(f"update: {problem}", file=sys.stderr)
        return 2
    chosen = any(arg in ("-c", "--context-lines") or arg.startswith("--context-lines=") for arg in argv)
    context = [] if chosen else ["--context-lines", CONTEXT_LINES]
    command = [sys.executable, "-m", "copier", "update", "--trust", "--defaults", *context, *argv]
    result = subprocess.run(command, cwd=project, check=False)  # noqa: S603 - our own command line
    if result.returncode != 0:
        print(f"update: copier update failed (exit code {result.returncode}); see its message above", file=sys.stderr)
        return result.returncode
    changed = changed_files(project)
    left = conflicts(project, changed)
    touched = bool(changed) or bool(_status(project))  # deletions are not in ``changed``
    if left:
        count = f"{len(left)} file(s)"
        print(f"update: copier update left conflicts in {count}; resolve them, then commit:", file=sys.stderr)
        for line in left:
            print(f"  {line}", file=sys.stderr)
        return 1
    if not touched:
        print("update: done; nothing changed (the project already matches the template and the YAML)")
        return 0
    print(f"update: done; {NEXT_STEPS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
