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
figure (the lowest delivered fraction, the sum of duplicates). Each case's
1-minute load average is recorded beside its figures (the machine is shared).

``--cases peers`` runs, on PostgreSQL, our backend and nomnom's generated
dashboard backend (``bench/peers/nomnom.py``: how it is run unchanged, and what
of it cannot run here) alternately in the same run, at 100/s x 1 client,
1,000/s x 1 and 100/s x 100; ``--nomnom PATH`` (or ``NOMNOM_REPO``) names a
clone of scie-nz/nomnom. Both get the same writers, clients and drain time.

``--cases scale`` runs the remaining targets of issue 11 on PostgreSQL: 1,000
clients at 1,000 inserts/s, spread over ``--processes`` harness processes
(the client processes of ``bench/replica_bench.py``, against one backend, no
load balancer) with the backend's CPU per wall second read from /proc; and
5,000 inserts/s in 50-row transactions (one client), with the p50 latency of
the first, middle and last quarter of the run (lag must not grow).

``DUMP_LATENCIES=PATH`` (scale) writes every sampled (commit time, latency ms)
pair of the 1,000-client case to PATH, to see when the slow ones happened.

Usage: python bench/stream_bench.py [--seconds 20] [--databases postgresql,mariadb,sqlite]
       [--runs 3] [--cases all|targets|compare|peers|scale] [--nomnom PATH] [--processes 4]
Writes the results table to docs/benchmarks.md (between markers) and prints it.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from websockets.asyncio.client import connect  # noqa: E402

from bench.peers import nomnom  # noqa: E402
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
    peer: str = ""
    """"" for our backend, "nomnom" for nomnom's generated one (bench/peers/nomnom.py)."""


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
    middle_quarter_p50: float = 0.0
    last_quarter_p50: float = 0.0
    passed_over: int = 0
    """PostgreSQL: rows a client never got though it got a later event (higher db_events id): lost for good
    to a cursor that only moves forward, not merely late. The most of any client."""
    wait_per_s: float = 0.0
    """Seconds the backend waited for a CPU per wall second (from the first insert to the end of the drain)."""
    cpu_per_1000_delivered: float = 0.0
    """CPU seconds per 1,000 events the worst client received (a backend that falls behind sends fewer)."""
    load_1min: float = 0.0
    """The machine's 1-minute load average at the end of the case."""
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
        rows = tpch_orders(number)
        values = ", ".join(["(" + ", ".join([db.placeholder] * (1 + len(rows[0]))) + ")"] * self.batch)
        sql = f"INSERT INTO orders ({', '.join(ORDER_COLUMNS)}) VALUES {values}"
        sequence = 0
        with db.connect() as conn:
            if db.dialect == "sqlite":
                conn.execute("PRAGMA busy_timeout = 30000")
            cursor = conn.cursor()
            next_at = time.perf_counter()
            while not self._stop.is_set():
                keys = [f"b{number}-{sequence + i}" for i in range(self.batch)]
                parameters = [value for i, key in enumerate(keys) for value in (key, *rows[(sequence + i) % len(rows)])]
                sequence += self.batch
                cursor.execute(sql, tuple(parameters))  # autocommit: one transaction per statement
                done = time.time()
                for key in keys:
                    self.committed_at[key] = done
                next_at += interval
                delay = next_at - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)


ORDER_COLUMNS = ("order_key", "customer_key", "order_status", "total_price", "order_date", "order_priority",
                 "clerk", "ship_priority", "comment")  # fmt: skip
_COMMENT_WORDS = [
    "furiously",
    "final",
    "ideas",
    "sleep",
    "carefully",
    "among",
    "the",
    "blithely",
    "regular",
    "deposits",
    "pending",
    "requests",
    "haggle",
    "quickly",
    "express",
    "packages",
    "against",
    "ironic",
    "accounts",
    "boost",
    "slyly",
    "unusual",
    "theodolites",
]


