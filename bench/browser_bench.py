"""Benchmark: is the page responsive and memory-flat at 1,000 events/s? (headless Chromium)

Starts the generated TPC-H project's backend on PostgreSQL, writes 1,000 rows/s
spread over its 4 entities for 30 s, and records in the page:
- long tasks (PerformanceObserver "longtask", main-thread tasks over 50 ms) after
  a 5 s warm-up; the target is none over 100 ms;
- the JS heap (performance.memory.usedJSHeapSize, median of three readings after
  a forced GC) at 10 s, 20 s and 30 s; the target is 30 s within 20% of 10 s.

Two views:
- ``tables``: the four event-log tables (max_records 500), inserts only;
- ``rows``: every entity's current rows with 10,000 rows per entity held
  (max_records 10,000, the tables seeded first), then inserts, updates and
  deletes (40/40/20%; half the updates on the newest rows, which are on screen).
  The page also keeps each entity's event log (max_records events, behind the
  view) filling at 250 events/s per entity: the measured 30 s start once every
  writer has written max_records changes, so the heap readings compare a page
  whose buffers are full (filling, they grow the heap by about 2 MB in 20 s).

``--ref COMMIT`` (``--ref-rows COMMIT`` for the current-rows view, which older
pages lack) builds that commit's page too and runs the two alternately
(``--runs`` each), each on its own database, so a busy shared machine loads
both alike; the figures are the medians. ``--profile DIR`` writes a Chromium
trace (10 s after warm-up) and a CPU profile of the first run of each page,
built unminified so functions keep their names, and prints where the long
tasks spend their time.

Usage: python bench/browser_bench.py [--view tables|rows|both] [--ref 65c5a05] [--ref-rows COMMIT] [--runs 3]
       [--seconds 30] [--rate 1000] [--profile DIR] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import write_section  # noqa: E402
from tests.support.backend_server import BackendServer  # noqa: E402
from tests.support.databases import TestDatabase, temporary_database  # noqa: E402
from tests.support.frontend import CHROMIUM, CHROMIUM_ARGS, node_tool, npm  # noqa: E402
from tests.support.paths import TPCH  # noqa: E402
from tests.support.projects import generate, run_in_project  # noqa: E402
from tests.support.template_repo import TEMPLATE_PARTS, commit_all, git, snapshot_template  # noqa: E402

OBSERVE = """
window.__longTasks = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.__longTasks.push({ start: entry.startTime, duration: entry.duration });
}).observe({ type: "longtask", buffered: true });
"""

WARM_UP_S = 5.0
FILL_TIMEOUT_S = 180.0
"""The longest wait for the rows view's event buffers to fill before measuring."""
FORCED_GC = """() => {
  const begin = performance.now();
  console.timeStamp("bench-gc");  // marks the task in the trace
  if (window.gc) window.gc();
  return [begin, performance.now()];
}"""
ROWS_HELD = 10_000
"""Rows per entity in the current-rows view (its max_records)."""


@dataclass(frozen=True)
class Table:
    name: str
    entity: str
    columns: tuple[str, ...]
    prefix: str

    def values(self, number: int) -> tuple[Any, ...]:
        """A row whose first column is a key unique to this run; the rest like the TPC-H sample."""
        key = f"{self.prefix}-{number}"
        return {
            "customers": (key, "bench", 100.0),
            "products": (key, "bench", 9.5),
            "orders": (key, "C-1", "O", 10.5, "2024-01-01"),
            "order_line_items": (key, 1, "P-1", 3, 31.5),
        }[self.name]


TABLES = (
    Table("customers", "Customer", ("customer_key", "name", "account_balance"), "C"),
    Table("products", "Product", ("part_key", "name", "retail_price"), "P"),
    Table("orders", "Order", ("order_key", "customer_key", "order_status", "total_price", "order_date"), "O"),
    Table(
        "order_line_items", "OrderLineItem", ("order_key", "line_number", "part_key", "quantity", "extended_price"), "L"
    ),
)
UPDATED = {
    "customers": "account_balance",
    "products": "retail_price",
    "orders": "total_price",
    "order_line_items": "extended_price",
}


def insert_sql(table: Table) -> str:
    marks = ", ".join("%s" for _ in table.columns)
    return f"INSERT INTO {table.name} ({', '.join(table.columns)}) VALUES ({marks}) RETURNING id"


