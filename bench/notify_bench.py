"""Benchmark: what PostgreSQL's NOTIFY wake-up costs the application's writes.

Generates the TPC-H example project, migrates a fresh PostgreSQL database (change
capture on ``orders``), and times inserts into ``orders`` with the
``db_events_notify`` trigger and without it (the same capture triggers both
times), while a session LISTENs on ``db_events`` and reads every notification,
as the backend does:

- single: single-row autocommit INSERTs;
- txn1000: transactions of 1,000 single-row INSERTs.

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
CREATE = (
    "CREATE TRIGGER db_events_notify AFTER INSERT ON db_events FOR EACH STATEMENT EXECUTE FUNCTION db_events_notify()"
)


class Listening:
    """A session that LISTENs on db_events and reads every notification (as the backend's listener does)."""

    def __init__(self, db: TestDatabase):
        pg = db.server
        self.conn = psycopg.connect(host=pg.host, port=pg.port, user=pg.user, dbname=db.name, autocommit=True)
        self.conn.execute("LISTEN db_events")
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


def _rate(db: TestDatabase, mode: str, rows: int, transactions: int, start: int) -> float:
    with db.connect() as conn:
        cursor: Any = conn.cursor()
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
    db.execute("TRUNCATE orders, db_events")
    return count / elapsed


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
                    _rate(db, mode, min(rows, 500), 2, 0)  # warm-up
                    rates: dict[bool, list[float]] = {False: [], True: []}
                    for number in range(rounds):
                        for notify in (False, True) if number % 2 == 0 else (True, False):
                            db.execute(CREATE if notify else DROP)
                            rates[notify].append(_rate(db, mode, rows, transactions, number * 10**7))
                            db.execute(DROP)
                    db.execute(CREATE)
                    without, with_notify = statistics.median(rates[False]), statistics.median(rates[True])
                    label = "single-row autocommit" if mode == "single" else "1,000-row transactions"
                    count = rows if mode == "single" else transactions * 1000
                    table.append([label, f"{count:,} x {rounds}", f"{without:,.0f}", f"{with_notify:,.0f}",
                                  f"{with_notify / without:.3f}"])  # fmt: skip
                    print(" | ".join(table[-1]), flush=True)
            finally:
                listener.close()
            if listener.received == 0:
                raise SystemExit("the listening session received no notification: the trigger is not working")
    return table


def render(rows: list[list[str]], rounds: int) -> str:
    header = ["Inserts into orders (capture on)", "Rows x rounds", "Rows/s without NOTIFY", "Rows/s with NOTIFY",
              "Ratio"]  # fmt: skip
    load = os.getloadavg()[0]
    lines = [
        f"Machine: {platform.machine()}, Python {platform.python_version()}, PostgreSQL on the same machine, "
        f"stock settings, durable commits, load average {load:.2f} at the end. Medians of {rounds} alternating "
        "rounds; one session LISTENs and reads every notification.",
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
