"""Benchmark: what change capture costs the application's writes, per database and write shape.

Generates a project from nomnom's own TPC-H entities (tests/fixtures/nomnom/tpch),
installs change capture with ``python -m backend.migrate --create-entity-tables``
and times inserts into ``orders`` with capture on and off, on the same connection:
PostgreSQL disables and enables the table's triggers (``ALTER TABLE ... DISABLE
TRIGGER USER``); MariaDB and SQLite, which cannot disable a trigger, drop ours and
create them again from their catalog text. The write shapes an application or an
ETL uses:

- single: single-row autocommit INSERTs;
- executemany: one transaction, the driver's executemany of a single-row INSERT
  (PyMySQL rewrites it into multi-row INSERTs; psycopg and sqlite3 send one
  statement per row);
- multirow: one transaction of INSERT ... VALUES statements of 1,000 rows each;
- copy (PostgreSQL): one transaction, COPY FROM STDIN.

PostgreSQL is also measured, in the same rounds, with the per-row INSERT trigger
it had before (the same function, whose per-row branch is the former trigger
body), with ``--before REV`` the capture function of that git revision of the
template (per statement), and ``--event-writes`` times the event write alone (20,000 payloads written by one
INSERT ... SELECT into copies of db_events with fewer indexes, or a jsonb payload).

Each round times capture off and each way of capture on back to back, rotating
which goes first; the table shows median rates and the median of the rounds' ratios (on / off), and
on PostgreSQL and SQLite the writer's CPU time per row (the PostgreSQL backend
process, read from /proc/<pid>/schedstat in nanoseconds; SQLite runs in the
benchmark's own thread), which load from other processes on a shared machine
barely changes.

Usage: python bench/write_cost.py [--rounds 5] [--single-rows 1000] [--batch-rows 20000]
       [--databases postgresql,mariadb,sqlite] [--event-writes] [--before REV] [--no-write]
Writes the tables to docs/benchmarks.md (between markers) and prints them;
``--no-write`` only prints them (trying changes out).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import write_section  # noqa: E402
from tests.support.databases import TestDatabase, temporary_database  # noqa: E402
from tests.support.paths import FIXTURES  # noqa: E402
from tests.support.projects import generate, run_in_project  # noqa: E402
from tests.support.template_repo import TEMPLATE_PARTS, commit_all, git, snapshot_template  # noqa: E402

ENTITIES = FIXTURES / "nomnom" / "tpch"
TABLE = "orders"
COLUMNS = ("order_key", "customer_key", "order_status", "total_price", "order_date",
           "order_priority", "clerk", "ship_priority", "comment")  # fmt: skip
MULTIROW_CHUNK = 1000
TARGETS = {"single": 0.85, "executemany": 0.60, "multirow": 0.60, "copy": 0.60}
"""Issue 11 point 8, on PostgreSQL: single-row autocommit, and 20,000-row transactions."""


def _row(n: int) -> tuple[Any, ...]:
    return (f"O-{n}", f"C-{n % 1500}", "O", 9.5 + n, "2024-01-01", "1-URGENT", "Clerk#000000951", 0,
            f"order {n}: 'quoted' \"double\" ünï")  # fmt: skip


class Writer:
    """One connection to the database, the write shapes, and capture switched on and off on it."""

    def __init__(self, database: TestDatabase, conn: Any):
        self.database, self.conn, self.cursor = database, conn, conn.cursor()
        self.dialect = database.dialect
        self.next_key = 0
        quoted = ", ".join(database.quote(name) for name in COLUMNS)
        self.values = "(" + ", ".join(database.placeholder for _ in COLUMNS) + ")"
        self.insert = f"INSERT INTO {database.quote(TABLE)} ({quoted}) VALUES "
        self.copy_sql = f"COPY {TABLE} ({quoted}) FROM STDIN"
        self.backend_pid = int(conn.info.backend_pid) if self.dialect == "postgresql" else 0
        self.trigger_sql = self._our_trigger_sql()

    def _our_trigger_sql(self) -> list[tuple[str, str]]:
        """(name, CREATE TRIGGER text) of our triggers on the table, to recreate them (MariaDB, SQLite)."""
        if self.dialect == "sqlite":
            self.cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", (TABLE,))
            return [(str(name), str(sql)) for name, sql in self.cursor.fetchall()]
        if self.dialect == "postgresql":
            return []
        self.cursor.execute("SHOW TRIGGERS WHERE `Table` = %s", (TABLE,))
        names = [str(row[0]) for row in self.cursor.fetchall()]
        found = []
        for name in names:
            self.cursor.execute(f"SHOW CREATE TRIGGER `{name}`")
            found.append((name, str(self.cursor.fetchone()[2])))
        return found

    def capture(self, on: bool) -> None:
        if self.dialect == "postgresql":
            self.cursor.execute(f"ALTER TABLE {TABLE} {'ENABLE' if on else 'DISABLE'} TRIGGER USER")
            return
        for name, sql in self.trigger_sql:
            self.cursor.execute(f"DROP TRIGGER IF EXISTS {self.database.quote(name)}")
            if on:
                self.cursor.execute(sql)

    def rows(self, count: int) -> list[tuple[Any, ...]]:
        start, self.next_key = self.next_key, self.next_key + count
        return [_row(start + n) for n in range(count)]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.cursor.execute("BEGIN")
        yield
        self.cursor.execute("COMMIT")

    def single(self, rows: list[tuple[Any, ...]]) -> None:
        for row in rows:
            self.cursor.execute(self.insert + self.values, row)

    def executemany(self, rows: list[tuple[Any, ...]]) -> None:
        with self.transaction():
            self.cursor.executemany(self.insert + self.values, rows)

    def multirow(self, rows: list[tuple[Any, ...]]) -> None:
        with self.transaction():
            for start in range(0, len(rows), MULTIROW_CHUNK):
                chunk = rows[start : start + MULTIROW_CHUNK]
                sql = self.insert + ", ".join(self.values for _ in chunk)
                self.cursor.execute(sql, [value for row in chunk for value in row])

    def copy(self, rows: list[tuple[Any, ...]]) -> None:
        with self.transaction(), self.cursor.copy(self.copy_sql) as copy:
            for row in rows:
                copy.write_row(row)

    def cpu_seconds(self) -> float:
        """The writer's CPU: the PostgreSQL backend process, or this thread (SQLite runs in it)."""
        if self.dialect == "postgresql":
            return _backend_cpu(self.backend_pid)
        return time.thread_time() if self.dialect == "sqlite" else 0.0

    def clear(self) -> None:
        """Empty the table and db_events between runs, so every run starts alike (not timed)."""
        if self.dialect == "sqlite":
            for table in (TABLE, "db_events"):
                self.cursor.execute(f"DELETE FROM {table}")
        elif self.dialect == "postgresql":
            self.cursor.execute(f"TRUNCATE {TABLE}, db_events")
        else:
            for table in (TABLE, "db_events"):
                self.cursor.execute(f"TRUNCATE TABLE {table}")

    def timed(self, shape: Callable[[list[tuple[Any, ...]]], None], count: int) -> tuple[float, float]:
        """(rows/s, writer CPU µs per row) of one run of ``shape``."""
        rows = self.rows(count)
        cpu = self.cpu_seconds()
        began = time.perf_counter()
        shape(rows)
        elapsed = time.perf_counter() - began
        cpu_per_row = (self.cpu_seconds() - cpu) / count * 1e6
        self.clear()
        return count / elapsed, cpu_per_row


