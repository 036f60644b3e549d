"""Benchmark: bytes sent to WebSocket clients with and without subscriptions (issue 11, point 7).

The typical case: four entities written at the same rate (the TPC-H example's
customers, products, orders and line items; 1,000 events/s in all from four
writer threads), clients that watch one of them (``/ws?entities=Order``) beside
clients that take everything. For each case this script generates the project,
migrates a fresh database, starts the backend, connects the clients, writes for
``--seconds`` and measures per client the bytes of the messages received (per
1,000 events written, so runs of slightly different rates compare), the
Order inserts delivered (all of them, none twice), the backend's CPU, and the
hub's encodings per published batch (``/metrics``: one per distinct subscription).

The clients do not negotiate permessage-deflate, so message bytes are what
crosses the wire (plus a few bytes of framing). The last two cases ask for
compressed events messages (``?compression=deflate``, what the page asks for):
their bytes are the compressed frames as sent.

Usage: python bench/subscription_bench.py [--seconds 15] [--clients 20] [--database postgresql] [--runs 1]
Writes its table to docs/benchmarks.md (section ``subscription-bench``) and prints it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from websockets.asyncio.client import connect  # noqa: E402

from bench.report import write_section  # noqa: E402
from tests.support.backend_server import BackendServer  # noqa: E402
from tests.support.databases import TestDatabase, temporary_database  # noqa: E402
from tests.support.paths import TPCH  # noqa: E402
from tests.support.projects import generate, run_in_project  # noqa: E402
from tests.support.sample_rows import insert_row, to_sql_params  # noqa: E402
from tests.support.template_repo import snapshot_template  # noqa: E402

RATE = 1000
"""Events per second in all, spread evenly over the four entities."""
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Case:
    name: str
    subscriptions: list[str]
    """One query string per client ("" for everything)."""


@dataclass
class Result:
    case: Case
    seconds: float = 0.0
    events: int = 0
    bytes_per_client: dict[str, float] = field(default_factory=dict)
    """Query string -> median bytes its clients received per 1,000 events written."""
    total_bytes_per_s: float = 0.0
    order_inserts_ok: bool = True
    cpu_cores: float = 0.0
    encodings_per_batch: float = 0.0
    achieved_rate: float = 0.0


class Writers:
    """One thread per entity, each inserting ``RATE / 4`` rows per second (autocommit)."""

    def __init__(self, db: TestDatabase, entities: list[dict[str, Any]]):
        self.db, self.entities = db, entities
        self.orders = 0
        self.rows = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.errors: list[BaseException] = []

    def start(self) -> None:
        for entity in self.entities:
            thread = threading.Thread(target=self._run, args=(entity,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        if self.errors:
            raise self.errors[0]

    def _run(self, entity: dict[str, Any]) -> None:
        try:
            self._write(entity)
        except BaseException as error:  # noqa: BLE001 - raised again by stop()
            self.errors.append(error)

    def _write(self, entity: dict[str, Any]) -> None:
        db = self.db
        template = insert_row(entity)
        lengths = {c["name"]: c["length"] for c in entity["columns"] if c["type"] == "string"}
        columns = ", ".join(db.quote(name) for name in template)
        marks = ", ".join(db.placeholder for _ in template)
        sql = f"INSERT INTO {db.quote(entity['table'])} ({columns}) VALUES ({marks})"
        interval = len(self.entities) / RATE
        with db.connect() as conn:
            if db.dialect == "sqlite":
                conn.execute("PRAGMA busy_timeout = 30000")
            cursor = conn.cursor()
            next_at = time.perf_counter()
            sequence = 0
            while not self._stop.is_set():
                sequence += 1
                # Unique text in every string column (unique keys), within its length.
                row = {
                    name: f"{sequence}-{value}"[: lengths[name] or None] if name in lengths and value else value
                    for name, value in template.items()
                }
                cursor.execute(sql, tuple(to_sql_params(entity, row).values()))
                with self._lock:
                    self.rows += 1
                    self.orders += entity["name"] == "Order"
                next_at += interval
                delay = next_at - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)


class Client:
    def __init__(self, url: str, query: str):
        self.url = f"{url}?{query}" if query else url
        self.query = query
        self.bytes = 0
        self.order_inserts: list[int] = []
        self.counting = False

    async def run(self, ready: asyncio.Event) -> None:
        async with connect(self.url, max_size=None, compression=None) as ws:
            await ws.recv()  # hello
            ready.set()
            async for raw in ws:
                if self.counting:  # what crossed the wire: a compressed (binary) frame counts compressed
                    self.bytes += len(raw.encode() if isinstance(raw, str) else raw)
                text = raw if isinstance(raw, str) else zlib.decompress(raw).decode()
                message = json.loads(text)
                if message.get("type") == "events":
                    self.order_inserts.extend(
                        e["id"] for e in message["events"] if e["entity"] == "Order" and e["event_type"] == "insert"
                    )


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def run_case(case: Case, project: Path, workdir: Path, database: str, seconds: float) -> Result:
    result = Result(case)
    entities = json.loads((project / "backend" / "generated" / "entities.json").read_text())["entities"]
    with temporary_database(database, workdir) as db:
        migrated = run_in_project(project, "-m", "backend.migrate", "--create-entity-tables",
                                  env={"DATABASE_URL": db.url})  # fmt: skip
        assert migrated.returncode == 0, migrated.stderr
        with BackendServer(project, db.url, POLL_INTERVAL_MS="100", CLIENT_QUEUE_BYTES=str(256 << 20)) as server:
            assert server.process is not None
            pid = server.process.pid
            clients = [Client(server.ws, query) for query in case.subscriptions]
            readies = [asyncio.Event() for _ in clients]
            tasks = [asyncio.create_task(c.run(r)) for c, r in zip(clients, readies, strict=True)]
            await asyncio.wait_for(asyncio.gather(*(ready.wait() for ready in readies)), 60)
            writers = Writers(db, entities)
            encodings = server.metric("dashboard_batch_encodings_total")
            batches = server.metric("dashboard_batches_published_total")
            cpu, started = _cpu_seconds(pid), time.time()
            for client in clients:
                client.counting = True
            writers.start()
            await asyncio.sleep(seconds)
            await asyncio.to_thread(writers.stop)
            writing = time.time() - started
            deadline = time.time() + 30
            while time.time() < deadline and any(
                len(c.order_inserts) < writers.orders for c in clients if "Order" in c.query or not c.query
            ):
                await asyncio.sleep(0.2)
            await asyncio.sleep(0.5)  # the last batch's counts
            elapsed = time.time() - started
            result.cpu_cores = (_cpu_seconds(pid) - cpu) / elapsed
            published = server.metric("dashboard_batch_encodings_total") - encodings
            batches = server.metric("dashboard_batches_published_total") - batches
            for task in tasks:
                task.cancel()
    result.seconds, result.events = elapsed, writers.rows
    result.encodings_per_batch = published / max(1, batches)
    for query in dict.fromkeys(case.subscriptions):
        rates = [c.bytes / max(1, writers.rows) * 1000 for c in clients if c.query == query]
        result.bytes_per_client[query] = statistics.median(rates)
    result.total_bytes_per_s = sum(c.bytes for c in clients) / writing  # what the writing period's events cost
    result.achieved_rate = writers.rows / writing
    for client in clients:
        if "Order" in client.query or not client.query:
            ids = client.order_inserts
            result.order_inserts_ok &= len(ids) == len(set(ids)) == writers.orders
    return result


def render(results: list[Result], clients: int, database: str, seconds: float, runs: int) -> str:
    machine = f"{os.cpu_count()} cores, Python {platform.python_version()}, {database} on the same machine"
    lines = [
        f"Machine: {machine}. {RATE:,} events/s in all, evenly over 4 entities (Customer, Product, Order, "
        f"OrderLineItem), {seconds:.0f} s per run, {clients} clients, no permessage-deflate; "
        "compressed: the clients asked for ?compression=deflate (bytes as sent)."
        + (f" Medians of {runs} runs." if runs > 1 else ""),
        "",
        "| Case | KB per 1,000 events, client taking everything | KB per 1,000 events, client watching Order "
        "| Ratio | Events/s achieved | All clients MB/s "
        "| Backend CPU (cores) | Encodings per batch | Order inserts exactly once |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        by_subscription = {_subscription(query): size for query, size in r.bytes_per_client.items()}
        everything = by_subscription.get("")
        order = by_subscription.get("entities=Order")
        ratio = f"{order / everything:.2f}" if everything and order else "—"
        lines.append(
            f"| {r.case.name} | {'—' if everything is None else f'{everything / 1000:.1f}'} "
            f"| {'—' if order is None else f'{order / 1000:.1f}'} | {ratio} | {r.achieved_rate:.0f} "
            f"| {r.total_bytes_per_s / 1e6:.2f} "
            f"| {r.cpu_cores:.2f} | {r.encodings_per_batch:.2f} | {'yes' if r.order_inserts_ok else 'NO'} |"
        )
    return "\n".join(lines) + "\n"


def _subscription(query: str) -> str:
    """The query without its compression parameter."""
    return "&".join(part for part in query.split("&") if part and not part.startswith("compression="))


def _median(runs: list[Result]) -> Result:
    merged = Result(runs[0].case)
    merged.bytes_per_client = {
        query: statistics.median(r.bytes_per_client[query] for r in runs) for query in runs[0].bytes_per_client
    }
    merged.total_bytes_per_s = statistics.median(r.total_bytes_per_s for r in runs)
    merged.cpu_cores = statistics.median(r.cpu_cores for r in runs)
    merged.encodings_per_batch = statistics.median(r.encodings_per_batch for r in runs)
    merged.order_inserts_ok = all(r.order_inserts_ok for r in runs)
    merged.achieved_rate = statistics.median(r.achieved_rate for r in runs)
    return merged


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--database", default="postgresql")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--no-write", action="store_true", help="print only, leave docs/benchmarks.md alone")
    args = parser.parse_args()
    n = args.clients
    cases = [
        Case("no subscriptions", [""] * n),
        Case("every client watches Order", ["entities=Order"] * n),
        Case("half and half", [""] * (n // 2) + ["entities=Order"] * (n - n // 2)),
        Case("compressed, no subscriptions", ["compression=deflate"] * n),
        Case("compressed, every client watches Order", ["entities=Order&compression=deflate"] * n),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        project = generate(snapshot_template(workdir / "template"), workdir / "project", TPCH)
        runs: dict[int, list[Result]] = {index: [] for index in range(len(cases))}
        for _ in range(args.runs):  # interleaved, so load drifting on a shared machine spreads over all cases
            for index, case in enumerate(cases):
                result = await run_case(case, project, workdir, args.database, args.seconds)
                print(render([result], n, args.database, args.seconds, 1).splitlines()[-1], flush=True)
                runs[index].append(result)
    table = render([_median(runs[i]) for i in range(len(cases))], n, args.database, args.seconds, args.runs)
    print(table)
    if not args.no_write:
        write_section("subscription-bench", table)


if __name__ == "__main__":
    asyncio.run(main())
