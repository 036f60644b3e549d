"""Bulk rows straight into ``db_events`` (no triggers): a time line for history benchmarks and plan tests.

Row ``g`` (1..count) is stamped ``now - (count - g) * step``: ids and time go
up together, spread over ``span_s`` seconds up to the database's now. Entities
and event types cycle; one payload in 997 holds ``FAILED`` (the text filter's
needle). One statement per million rows keeps each transaction bounded.
"""

from __future__ import annotations

from tests.support.databases import TestDatabase

ENTITIES = ("Order", "OrderLineItem", "Customer", "Product")
CHUNK = 1_000_000

_FILL = {
    "postgresql": (
        "INSERT INTO db_events (entity, event_type, payload, created_at) "
        "SELECT (ARRAY['Order','OrderLineItem','Customer','Product'])[1 + mod(g, 4)], "
        "(ARRAY['insert','update','delete'])[1 + mod(g / 4, 3)], "
        "json_build_object('id', g, 'order_key', 'O-' || g, "
        "'order_status', CASE WHEN mod(g, 997) = 0 THEN 'FAILED' ELSE 'OK' END, 'total_price', g * 0.5), "
        "now() - make_interval(secs => ({count} - g) * {step}) "
        "FROM generate_series({first}, {last}) AS g"
    ),
    "mariadb": (
        "INSERT INTO db_events (entity, event_type, payload, created_at) "
        "SELECT ELT(1 + MOD(seq, 4), 'Order', 'OrderLineItem', 'Customer', 'Product'), "
        "ELT(1 + MOD(seq DIV 4, 3), 'insert', 'update', 'delete'), "
        "JSON_OBJECT('id', seq, 'order_key', CONCAT('O-', seq), "
        "'order_status', IF(MOD(seq, 997) = 0, 'FAILED', 'OK'), 'total_price', seq * 0.5), "
        "TIMESTAMPADD(MICROSECOND, -ROUND(({count} - seq) * {step} * 1000000), UTC_TIMESTAMP(6)) "
        "FROM seq_{first}_to_{last}"
    ),
    "sqlite": (
        "INSERT INTO db_events (entity, event_type, payload, created_at) "
        "WITH RECURSIVE g(x) AS (SELECT {first} UNION ALL SELECT x + 1 FROM g WHERE x < {last}) "
        "SELECT CASE x % 4 WHEN 0 THEN 'Order' WHEN 1 THEN 'OrderLineItem' WHEN 2 THEN 'Customer' "
        "ELSE 'Product' END, "
        "CASE (x / 4) % 3 WHEN 0 THEN 'insert' WHEN 1 THEN 'update' ELSE 'delete' END, "
        "json_object('id', x, 'order_key', 'O-' || x, "
        "'order_status', CASE WHEN x % 997 = 0 THEN 'FAILED' ELSE 'OK' END, 'total_price', x * 0.5), "
        "strftime('%Y-%m-%dT%H:%M:%fZ', julianday('now') - ({count} - x) * {step} / 86400.0) "
        "FROM g"
    ),
}
_ANALYZE = {"postgresql": "ANALYZE db_events", "mariadb": "ANALYZE TABLE db_events", "sqlite": "ANALYZE"}


def fill_events(db: TestDatabase, count: int, span_s: float) -> None:
    """Append ``count`` events spread over the last ``span_s`` seconds, then refresh the planner's statistics."""
    family = "mariadb" if db.dialect in ("mysql", "mariadb") else db.dialect
    step = span_s / count
    with db.connect() as conn:
        cursor = conn.cursor()
        if family == "mariadb":
            cursor.execute("SET time_zone = '+00:00'")
        for first in range(1, count + 1, CHUNK):
            last = min(first + CHUNK - 1, count)
            cursor.execute(_FILL[family].format(count=count, step=repr(step), first=first, last=last))
        cursor.execute(_ANALYZE[family])
        if family == "mariadb":
            cursor.fetchall()