@dataclass
class Result:
    database: str
    shape: str
    capture: str
    """How capture was on: "per statement" (PostgreSQL's INSERT trigger now), "per row", ..."""
    rows: int
    off: list[tuple[float, float]]
    on: list[tuple[float, float]]
    """(rows/s, writer CPU µs per row) of each round, capture off and on."""

    @property
    def ratios(self) -> list[float]:
        return [on[0] / off[0] for on, off in zip(self.on, self.off, strict=True)]

    def cells(self) -> list[str]:
        ratio = round(statistics.median(self.ratios), 2)
        target = TARGETS.get(self.shape) if self.database == "postgresql" else None
        verdict = "" if target is None else (" ✅" if ratio >= target else f" ❌ (target {target:.2f})")
        cpu_off, cpu_on = (statistics.median(c for _, c in runs) for runs in (self.off, self.on))
        cpu = "-" if self.database == "mariadb" else f"{cpu_off:.1f} / {cpu_on:.1f} (+{cpu_on - cpu_off:.1f})"
        return [self.database, self.shape, self.capture, f"{self.rows:,}",
                f"{statistics.median(r for r, _ in self.off):,.0f}", f"{statistics.median(r for r, _ in self.on):,.0f}",
                f"**{ratio:.2f}**{verdict}", " ".join(f"{ratio:.2f}" for ratio in self.ratios), cpu]  # fmt: skip


