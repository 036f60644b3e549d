"""Benchmark: is the page responsive and memory-flat at 1,000 events/s? (headless Chromium)

Starts the generated TPC-H project's backend on PostgreSQL, inserts 1,000 rows/s
spread over its 4 entities for 30 s, and records in the page:
- long tasks (PerformanceObserver "longtask", main-thread tasks over 50 ms) after
  a 5 s warm-up; the target is none over 100 ms;
- the JS heap (performance.memory.usedJSHeapSize, median of three readings after
  a forced GC) at 10 s, 20 s and 30 s; the target is 30 s within 20% of 10 s.
Writes the figures to docs/benchmarks.md (between markers) and prints them.

Usage: python bench/browser_bench.py [--seconds 30] [--rate 1000] [--database postgresql]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import write_section  # noqa: E402
from tests.support.backend_server import BackendServer  # noqa: E402
from tests.support.databases import TestDatabase, temporary_database  # noqa: E402
from tests.support.frontend import CHROMIUM, CHROMIUM_ARGS, install_and_build  # noqa: E402
from tests.support.paths import TPCH  # noqa: E402
from tests.support.projects import generate, run_in_project  # noqa: E402
from tests.support.template_repo import snapshot_template  # noqa: E402

OBSERVE = """
window.__longTasks = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.__longTasks.push({ start: entry.startTime, duration: entry.duration });
}).observe({ type: "longtask", buffered: true });
"""

INSERTS = {
    "customers": ("INSERT INTO customers (customer_key, name, account_balance) VALUES ({p}, 'bench', 100.0)", "C"),
    "products": ("INSERT INTO products (part_key, name, retail_price) VALUES ({p}, 'bench', 9.5)", "P"),
    "orders": (
        "INSERT INTO orders (order_key, customer_key, order_status, total_price, order_date) "
        "VALUES ({p}, 'C-1', 'O', 10.5, '2024-01-01')",
        "O",
    ),
    "order_line_items": (
        "INSERT INTO order_line_items (order_key, line_number, part_key, quantity, extended_price) "
        "VALUES ({p}, 1, 'P-1', 3, 31.5)",
        "L",
    ),
}


def write_rows(db: TestDatabase, table: str, rate: float, stop: threading.Event, written: list[int]) -> None:
    sql, prefix = INSERTS[table]
    sql = sql.format(p=db.placeholder)
    interval = 1 / rate
    with db.connect() as conn:
        cursor = conn.cursor()
        number = 0
        next_at = time.perf_counter()
        while not stop.is_set():
            cursor.execute(sql, (f"{prefix}-{number}",))
            number += 1
            next_at += interval
            delay = next_at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
    written.append(number)


def render(figures: dict[str, float | int | str]) -> str:
    rows = "\n".join(f"| {name} | {value} |" for name, value in figures.items())
    return f"| Figure | Value |\n| --- | --- |\n{rows}\n"


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--database", default="postgresql")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        project = generate(snapshot_template(work / "template"), work / "project", TPCH)
        install_and_build(project / "frontend")
        with temporary_database(args.database, work) as db:
            migrated = run_in_project(
                project, "-m", "backend.migrate", "--create-entity-tables", env={"DATABASE_URL": db.url}
            )
            assert migrated.returncode == 0, migrated.stderr
            with BackendServer(project, db.url, POLL_INTERVAL_MS="100") as server, sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM,
                    args=[*CHROMIUM_ARGS, "--enable-precise-memory-info", "--js-flags=--expose-gc"],
                )
                page = browser.new_page(viewport={"width": 1440, "height": 1000})
                page.add_init_script(OBSERVE)
                page.goto(server.http + "/")
                page.get_by_test_id("connection-status").filter(has_text="Live").wait_for(timeout=15_000)
                stop = threading.Event()
                written: list[int] = []
                writers = [
                    threading.Thread(target=write_rows, args=(db, table, args.rate / len(INSERTS), stop, written))
                    for table in INSERTS
                ]
                load_before = os.getloadavg()[0]
                started_ms = page.evaluate("performance.now()")
                for writer in writers:
                    writer.start()
                heap = {}
                checkpoints = tuple(sorted({10.0, 20.0, args.seconds}))
                begin = time.monotonic()
                for checkpoint in checkpoints:
                    time.sleep(max(0.0, checkpoint - (time.monotonic() - begin)))
                    samples = []
                    for _ in range(3):  # GC timing is noisy: the median of three forced-GC readings
                        page.evaluate("window.gc && window.gc()")
                        samples.append(page.evaluate("performance.memory.usedJSHeapSize"))
                        time.sleep(0.3)
                    heap[checkpoint] = sorted(samples)[1]
                stop.set()
                for writer in writers:
                    writer.join()
                load_after = os.getloadavg()[0]
                long_tasks = page.evaluate("window.__longTasks")
                received = page.get_by_test_id("rate").inner_text()
                browser.close()
    checkpoints = sorted(heap)
    warm = started_ms + 5000
    after_warmup = [task["duration"] for task in long_tasks if task["start"] >= warm]
    ratio = heap[args.seconds] / heap[10.0]
    rows = sum(written)
    figures: dict[str, float | int | str] = {
        "Rows inserted (4 entities)": f"{rows:,} in {args.seconds:.0f} s ({rows / args.seconds:,.0f}/s)",
        "Events/s shown by the page at the end": received,
        "Long tasks after 5 s warm-up (> 50 ms)": len(after_warmup),
        "Longest task after warm-up (ms)": round(max(after_warmup, default=0.0)),
        "Tasks over 100 ms after warm-up": sum(1 for duration in after_warmup if duration > 100),
        "JS heap at 10 s (MB)": round(heap[10.0] / 2**20, 1),
        **{f"JS heap at {t:.0f} s (MB)": round(heap[t] / 2**20, 1) for t in checkpoints if t != 10.0},
        f"Heap {args.seconds:.0f} s / 10 s": f"{ratio:.2f}",
        # Long tasks measure the machine as much as the page: a busy machine shows here.
        f"Load average (1 min) before / after, {os.cpu_count()} CPUs": f"{load_before:.1f} / {load_after:.1f}",
    }
    table = render(figures)
    print(table)
    if not args.no_write:
        write_section(
            "browser-bench",
            f"Run: {args.database}, {args.rate:.0f} inserts/s for {args.seconds:.0f} s, poll 100 ms, "
            "headless Chromium 1440x1000, tables view.\n\n" + table,
        )


if __name__ == "__main__":
    main()