def seed(db: TestDatabase, table: Table, count: int) -> list[int]:
    """``count`` rows in one transaction (their events too: the triggers are on); returns their ids."""
    with db.connect() as conn:
        with conn.transaction():
            cursor = conn.cursor()
            cursor.executemany(insert_sql(table).removesuffix(" RETURNING id"), [table.values(n) for n in range(count)])
        cursor.execute(f"SELECT id FROM {table.name} ORDER BY id")
        return [int(row[0]) for row in cursor.fetchall()]


def write_rows(
    db: TestDatabase,
    table: Table,
    rate: float,
    stop: threading.Event,
    written: list[int],
    ids: list[int] | None,
    progress: dict[str, int] | None = None,
) -> None:
    """Paced autocommit writes: inserts only, or (``ids`` of the seeded rows given) inserts, updates and deletes."""
    rng = random.Random(table.name)  # noqa: S311 - a reproducible mix, not a secret
    interval = 1 / rate
    with db.connect() as conn:
        cursor = conn.cursor()
        number = ROWS_HELD
        done = 0
        next_at = time.perf_counter()
        while not stop.is_set():
            roll = rng.random()
            if ids is None or roll < 0.4 or len(ids) < 100:
                cursor.execute(insert_sql(table), table.values(number))
                number += 1
                if ids is not None:
                    ids.append(int(cursor.fetchone()[0]))
            elif roll < 0.8:
                # Half the updates on the newest rows (on screen), half anywhere.
                index = len(ids) - 1 - rng.randrange(50) if roll < 0.6 else rng.randrange(len(ids))
                cursor.execute(
                    f"UPDATE {table.name} SET {UPDATED[table.name]} = %s WHERE id = %s",
                    (rng.random() * 1000, ids[index]),
                )
            else:
                index = rng.randrange(len(ids) - 50)  # not the newest: updates there stay updates
                cursor.execute(f"DELETE FROM {table.name} WHERE id = %s", (ids.pop(index),))
            done += 1
            if progress is not None:
                progress[table.name] = done
            next_at += interval
            delay = next_at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
    written.append(done)


def entities_dir(work: Path, view: str) -> Path:
    """The TPC-H entities; for the current-rows view with max_records raised to hold ROWS_HELD rows."""
    if view == "tables":
        return TPCH
    folder = work / "entities-rows"
    shutil.copytree(TPCH, folder)
    config = folder / "dashboard.yaml"
    text = config.read_text().replace("max_records: 500", f"max_records: {ROWS_HELD}")
    config.write_text(text.replace("dashboard:\n", f"dashboard:\n  max_records: {ROWS_HELD}\n", 1))
    return folder


def template_at(commit: str, destination: Path) -> Path:
    """The template as committed at ``commit``, as a one-commit repo Copier can read."""
    destination.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", commit, *TEMPLATE_PARTS], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(destination)], input=archive.stdout, check=True)
    git(destination, "init", "-q", "-b", "main")
    commit_all(destination, f"template at {commit}")
    return destination


def build_page(work: Path, label: str, commit: str | None, view: str, minify: bool) -> Path:
    folder = work / label
    template = template_at(commit, folder / "template") if commit else snapshot_template(folder / "template")
    project = generate(template, folder / "project", entities_dir(folder, view))
    frontend = project / "frontend"
    installed = npm(frontend, "ci", "--no-audit", "--no-fund")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    built = node_tool(frontend, "vite/bin/vite.js", "build", *([] if minify else ["--minify", "false"]))
    assert built.returncode == 0, built.stdout + built.stderr
    return project


def open_rows(page: Any) -> None:
    """Switch every entity to its current rows and wait until each holds its seeded rows."""
    for table in TABLES:
        page.get_by_test_id(f"view-{table.entity}-rows").click()
    for table in TABLES:
        count = page.get_by_test_id(f"rows-{table.entity}-count")
        page.wait_for_function(
            "([el, n]) => parseInt(el.textContent.replace(/[^0-9]/g, ''), 10) >= n",
            arg=[count.element_handle(), ROWS_HELD],
            timeout=60_000,
        )


def main_thread_events(trace_path: Path) -> list[dict[str, Any]]:
    """The events of the page's main thread in a Chromium trace, by start time."""
    events = json.loads(trace_path.read_text())
    events = events["traceEvents"] if isinstance(events, dict) else events
    main = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("name") == "thread_name" and e.get("args", {}).get("name") == "CrRendererMain"
    }
    return sorted((e for e in events if (e.get("pid"), e.get("tid")) in main and "ts" in e), key=lambda e: e["ts"])


