"""Per-entity statistics: events seen, rates over the last minute, and row counts.

Row counts never run a full COUNT(*) per request: they are refreshed in the
background (estimates from the catalog on large tables) and moved by the
inserts and deletes seen since.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ..db.database import Database
from ..model import Model
from ..stream.event_store import Event

log = logging.getLogger("dashboard.stats")

RATE_WINDOW_S = 60
MAX_ROW_CHANGES = 200_000
"""Inserts and deletes kept between two row counts; past this the count is dropped, not the memory bound."""
EXACT_COUNT_BELOW = 100_000
"""Tables whose estimate is below this are counted exactly (cheap enough)."""


@dataclass
class EntityStats:
    inserts: int = 0
    updates: int = 0
    deletes: int = 0
    per_second: deque[tuple[int, int]] = field(default_factory=deque)  # (epoch second, events)
    base_rows: int | None = None
    """Rows when last counted, as of event id ``base_event_id``."""
    base_event_id: int = 0
    estimated: bool = False
    row_changes: deque[tuple[int, int]] = field(default_factory=deque)
    """(event id, +1 insert / -1 delete) seen since the count, in case a newer count needs them."""
    pending_delta: int = 0
    """Sum of ``row_changes`` newer than ``base_event_id``."""
    last_event_at: dict[str, float] = field(default_factory=dict)
    """Event type -> wall time the last one was recorded (for /metrics' stale alerts)."""

    def record(self, event_id: int, event_type: str, second: int, now: float | None = None) -> None:
        if event_type in ("insert", "update", "delete"):
            self.last_event_at[event_type] = float(second) if now is None else now
        if event_type == "insert":
            self.inserts += 1
            self._row_change(event_id, 1)
        elif event_type == "update":
            self.updates += 1
        elif event_type == "delete":
            self.deletes += 1
            self._row_change(event_id, -1)
        if self.per_second and self.per_second[-1][0] == second:
            self.per_second[-1] = (second, self.per_second[-1][1] + 1)
        else:
            self.per_second.append((second, 1))
        self._trim(second)

    def _trim(self, now_second: int) -> None:
        while self.per_second and self.per_second[0][0] <= now_second - RATE_WINDOW_S:
            self.per_second.popleft()

    def rate(self, now: float) -> float:
        self._trim(int(now))
        return sum(count for _, count in self.per_second) / RATE_WINDOW_S

    def sparkline(self, now: float) -> list[int]:
        """Events per second over the window, oldest first."""
        second = int(now)
        counts = dict(self.per_second)
        return [counts.get(s, 0) for s in range(second - RATE_WINDOW_S + 1, second + 1)]

    def _row_change(self, event_id: int, delta: int) -> None:
        if len(self.row_changes) >= MAX_ROW_CHANGES:
            # Counting has failed for a long while: say "unknown" rather than hold
            # every change in memory; the next successful count starts afresh.
            self.base_rows, self.pending_delta = None, 0
            self.row_changes.clear()
        self.row_changes.append((event_id, delta))
        if event_id > self.base_event_id:
            self.pending_delta += delta

    def rebase(self, rows: int, event_id: int, estimated: bool) -> None:
        """A fresh count, taken in the same snapshot as the newest event id ``event_id``."""
        self.base_rows, self.base_event_id, self.estimated = rows, event_id, estimated
        self.row_changes = deque(change for change in self.row_changes if change[0] > event_id)
        self.pending_delta = sum(delta for _, delta in self.row_changes)

    def rows(self) -> int | None:
        return None if self.base_rows is None else max(0, self.base_rows + self.pending_delta)


class Stats:
    def __init__(self, model: Model):
        self.model = model
        self.by_entity = {entity.name: EntityStats() for entity in model.entities}
        self.started_at = time.time()

    def record(self, events: list[Event]) -> None:
        now = time.time()
        second = int(now)
        for event in events:
            stats = self.by_entity.get(event.entity)
            if stats is not None:
                stats.record(event.id, event.event_type, second, now)

    async def refresh_row_counts(self, db: Database) -> None:
        estimates = await _estimates(db, [(entity.schema, entity.table) for entity in self.model.entities])
        for entity in self.model.entities:
            stats = self.by_entity[entity.name]
            estimate = estimates.get((entity.schema, entity.table))
            quoted = db.sql.table(entity.schema, entity.table)
            exact = estimate is None or estimate < EXACT_COUNT_BELOW
            counted = f"(SELECT COUNT(*) FROM {quoted})" if exact else str(int(estimate or 0))
            # One statement, one snapshot: the count and the event id it is current to.
            row = (
                await db.fetch_all(f"SELECT {counted} AS n, (SELECT COALESCE(MAX(id), 0) FROM db_events) AS at_event")
            )[0]
            stats.rebase(int(row["n"]), int(row["at_event"]), estimated=not exact)

    def snapshot(self) -> dict[str, Any]:
        now = time.time()
        return {
            name: {
                "total_rows": stats.rows(),
                "rows_estimated": stats.estimated,
                "inserts": stats.inserts,
                "updates": stats.updates,
                "deletes": stats.deletes,
                "rate_per_second": round(stats.rate(now), 3),
                "per_second": stats.sparkline(now),
            }
            for name, stats in self.by_entity.items()
        }


async def _estimates(db: Database, tables: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Catalog row estimates (0.1 ms instead of a full scan); empty where the dialect has none."""
    if db.sql.row_estimates_query is None:
        return {}
    rows = await db.fetch_all(db.sql.row_estimates_query)
    wanted = set(tables)
    # reltuples is -1 for a table never analyzed.
    return {
        (str(row["schema_name"]), str(row["name"])): int(row["estimate"])
        for row in rows
        if (row["schema_name"], row["name"]) in wanted and row["estimate"] is not None and int(row["estimate"]) >= 0
    }
