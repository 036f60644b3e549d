"""Building a generated project's frontend, and driving it in headless Chromium."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


def install_and_build(frontend: Path) -> None:
    for result in (npm(frontend, "ci", "--no-audit", "--no-fund"), node_tool(frontend, "vite/bin/vite.js", "build")):
        assert result.returncode == 0, result.stdout + result.stderr


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