def trace_summary(trace_path: Path) -> list[str]:
    """Where the main thread spent its tasks over 50 ms of CPU: thread time by trace event name."""
    complete = [e for e in main_thread_events(trace_path) if e.get("ph") == "X" and "dur" in e]
    tasks = [e for e in complete if e["name"] == "RunTask" and e.get("tdur", e["dur"]) > 50_000]
    inside: Counter[str] = Counter()
    for task in tasks:
        begin, end = task["ts"], task["ts"] + task["dur"]
        for event in complete:
            if event is not task and begin <= event["ts"] < end and event["name"] in INTERESTING:
                inside[event["name"]] += event.get("tdur", event["dur"])
    lines = [f"{len(tasks)} tasks over 50 ms of CPU in the trace; inside them (CPU ms, nested events overlap):"]
    lines += [f"  {name}: {dur / 1000:.0f}" for name, dur in inside.most_common(12)]
    return lines


INTERESTING = {
    "FunctionCall", "EvaluateScript", "v8.run", "TimerFire", "FireAnimationFrame", "EventDispatch",
    "UpdateLayoutTree", "Layout", "PrePaint", "Paint", "Layerize", "UpdateLayer", "CompositeLayers",
    "HitTest", "ParseHTML", "MinorGC", "MajorGC", "V8.GC_SCAVENGER", "V8.GC_MARK_COMPACTOR",
    "BlinkGC.AtomicPhase", "ScheduleStyleRecalculation", "RecalculateStyles", "InvalidateLayout",
    "Document::updateStyle", "LocalFrameView::RunPostLifecycleSteps", "ProxyMain::BeginMainFrame",
    "WebSocketReceive", "ResourceReceivedData", "XHRReadyStateChange",
}  # fmt: skip


