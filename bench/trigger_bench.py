"""Benchmark: what the change-capture triggers cost the application's writes.

For each database (PostgreSQL, MariaDB, SQLite on this machine) and two entities
(the TPC-H example's `orders`, and `readings` of tests/fixtures/loose_types,
which has one column of every model type), this script creates the tables, times
inserts without triggers (after `migrate --drop`) and with them (after
`migrate`), and prints rows per second and the ratio with / without:

- single: single-row autocommit INSERTs;
- batch: one transaction of many single-row INSERTs (executemany).

Usage: python bench/trigger_bench.py [--rows 2000] [--batch-rows 20000] [--databases postgresql,mariadb,sqlite]
Writes the results table to docs/benchmarks.md (between markers) and prints it.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import write_section  # noqa: E402
from tests.support.databases import TestDatabase, temporary_database  # noqa: E402
from tests.support.paths import LOOSE_TYPES, TPCH  # noqa: E402
from tests.support.projects import generate, run_in_project  # noqa: E402
from tests.support.template_repo import snapshot_template  # noqa: E402


def _order(n: int) -> dict[str, Any]:
    return {"order_key": f"O-{n}", "customer_key": "C-1", "order_status": "O", "total_price": 9.5 + n,
            "order_date": "2024-01-01", "comment": f"order {n} 'quoted' ünï"}  # fmt: skip


def _reading(n: int) -> dict[str, Any]:
    return {"label": f"reading {n}", "body": json.dumps({"a": [1, 2], "n": n}), "seen_at": "2024-02-29 13:45:10",
            "day": "2024-02-29", "ratio": n / 7, "flag": n % 2 == 0, "amount": n}  # fmt: skip


ENTITIES: dict[str, tuple[Path, str, Callable[[int], dict[str, Any]]]] = {
    "orders": (TPCH, "orders", _order),
    "readings (every type)": (LOOSE_TYPES, "readings", _reading),
}


def _insert_sql(database: TestDatabase, table: str, row: dict[str, Any]) -> str:
    columns = ", ".join(database.quote(name) for name in row)
    marks = ", ".join(database.placeholder for _ in row)
    return f"INSERT INTO {database.quote(table)} ({columns}) VALUES ({marks})"


def _rate(
    database: TestDatabase, table: str, make: Callable[[int], dict[str, Any]], rows: int, *, batch: bool
) -> float:
    sql = _insert_sql(database, table, make(0))
    params = [tuple(make(n).values()) for n in range(rows)]
    with database.connect() as conn:
        cursor = conn.cursor()
        started = time.perf_counter()
        if batch:
            cursor.execute("BEGIN")
            cursor.executemany(sql, params)
            cursor.execute("COMMIT")
        else:
            for values in params:
                cursor.execute(sql, values)
        elapsed = time.perf_counter() - started
    database.execute(f"DELETE FROM {database.quote(table)}")
    return rows / elapsed


def _migrate(project: Path, database: TestDatabase, *args: str) -> None:
    result = run_in_project(project, "-m", "backend.migrate", *args, env={"DATABASE_URL": database.url})
    if result.returncode != 0:
        raise SystemExit(result.stderr)


def run(databases: list[str], rows: int, batch_rows: int) -> list[list[str]]:
    table_rows: list[list[str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        template = snapshot_template(work / "template")
        for label, (entities, table, make) in ENTITIES.items():
            project = generate(template, work / table, entities)
            for dialect in databases:
                with temporary_database(dialect, work) as database:
                    _migrate(project, database, "--create-entity-tables")
                    _migrate(project, database, "--drop")
                    for mode, count in (("single", rows), ("batch", batch_rows)):
                        _rate(database, table, make, min(count, 500), batch=mode == "batch")  # warm-up
                        without = _rate(database, table, make, count, batch=mode == "batch")
                        _migrate(project, database)
                        with_triggers = _rate(database, table, make, count, batch=mode == "batch")
                        _migrate(project, database, "--drop")
                        table_rows.append([dialect, label, mode, f"{count:,}", f"{without:,.0f}",
                                           f"{with_triggers:,.0f}", f"{with_triggers / without:.2f}"])  # fmt: skip
                        print(" | ".join(table_rows[-1]), flush=True)
    return table_rows


def render(rows: list[list[str]]) -> str:
    header = ["Database", "Table", "Inserts", "Rows", "Rows/s without triggers", "Rows/s with triggers", "Ratio"]
    lines = [
        f"Machine: {platform.machine()}, Python {platform.python_version()}, databases on the same machine, "
        "stock settings, durable commits. single: autocommit single-row INSERTs; batch: one transaction.",
        "",
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--batch-rows", type=int, default=20000)
    parser.add_argument("--databases", default="postgresql,mariadb,sqlite")
    args = parser.parse_args()
    table = render(run(args.databases.split(","), args.rows, args.batch_rows))
    print(table)
    write_section("trigger-bench", table)


if __name__ == "__main__":
    main()
