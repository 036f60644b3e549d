"""Benchmark: many WebSocket clients across three backend replicas behind the shipped nginx load balancer.

Generates the TPC-H example project on PostgreSQL, migrates a fresh database,
starts three uvicorn replicas of the backend (on 127.0.0.2-4 at one port, as
containers share port 8000) and real nginx with the project's own
``deploy/load-balancer.conf`` (a small DNS server answers ``backend`` with the
three addresses, as Docker's DNS does for ``--scale backend=3``). Clients are
spread over several harness processes, each holding its share of WebSocket
connections through nginx, so that one Python process's event loop is not
the bottleneck. Writer threads insert orders at a steady rate; the run measures:

- delivered: per client, the committed rows it received (the worst client is
  reported), and duplicates (an order received twice by one client);
- latency from each insert's COMMIT returning to a client receiving it, over a
  sample of clients in every harness process (p50/p99);
- per replica: clients, CPU (cores), peak RSS, and its load on the database:
  polls per second and events read per poll (from its /metrics);
- nginx's CPU.

Usage: python bench/replica_bench.py [--clients 3000] [--rate 1000] [--seconds 20] [--processes 4]
Writes the tables to docs/benchmarks.md (between markers) and prints them.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import os
import platform
import re
import sys
import tempfile
import time
import zlib
from array import array
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.report import write_section  # noqa: E402
from bench.stream_bench import Writers, _cpu_seconds, _peak_rss_mb, _percentile  # noqa: E402
from bench.ws_reader import read_messages  # noqa: E402
from tests.support.backend_server import BackendServer  # noqa: E402
from tests.support.databases import temporary_database  # noqa: E402
from tests.support.dns_server import DnsServer  # noqa: E402
from tests.support.load_balancer import REPLICA_HOSTS, load_balancer, port_free_on_every_replica_address  # noqa: E402
from tests.support.paths import TPCH  # noqa: E402
from tests.support.projects import generate, run_in_project  # noqa: E402
from tests.support.template_repo import snapshot_template  # noqa: E402

KEY = re.compile(rb'"order_key"\s*:\s*"b(\d+)-(\d+)"')
WRITERS = 4
SAMPLED_PER_PROCESS = 5
"""Clients per harness process whose every receive time is kept (latency); the others count only."""
CONNECT_AT_ONCE = 50
PARSED_KEPT = 64
"""Distinct messages whose row indices a harness process keeps (clients behind that by more parse again)."""


# -- one harness process --------------------------------------------------------------------------


@dataclass
class HarnessReport:
    connected: int
    delivered: list[int]
    """Per client: distinct committed rows received."""
    duplicates: int
    samples: list[tuple[int, float]]
    """(row index, receive time) of the sampled clients."""


class Parsed:
    """Row indices of the messages a harness process receives, each distinct message parsed once.

    Every client of a process gets the same messages (the backend encodes a batch
    once for all), so parsing each client's copy again would make the harness,
    not the backend, the bottleneck at 1,000 clients. A message is looked up by
    its length and ends, then compared whole with the one parsed: a hit is the
    same bytes, never a guess. A compressed message (``?compression=deflate``:
    a binary frame, where every text frame is a JSON object starting with ``{``)
    is decompressed once, on a miss, like the parse.
    """

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.kept: dict[tuple[int, bytes, bytes], tuple[bytes, array[int]]] = {}

    def indices(self, data: bytes) -> array[int]:
        key = (len(data), data[:256], data[-256:])
        found = self.kept.get(key)
        if found is not None and found[0] == data:
            return found[1]
        indices = array("q")
        text = data if data[:1] == b"{" else zlib.decompress(data)
        for writer, sequence in KEY.findall(text):
            index = int(sequence) * WRITERS + int(writer)
            if index < self.capacity:
                indices.append(index)
        if len(self.kept) >= PARSED_KEPT:
            del self.kept[next(iter(self.kept))]  # the oldest: clients have moved past it
        self.kept[key] = (data, indices)
        return indices


def _harness_process(url: str, count: int, capacity: int, pipe: Connection) -> None:
    # What a harness process keeps grows with every message (arrays of row indices, no cycles): the cyclic
    # collector's full passes over it would pause the reader for tens of milliseconds, counted as latency.
    gc.disable()
    asyncio.run(_harness(url, count, capacity, pipe))


async def _harness(url: str, count: int, capacity: int, pipe: Connection) -> None:
    parsed = Parsed(capacity)
    received: list[list[array[int]]] = [[] for _ in range(count)]
    """Per client: the row indices of each message, in order; checked row by row after the drain."""
    counted = [0] * count
    """Per client: rows received so far, duplicates included (enough to know when the drain is over)."""
    timed: list[tuple[int, array[int], float]] = []
    """(client, row indices, receive time) of each message of the sampled clients."""
    connected = 0

    async def client(number: int) -> None:
        mine, sampled = received[number], number < SAMPLED_PER_PROCESS
        greeted = False

        def on_message(data: bytes, now: float) -> None:
            nonlocal connected, greeted
            if not greeted:  # hello
                greeted = True
                connected += 1
                return
            indices = parsed.indices(data)
            mine.append(indices)
            counted[number] += len(indices)
            if sampled:
                timed.append((number, indices, now))

        await (await read_messages(url, on_message))

    tasks: list[asyncio.Task[None]] = []
    for start in range(0, count, CONNECT_AT_ONCE):
        tasks.extend(asyncio.create_task(client(n)) for n in range(start, min(count, start + CONNECT_AT_ONCE)))
        deadline = time.monotonic() + 120
        while connected < len(tasks) and time.monotonic() < deadline and not any(t.done() for t in tasks):
            await asyncio.sleep(0.05)
    pipe.send(("ready", connected))
    _, committed, drain_s = await asyncio.to_thread(pipe.recv)
    deadline = time.monotonic() + drain_s
    while time.monotonic() < deadline and min(counted) < committed:
        await asyncio.sleep(0.2)
    for task in tasks:
        task.cancel()
    # Every row of every client, once the clients are gone (not competing with them for the CPU).
    delivered = [0] * count
    duplicates = 0
    seen = bytearray(capacity)
    for number, messages in enumerate(received):
        seen[:] = bytes(capacity)
        for indices in messages:
            for index in indices:
                if seen[index]:
                    duplicates += 1
                else:
                    seen[index] = 1
                    delivered[number] += 1
    first: dict[tuple[int, int], float] = {}
    for number, indices, at in timed:  # each sampled client's rows, at their first arrival
        for index in indices:
            first.setdefault((number, index), at)
    samples = [(index, at) for (_, index), at in first.items()]
    pipe.send(HarnessReport(connected, delivered, duplicates, samples))


# -- the run --------------------------------------------------------------------------------------


@dataclass
class ReplicaFigures:
    clients: int = 0
    cpu_cores: float = 0.0
    peak_rss_mb: float = 0.0
    polls_per_s: float = 0.0
    events_per_poll: float = 0.0
    poll_ms_per_s: float = 0.0
    """Milliseconds per second this replica spent in its polls (queries and the wait for their answers)."""


@dataclass
class Result:
    clients: int
    processes: int
    rate: int
    poll_ms: int
    seconds: float
    connected: int = 0
    committed: int = 0
    achieved_rate: float = 0.0
    delivered_fraction: float = 0.0
    duplicates: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    replicas: list[ReplicaFigures] = field(default_factory=list)
    nginx_cpu_cores: float = 0.0
    compression: bool = True
    """Clients asked for compressed events messages (``?compression=deflate``)."""


def _tree_cpu_seconds(pid: int) -> float:
    """CPU of a process and its children (nginx's master and its worker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return _cpu_seconds(pid) + sum(_cpu_seconds(int(child)) for child in children)


def _sample(text: str, name: str) -> float:
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert found is not None, f"{name} is not in /metrics"
    return float(found.group(1))


def _counters(replica: BackendServer) -> tuple[float, float, float, int]:
    """Polls, events read, seconds spent polling, clients: one /metrics read (a loaded replica answers slowly)."""
    text = httpx.get(replica.http + "/metrics", timeout=120).text
    return (
        _sample(text, "dashboard_polls_total"),
        _sample(text, "dashboard_events_polled_total"),
        _sample(text, "dashboard_poll_seconds_total"),
        int(_sample(text, "dashboard_clients")),
    )


async def run(project: Path, workdir: Path, args: argparse.Namespace) -> Result:
    result = Result(args.clients, args.processes, args.rate, args.poll_ms, args.seconds, compression=args.compression)
    capacity = int(args.rate * args.seconds * 2) + 1000
    context = multiprocessing.get_context("spawn")
    with temporary_database("postgresql", workdir) as db:
        migrated = run_in_project(project, "-m", "backend.migrate", "--create-entity-tables",
                                  env={"DATABASE_URL": db.url})  # fmt: skip
        assert migrated.returncode == 0, migrated.stderr
        port = port_free_on_every_replica_address()
        settings = {
            "POLL_INTERVAL_MS": str(args.poll_ms),
            "CLIENT_QUEUE_BYTES": str(256 << 20),
            "ALLOWED_HOSTS": ",".join(REPLICA_HOSTS),  # /metrics is read from each replica's own address
        }
        replicas = [BackendServer(project, db.url, host=host, port=port, **settings) for host in REPLICA_HOSTS]
        for replica in replicas:
            replica.start()
        try:
            with (
                DnsServer({"backend": REPLICA_HOSTS}) as dns,
                load_balancer(project, dns, port, workdir / "nginx") as (
                    origin,
                    nginx,
                ),
            ):
                url = origin.replace("http://", "ws://") + "/ws" + ("?compression=deflate" if args.compression else "")
                shares = [args.clients // args.processes + (i < args.clients % args.processes)
                          for i in range(args.processes)]  # fmt: skip
                pipes: list[Connection] = []
                workers = []
                for share in shares:
                    mine, theirs = context.Pipe()
                    worker = context.Process(  # daemon: ends with this script, whatever happens to it
                        target=_harness_process, args=(url, share, capacity, theirs), daemon=True
                    )
                    worker.start()
                    pipes.append(mine)
                    workers.append(worker)
                for pipe in pipes:
                    _, connected = await asyncio.to_thread(pipe.recv)
                    result.connected += connected
                print(f"{result.connected} clients connected", flush=True)
                before = [_counters(replica) for replica in replicas]
                cpu_before = [_cpu_seconds(replica.pid) for replica in replicas]
                nginx_before = _tree_cpu_seconds(nginx.pid)
                writers = Writers(db, args.rate, 1, threads=WRITERS)
                started = time.time()
                writers.start()
                await asyncio.sleep(args.seconds)
                await asyncio.to_thread(writers.stop)
                elapsed = time.time() - started
                after = [_counters(replica) for replica in replicas]
                cpu_after = [_cpu_seconds(replica.pid) for replica in replicas]
                nginx_cpu = _tree_cpu_seconds(nginx.pid) - nginx_before
                committed = dict(writers.committed_at)
                for pipe in pipes:
                    pipe.send(("drain", len(committed), 30.0))
                reports: list[HarnessReport] = [await asyncio.to_thread(pipe.recv) for pipe in pipes]
                for worker in workers:
                    worker.join(timeout=30)
                for replica, was, now, cpu0, cpu1 in zip(replicas, before, after, cpu_before, cpu_after, strict=True):
                    polls = now[0] - was[0]
                    result.replicas.append(
                        ReplicaFigures(
                            clients=now[3],
                            cpu_cores=(cpu1 - cpu0) / elapsed,
                            peak_rss_mb=_peak_rss_mb(replica.pid),
                            polls_per_s=polls / elapsed,
                            events_per_poll=(now[1] - was[1]) / max(1.0, polls),
                            poll_ms_per_s=(now[2] - was[2]) * 1000 / elapsed,
                        )
                    )
                result.nginx_cpu_cores = nginx_cpu / elapsed
        finally:
            for replica in replicas:
                replica.stop()
    result.committed = len(committed)
    result.achieved_rate = len(committed) / elapsed
    delivered = [count for report in reports for count in report.delivered]
    result.delivered_fraction = min(delivered) / max(1, len(committed)) if delivered else 0.0
    result.duplicates = sum(report.duplicates for report in reports)
    committed_at = {int(seq) * WRITERS + int(w): t for key, t in committed.items() for w, seq in [key[1:].split("-")]}
    result.latencies_ms = [
        (received - committed_at[index]) * 1000
        for report in reports
        for index, received in report.samples
        if index in committed_at
    ]
    return result


def render(result: Result) -> str:
    machine = (
        f"{os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"{round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GiB, "
        f"Python {platform.python_version()}; PostgreSQL, nginx, the replicas, the writers and the client "
        "harness all on this machine"
    )
    r = result
    lines = [
        f"Machine: {machine}. {r.seconds:.0f} s of inserts (one row per transaction, {WRITERS} writers), "
        "then up to 30 s to drain. Latency: from the insert's COMMIT returning to a client receiving it, "
        f"over {SAMPLED_PER_PROCESS} clients of each harness process.",
        "",
        "| Clients (connected) | Compressed | Replicas | Harness processes | Inserts/s (achieved) | Poll ms "
        "| Delivered (worst client) | Duplicates | p50 ms | p99 ms | nginx CPU (cores) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        f"| {r.clients} ({r.connected}) | {'yes' if r.compression else 'no'} | {len(r.replicas)} | {r.processes} "
        f"| {r.rate} ({r.achieved_rate:.0f}) "
        f"| {r.poll_ms} | {r.delivered_fraction:.2%} | {r.duplicates} | {_percentile(r.latencies_ms, 0.5):.0f} "
        f"| {_percentile(r.latencies_ms, 0.99):.0f} | {r.nginx_cpu_cores:.2f} |",
        "",
        "| Replica | Clients | CPU (cores) | Peak RSS MB | Polls/s | Events read per poll | Polling ms per s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for number, replica in enumerate(r.replicas, 1):
        lines.append(
            f"| {number} | {replica.clients} | {replica.cpu_cores:.2f} | {replica.peak_rss_mb:.0f} "
            f"| {replica.polls_per_s:.1f} | {replica.events_per_poll:.1f} | {replica.poll_ms_per_s:.1f} |"
        )
    return "\n".join(lines) + "\n"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=3000)
    parser.add_argument("--rate", type=int, default=1000, help="inserts per second")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--processes", type=int, default=4, help="client harness processes")
    parser.add_argument("--poll-ms", type=int, default=100)
    parser.add_argument(
        "--no-compression",
        dest="compression",
        action="store_false",
        help="clients take text frames only (by default they ask for compressed events messages)",
    )
    parser.add_argument("--section", default="replica-bench", help="the marked section of docs/benchmarks.md")
    parser.add_argument("--no-write", action="store_true", help="print only, leave docs/benchmarks.md alone")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        project = generate(snapshot_template(workdir / "template"), workdir / "project", TPCH)
        result = await run(project, workdir, args)
    table = render(result)
    print(table)
    if not args.no_write:
        write_section(args.section, table)


if __name__ == "__main__":
    asyncio.run(main())
