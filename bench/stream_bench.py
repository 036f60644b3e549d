"""Benchmark: insert-to-client latency, delivery and backend cost of the generated backend.

For each database (PostgreSQL, MariaDB, SQLite on this machine) and each case
(inserts per second x WebSocket clients), this script generates the TPC-H example
project, migrates a fresh database, starts the backend under uvicorn, connects
the clients, inserts orders at a steady rate from writer threads, and measures:

- latency from each insert's COMMIT returning to each client receiving it (p50/p99);
- the delivered fraction and the number of duplicates, per client;
- the backend's CPU seconds per 1,000 events and its peak RSS (from /proc).

A last case inserts 5,000 rows/s in multi-row transactions with one client and
compares the latency of the first and last quarter of the run (lag must not grow).

Before the writers start, each case idles for a few seconds: the polls per second
and backend CPU of the idle backend, then the polls per second under load, show
what the adaptive pace costs (``/metrics``: ``dashboard_polls_total``).

With ``--runs N`` every case runs N times; the table shows the median of each
figure (the lowest delivered fraction, the sum of duplicates).

Usage: python bench/stream_bench.py [--seconds 20] [--databases postgresql,mariadb,sqlite]
       [--runs 3] [--cases all|targets]
Writes the results table to docs/benchmarks.md (between markers) and prints it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from websockets.asyncio.client import connect  # noqa: E402

from bench.report import write_section  # noqa: E402
from tests.support.backend_server import BackendServer  # noqa: E402
from tests.support.databases import TestDatabase, temporary_database  # noqa: E402
from tests.support.paths import TPCH  # noqa: E402
from tests.support.projects import generate, run_in_project  # noqa: E402
from tests.support.template_repo import snapshot_template  # noqa: E402

IDLE_SECONDS = 5.0
"""Each case idles this long before the writers start (idle polls/s and CPU)."""

KEY = re.compile(r'"order_key"\s*:\s*"(b\d+-\d+)"')
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Case:
    database: str
    rate: int
    clients: int
    batch: int = 1  # rows per transaction
    poll_ms: int = 100
    notify: bool = False
    """PostgreSQL: migrate with --notify (the NOTIFY trigger wakes the poller on commit)."""
    fast_ms: int = 20
    """The pace while events flow; ``poll_ms`` gives the fixed interval of before issue 11."""


@dataclass
class Result:
    case: Case
    committed: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    delivered_fraction: float = 0.0
    duplicates: int = 0
    cpu_per_1000: float = 0.0
    cpu_cores: float = 0.0
    peak_rss_mb: float = 0.0
    first_quarter_p50: float = 0.0
    last_quarter_p50: float = 0.0
    achieved_rate: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    idle_polls_per_s: float = 0.0
    idle_cpu_cores: float = 0.0
    active_polls_per_s: float = 0.0


class Writers:
    """Threads inserting orders at a steady total rate; records each row's commit time."""

    def __init__(self, db: TestDatabase, rate: int, batch: int, threads: int = 4):
        self.db, self.rate, self.batch, self.threads = db, rate, batch, threads
        self.committed_at: dict[str, float] = {}
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def start(self) -> None:
        for number in range(self.threads):
            thread = threading.Thread(target=self._run, args=(number,), daemon=True)
            thread.start()
            self._workers.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._workers:
            thread.join()

    def _run(self, number: int) -> None:
        per_thread = self.rate / self.threads
        interval = self.batch / per_thread
        db = self.db
        values = ", ".join([f"({db.placeholder}, 'C-1', 'O', 10.5, '2024-01-01')"] * self.batch)
        sql = f"INSERT INTO orders (order_key, customer_key, order_status, total_price, order_date) VALUES {values}"
        sequence = 0
        with db.connect() as conn:
            if db.dialect == "sqlite":
                conn.execute("PRAGMA busy_timeout = 30000")
            cursor = conn.cursor()
            next_at = time.perf_counter()
            while not self._stop.is_set():
                keys = [f"b{number}-{sequence + i}" for i in range(self.batch)]
                sequence += self.batch
                cursor.execute(sql, tuple(keys))  # autocommit: one transaction per statement
                done = time.time()
                for key in keys:
                    self.committed_at[key] = done
                next_at += interval
                delay = next_at - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)


class Client:
    def __init__(self, url: str):
        self.url = url
        self.received: dict[str, float] = {}
        self.duplicates = 0
        self.task: asyncio.Task[None] | None = None

    async def run(self, ready: asyncio.Event) -> None:
        async with connect(self.url, max_size=None) as ws:
            await ws.recv()  # hello
            ready.set()
            async for message in ws:
                now = time.time()
                for key in KEY.findall(message if isinstance(message, str) else message.decode()):
                    if key in self.received:
                        self.duplicates += 1
                    else:
                        self.received[key] = now


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