def _migrate(project: Path, database: TestDatabase) -> None:
    result = run_in_project(
        project, "-m", "backend.migrate", "--create-entity-tables", env={"DATABASE_URL": database.url}
    )
    if result.returncode != 0:
        raise SystemExit(result.stderr)


Write = Callable[[list[tuple[Any, ...]]], None]


def _shapes(writer: Writer, single: int, batch: int) -> dict[str, tuple[Write, int]]:
    shapes: dict[str, tuple[Write, int]] = {
        "single": (writer.single, single),
        "executemany": (writer.executemany, batch),
        "multirow": (writer.multirow, batch),
    }
    if writer.dialect == "postgresql":
        shapes["copy"] = (writer.copy, batch)
    return shapes


PER_STATEMENT, PER_ROW = "per statement", "per row (before)"
BEFORE_FUNCTION = f"dashboard_{TABLE}_capture_before"
"""``--before REV``: the capture function of that template commit, installed next to ours."""


def _insert_trigger(writer: Writer, mode: str) -> None:
    """PostgreSQL: the INSERT and DELETE triggers per statement (as installed), per row (as before 002_triggers.sql
    had statement triggers), or per statement calling the function of ``--before``."""
    function = BEFORE_FUNCTION if mode.startswith("function of") else f"dashboard_{TABLE}_capture"
    for event, level in (("insert", "NEW TABLE AS new_rows"), ("delete", "OLD TABLE AS old_rows")):
        firing = "FOR EACH ROW" if mode == PER_ROW else f"REFERENCING {level} FOR EACH STATEMENT"
        writer.cursor.execute(
            f"CREATE OR REPLACE TRIGGER dashboard_{TABLE}_{event} AFTER {event.upper()} ON {TABLE} "
            f"{firing} EXECUTE FUNCTION {function}()"
        )


def measure(writer: Writer, rounds: int, single: int, batch: int, before: str = "") -> list[Result]:
    """Each round runs capture off and every way of capture on back to back, in a rotating order."""
    modes = ["off", "per row"]
    if writer.dialect == "postgresql":
        modes = ["off", PER_STATEMENT, PER_ROW, *([f"function of {before}"] if before else [])]
    results = []
    for shape, (write, count) in _shapes(writer, single, batch).items():
        writer.capture(True)
        writer.timed(write, min(count, 500))  # warm-up: caches, plans, the table's files
        runs: dict[str, list[tuple[float, float]]] = {mode: [] for mode in modes}
        for round_number in range(rounds):
            shift = round_number % len(modes)
            for mode in modes[shift:] + modes[:shift]:
                writer.capture(mode != "off")
                if writer.dialect == "postgresql" and mode != "off":
                    _insert_trigger(writer, mode)
                runs[mode].append(writer.timed(write, count))
        if writer.dialect == "postgresql":
            _insert_trigger(writer, PER_STATEMENT)
        writer.capture(True)
        for mode in modes[1:]:
            results.append(Result(writer.dialect, shape, mode, count, runs["off"], runs[mode]))
            print(" | ".join(results[-1].cells()), flush=True)
    return results


