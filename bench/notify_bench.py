"""Benchmark: what PostgreSQL's NOTIFY wake-up costs the application's writes.

Generates the TPC-H example project, migrates a fresh PostgreSQL database (change
capture on ``orders``), and times inserts into ``orders`` with the
``db_events_notify`` trigger and without it (the same capture triggers both
times), while a session LISTENs on ``db_events`` and reads every notification,
as the backend does:

- single: single-row autocommit INSERTs;
- txn1000: transactions of 1,000 single-row INSERTs.

Two variants of the trigger are compared with no trigger (see ``VARIANTS``).

Rounds alternate without / with, so load drifting on a shared machine hits
both sides alike; the table shows the median rate of each side and their ratio.

Usage: python bench/notify_bench.py [--rounds 5] [--rows 2000] [--transactions 10]
Writes the results table to docs/benchmarks.md (between markers) and prints it.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from bench.report import write_section  # noqa: E402
from tests.support.databases import TestDatabase, temporary_database  # noqa: E402
from tests.support.paths import TPCH  # noqa: E402
from tests.support.projects import generate, run_in_project  # noqa: E402
from tests.support.template_repo import snapshot_template  # noqa: E402

SQL = (
    "INSERT INTO orders (order_key, customer_key, order_status, total_price, order_date) "
    "VALUES (%s, 'C-1', 'O', 9.5, '2024-01-01')"
)
DROP = "DROP TRIGGER IF EXISTS db_events_notify ON db_events"
PLAIN = (
    "CREATE OR REPLACE FUNCTION db_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "PERFORM pg_notify('db_events', ''); RETURN NULL; END $$; "
    "CREATE TRIGGER db_events_notify AFTER INSERT ON db_events FOR EACH STATEMENT EXECUTE FUNCTION db_events_notify()"
)
ONCE = (
    "CREATE OR REPLACE FUNCTION db_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "PERFORM pg_notify('db_events', ''); PERFORM set_config('db_events.notified', 'on', true); RETURN NULL; END $$; "
    "CREATE TRIGGER db_events_notify AFTER INSERT ON db_events FOR EACH STATEMENT "
    "WHEN (current_setting('db_events.notified', true) IS DISTINCT FROM 'on') EXECUTE FUNCTION db_events_notify()"
)
VARIANTS = {"none": None, "per statement": PLAIN, "once per transaction": ONCE}
"""Without NOTIFY; a NOTIFY per INSERT into db_events (folded per transaction by PostgreSQL); the
trigger's WHEN skipping every statement after the first of a transaction (a transaction-local setting)."""


class Listening:
    """A session that LISTENs on db_events and reads every notification (as the backend's listener does)."""

    def __init__(self, db: TestDatabase):
        pg = db.server
        self.conn = psycopg.connect(host=pg.host, port=pg.port, user=pg.user, dbname=db.name, autocommit=True)
        self.conn.execute("LISTEN db_events")
        self.pid = int(self.conn.execute("SELECT pg_backend_pid()").fetchone()[0])  # type: ignore[index]
        self.received = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for _ in self.conn.notifies(timeout=0.2):
                self.received += 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.conn.close()


TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a server process (PostgreSQL runs here, so /proc shows its backends)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@dataclass
class Sample:
    rows_per_s: float
    cpu_us_per_row: float
    """CPU of the writing backend per row: the insert path's cost, which load on the machine barely changes."""
    listener_us_per_row: float
    """CPU of the listening backend per row (sending the notifications)."""


def _rate(db: TestDatabase, mode: str, rows: int, transactions: int, start: int, listener_pid: int) -> Sample:
    with db.connect() as conn:
        cursor: Any = conn.cursor()
        cursor.execute("SELECT pg_backend_pid()")
        pid = int(cursor.fetchone()[0])
        cpu, listening = _cpu_seconds(pid), _cpu_seconds(listener_pid)
        began = time.perf_counter()
        if mode == "single":
            for n in range(rows):
                cursor.execute(SQL, (f"S-{start + n}",))
            count = rows
        else:
            for t in range(transactions):
                cursor.execute("BEGIN")
                cursor.executemany(SQL, [(f"T-{start + t * 1000 + n}",) for n in range(1000)])
                cursor.execute("COMMIT")
            count = transactions * 1000
        elapsed = time.perf_counter() - began
        time.sleep(0.3)  # the listener's backend sends the last notifications
        cpu, listening = _cpu_seconds(pid) - cpu, _cpu_seconds(listener_pid) - listening
    db.execute("TRUNCATE orders, db_events")
    return Sample(count / elapsed, cpu / count * 1e6, listening / count * 1e6)