def tpch_orders(seed: int, count: int = 1000) -> list[tuple[object, ...]]:
    """``count`` orders (all but the key) varied as TPC-H's generator varies them, so that what the
    backend sends, and how well it compresses, is what a real load gives, not one row repeated."""
    generate = random.Random(seed)  # noqa: S311 - test data, reproducible by seed
    return [
        (
            f"Customer#{generate.randint(1, 150_000):09d}",
            generate.choice("OFP"),
            round(generate.uniform(850, 560_000), 2),
            f"199{generate.randint(2, 8)}-{generate.randint(1, 12):02d}-{generate.randint(1, 28):02d}",
            generate.choice(("1-URGENT", "2-HIGH", "3-MEDIUM", "4-NOT SPECIFIED", "5-LOW")),
            f"Clerk#{generate.randint(1, 1000):09d}",
            0,
            " ".join(generate.choices(_COMMENT_WORDS, k=generate.randint(3, 12))),
        )
        for _ in range(count)
    ]


def our_keys(message: str) -> list[str]:
    """The order keys in one of our messages (a batch of events)."""
    return KEY.findall(message)


class Client:
    def __init__(self, url: str, keys: Callable[[str], list[str]] = our_keys, hello: bool = True):
        self.url, self.keys, self.hello = url, keys, hello
        self.received: dict[str, float] = {}
        self.duplicates = 0
        self.task: asyncio.Task[None] | None = None

    async def run(self, ready: asyncio.Event) -> None:
        async with connect(self.url, max_size=None) as ws:
            if self.hello:
                await ws.recv()
            ready.set()
            async for message in ws:
                now = time.time()
                for key in self.keys(message if isinstance(message, str) else message.decode()):
                    if key in self.received:
                        self.duplicates += 1
                    else:
                        self.received[key] = now


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class RunQueueWait:
    """Seconds a process's threads spent runnable but waiting for a CPU (/proc/<pid>/task/*/schedstat).

    Beside its CPU time it says whether a process was slow by itself or starved by the machine's load.
    Counted per thread between two reads, over the threads alive at both: a thread that ends meanwhile
    (an executor thread) would otherwise take its whole wait out of the sum.
    """

    def __init__(self, pid: int):
        self.pid = pid
        self.before = self._read()

    def _read(self) -> dict[str, int]:
        waits: dict[str, int] = {}
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            try:
                waits[task.name] = int((task / "schedstat").read_text().split()[1])
            except (OSError, IndexError, ValueError):  # a thread that ended meanwhile
                continue
        return waits

    def seconds(self) -> float:
        """The wait since this object was made."""
        now = self._read()
        return sum(wait - self.before[tid] for tid, wait in now.items() if tid in self.before) / 1e9


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


def _quarters(latencies: list[tuple[float, float]], start: float, end: float) -> tuple[float, float, float]:
    """p50 latency of the rows committed in the first, middle and last quarter of the run from start to end.

    ``latencies``: (commit time, ms) of the rows received. A quarter none of whose rows arrived is NaN.
    """
    span = end - start or 1.0

    def p50(low: float, high: float) -> float:
        inside = [ms for t, ms in latencies if low <= (t - start) / span <= high]
        return statistics.median(inside) if inside else math.nan

    return p50(0.0, 0.25), p50(0.375, 0.625), p50(0.75, 1.0)


