"""`python -m backend.simulate` writes TPC-H-like records on every dialect."""

from __future__ import annotations

from pathlib import Path

from tests.support.databases import TestDatabase
from tests.support.projects import run_in_project


def test_simulator_writes_records_like_record_parser(tpch_project: Path, database: TestDatabase) -> None:
    result = run_in_project(tpch_project, "-m", "backend.migrate", "--create-entity-tables",
                            env={"DATABASE_URL": database.url})  # fmt: skip
    assert result.returncode == 0, result.stderr
    result = run_in_project(
        tpch_project, "-m", "backend.simulate", "--rate", "1000", "--records", "300", "--seed", "3",
        env={"DATABASE_URL": database.url}, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    for fragment in ("Customer created", "Customer found", "Product created", "Product found", "Order created",
                     "OrderLineItem created"):  # fmt: skip
        assert fragment in summary, summary

    orders = database.query("SELECT COUNT(*) FROM orders")[0][0]
    lines = database.query("SELECT COUNT(*) FROM order_line_items")[0][0]
    counts = dict(item.rsplit(" ", 1) for item in summary.removeprefix("simulate: ").split(", "))
    # A count, not a rate: the machine's speed does not matter.
    assert int(counts["Order created"]) == 300
    assert orders == 300 - int(counts.get("Order deleted", 0))
    assert orders <= lines <= 7 * orders + 7 * 10
    # Every line item belongs to an existing order, numbered from 1, as record_parser derives them.
    orphans = database.query(
        "SELECT COUNT(*) FROM order_line_items l WHERE NOT EXISTS "
        "(SELECT 1 FROM orders o WHERE o.order_key = l.order_key)"
    )[0][0]
    assert orphans == 0
    assert database.query("SELECT MIN(line_number) FROM order_line_items")[0][0] == 1
    customers = database.query("SELECT COUNT(*) FROM customers")[0][0]
    assert 0 < customers < orders  # get-or-create reuses customers
    kinds = {(row[0], row[1]) for row in database.query("SELECT DISTINCT entity, event_type FROM db_events")}
    assert {("Order", "insert"), ("Order", "update"), ("Order", "delete"), ("OrderLineItem", "insert"),
            ("OrderLineItem", "delete"), ("Customer", "insert")} <= kinds  # fmt: skip


def test_simulator_bad_url_is_one_line(tpch_project: Path) -> None:
    result = run_in_project(tpch_project, "-m", "backend.simulate", env={"DATABASE_URL": "nope://x"})
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "unknown scheme" in result.stderr