def profile_summary(profile: dict[str, Any], top: int = 15) -> list[str]:
    """The functions with the most self time in a CPU profile."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    deltas = profile.get("timeDeltas", [])
    self_us: Counter[str] = Counter()
    for sample, delta in zip(profile.get("samples", []), [*deltas[1:], 0], strict=False):
        frame = nodes[sample]["callFrame"]
        url = frame["url"].rsplit("/", 1)[-1]
        self_us[f"{frame['functionName'] or '(anonymous)'} {url}:{frame['lineNumber'] + 1}"] += delta
    total = sum(self_us.values()) or 1
    return [f"  {us / 1000:7.0f} ms {100 * us / total:4.1f}%  {name}" for name, us in self_us.most_common(top)]


def main_thread_tasks(trace_path: Path) -> list[tuple[float, float]]:
    """(wall ms, CPU ms) of every top-level task of the page's main thread in a trace.

    A task's thread time is what the page itself costs: on a machine shared with
    other work, its wall time also counts the time the thread waited for a CPU.
    """
    events = main_thread_events(trace_path)
    runs = [e for e in events if e.get("name") == "RunTask" and e.get("ph") == "X"]
    marks = [
        e["ts"]
        for e in events
        if e.get("name") == "TimeStamp" and e.get("args", {}).get("data", {}).get("message") == "bench-gc"
    ]
    tasks: list[tuple[float, float]] = []
    ends = 0.0
    for event in runs:
        if event["ts"] < ends:
            continue  # nested in the previous task
        ends = event["ts"] + event["dur"]
        if any(event["ts"] <= mark <= ends for mark in marks):
            continue  # the bench's forced GC
        tasks.append((event["dur"] / 1000, event.get("tdur", event["dur"]) / 1000))
    return tasks


TRACE_CATEGORIES = ["disabled-by-default-devtools.timeline"]
"""Enough for the main thread's tasks and their thread time; --profile records Playwright's default set."""


def run_once(project: Path, view: str, seconds: float, rate: float, profile: Path | None) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, temporary_database("postgresql", Path(tmp)) as db:
        migrated = run_in_project(
            project, "-m", "backend.migrate", "--create-entity-tables", env={"DATABASE_URL": db.url}
        )
        assert migrated.returncode == 0, migrated.stderr
        held: dict[str, list[int]] = {t.name: seed(db, t, ROWS_HELD) for t in TABLES} if view == "rows" else {}
        trace = (profile or Path(tmp)) / "trace.json"
        with BackendServer(project, db.url, POLL_INTERVAL_MS="100") as server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=[*CHROMIUM_ARGS, "--enable-precise-memory-info", "--js-flags=--expose-gc"],
            )
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.add_init_script(OBSERVE)
            page.goto(server.http + "/")
            page.get_by_test_id("connection-status").filter(has_text="Live").wait_for(timeout=15_000)
            if view == "rows":
                open_rows(page)
            cdp = page.context.new_cdp_session(page) if profile else None
            stop = threading.Event()
            written: list[int] = []
            progress: dict[str, int] = {t.name: 0 for t in TABLES}
            writers = [
                threading.Thread(
                    target=write_rows, args=(db, t, rate / len(TABLES), stop, written, held.get(t.name), progress)
                )
                for t in TABLES
            ]
            for writer in writers:
                writer.start()
            filled = fill_buffers(progress) if view == "rows" else 0.0
            load_before = os.getloadavg()[0]
            started_ms = page.evaluate("performance.now()")
            begin = time.monotonic()
            done_before = sum(progress.values())
            heap = {}
            forced_gc: list[list[float]] = []
            time.sleep(WARM_UP_S)
            # After the warm-up: a trace to the end (the tasks' thread time), with --profile a CPU profile too.
            if cdp is not None:
                cdp.send("Profiler.enable")
                cdp.send("Profiler.setSamplingInterval", {"interval": 200})
                cdp.send("Profiler.start")
            browser.start_tracing(page=page, categories=None if profile else TRACE_CATEGORIES)
            for checkpoint in sorted({10.0, 20.0, seconds}):
                time.sleep(max(0.0, checkpoint - (time.monotonic() - begin)))
                samples = []
                for _ in range(3):  # GC timing is noisy: the median of three forced-GC readings
                    forced_gc.append(page.evaluate(FORCED_GC))
                    samples.append(page.evaluate("performance.memory.usedJSHeapSize"))
                    time.sleep(0.3)
                heap[checkpoint] = sorted(samples)[1]
            received = page.get_by_test_id("rate").inner_text()  # its last 10 s, before the writers stop
            done_measured = sum(progress.values()) - done_before
            stop.set()
            elapsed = time.monotonic() - begin
            for writer in writers:
                writer.join()
            trace.write_bytes(browser.stop_tracing())
            if cdp is not None and profile is not None:
                (profile / "cpu.cpuprofile").write_text(json.dumps(cdp.send("Profiler.stop")["profile"]))
            load_after = os.getloadavg()[0]
            long_tasks = page.evaluate("window.__longTasks")
            browser.close()
        tasks = main_thread_tasks(trace)
    # The bench's own forced GCs are long tasks too (a full GC of the heap): not the page's.
    after_warmup = [
        task["duration"]
        for task in long_tasks
        if task["start"] >= started_ms + WARM_UP_S * 1000
        and not any(task["start"] <= end and begin <= task["start"] + task["duration"] for begin, end in forced_gc)
    ]
    cpu = [cpu for _, cpu in tasks]
    return {
        "written": done_measured / elapsed,
        "filled": filled,
        "received": received,
        "long": len(after_warmup),
        "over100": sum(1 for duration in after_warmup if duration > 100),
        "longest": max(after_warmup, default=0.0),
        "cpu_over50": sum(1 for ms in cpu if ms > 50),
        "cpu_over100": sum(1 for ms in cpu if ms > 100),
        "cpu_longest": max(cpu, default=0.0),
        "cpu_per_s": sum(cpu) / (elapsed - WARM_UP_S),
        "heap": heap,
        "load": (load_before, load_after),
    }


def fill_buffers(progress: dict[str, int]) -> float:
    """Wait until every writer has written ROWS_HELD changes (every event buffer is full); the seconds it took."""
    begin = time.monotonic()
    while min(progress.values()) < ROWS_HELD and time.monotonic() - begin < FILL_TIMEOUT_S:
        time.sleep(0.5)
    time.sleep(1.0)  # the last poll's events reach the page
    return time.monotonic() - begin


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def figures(runs: list[dict[str, Any]], seconds: float) -> dict[str, str]:
    """One column of the table: medians over the runs, each run's value in brackets when there are several."""

    def show(values: list[float], digits: int = 0) -> str:
        middle = f"{median(values):,.{digits}f}"
        return middle if len(values) == 1 else f"{middle} ({', '.join(f'{v:,.{digits}f}' for v in values)})"

    heap_times = sorted(runs[0]["heap"])
    return {
        "Changes written / s": show([run["written"] for run in runs]),
        "Events/s shown by the page at the end": ", ".join(run["received"].removesuffix(" events/s") for run in runs),
        "Long tasks after 5 s warm-up (> 50 ms)": show([run["long"] for run in runs]),
        "Tasks over 100 ms after warm-up": show([run["over100"] for run in runs]),
        "Longest task after warm-up (ms)": show([run["longest"] for run in runs]),
        # The same tasks by their own thread time: what the page costs whatever else the machine runs.
        "Tasks over 50 ms of main-thread CPU after warm-up": show([run["cpu_over50"] for run in runs]),
        "Tasks over 100 ms of main-thread CPU after warm-up": show([run["cpu_over100"] for run in runs]),
        "Longest task's main-thread CPU (ms)": show([run["cpu_longest"] for run in runs]),
        "Main-thread CPU per second (ms)": show([run["cpu_per_s"] for run in runs]),
        **{f"JS heap at {t:.0f} s (MB)": show([run["heap"][t] / 2**20 for run in runs], 1) for t in heap_times},
        f"Heap {seconds:.0f} s / 10 s": show([run["heap"][seconds] / run["heap"][10.0] for run in runs], 2),
        "Seconds before the measure, filling the event buffers": show([run["filled"] for run in runs]),
        # Long tasks measure the machine as much as the page: a busy machine shows here.
        f"Load average (1 min) before / after, {os.cpu_count()} CPUs": ", ".join(
            f"{run['load'][0]:.1f} / {run['load'][1]:.1f}" for run in runs
        ),
    }