async def run_case(
    case: Case, project: Path, workdir: Path, seconds: float, checkout: nomnom.Checkout | None = None
) -> Result:
    result = Result(case)
    polls: Callable[[], float] | None = None
    with temporary_database(case.database, workdir) as db, ExitStack() as running:
        if case.peer == "nomnom":
            assert checkout is not None, "--nomnom: a clone of scie-nz/nomnom"
            peer = running.enter_context(nomnom.serving(checkout, db, workdir / "nomnom-uvicorn.log"))
            pid, url, keys, hello = peer.pid, peer.ws, nomnom.order_keys, peer.hello
        else:
            notify = ["--notify"] if case.notify else []
            migrated = run_in_project(project, "-m", "backend.migrate", "--create-entity-tables", *notify,
                                      env={"DATABASE_URL": db.url})  # fmt: skip
            assert migrated.returncode == 0, migrated.stderr
            server = BackendServer(
                project,
                db.url,
                POLL_INTERVAL_MS=str(case.poll_ms),
                CLIENT_QUEUE_BYTES=str(256 << 20),
                POLL_FAST_INTERVAL_MS=str(case.fast_ms),
            )
            server.start()
            running.callback(server.stop)
            assert server.process is not None
            pid, url, keys, hello = server.process.pid, server.ws, our_keys, True
            polls = lambda: server.metric("dashboard_polls_total")  # noqa: E731
        clients = [Client(url, keys, hello) for _ in range(case.clients)]
        readies = [asyncio.Event() for _ in clients]
        for client, ready in zip(clients, readies, strict=True):
            client.task = asyncio.create_task(client.run(ready))
        await asyncio.wait_for(asyncio.gather(*(ready.wait() for ready in readies)), 60)
        if case.peer == "nomnom":  # no hello: wait until its /api/health counts every client
            deadline = time.time() + 30
            while time.time() < deadline and await asyncio.to_thread(peer.connected_clients) < case.clients:
                await asyncio.sleep(0.1)
        polls_idle, cpu_idle, idle_from = polls() if polls else math.nan, _cpu_seconds(pid), time.time()
        await asyncio.sleep(IDLE_SECONDS)
        idle_for = time.time() - idle_from
        result.idle_polls_per_s = ((polls() if polls else math.nan) - polls_idle) / idle_for
        result.idle_cpu_cores = (_cpu_seconds(pid) - cpu_idle) / idle_for
        writers = Writers(db, case.rate, case.batch)
        polls_before = polls() if polls else math.nan
        cpu_before, waited = _cpu_seconds(pid), RunQueueWait(pid)
        started = time.time()
        writers.start()
        await asyncio.sleep(seconds)
        await asyncio.to_thread(writers.stop)
        elapsed = time.time() - started
        result.active_polls_per_s = ((polls() if polls else math.nan) - polls_before) / elapsed
        committed = dict(writers.committed_at)
        deadline = time.time() + 30
        while time.time() < deadline and any(len(c.received) < len(committed) for c in clients):
            await asyncio.sleep(0.2)
        cpu = _cpu_seconds(pid) - cpu_before
        busy = time.time() - started  # the inserts and the drain: a backend that falls behind works on after
        result.wait_per_s = waited.seconds() / busy
        result.peak_rss_mb = _peak_rss_mb(pid)
        for client in clients:
            assert client.task is not None
            client.task.cancel()
        # Both backends' db_events hold the row as JSON in payload, keyed by the order key.
        event_ids: dict[str, int] = {}
        if case.database == "postgresql":
            event_ids = dict(db.query("SELECT payload->>'order_key', id FROM db_events"))
    result.load_1min = os.getloadavg()[0]
    result.committed = len(committed)
    result.achieved_rate = len(committed) / elapsed
    latencies: list[float] = []
    fractions: list[float] = []
    for client in clients:
        fractions.append(sum(1 for key in committed if key in client.received) / max(1, len(committed)))
        result.duplicates += client.duplicates
        newest = max((event_ids[key] for key in client.received if key in event_ids), default=0)
        missed = sum(1 for key in committed if key not in client.received and event_ids.get(key, newest) < newest)
        result.passed_over = max(result.passed_over, missed)
        latencies.extend((client.received[k] - t) * 1000 for k, t in committed.items() if k in client.received)
    result.latencies_ms = latencies
    result.p50_ms = _percentile(latencies, 0.5)
    result.p99_ms = _percentile(latencies, 0.99)
    result.delivered_fraction = min(fractions) if fractions else 0.0
    result.cpu_per_1000 = cpu / max(1, len(committed)) * 1000
    result.cpu_per_1000_delivered = cpu / max(1.0, result.delivered_fraction * len(committed)) * 1000
    result.cpu_cores = cpu / busy
    reference = clients[0].received
    result.first_quarter_p50, result.middle_quarter_p50, result.last_quarter_p50 = _quarters(
        [(t, (reference[k] - t) * 1000) for k, t in committed.items() if k in reference],
        min(committed.values(), default=0.0),
        max(committed.values(), default=0.0),
    )
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
    merged.passed_over = sum(r.passed_over for r in runs)
    merged.wait_per_s = median(lambda r: r.wait_per_s)
    merged.cpu_per_1000 = median(lambda r: r.cpu_per_1000)
    merged.cpu_cores = median(lambda r: r.cpu_cores)
    merged.peak_rss_mb = median(lambda r: r.peak_rss_mb)
    merged.first_quarter_p50 = median(lambda r: r.first_quarter_p50)
    merged.middle_quarter_p50 = median(lambda r: r.middle_quarter_p50)
    merged.last_quarter_p50 = median(lambda r: r.last_quarter_p50)
    merged.cpu_per_1000_delivered = median(lambda r: r.cpu_per_1000_delivered)
    merged.load_1min = median(lambda r: r.load_1min)
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