def _before_function(rev: str, work: Path) -> str:
    """The CREATE FUNCTION of the ``orders`` capture function as the template at ``rev`` generates and installs it."""
    template = work / "template-before"
    template.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, *TEMPLATE_PARTS], capture_output=True)
    if archive.returncode != 0:
        raise SystemExit(f"error: --before {rev}: {archive.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", str(template)], input=archive.stdout, check=True)
    git(template, "init", "-q", "-b", "main")
    commit_all(template, f"template at {rev}")
    project = generate(template, work / "project-before", ENTITIES)
    with temporary_database("postgresql", work) as database:
        _migrate(project, database)
        definition = database.query(f"SELECT pg_get_functiondef('dashboard_{TABLE}_capture'::regproc)")[0][0]
    return str(definition).replace(f"public.dashboard_{TABLE}_capture()", f"{BEFORE_FUNCTION}()", 1)


def run(databases: list[str], rounds: int, single: int, batch: int, before: str = "") -> list[Result]:
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        project = generate(snapshot_template(work / "template"), work / "project", ENTITIES)
        before_sql = _before_function(before, work) if before and "postgresql" in databases else ""
        for dialect in databases:
            with temporary_database(dialect, work) as database:
                _migrate(project, database)
                with database.connect() as conn:
                    writer = Writer(database, conn)
                    if before_sql and dialect == "postgresql":
                        writer.cursor.execute(before_sql)
                    results += measure(writer, rounds, single, batch, before if dialect == "postgresql" else "")
    return results


# -- the event write alone (PostgreSQL) -------------------------------------------

INDEXES = ["PRIMARY KEY (id)", "(created_at, id)", "(entity, id)"]
EVENT_TABLES: dict[str, tuple[list[str], str]] = {
    "no index": ([], ""),
    "primary key only": (INDEXES[:1], ""),
    "+ (created_at, id)": (INDEXES[:2], ""),
    "+ (entity, id)": ([INDEXES[0], INDEXES[2]], ""),
    "+ (created_at, id) + (entity, id): 001_db_events.sql": (INDEXES, ""),
    "same, without the txid column": (INDEXES, "no txid"),
    "same, payload by json_build_object (before)": (INDEXES, "json_build_object"),
    "same, payload jsonb (jsonb_build_object)": (INDEXES, "jsonb"),
}
"""The indexes of each copy of db_events, and how it differs from 001_db_events.sql and 002_triggers.sql."""
NAMES = ("id", *COLUMNS)
PAYLOADS = {
    # 002_triggers.sql: row_to_json of a sub-select naming each column by its field.
    "": "row_to_json(fields.*)",
    "json_build_object": "json_build_object(" + ", ".join(f"'{name}', s.{name}" for name in NAMES) + ")",
    "jsonb": "jsonb_build_object(" + ", ".join(f"'{name}', s.{name}" for name in NAMES) + ")",
}
FIELDS = "LATERAL (SELECT " + ", ".join(f"s.{name} AS {name}" for name in NAMES) + ") AS fields"