def render(columns: dict[str, dict[str, str]]) -> str:
    labels = list(columns)
    lines = [f"| Figure | {' | '.join(labels)} |", f"| --- | {' | '.join('---' for _ in labels)} |"]
    for name in next(iter(columns.values())):
        lines.append(f"| {name} | {' | '.join(columns[label][name] for label in labels)} |")
    return "\n".join(lines) + "\n"


VIEWS = {
    "tables": "the four event-log tables (max_records 500), inserts",
    "rows": f"current rows of the four entities, {ROWS_HELD:,} rows each held, 40% inserts / 40% updates / 20% deletes"
    f" (measured once {ROWS_HELD:,} changes per entity filled the event buffers behind the view)",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--view", choices=["tables", "rows", "both"], default="both")
    parser.add_argument("--ref", help="a commit whose page runs alternately with this one (tables view)")
    parser.add_argument("--ref-rows", help="the same for the current-rows view (a commit that has it)")
    parser.add_argument("--runs", type=int, default=1, help="runs of each page (alternating with --ref)")
    parser.add_argument("--profile", type=Path, help="write a trace and a CPU profile of each page's first run here")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    assert args.seconds >= 20, "the heap is read at 10 s, 20 s and the end"
    views = ["tables", "rows"] if args.view == "both" else [args.view]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for view in views:
            ref = args.ref if view == "tables" else args.ref_rows
            pages = [("this version", None), *([(ref, ref)] if ref else [])]
            projects = {
                label: build_page(work / view, label.replace(" ", "-"), commit, view, minify=args.profile is None)
                for label, commit in pages
            }
            runs: dict[str, list[dict[str, Any]]] = {label: [] for label in projects}
            for number in range(args.runs):
                for label, project in projects.items():
                    profile = None
                    if args.profile is not None and number == 0:
                        profile = args.profile / view / label.replace(" ", "-")
                        profile.mkdir(parents=True, exist_ok=True)
                    run = run_once(project, view, args.seconds, args.rate, profile)
                    runs[label].append(run)
                    print(
                        f"{view} / {label} run {number + 1}: {run['over100']} tasks > 100 ms, "
                        f"longest {run['longest']:.0f} ms, {run['cpu_over100']} over 100 ms of CPU",
                        flush=True,
                    )
                    if profile is not None:
                        print("\n".join(trace_summary(profile / "trace.json")))
                        print("CPU profile after warm-up, self time:")
                        print(
                            "\n".join(profile_summary(json.loads((profile / "cpu.cpuprofile").read_text()))), flush=True
                        )
            table = render({label: figures(page_runs, args.seconds) for label, page_runs in runs.items()})
            print(table)
            if not args.no_write and args.profile is None:  # a profiled run is slowed by its profiler
                runs_text = (
                    f"{args.runs} alternating runs each, medians (each run in brackets)" if args.runs > 1 else "one run"
                )
                write_section(
                    f"browser-bench-{view}" if view == "rows" else "browser-bench",
                    f"Run: postgresql, {args.rate:,.0f} changes/s for {args.seconds:.0f} s, poll 100 ms, "
                    f"headless Chromium 1440x1000, {VIEWS[view]}; {runs_text}.\n\n" + table,
                )


if __name__ == "__main__":
    main()
