"""Benchmark: the backend's peak memory when clients and rows misbehave.

For each database, a fresh backend (real uvicorn, default settings) per scenario;
its peak RSS is read from /proc/<pid>/status (VmHWM). Scenarios:

a. a WebSocket client that never reads, plus 1,000 events/s (1 KB rows) for 60 s;
b. 300 rows of 1 MB inserted in one transaction;
c. three concurrent full replays (``/ws?after=0``) of the table left by (b);
d. three concurrent ``GET /api/events?after=...&limit=5000`` starting at the rows of (b);
e. a fleet of 20 pages on slow links reconnecting at once (each pauses 0.1 s after a message):
   20 concurrent replays of the last 50 rows of (b) (50 MB each), with the default
   ``WS_MAX_REPLAYS`` and again with it raised to 20 (no bound).

In each, a normal WebSocket client connected beside must receive every event
(live in a and b, by the replays in c). Target: peak RSS under 300 MB in each.

Usage: python bench/memory_bench.py [--seconds 60] [--databases postgresql,mariadb,sqlite]
Writes the results table to docs/benchmarks.md (between markers) and prints it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import socket
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from websockets.asyncio.client import connect  # noqa: E402

from bench.report import write_section  # noqa: E402
from tests.support.backend_server import BackendServer  # noqa: E402
from tests.support.databases import TestDatabase, temporary_database  # noqa: E402
from tests.support.paths import TPCH  # noqa: E402
from tests.support.projects import generate, run_in_project  # noqa: E402
from tests.support.stream_client import stalled_websocket  # noqa: E402
from tests.support.template_repo import snapshot_template  # noqa: E402

TARGET_MB = 300
HUGE_AFTER: dict[str, int] = {}
"""Per database: the id after which scenario b's rows start."""
ID = re.compile(rb'\{"id":(\d+),"entity"')


@dataclass
class Outcome:
    database: str
    scenario: str
    baseline_mb: float
    peak_mb: float
    expected: int
    received: int
    note: str


def _rss_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _event_ids(db: TestDatabase, after: int) -> set[int]:
    return {int(row[0]) for row in db.query(f"SELECT id FROM db_events WHERE id > {after}")}


def _head(db: TestDatabase) -> int:
    return int(db.query("SELECT COALESCE(MAX(id), 0) FROM db_events")[0][0])


class Reader:
    """A normal WebSocket client: reads everything, keeps only the event ids."""

    def __init__(self, url: str, pause_s: float = 0.0):
        self.url = url
        self.pause_s = pause_s
        """Pause after each message: a client on a slow link, whose replay page stays in memory longer."""
        self.ids: set[int] = set()
        self.hello = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.close_code: int | None = None

    def start(self) -> Reader:
        self.task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        sock = None
        if self.pause_s:
            # A slow link: a small receive window, so what the client has not taken stays in the backend.
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
            parts = urllib.parse.urlsplit(self.url)
            sock.connect((parts.hostname, parts.port))
        async with connect(self.url, max_size=None, open_timeout=30, sock=sock) as ws:
            async for message in ws:
                raw = message.encode() if isinstance(message, str) else message
                if raw.startswith(b'{"type":"hello"'):
                    self.hello.set()
                self.ids.update(int(found) for found in ID.findall(raw))
                if self.pause_s:
                    await asyncio.sleep(self.pause_s)
            self.close_code = ws.close_code

    async def wait_for(self, expected: set[int], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not expected <= self.ids and time.monotonic() < deadline:
            await asyncio.sleep(0.2)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(BaseException):  # cancelled or closed: either way done
                await self.task


def _insert_steady(db: TestDatabase, rate: int, seconds: float, stop: threading.Event) -> None:
    """``rate`` orders per second with a 1 KB comment, 10 per transaction."""
    batch = 10
    values = ", ".join([f"({db.placeholder}, 'C-1', 'O', 1.0, '2024-01-01', {db.placeholder})"] * batch)
    columns = "order_key, customer_key, order_status, total_price, order_date, comment"
    sql = f"INSERT INTO orders ({columns}) VALUES {values}"
    comment = "c" * 1000
    with db.connect() as conn:
        if db.dialect == "sqlite":
            conn.execute("PRAGMA busy_timeout = 30000")
        cursor = conn.cursor()
        started = next_at = time.perf_counter()
        sequence = 0
        while not stop.is_set() and time.perf_counter() - started < seconds:
            params: list[str] = []
            for number in range(batch):
                params += [f"s-{sequence + number}", comment]
            sequence += batch
            cursor.execute(sql, tuple(params))
            next_at += batch / rate
            delay = next_at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)