def _backend_cpu(pid: int) -> float:
    """Seconds the process has run on a CPU: schedstat counts nanoseconds (/proc/<pid>/stat, clock ticks of
    10 ms, made a 1,000-row run's figure a multiple of 10 µs per row)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9


def event_writes(database: TestDatabase, rounds: int, count: int) -> list[list[str]]:
    """Backend CPU µs per event of INSERT INTO <copy of db_events> SELECT ... FROM <count orders>, per index set."""
    timings: dict[str, list[float]] = {name: [] for name in EVENT_TABLES}
    with database.connect() as conn:
        cursor = conn.cursor()
        pid = int(conn.info.backend_pid)
        cursor.execute(f"CREATE TEMP TABLE source (LIKE {TABLE})")
        with cursor.copy("COPY source FROM STDIN") as copy:
            for n in range(count):
                copy.write_row((n, *_row(n)))
        for number, (indexes, variant) in enumerate(EVENT_TABLES.values()):
            table = f"events_{number}"
            cursor.execute(f"CREATE TABLE {table} (LIKE db_events INCLUDING DEFAULTS INCLUDING IDENTITY)")
            if variant == "jsonb":
                cursor.execute(f"ALTER TABLE {table} ALTER COLUMN payload TYPE jsonb")
            if variant == "no txid":
                cursor.execute(f"ALTER TABLE {table} DROP COLUMN txid")
            for index in indexes:
                if index.startswith("PRIMARY"):
                    cursor.execute(f"ALTER TABLE {table} ADD {index}")
                else:
                    cursor.execute(f"CREATE INDEX ON {table} {index}")
        for _ in range(rounds):
            for number, (name, (_, variant)) in enumerate(EVENT_TABLES.items()):
                payload = PAYLOADS.get(variant, PAYLOADS[""])
                source = "source AS s" + (f", {FIELDS}" if payload == PAYLOADS[""] else "")
                began = _backend_cpu(pid)
                cursor.execute(
                    f"INSERT INTO events_{number} (entity, event_type, payload) SELECT 'Order', 'insert', {payload} "
                    f"FROM {source}"
                )
                timings[name].append((_backend_cpu(pid) - began) / count * 1e6)
                cursor.execute(f"TRUNCATE events_{number}")
    base = statistics.median(timings["no index"])
    return [[name, f"{statistics.median(values):.2f}", f"{statistics.median(values) - base:+.2f}"]
            for name, values in timings.items()]  # fmt: skip


def render(results: list[Result], rounds: int) -> str:
    header = ["Database", "Write shape", "Capture", "Rows", "Rows/s capture off", "Rows/s capture on",
              "Ratio on/off (median)", "Ratios of the rounds", "Writer CPU µs/row off / on (+capture)"]  # fmt: skip
    load = os.getloadavg()[0]
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other work (load average {load:.1f} at "
        f"the end), Python {platform.python_version()}, databases on the same machine, stock settings, durable "
        f"commits. {rounds} rounds, capture off and each way of capture on back to back in each, rotating which "
        "goes first. "
        "Targets (issue 11, PostgreSQL): single ≥ 0.85, 20,000-row transactions ≥ 0.60.",
        "",
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
        *("| " + " | ".join(result.cells()) + " |" for result in results),
    ]
    return "\n".join(lines) + "\n"


def render_event_writes(rows: list[list[str]], count: int) -> str:
    header = ["db_events as", "CPU µs per event", "vs no index"]
    lines = [
        f"The event write alone on PostgreSQL: {count:,} `orders` payloads (as 002_triggers.sql builds them: "
        "row_to_json of a sub-select of the 10 columns) "
        "written by one INSERT … SELECT into a copy of db_events; the backend's CPU time, median of the rounds.",
        "",
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--single-rows", type=int, default=1000)
    parser.add_argument("--batch-rows", type=int, default=20000)
    parser.add_argument("--databases", default="postgresql,mariadb,sqlite")
    parser.add_argument("--event-writes", action="store_true", help="also time the event write alone (PostgreSQL)")
    parser.add_argument(
        "--before",
        default="",
        metavar="REV",
        help="PostgreSQL: also time the capture function of this git revision of the template, in the same rounds",
    )
    parser.add_argument("--no-write", action="store_true", help="print the tables, leave docs/benchmarks.md alone")
    args = parser.parse_args()
    results = run(args.databases.split(","), args.rounds, args.single_rows, args.batch_rows, args.before)
    table = render(results, args.rounds)
    print(table)
    if not args.no_write:
        write_section("write-cost", table)
    if args.event_writes:
        with tempfile.TemporaryDirectory() as tmp, temporary_database("postgresql", Path(tmp)) as database:
            project = generate(snapshot_template(Path(tmp) / "template"), Path(tmp) / "project", ENTITIES)
            _migrate(project, database)
            count = args.batch_rows * 5
            events = render_event_writes(event_writes(database, args.rounds, count), count)
        print(events)
        if not args.no_write:
            write_section("write-cost-events", events)


if __name__ == "__main__":
    main()