@dataclass
class ManyClients:
    """One run of the 1,000-client case: clients in several harness processes, one backend."""

    clients: int
    processes: int
    rate: int
    connected: int = 0
    committed: int = 0
    achieved_rate: float = 0.0
    delivered_fraction: float = 0.0
    duplicates: int = 0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    quarters: tuple[float, float, float] = (0.0, 0.0, 0.0)
    cpu_cores: float = 0.0
    wait_per_s: float = 0.0
    """Seconds the backend waited for a CPU per wall second of inserts."""
    cpu_per_1000: float = 0.0
    peak_rss_mb: float = 0.0
    load_1min: float = 0.0
    harness_cpu_cores: list[float] = field(default_factory=list)
    """Per harness process: its CPU per wall second of inserts (a harness near 1 core cannot keep up)."""
    harness_wait_per_s: list[float] = field(default_factory=list)
    """Per harness process: seconds it waited for a CPU per wall second of inserts."""
    batches_per_s: float = 0.0
    """Batches the backend published per second of inserts: each is one WebSocket message to every client."""
    compression: bool = True
    """The clients asked for compressed events messages (``?compression=deflate``)."""
    replicas: int = 1
    """Backends on the database, the clients spread evenly over them; CPU and wait are their sums, RSS the
    largest, batches per second per backend."""
    sent_mb_per_s: float = 0.0
    """Megabytes of messages the backend queued to its clients per second of inserts (/metrics)."""


