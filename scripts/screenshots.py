"""Screenshots of the generated dashboard for the README, in docs/:

screenshot-{light,dark,phone,row-detail,current-rows}.png.

Generates the demo project (as `make demo` does), starts the backend and the
simulator, lets data flow for a few seconds, and captures the page in headless
Chromium in light and dark mode, at phone width, with an update's row detail open,
and with the entities shown as their current rows.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import live_demo as demo  # noqa: E402

from tests.support.frontend import browser_page  # noqa: E402

PORT = 8191
DOCS = ROOT / "docs"


def main() -> None:
    demo.generate()
    demo.migrate()
    demo.build_frontend()
    env = {**os.environ, "DATABASE_URL": demo.DATABASE_URL}
    url = f"http://127.0.0.1:{PORT}"
    backend = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "backend.main:app", "--port", str(PORT), "--log-level", "warning"],
        cwd=demo.DEMO,
        env=env,
    )
    simulator = subprocess.Popen(
        [sys.executable, "-m", "backend.simulate", "--rate", "15", "--seed", "1"],
        cwd=demo.DEMO,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        demo.wait_healthy(url, backend)
        shots = (
            ("light", {"color_scheme": "light", "viewport": {"width": 1440, "height": 1000}}),
            ("dark", {"color_scheme": "dark", "viewport": {"width": 1440, "height": 1000}}),
            ("phone", {"color_scheme": "light", "viewport": {"width": 390, "height": 844}, "device_scale_factor": 2}),
        )
        for name, context in shots:
            with browser_page(**context) as page:
                page.goto(url + "/")
                page.get_by_test_id("connection-status").filter(has_text="Live").wait_for(timeout=15_000)
                page.wait_for_timeout(8000)
                path = DOCS / f"screenshot-{name}.png"
                page.screenshot(path=str(path))
                print(f"wrote {path.relative_to(ROOT)}")
                if name == "light":
                    open_row_detail(page)
                    path = DOCS / "screenshot-row-detail.png"
                    page.screenshot(path=str(path))
                    print(f"wrote {path.relative_to(ROOT)}")
                    page.keyboard.press("Escape")
                    open_current_rows(page)
                    path = DOCS / "screenshot-current-rows.png"
                    page.screenshot(path=str(path))
                    print(f"wrote {path.relative_to(ROOT)}")
    finally:
        for process in (simulator, backend):
            process.send_signal(signal.SIGINT)
            process.wait(timeout=15)


def open_row_detail(page: Any) -> None:
    """Open the detail of the newest update (old -> new shown), else of the newest row."""
    rows = page.locator("tr[data-event-id]")
    updates = rows.filter(has_text="update")
    (updates if updates.count() else rows).first.click()
    page.get_by_test_id("row-detail").wait_for(timeout=5000)


def open_current_rows(page: Any) -> None:
    """Every entity as its current rows; a few seconds of changes applied in place."""
    page.get_by_test_id("row-detail").wait_for(state="detached", timeout=5000)
    switches = page.locator("[data-testid^='view-'][data-testid$='-rows']")
    for index in range(switches.count()):
        switches.nth(index).click()
    page.locator("[data-testid^='rows-'] tr[data-row-key]").first.wait_for(timeout=10_000)
    page.wait_for_timeout(4000)


if __name__ == "__main__":
    main()