async def run_case(case: Case, project: Path, workdir: Path, seconds: float) -> Result:
    result = Result(case)
    with temporary_database(case.database, workdir) as db:
        notify = ["--notify"] if case.notify else []
        migrated = run_in_project(project, "-m", "backend.migrate", "--create-entity-tables", *notify,
                                  env={"DATABASE_URL": db.url})  # fmt: skip
        assert migrated.returncode == 0, migrated.stderr
        server = BackendServer(project, db.url, POLL_INTERVAL_MS=str(case.poll_ms), CLIENT_QUEUE_BYTES=str(256 << 20),
                               POLL_FAST_INTERVAL_MS=str(case.fast_ms))  # fmt: skip
        server.start()
        try:
            assert server.process is not None
            pid = server.process.pid
            clients = [Client(server.ws) for _ in range(case.clients)]
            readies = [asyncio.Event() for _ in clients]
            for client, ready in zip(clients, readies, strict=True):
                client.task = asyncio.create_task(client.run(ready))
            await asyncio.wait_for(asyncio.gather(*(ready.wait() for ready in readies)), 60)
            polls_idle, cpu_idle, idle_from = server.metric("dashboard_polls_total"), _cpu_seconds(pid), time.time()
            await asyncio.sleep(IDLE_SECONDS)
            idle_for = time.time() - idle_from
            result.idle_polls_per_s = (server.metric("dashboard_polls_total") - polls_idle) / idle_for
            result.idle_cpu_cores = (_cpu_seconds(pid) - cpu_idle) / idle_for
            writers = Writers(db, case.rate, case.batch)
            polls_before = server.metric("dashboard_polls_total")
            cpu_before = _cpu_seconds(pid)
            started = time.time()
            writers.start()
            await asyncio.sleep(seconds)
            await asyncio.to_thread(writers.stop)
            elapsed = time.time() - started
            result.active_polls_per_s = (server.metric("dashboard_polls_total") - polls_before) / elapsed
            committed = dict(writers.committed_at)
            deadline = time.time() + 30
            while time.time() < deadline and any(len(c.received) < len(committed) for c in clients):
                await asyncio.sleep(0.2)
            cpu = _cpu_seconds(pid) - cpu_before
            result.peak_rss_mb = _peak_rss_mb(pid)
            for client in clients:
                assert client.task is not None
                client.task.cancel()
        finally:
            server.stop()
    result.committed = len(committed)
    result.achieved_rate = len(committed) / elapsed
    latencies: list[float] = []
    fractions: list[float] = []
    for client in clients:
        fractions.append(sum(1 for key in committed if key in client.received) / max(1, len(committed)))
        result.duplicates += client.duplicates
        latencies.extend((client.received[k] - t) * 1000 for k, t in committed.items() if k in client.received)
    result.latencies_ms = latencies
    result.p50_ms = _percentile(latencies, 0.5)
    result.p99_ms = _percentile(latencies, 0.99)
    result.delivered_fraction = min(fractions) if fractions else 0.0
    result.cpu_per_1000 = cpu / max(1, len(committed)) * 1000
    result.cpu_cores = cpu / elapsed
    ordered = sorted(committed.items(), key=lambda item: item[1])
    quarter = max(1, len(ordered) // 4)
    first, last = ordered[:quarter], ordered[-quarter:]
    reference = clients[0].received
    result.first_quarter_p50 = statistics.median((reference[k] - t) * 1000 for k, t in first if k in reference)
    result.last_quarter_p50 = statistics.median((reference[k] - t) * 1000 for k, t in last if k in reference)
    return result


def _median_result(runs: list[Result]) -> Result:
    """One row for several runs of a case: the median of each figure; the worst delivery, all duplicates."""

    def median(pick: Callable[[Result], float]) -> float:
        return statistics.median(pick(r) for r in runs)

    merged = Result(runs[0].case)
    merged.committed = int(median(lambda r: r.committed))
    merged.achieved_rate = median(lambda r: r.achieved_rate)
    merged.delivered_fraction = min(r.delivered_fraction for r in runs)
    merged.duplicates = sum(r.duplicates for r in runs)
    merged.cpu_per_1000 = median(lambda r: r.cpu_per_1000)
    merged.cpu_cores = median(lambda r: r.cpu_cores)
    merged.peak_rss_mb = median(lambda r: r.peak_rss_mb)
    merged.first_quarter_p50 = median(lambda r: r.first_quarter_p50)
    merged.last_quarter_p50 = median(lambda r: r.last_quarter_p50)
    merged.idle_polls_per_s = median(lambda r: r.idle_polls_per_s)
    merged.idle_cpu_cores = median(lambda r: r.idle_cpu_cores)
    merged.active_polls_per_s = median(lambda r: r.active_polls_per_s)
    merged.p50_ms = median(lambda r: r.p50_ms)
    merged.p99_ms = median(lambda r: r.p99_ms)
    return merged


def render(results: list[Result], seconds: float, runs: int = 1) -> str:
    machine = (
        f"{os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"{round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GiB, "
        f"Python {platform.python_version()}, databases on the same machine, stock settings"
    )
    of_runs = f" Medians of {runs} runs per case (delivered: the lowest; duplicates: the sum)." if runs > 1 else ""
    lines = [
        f"Machine: {machine}. Each run: {IDLE_SECONDS:.0f} s idle, {seconds:.0f} s of inserts, then up to 30 s "
        f"to drain.{of_runs}",
        "Latency: from the insert's COMMIT returning in the writer to the client receiving the event. "
        "Poll ms: the idle interval (the pace is 20 ms while events flow); + NOTIFY: migrated with --notify.",
        "",
        "| Database | Inserts/s (achieved) | Rows/txn | Poll ms | Clients | p50 ms | p99 ms | Delivered | Duplicates "
        "| CPU s / 1,000 events | Backend CPU (cores) | Peak RSS MB | p50 first / last quarter ms "
        "| Polls/s idle / active | Idle CPU (cores) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        c = r.case
        name = f"{c.database} + NOTIFY" if c.notify else c.database
        name += f" (fixed {c.poll_ms} ms)" if c.fast_ms >= c.poll_ms else ""
        lines.append(
            f"| {name} | {c.rate} ({r.achieved_rate:.0f}) | {c.batch} | {c.poll_ms} | {c.clients} "
            f"| {r.p50_ms:.0f} | {r.p99_ms:.0f} "
            f"| {r.delivered_fraction:.4%} | {r.duplicates} | {r.cpu_per_1000:.3f} | {r.cpu_cores:.2f} "
            f"| {r.peak_rss_mb:.0f} | {r.first_quarter_p50:.0f} / {r.last_quarter_p50:.0f} "
            f"| {r.idle_polls_per_s:.1f} / {r.active_polls_per_s:.0f} | {r.idle_cpu_cores:.3f} |"
        )
    return "\n".join(lines) + "\n"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--databases", default="postgresql,mariadb,sqlite")
    parser.add_argument("--runs", type=int, default=1, help="runs per case; the table shows medians")
    parser.add_argument(
        "--cases",
        choices=("all", "targets", "compare"),
        default="all",
        help="targets: 1,000 inserts/s x 100 clients only; compare: the same beside the fixed 100 ms pace of before",
    )
    parser.add_argument("--section", default="stream-bench", help="the docs/benchmarks.md section to write")
    parser.add_argument("--no-write", action="store_true", help="print only, leave docs/benchmarks.md alone")
    args = parser.parse_args()
    databases = args.databases.split(",")
    if args.cases == "compare":
        cases = [Case(database, 1000, 100, fast_ms=fast) for database in databases for fast in (100, 20)]
        cases += [Case("postgresql", 1000, 100, notify=True)] if "postgresql" in databases else []
    elif args.cases == "targets":
        cases = [Case(database, 1000, 100) for database in databases]
        cases += [Case("postgresql", 1000, 100, notify=True)] if "postgresql" in databases else []
    else:
        cases = [
            Case(database, rate, clients) for database in databases for rate in (100, 1000) for clients in (1, 100)
        ]
        cases += [Case(database, 5000, 1, batch=50) for database in databases]
        cases += [Case("postgresql", rate, clients, notify=True) for rate in (100, 1000) for clients in (1, 100)
                  if "postgresql" in databases]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        project = generate(snapshot_template(workdir / "template"), workdir / "project", TPCH)
        runs: dict[int, list[Result]] = {index: [] for index in range(len(cases))}
        # Runs interleave (every case once, then again), so load drifting on a shared machine spreads over all.
        for _ in range(args.runs):
            for index, case in enumerate(cases):
                result = await run_case(case, project, workdir, args.seconds)
                print(render([result], args.seconds).splitlines()[-1], f"load {os.getloadavg()[0]:.2f}", flush=True)
                runs[index].append(result)
    table = render([_median_result(runs[index]) for index in range(len(cases))], args.seconds, args.runs)
    print(table)
    if not args.no_write:
        write_section(args.section, table)


if __name__ == "__main__":
    asyncio.run(main())