def _insert_huge_transaction(db: TestDatabase, rows: int, size: int) -> None:
    payload = "h" * size
    with db.connect() as conn:
        cursor = conn.cursor()
        cursor.execute("BEGIN IMMEDIATE" if db.dialect == "sqlite" else "BEGIN")
        for number in range(rows):
            cursor.execute(
                "INSERT INTO orders (order_key, customer_key, order_status, total_price, order_date, comment) "
                f"VALUES ({db.placeholder}, 'C-1', 'O', 1.0, '2024-01-01', {db.placeholder})",
                (f"huge-{number}", payload),
            )
        cursor.execute("COMMIT")


async def _scenario(
    project: Path, db: TestDatabase, name: str, run: object, seconds: float, env: dict[str, str]
) -> tuple[float, float, int, int, str]:
    server = BackendServer(project, db.url, POLL_INTERVAL_MS="100", **env).start()
    try:
        pid = server.pid
        reader = Reader(server.ws).start()
        await asyncio.wait_for(reader.hello.wait(), 30)
        await asyncio.sleep(1.0)
        baseline = _rss_mb(pid, "VmRSS")
        assert callable(run)
        expected, received, note = await run(server, db, reader, seconds)
        peak = _rss_mb(pid, "VmHWM")
        await reader.stop()
        return baseline, peak, expected, received, note
    finally:
        server.stop()


async def never_reading_client(
    server: BackendServer, db: TestDatabase, reader: Reader, seconds: float
) -> tuple[int, int, str]:
    head = _head(db)
    stalled = stalled_websocket(server.port)
    stop = threading.Event()
    try:
        await asyncio.to_thread(_insert_steady, db, 1000, seconds, stop)
        expected = _event_ids(db, head)
        await reader.wait_for(expected, 60)
        dropped = server.metric("dashboard_slow_clients_total")
        return len(expected), len(expected & reader.ids), f"the client that never reads was closed: {dropped:.0f}"
    finally:
        stop.set()
        stalled.close()


async def huge_transaction(
    server: BackendServer, db: TestDatabase, reader: Reader, seconds: float
) -> tuple[int, int, str]:
    head = HUGE_AFTER[db.name] = _head(db)
    started = time.monotonic()
    await asyncio.to_thread(_insert_huge_transaction, db, 300, 1_000_000)
    expected = _event_ids(db, head)
    await reader.wait_for(expected, 300)
    took = time.monotonic() - started
    note = f"last event received {took:.0f} s after BEGIN (the 300 MB insert included)"
    return len(expected), len(expected & reader.ids), note


async def three_replays(
    server: BackendServer, db: TestDatabase, reader: Reader, seconds: float
) -> tuple[int, int, str]:
    expected = _event_ids(db, 0)
    replays = [Reader(server.ws + "?after=0").start() for _ in range(3)]
    started = time.monotonic()
    try:
        await asyncio.gather(*(replay.wait_for(expected, 600) for replay in replays))
        fewest = min(len(expected & replay.ids) for replay in replays)
        return len(expected), fewest, f"3 replays of {len(expected)} events in {time.monotonic() - started:.0f} s"
    finally:
        for replay in replays:
            await replay.stop()


FLEET = 20


async def fleet_of_replays(
    server: BackendServer, db: TestDatabase, reader: Reader, seconds: float
) -> tuple[int, int, str]:
    after = sorted(_event_ids(db, HUGE_AFTER[db.name]))[249]  # the last 50 of the 1 MB rows of scenario b
    expected = _event_ids(db, after)
    replays = [Reader(f"{server.ws}?after={after}", pause_s=0.1).start() for _ in range(FLEET)]
    started = time.monotonic()
    try:
        await asyncio.gather(*(replay.wait_for(expected, 600) for replay in replays))
        fewest = min(len(expected & replay.ids) for replay in replays)
        took = time.monotonic() - started
        return len(expected), fewest, f"{FLEET} replays of {len(expected)} events in {took:.0f} s (the fewest shown)"
    finally:
        for replay in replays:
            await replay.stop()