async def run_many_clients(
    project: Path,
    workdir: Path,
    seconds: float,
    clients: int,
    processes: int,
    rate: int,
    compression: bool = True,
    replicas: int = 1,
) -> ManyClients:
    """``clients`` WebSocket clients over ``processes`` harness processes (replica_bench's), on ``replicas``
    backends of one database (harness process i connects to backend i mod ``replicas``; no load balancer)."""
    from bench import replica_bench  # here: replica_bench imports this module

    result = ManyClients(clients, processes, rate, compression=compression, replicas=replicas)
    capacity = int(rate * seconds * 2) + 1000
    context = multiprocessing.get_context("spawn")
    with temporary_database("postgresql", workdir) as db, ExitStack() as running:
        migrated = run_in_project(project, "-m", "backend.migrate", "--create-entity-tables",
                                  env={"DATABASE_URL": db.url})  # fmt: skip
        assert migrated.returncode == 0, migrated.stderr
        servers = []
        for _ in range(replicas):
            server = BackendServer(project, db.url, POLL_INTERVAL_MS="100", CLIENT_QUEUE_BYTES=str(256 << 20))
            server.start()
            running.callback(server.stop)
            servers.append(server)
        pids = [server.pid for server in servers]
        shares = [clients // processes + (i < clients % processes) for i in range(processes)]
        query = "?compression=deflate" if compression else ""
        pipes = []
        workers = []
        for number, share in enumerate(shares):
            mine, theirs = context.Pipe()
            url = servers[number % replicas].ws + query
            worker = context.Process(  # daemon: ends with this script, whatever happens to it
                target=replica_bench._harness_process, args=(url, share, capacity, theirs), daemon=True
            )
            worker.start()
            running.callback(worker.join, 30)
            pipes.append(mine)
            workers.append(worker)
        for pipe in pipes:
            _, connected = await asyncio.to_thread(pipe.recv)
            result.connected += connected
        print(f"{result.connected} clients connected", flush=True)
        writers = Writers(db, rate, 1, threads=replica_bench.WRITERS)

        def summed(name: str) -> float:
            return sum(server.metric(name) for server in servers)

        cpu_before, waited = sum(_cpu_seconds(pid) for pid in pids), [RunQueueWait(pid) for pid in pids]
        harness_before = [(_cpu_seconds(w.pid), RunQueueWait(w.pid)) for w in workers if w.pid]
        batches_before = await asyncio.to_thread(summed, "dashboard_batches_published_total")
        bytes_before = await asyncio.to_thread(summed, "dashboard_message_bytes_queued_total")
        started = time.time()
        writers.start()
        await asyncio.sleep(seconds)
        await asyncio.to_thread(writers.stop)
        elapsed = time.time() - started
        cpu = sum(_cpu_seconds(pid) for pid in pids) - cpu_before
        batches = await asyncio.to_thread(summed, "dashboard_batches_published_total") - batches_before
        result.batches_per_s = batches / elapsed / replicas
        sent = await asyncio.to_thread(summed, "dashboard_message_bytes_queued_total") - bytes_before
        result.sent_mb_per_s = sent / elapsed / 1e6
        result.wait_per_s = sum(wait.seconds() for wait in waited) / elapsed
        for worker, (harness_cpu, harness_wait) in zip(workers, harness_before, strict=True):
            assert worker.pid is not None
            result.harness_cpu_cores.append((_cpu_seconds(worker.pid) - harness_cpu) / elapsed)
            result.harness_wait_per_s.append(harness_wait.seconds() / elapsed)
        committed = dict(writers.committed_at)
        for pipe in pipes:
            pipe.send(("drain", len(committed), 30.0))
        reports: list[replica_bench.HarnessReport] = [await asyncio.to_thread(pipe.recv) for pipe in pipes]
        result.peak_rss_mb = max(_peak_rss_mb(pid) for pid in pids)
    result.load_1min = os.getloadavg()[0]
    result.committed = len(committed)
    result.achieved_rate = len(committed) / elapsed
    result.cpu_cores = cpu / elapsed  # over the inserts only: the drain is the harness catching up
    result.cpu_per_1000 = cpu / max(1, len(committed)) * 1000
    delivered = [count for report in reports for count in report.delivered]
    result.delivered_fraction = min(delivered) / max(1, len(committed)) if delivered else 0.0
    result.duplicates = sum(report.duplicates for report in reports)
    writers_n = replica_bench.WRITERS
    committed_at = {int(seq) * writers_n + int(w): t for key, t in committed.items() for w, seq in [key[1:].split("-")]}
    pairs = [(committed_at[index], (received - committed_at[index]) * 1000)
             for report in reports for index, received in report.samples if index in committed_at]  # fmt: skip
    latencies = [ms for _, ms in pairs]
    if os.environ.get("DUMP_LATENCIES"):
        Path(os.environ["DUMP_LATENCIES"]).write_text("\n".join(f"{t} {ms}" for t, ms in pairs))
    result.p50_ms, result.p99_ms = _percentile(latencies, 0.5), _percentile(latencies, 0.99)
    result.quarters = _quarters(pairs, min(committed.values(), default=0.0), max(committed.values(), default=0.0))
    return result


def _machine() -> str:
    return (
        f"{os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"{round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GiB, "
        f"Python {platform.python_version()}, PostgreSQL on the same machine, stock settings"
    )


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0f}"


def render_peers(results: list[Result], seconds: float, runs: int, commit: str) -> str:
    """Ours and nomnom's side by side, case by case."""
    of_runs = (
        f" Medians of {runs} interleaved runs per row (delivered: the lowest; duplicates, passed over: the sum)."
        if runs > 1
        else ""
    )
    lines = [
        f"Machine: {_machine()}. nomnom: scie-nz/nomnom at {commit[:12]}, config/examples/tpch/dashboard, "
        f"FastAPI backend run unchanged (bench/peers/nomnom.py). Each run: {IDLE_SECONDS:.0f} s idle, "
        f"{seconds:.0f} s of inserts from 4 writers (one row per transaction), then up to 30 s to drain, "
        f"for both.{of_runs}",
        "Delivered: the lowest fraction of committed rows a client received by the end of the drain. "
        "Passed over: rows a client never received though it received a later event (higher db_events id), "
        "lost for good to a cursor that only moves forward (the most of any client; the sum over runs). "
        "Latency: COMMIT returning in the writer to the client receiving the row, over the rows received. "
        "CPU per 1,000 events: the backend process's CPU from the first insert to the end of the drain, "
        "per 1,000 rows the worst client received; Backend CPU (cores): the same per wall second; waited for a "
        "CPU: the seconds its threads were runnable but not running, per wall second (/proc/<pid>/task/*/schedstat), "
        "how much the machine's load starved it. "
        "Load: the machine's 1-minute load average after the run.",
        "",
        "| Inserts/s x clients | Backend | Inserts/s achieved | Delivered | Passed over | Duplicates | p50 ms | p99 ms "
        "| CPU s / 1,000 events | Backend CPU (cores) | Backend waited for a CPU (s/s) | Peak RSS MB "
        "| p50 first / middle / last quarter ms | Load (1 min) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        c = r.case
        lines.append(
            f"| {c.rate}/s x {c.clients} | {'nomnom (FastAPI)' if c.peer == 'nomnom' else 'this template'} "
            f"| {r.achieved_rate:.0f} | {r.delivered_fraction:.2%} | {r.passed_over} | {r.duplicates} "
            f"| {_ms(r.p50_ms)} | {_ms(r.p99_ms)} "
            f"| {r.cpu_per_1000_delivered:.3f} | {r.cpu_cores:.2f} | {r.wait_per_s:.2f} | {r.peak_rss_mb:.0f} "
            f"| {_ms(r.first_quarter_p50)} / {_ms(r.middle_quarter_p50)} / {_ms(r.last_quarter_p50)} "
            f"| {r.load_1min:.1f} |"
        )
    return "\n".join(lines) + "\n"


def _many_label(m: ManyClients) -> str:
    backends = "" if m.replicas == 1 else f", {m.replicas} backends"
    return f"{m.rate}/s x {m.clients} clients, {'compressed' if m.compression else 'text'}{backends}"


def render_scale(many: list[ManyClients], batched: list[Result], seconds: float) -> str:
    """The 1,000-client and the 5,000 inserts/s cases: every run, then the medians per case."""
    lines = [
        f"Machine: {_machine()}. {seconds:.0f} s of inserts per run, then up to 30 s to drain. Adaptive pace "
        "(100 ms idle, 20 ms while events flow). Backend CPU: the uvicorn process's CPU time (/proc) per wall "
        "second (1,000 clients: of inserts; 5,000/s: of inserts and drain). Waited for a CPU: the seconds its "
        "threads were runnable but not running, per wall second (/proc/<pid>/task/*/schedstat): how much the "
        "machine's load starved it. Harness: the same two figures for each client process (1,000 clients), "
        "which must stay well under 1 core for the latency to be the backend's. Batches/s: batches the backend "
        "published (one WebSocket message to each client). Load: the machine's 1-minute load average after the run.",
        "",
        "| Case | Run | Inserts/s achieved | Clients connected | Delivered (worst client) | Duplicates | p50 ms "
        "| p99 ms | p50 first / middle / last quarter ms | Backend CPU (cores) | Backend waited for a CPU (s/s) "
        "| CPU s / 1,000 events | Peak RSS MB | Batches/s | Sent MB/s | Harness CPU per process (cores) "
        "| Harness waited (s/s) | Load (1 min) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for number, m in enumerate(many, 1):
        q = m.quarters
        lines.append(
            f"| {_many_label(m)} ({m.processes} harness processes) | {number} "
            f"| {m.achieved_rate:.0f} | {m.connected} | {m.delivered_fraction:.2%} | {m.duplicates} "
            f"| {_ms(m.p50_ms)} | {_ms(m.p99_ms)} | {_ms(q[0])} / {_ms(q[1])} / {_ms(q[2])} | {m.cpu_cores:.2f} "
            f"| {m.wait_per_s:.2f} | {m.cpu_per_1000:.3f} | {m.peak_rss_mb:.0f} | {m.batches_per_s:.0f} "
            f"| {m.sent_mb_per_s:.1f} "
            f"| {' / '.join(f'{cores:.2f}' for cores in m.harness_cpu_cores)} "
            f"| {' / '.join(f'{wait:.2f}' for wait in m.harness_wait_per_s)} | {m.load_1min:.1f} |"
        )
    by_database: dict[str, list[Result]] = {}
    for r in batched:
        by_database.setdefault(r.case.database, []).append(r)
    for database_runs in by_database.values():
        for number, r in enumerate(database_runs, 1):
            c = r.case
            lines.append(
                f"| {c.rate}/s in {c.batch}-row transactions x {c.clients} client ({c.database}) | {number} "
                f"| {r.achieved_rate:.0f} | {c.clients} | {r.delivered_fraction:.2%} | {r.duplicates} "
                f"| {_ms(r.p50_ms)} | {_ms(r.p99_ms)} "
                f"| {_ms(r.first_quarter_p50)} / {_ms(r.middle_quarter_p50)} / {_ms(r.last_quarter_p50)} "
                f"| {r.cpu_cores:.2f} | {r.wait_per_s:.2f} | {r.cpu_per_1000:.3f} | {r.peak_rss_mb:.0f} "
                f"| - | - | - | - | {r.load_1min:.1f} |"
            )
    if len(many) > 1 or any(len(runs) > 1 for runs in by_database.values()):
        lines += ["", "Medians:", "",
                  "| Case | Runs | Inserts/s achieved | Delivered (lowest) | Duplicates (sum) | p50 ms | p99 ms "
                  "| p50 first / middle / last quarter ms | Backend CPU (cores) | Backend waited for a CPU (s/s) "
                  "| Load (1 min) |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip

        def med(values: list[float]) -> str:
            return _ms(statistics.median(values)) if values else "-"

        for label in dict.fromkeys(_many_label(m) for m in many):
            runs = [m for m in many if _many_label(m) == label]
            lines.append(
                f"| {label} (postgresql) | {len(runs)} "
                f"| {statistics.median(m.achieved_rate for m in runs):.0f} "
                f"| {min(m.delivered_fraction for m in runs):.2%} | {sum(m.duplicates for m in runs)} "
                f"| {med([m.p50_ms for m in runs])} | {med([m.p99_ms for m in runs])} "
                f"| {' / '.join(med([m.quarters[i] for m in runs]) for i in range(3))} "
                f"| {statistics.median(m.cpu_cores for m in runs):.2f} "
                f"| {statistics.median(m.wait_per_s for m in runs):.2f} "
                f"| {statistics.median(m.load_1min for m in runs):.1f} |"
            )
        for database, database_runs in by_database.items():
            r = _median_result(database_runs)
            lines.append(
                f"| {r.case.rate}/s in {r.case.batch}-row transactions ({database}) | {len(database_runs)} "
                f"| {r.achieved_rate:.0f} | {r.delivered_fraction:.2%} | {r.duplicates} "
                f"| {_ms(r.p50_ms)} | {_ms(r.p99_ms)} "
                f"| {_ms(r.first_quarter_p50)} / {_ms(r.middle_quarter_p50)} / {_ms(r.last_quarter_p50)} "
                f"| {r.cpu_cores:.2f} | {r.wait_per_s:.2f} | {r.load_1min:.1f} |"
            )
    return "\n".join(lines) + "\n"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--databases", default="postgresql,mariadb,sqlite")
    parser.add_argument("--runs", type=int, default=1, help="runs per case; the table shows medians")
    parser.add_argument(
        "--cases",
        choices=("all", "targets", "compare", "peers", "scale"),
        default="all",
        help="targets: 1,000 inserts/s x 100 clients only; compare: the same beside the fixed 100 ms pace of before; "
        "peers: ours beside nomnom's backend (PostgreSQL); scale: 1,000 clients, and 5,000 inserts/s in 50-row "
        "transactions",
    )
    parser.add_argument(
        "--nomnom",
        type=Path,
        default=os.environ.get("NOMNOM_REPO"),
        help="peers: a clone of scie-nz/nomnom (work tree or bare git dir); default $NOMNOM_REPO",
    )
    parser.add_argument("--clients", type=int, default=1000, help="scale: WebSocket clients of the first case")
    parser.add_argument("--processes", type=int, default=4, help="scale: client harness processes")
    parser.add_argument(
        "--compression",
        choices=("deflate", "none", "both"),
        default="both",
        help="scale: the 1,000 clients ask for compressed events messages, or not, or one run of each in turn",
    )
    parser.add_argument(
        "--replicas",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1],
        help="scale: backends for the clients, e.g. 1,2 runs each in turn",
    )
    parser.add_argument("--skip-batched", action="store_true", help="scale: only the 1,000-client case")
    parser.add_argument("--section", help="the docs/benchmarks.md section to write (default: one per --cases)")
    parser.add_argument("--no-write", action="store_true", help="print only, leave docs/benchmarks.md alone")
    args = parser.parse_args()
    databases = args.databases.split(",")
    section = args.section or {"peers": "stream-bench-peers", "scale": "stream-bench-scale"}.get(
        args.cases, "stream-bench"
    )
    if args.cases == "scale":
        await scale(args, databases, section)
        return
    checkout = None
    if args.cases == "peers":
        if args.nomnom is None:
            parser.error("--cases peers needs --nomnom PATH (or NOMNOM_REPO): a clone of scie-nz/nomnom")
        checkout = nomnom.prepare(args.nomnom)
        print(f"nomnom {checkout.commit} at {checkout.dashboard}, venv {checkout.python.parent.parent}", flush=True)
        # Ours and nomnom's alternate, case by case, on PostgreSQL (the only database its example is generated for).
        cases = [Case("postgresql", rate, clients, peer=peer)
                 for rate, clients in ((100, 1), (1000, 1), (100, 100)) for peer in ("", "nomnom")]  # fmt: skip
    elif args.cases == "compare":
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
        for round_number in range(args.runs):
            order = list(enumerate(cases))
            if args.cases == "peers" and round_number % 2:  # every other round nomnom's goes first in each pair
                order = [order[i + 1 - j] for i in range(0, len(order), 2) for j in (0, 1)]
            for index, case in order:
                result = await run_case(case, project, workdir, args.seconds, checkout)
                row = render_peers([result], args.seconds, 1, "") if checkout else render([result], args.seconds)
                print(row.splitlines()[-1], f"load {os.getloadavg()[0]:.2f}", flush=True)
                runs[index].append(result)
    merged = [_median_result(runs[index]) for index in range(len(cases))]
    if checkout is not None:
        table = render_peers(merged, args.seconds, args.runs, checkout.commit)
    else:
        table = render(merged, args.seconds, args.runs)
    print(table)
    if not args.no_write:
        write_section(section, table)


async def scale(args: argparse.Namespace, databases: list[str], section: str) -> None:
    """The 1,000-client case (PostgreSQL) and the 5,000 inserts/s case (each database), interleaved."""
    many: list[ManyClients] = []
    batched: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        project = generate(snapshot_template(workdir / "template"), workdir / "project", TPCH)
        for _ in range(args.runs):
            modes = (True, False) if args.compression == "both" else (args.compression == "deflate",)
            for compression, replicas in ((c, r) for c in modes for r in args.replicas):
                if "postgresql" not in databases:
                    break
                m = await run_many_clients(
                    project, workdir, args.seconds, args.clients, args.processes, 1000, compression, replicas
                )
                many.append(m)
                print(render_scale([m], [], args.seconds).splitlines()[-1], flush=True)
            for database in [] if args.skip_batched else databases:
                r = await run_case(Case(database, 5000, 1, batch=50), project, workdir, args.seconds)
                batched.append(r)
                print(render_scale([], [r], args.seconds).splitlines()[-1], flush=True)
    table = render_scale(many, batched, args.seconds)
    print(table)
    if not args.no_write:
        write_section(section, table)


if __name__ == "__main__":
    asyncio.run(main())
