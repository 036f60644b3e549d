"""Work shared by every process of one test run: a folder, and a lock per cached item.

Under pytest-xdist each worker is a process of its own; projects, ``node_modules`` and
frontend builds that several workers need are made once, by whichever worker asks first,
while the others wait on a file lock and then copy the result. A finished item appears
in one ``rename`` (never half-written), so a reader that sees it can use it.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

_folder: Path | None = None


def set_folder(folder: Path) -> None:
    """Called once per process by conftest.py with the run's shared folder (xdist: the workers' common parent)."""
    global _folder
    folder.mkdir(parents=True, exist_ok=True)
    _folder = folder


def folder() -> Path:
    """The run's shared folder; outside a pytest run (a script importing the helpers), a private one."""
    global _folder
    if _folder is None:
        _folder = Path(tempfile.mkdtemp(prefix="dashboard-tests-shared-"))
    return _folder


@contextmanager
def locked(name: str) -> Iterator[None]:
    """Hold the run-wide lock ``name`` (released by the kernel if the process dies)."""
    locks = folder() / "locks"
    locks.mkdir(exist_ok=True)
    with (locks / f"{name}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def made_once(kind: str, key: str, make: Callable[[Path], object]) -> Path:
    """The shared folder ``kind/key``, made by ``make(folder)`` the first time any process of the run asks.

    ``make`` fills an empty folder; if it raises, nothing is kept and the next caller tries again.
    """
    final = folder() / kind / key
    if final.is_dir():
        return final
    with locked(f"{kind}-{key}"):
        if final.is_dir():
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=final.parent))
        try:
            make(staging)
            os.rename(staging, final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return final