def run(rounds: int, rows: int, transactions: int) -> list[list[str]]:
    table: list[list[str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        project = generate(snapshot_template(work / "template"), work / "project", TPCH)
        with temporary_database("postgresql", work) as db:
            migrated = run_in_project(project, "-m", "backend.migrate", "--create-entity-tables",
                                      env={"DATABASE_URL": db.url})  # fmt: skip
            if migrated.returncode != 0:
                raise SystemExit(migrated.stderr)
            listener = Listening(db)
            try:
                for mode in ("single", "txn1000"):
                    _rate(db, mode, min(rows, 500), 2, 0, listener.pid)  # warm-up
                    rates: dict[str, list[Sample]] = {name: [] for name in VARIANTS}
                    order = list(VARIANTS)
                    for number in range(rounds):
                        for name in order if number % 2 == 0 else order[::-1]:
                            db.execute(DROP)
                            sql = VARIANTS[name]
                            if sql is not None:
                                with db.connect() as conn:
                                    conn.execute(sql)
                            rates[name].append(_rate(db, mode, rows, transactions, number * 10**7, listener.pid))
                    db.execute(DROP)
                    without = statistics.median(sample.rows_per_s for sample in rates["none"])
                    cpu_without = statistics.median(sample.cpu_us_per_row for sample in rates["none"])
                    label = "single-row autocommit" if mode == "single" else "1,000-row transactions"
                    count = rows if mode == "single" else transactions * 1000
                    cells = [f"{without:,.0f}", f"{cpu_without:.1f}"]
                    for name in order[1:]:
                        rate = statistics.median(sample.rows_per_s for sample in rates[name])
                        cpu = statistics.median(sample.cpu_us_per_row for sample in rates[name])
                        listening = statistics.median(sample.listener_us_per_row for sample in rates[name])
                        cells.append(f"{rate:,.0f} ({rate / without:.3f})")
                        cells.append(f"{cpu:.1f} ({cpu / cpu_without:.3f}); listener {listening:.1f}")
                    table.append([label, f"{count:,} x {rounds}", *cells])
                    print(" | ".join(table[-1]), flush=True)
            finally:
                listener.close()
            if listener.received == 0:
                raise SystemExit("the listening session received no notification: the trigger is not working")
    return table


def render(rows: list[list[str]], rounds: int) -> str:
    header = ["Inserts into orders (capture on)", "Rows x rounds", "Rows/s without NOTIFY",
              "Writer's server CPU µs/row without", "Rows/s, NOTIFY per statement (ratio)",
              "Writer CPU µs/row, per statement (ratio)", "Rows/s, NOTIFY once per transaction (ratio)",
              "Writer CPU µs/row, once per transaction (ratio)"]  # fmt: skip
    load = os.getloadavg()[0]
    lines = [
        f"Machine: {platform.machine()}, Python {platform.python_version()}, PostgreSQL on the same machine, "
        f"stock settings, durable commits, load average {load:.2f} at the end. Medians of {rounds} alternating "
        "rounds; one session LISTENs and reads every notification. Writer CPU: user + system time of the "
        "writing session's server process per row (the machine's load barely changes it); listener: the same for "
        "the listening session's server process, which sends the notifications.",
        "",
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--transactions", type=int, default=10)
    parser.add_argument("--no-write", action="store_true", help="print only, leave docs/benchmarks.md alone")
    args = parser.parse_args()
    table = render(run(args.rounds, args.rows, args.transactions), args.rounds)
    print(table)
    if not args.no_write:
        write_section("notify-bench", table)


if __name__ == "__main__":
    main()
