"""Benchmark: latency of a 500-event history page (``GET /api/events`` with a time range) at 1M and 10M events.

For each database and size, this script migrates a fresh database for the
TPC-H example project, fills ``db_events`` straight with ``size`` events spread
over the last six days (bench/history_fill.py: generate_series on PostgreSQL,
the sequence engine on MariaDB, a recursive CTE on SQLite; no triggers), starts
the real backend under uvicorn and times page requests through HTTP (httpx):

- recent: ``since=-15m``, newest first (the live edge, the default preset);
- middle: a one-hour range three days back, newest first;
- middle, 3rd page: the same range, following ``older`` twice first;
- old: the first hour retained, oldest first;
- middle + entity: the middle hour, ``entity=Customer`` (a quarter of the rows);
- middle + q: the middle hour, ``q=FAILED`` (one row in 997: the text filter scans the hour);
- histogram 24 h: ``/api/events/histogram`` over the last day (counted, not paged);
- baseline: the id mode that existed before (``?limit=500``, the newest 500), the
  same read path without a time range: on a shared machine, compare side by side.

Each case: a few warm-up requests, then ``--requests`` timed ones; p50 and p95.
Target: p95 under 50 ms for a 500-event page.

Usage: python bench/history_bench.py [--sizes 1000000,10000000] [--databases postgresql,mariadb,sqlite]
       [--requests 40]
Writes the table to docs/benchmarks.md (section ``history``) and prints it.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.history_fill import fill_events  # noqa: E402
from bench.report import write_section  # noqa: E402
from tests.support.backend_server import BackendServer  # noqa: E402
from tests.support.databases import temporary_database  # noqa: E402
from tests.support.paths import TPCH  # noqa: E402
from tests.support.projects import generate, run_in_project  # noqa: E402
from tests.support.template_repo import snapshot_template  # noqa: E402

SPAN_S = 6 * 86_400
WARM_UP = 3


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _time(client: httpx.Client, path: str, params: dict[str, Any], requests: int) -> tuple[float, float, int]:
    """p50 and p95 in ms of ``requests`` GETs, and the events (or buckets' total) of the last answer."""
    timings: list[float] = []
    body: dict[str, Any] = {}
    for number in range(WARM_UP + requests):
        started = time.perf_counter()
        response = client.get(path, params=params)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.text
        body = response.json()
        if number >= WARM_UP:
            timings.append(elapsed * 1000)
    timings.sort()
    p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
    count = len(body["events"]) if "events" in body else int(body["total"])
    return statistics.median(timings), p95, count


def _cases(client: httpx.Client) -> list[tuple[str, str, dict[str, Any]]]:
    info = client.get("/api/history").json()
    now = datetime.fromisoformat(info["database_time"])
    oldest = datetime.fromisoformat(info["oldest"]["timestamp"])
    middle = {"since": _iso(now - timedelta(days=3, hours=1)), "until": _iso(now - timedelta(days=3))}
    page = client.get("/api/events", params=middle).json()
    third = client.get("/api/events", params={**middle, "cursor": page["older"]}).json()
    assert third["older"] is not None, "fewer than 1,500 events in the middle hour: use a larger size"
    return [
        ("baseline: id mode, newest 500", "/api/events", {"limit": 500}),
        ("recent (since=-15m)", "/api/events", {"since": "-15m"}),
        ("middle hour", "/api/events", middle),
        ("middle hour, 3rd page", "/api/events", {**middle, "cursor": third["older"]}),
        (
            "oldest hour, oldest first",
            "/api/events",
            {"since": _iso(oldest), "until": _iso(oldest + timedelta(hours=1)), "order": "asc"},
        ),
        ("middle hour + entity", "/api/events", {**middle, "entity": "Customer"}),
        ("middle hour + q (scan)", "/api/events", {**middle, "q": "FAILED"}),
        ("histogram, last 24 h", "/api/events/histogram", {"since": "-24h"}),
    ]


def run(project: Path, workdir: Path, database: str, size: int, requests: int) -> list[list[str]]:
    rows: list[list[str]] = []
    with temporary_database(database, workdir) as db:
        migrated = run_in_project(
            project, "-m", "backend.migrate", "--create-entity-tables", env={"DATABASE_URL": db.url}
        )
        assert migrated.returncode == 0, migrated.stderr
        started = time.perf_counter()
        fill_events(db, size, SPAN_S)
        fill_s = time.perf_counter() - started
        load = os.getloadavg()[0]
        print(f"{database}: {size:,} events written in {fill_s:.0f} s (load average {load:.1f})", flush=True)
        with (
            BackendServer(project, db.url, RETENTION_DAYS="0") as server,
            httpx.Client(base_url=server.http, timeout=60) as client,
        ):
            for name, path, params in _cases(client):
                p50, p95, count = _time(client, path, params, requests)
                print(f"  {name}: p50 {p50:.1f} ms, p95 {p95:.1f} ms ({count} events)", flush=True)
                rows.append([database, f"{size / 1e6:g}M", name, f"{p50:.1f}", f"{p95:.1f}", str(count), f"{load:.1f}"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--databases", default="postgresql,mariadb,sqlite")
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--no-write", action="store_true", help="print only (docs/benchmarks.md unchanged)")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="history-bench-") as temp:
        workdir = Path(temp)
        project = generate(snapshot_template(workdir / "template"), workdir / "project", TPCH)
        for size in sizes:
            for database in args.databases.split(","):
                rows += run(project, workdir, database, size, args.requests)
                table = _table(rows, args.requests)  # written after each run: a long run stopped keeps what it has
                if not args.no_write:
                    write_section("history", table)
    print(table)


def _table(rows: list[list[str]], requests: int) -> str:
    header = (
        "| database | events | page | p50 ms | p95 ms | events in answer | load avg |\n|---|---|---|---|---|---|---|\n"
    )
    return (
        "## History pages (`bench/history_bench.py`)\n\n"
        f"{platform.node()}, {requests} requests per case after {WARM_UP} warm-ups, one client, "
        "limit 500, events spread over six days. Target: p95 under 50 ms for a 500-event page "
        "(the histogram and the text filter are scans of their range, shown for scale). "
        "The load average (1 min, 2 cores) is the machine's when the cases started; the baseline "
        "row is the id mode that existed before, through the same read path, for comparison.\n\n"
        + header
        + "".join(f"| {' | '.join(row)} |\n" for row in rows)
    )


if __name__ == "__main__":
    main()