async def three_history_requests(
    server: BackendServer, db: TestDatabase, reader: Reader, seconds: float
) -> tuple[int, int, str]:
    after = HUGE_AFTER[db.name]  # the 1 MB rows of scenario b, and what follows
    expected = set(sorted(_event_ids(db, after))[:5000])

    def fetch() -> set[int]:
        url = f"{server.http}/api/events?after={after}&limit=5000"
        with urllib.request.urlopen(url, timeout=600) as response:  # noqa: S310 - http://127.0.0.1
            return {event["id"] for event in json.loads(response.read())["events"]}

    started = time.monotonic()
    answers = await asyncio.gather(*(asyncio.to_thread(fetch) for _ in range(3)))
    fewest = min(len(expected & answer) for answer in answers)
    return len(expected), fewest, f"3 answers of {len(expected)} events in {time.monotonic() - started:.0f} s"


SCENARIOS: list[tuple[str, str, object, dict[str, str]]] = [
    ("a", "a. never-reading client + 1,000 events/s", never_reading_client, {}),
    ("b", "b. 300 x 1 MB rows in one transaction", huge_transaction, {}),
    ("c", "c. 3 concurrent /ws?after=0 replays", three_replays, {}),
    ("d", "d. 3 concurrent GET /api/events?limit=5000 (the 1 MB rows)", three_history_requests, {}),
    ("e", f"e. {FLEET} concurrent replays of 50 x 1 MB (WS_MAX_REPLAYS 4, the default)", fleet_of_replays, {}),
    (
        "e",
        f"e. {FLEET} concurrent replays of 50 x 1 MB, WS_MAX_REPLAYS {FLEET} (no bound)",
        fleet_of_replays,
        {"WS_MAX_REPLAYS": str(FLEET)},
    ),
]


async def run_database(dialect: str, project: Path, workdir: Path, seconds: float, wanted: set[str]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    with temporary_database(dialect, workdir) as db:
        migrated = run_in_project(
            project, "-m", "backend.migrate", "--create-entity-tables", env={"DATABASE_URL": db.url}
        )
        assert migrated.returncode == 0, migrated.stderr
        if dialect in ("mysql", "mariadb"):
            db.execute("ALTER TABLE orders MODIFY comment LONGTEXT")  # TEXT holds 64 KB there
        for letter, name, run, env in SCENARIOS:
            if letter not in wanted:
                continue
            baseline, peak, expected, received, note = await _scenario(project, db, name, run, seconds, env)
            outcome = Outcome(dialect, name, baseline, peak, expected, received, note)
            print(render_row(outcome), flush=True)
            outcomes.append(outcome)
    return outcomes


def render_row(o: Outcome) -> str:
    verdict = "yes" if o.peak_mb < TARGET_MB else "**no**"
    return (
        f"| {o.database} | {o.scenario} | {o.baseline_mb:.0f} | {o.peak_mb:.0f} | {verdict} "
        f"| {o.received:,} / {o.expected:,} | {o.note} |"
    )


def render(outcomes: list[Outcome], seconds: float) -> str:
    machine = (
        f"{os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
        f"{round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GiB, "
        f"Python {platform.python_version()}, databases on the same machine, stock settings"
    )
    lines = [
        f"Machine: {machine}. Scenario a runs {seconds:.0f} s. Default settings "
        "(CLIENT_QUEUE_BYTES 8 MiB, CLIENT_SEND_TIMEOUT_S 10, 100 ms poll).",
        "",
        f"| Database | Scenario | RSS before MB | Peak RSS MB | Under {TARGET_MB} MB | "
        "Normal client: events received / expected | Notes |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *(render_row(outcome) for outcome in outcomes),
    ]
    return "\n".join(lines) + "\n"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--databases", default="postgresql,mariadb,sqlite")
    parser.add_argument("--scenarios", default="abcde", help="letters of the scenarios to run (c to e need b)")
    parser.add_argument("--no-write", action="store_true", help="print only, leave docs/benchmarks.md alone")
    args = parser.parse_args()
    wanted = set(args.scenarios)
    if wanted & set("cde") and "b" not in wanted:
        parser.error("scenarios c, d and e read the rows scenario b writes: add b")
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        project = generate(snapshot_template(workdir / "template"), workdir / "project", TPCH)
        for dialect in args.databases.split(","):
            outcomes += await run_database(dialect, project, workdir, args.seconds, wanted)
    table = render(outcomes, args.seconds)
    print(table)
    if not args.no_write:
        write_section("memory-bench", table)


if __name__ == "__main__":
    asyncio.run(main())
