"""Building a generated project's frontend, and driving it in headless Chromium."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from . import shared

Item = TypeVar("Item", bound=Hashable)

CHROMIUM = "/usr/bin/chromium"
# Flags this machine needs: no sandbox as root, and no background network calls
# (the network is closed; Chromium would otherwise retry Google's hosts).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def npm(frontend: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("npm")
    assert executable is not None, "npm is not installed (.ci/run needs Node.js 20 with npm)"
    return subprocess.run(
        [executable, *args], cwd=frontend, capture_output=True, text=True, timeout=timeout, check=False
    )


def node_tool(frontend: Path, script: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run a tool from node_modules directly (not through npx), so it can be stopped."""
    return subprocess.run(
        ["node", str(frontend / "node_modules" / script), *args],
        cwd=frontend,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# Every generated project has the same package.json and lock file, so one `npm ci` per run is
# enough (15-30 s each on this machine): it is kept in the run's shared folder, by the hash of the
# lock file, and every project, in any xdist worker, gets a hard-linked copy (a fraction of a second).


def _lock_hash(frontend: Path) -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((frontend / name).read_bytes())
    return digest.hexdigest()


def _linked_copy(source: Path, target: Path) -> None:
    """Hard links: new directories, shared files (tools write new files, never into these)."""
    copied = subprocess.run(["cp", "-al", str(source), str(target)], capture_output=True, text=True, check=False)
    assert copied.returncode == 0, copied.stderr


def install(frontend: Path) -> None:
    """``npm ci`` once per lock file and run; every project shares its node_modules."""
    if (frontend / "node_modules").exists():
        return

    def npm_ci(folder: Path) -> None:
        for name in ("package.json", "package-lock.json"):
            shutil.copy2(frontend / name, folder / name)
        result = npm(folder, "ci", "--no-audit", "--no-fund")
        assert result.returncode == 0, result.stdout + result.stderr

    kept = shared.made_once("node_modules", _lock_hash(frontend), npm_ci)
    _linked_copy(kept / "node_modules", frontend / "node_modules")


def _sources_hash(frontend: Path) -> str:
    """What a build reads: every file of the frontend but its dependencies (by lock file) and its output."""
    digest = hashlib.sha256(_lock_hash(frontend).encode())
    for root, directories, names in os.walk(frontend):
        directories[:] = sorted(name for name in directories if name not in ("node_modules", "dist"))
        for name in sorted(names):
            path = Path(root) / name
            digest.update(f"\0{path.relative_to(frontend)}\0".encode() + path.read_bytes())
    return digest.hexdigest()


def build(frontend: Path) -> None:
    """``vite build``, once per run for identical sources: other projects get a copy of its ``dist``."""

    def vite_build(folder: Path) -> None:
        result = node_tool(frontend, "vite/bin/vite.js", "build")
        assert result.returncode == 0, result.stdout + result.stderr
        # Vite flags what its coming native config loader would refuse: a user sees it on every build.
        assert "(!)" not in result.stdout + result.stderr, result.stdout + result.stderr
        shutil.copytree(frontend / "dist", folder / "dist")

    kept = shared.made_once("dist", _sources_hash(frontend), vite_build)
    if not (frontend / "dist").exists():
        shutil.copytree(kept / "dist", frontend / "dist")


def install_and_build(frontend: Path) -> None:
    install(frontend)
    build(frontend)


@contextmanager
def browser_page(**context: Any) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "chromium is not installed (.ci/run installs it with apt-get)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(**context).new_page()
            yield page
        finally:
            browser.close()


def every_drawn_row(page: Any, table_test_id: str, read: Callable[[], list[Item]]) -> list[Item]:
    """What ``read`` finds in every row of a windowed table (components/RowTable.tsx).

    The table draws only the rows in view: scroll through it half a view at a time,
    reading at each stop, and keep each item once, in table order (each stop's rows
    are a contiguous run that overlaps the previous one).
    """
    scroller = page.get_by_test_id(table_test_id).locator("div.overflow-auto").first
    found: dict[Item, None] = {}
    top = 0
    for _ in range(400):
        scroller.evaluate(f"(element) => {{ element.scrollTop = {top}; }}")
        page.wait_for_timeout(100)  # a frame or more: the drawn rows follow the scroll
        found.update(dict.fromkeys(read()))
        height, view = scroller.evaluate("(element) => [element.scrollHeight, element.clientHeight]")
        if top + view >= height:
            break
        top += max(view // 2, 1)
    # Back to the top, and a frame or more for the rows there to be drawn again, so that a
    # caller watching rows being added afterwards does not see these.
    scroller.evaluate("(element) => { element.scrollTop = 0; }")
    page.wait_for_timeout(150)
    return list(found)
