"""Ids that were skipped by the poller and may still commit.

Auto-increment ids are handed out at insert time but become visible at commit
time, so a poller reading ``id > last`` sees id 12 before id 11 when 11's
transaction commits later. Every skipped id is a *gap*: it is re-queried on each
poll until it shows up, or until it can no longer show up (its transaction
rolled back). Deciding the latter exactly, per dialect:

- PostgreSQL: when a gap is seen, the newest transaction id held by any
  running transaction is noted (transaction-id locks in ``pg_locks``, which
  also cover prepared transactions). The gap is final once the oldest running
  transaction of the cluster is past it (``pg_snapshot_xmin(pg_current_snapshot())``):
  every transaction that could have held the id has ended. A snapshot's own
  ``xmax`` cannot serve: since PostgreSQL 14 it is the newest *completed* id
  plus one, and a transaction with a newer id may already be running.
- MySQL / MariaDB: a gap is final once no row with its id exists even
  uncommitted: a READ UNCOMMITTED read of the gap ids sees the rows of running
  transactions, and a rolled-back insert leaves nothing. No privilege needed.
  (``information_schema.INNODB_TRX`` cannot serve: it is a cache that is only
  refreshed after 100 ms without readers, so a poller reading it more often
  sees a frozen list.)
- SQLite: one writer at a time, so ids commit in order: a gap is final at once.

The horizon is read *before* the gaps are re-queried, so a transaction that
ends between the two is always seen by the re-query.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from ..db.dialects import Family
from .event_store import EventStore

log = logging.getLogger("dashboard.gaps")

MIN_GAP_AGE_S = 0.1
"""A gap is never final younger than this: an id is drawn a moment before its row
is written (and, for a row that is its transaction's first write on PostgreSQL,
before the transaction has an id)."""
MYSQL_MIN_GAP_AGE_S = 1.0
"""MySQL and MariaDB: the READ UNCOMMITTED read sees a row only once InnoDB has written it, and between
drawing the auto-increment id and writing the row a statement can wait (a page read from disk, a latch,
a descheduled thread on a loaded host). PostgreSQL's test is exact once the id is drawn; this one is not,
so it waits longer: a rolled-back id holds the resume point back for a second, which costs nothing but
that lag, while giving up on an id whose row was still coming would lose its event for good."""


@dataclass(slots=True)
class Gap:
    seen_at: float  # time.monotonic()
    token: Any  # dialect-specific: see module docstring


class HorizonStrategy:
    """How to tell that a gap can no longer be filled (SQLite: always)."""

    async def token_for_new_gaps(self, store: EventStore) -> Any:
        return None

    async def current(self, store: EventStore, open_ids: list[int]) -> Any:
        return None

    def is_final(self, gap_id: int, gap: Gap, horizon: Any, now: float) -> bool:
        return True


_XID_SPACE = 2**32


def _xid8_near(xid32: int, reference8: int) -> int:
    """A 32-bit xid (as pg_locks shows it) widened to 64 bits, next to a known 64-bit xid."""
    delta = (xid32 - reference8) % _XID_SPACE
    if delta >= _XID_SPACE // 2:
        delta -= _XID_SPACE
    return reference8 + delta


class PostgresHorizon(HorizonStrategy):
    async def token_for_new_gaps(self, store: EventStore) -> Any:
        row = (
            await store.db.fetch_all(
                "SELECT CAST(pg_snapshot_xmax(pg_current_snapshot()) AS text) AS reference, "
                "(SELECT string_agg(CAST(transactionid AS text), ',') FROM pg_locks "
                "WHERE locktype = 'transactionid') AS running"
            )
        )[0]
        reference = int(row["reference"])
        running = [_xid8_near(int(xid), reference) for xid in (row["running"] or "").split(",") if xid]
        return max([reference, *(xid + 1 for xid in running)])

    async def current(self, store: EventStore, open_ids: list[int]) -> Any:
        return int(await store.db.fetch_val("SELECT CAST(pg_snapshot_xmin(pg_current_snapshot()) AS text)"))

    def is_final(self, gap_id: int, gap: Gap, horizon: Any, now: float) -> bool:
        if gap.token is None:  # a row that was read once and then deleted: nothing can fill it
            return True
        return now - gap.seen_at >= MIN_GAP_AGE_S and horizon >= gap.token


class MySqlHorizon(HorizonStrategy):
    async def current(self, store: EventStore, open_ids: list[int]) -> Any:
        return await store.existing_ids_uncommitted(open_ids)

    def is_final(self, gap_id: int, gap: Gap, horizon: Any, now: float) -> bool:
        return now - gap.seen_at >= MYSQL_MIN_GAP_AGE_S and gap_id not in horizon


def horizon_strategy(family: Family) -> HorizonStrategy:
    return {"postgresql": PostgresHorizon, "mysql": MySqlHorizon, "sqlite": HorizonStrategy}[family]()


class GapTracker:
    """The open gaps, bounded so that a pathological workload cannot exhaust memory."""

    MAX_OPEN = 100_000

    def __init__(self, strategy: HorizonStrategy):
        self.strategy = strategy
        self.open: dict[int, Gap] = {}
        self.closed_unfilled = 0
        self.dropped_over_limit = 0

    def add(self, ids: range | list[int], token: Any) -> None:
        now = time.monotonic()
        for gap_id in ids:
            self.open[gap_id] = Gap(now, token)
        overflow = len(self.open) - self.MAX_OPEN
        if overflow > 0:
            for gap_id in sorted(self.open)[:overflow]:
                del self.open[gap_id]
            self.dropped_over_limit += overflow
            log.error("more than %d open gaps: gave up on the %d oldest", self.MAX_OPEN, overflow)

    def admit(self, skipped: list[range]) -> list[int]:
        """The newest ``MAX_OPEN`` ids of the ascending ranges ``skipped``; older ones are given up and counted."""
        total = sum(len(ids) for ids in skipped)
        overflow = total - self.MAX_OPEN
        if overflow <= 0:
            return [gap_id for ids in skipped for gap_id in ids]
        self.dropped_over_limit += overflow
        log.error("%d ids skipped at once: gave up on the %d oldest", total, overflow)
        kept: list[int] = []
        for ids in reversed(skipped):
            room = self.MAX_OPEN - len(kept)
            kept.extend(reversed(ids[-room:]))
            if len(kept) >= self.MAX_OPEN:
                break
        return kept[::-1]

    def fill(self, ids: list[int]) -> None:
        for gap_id in ids:
            self.open.pop(gap_id, None)

    def close_final(self, horizon: Any, *, read_at: float, present: frozenset[int] = frozenset()) -> None:
        """Give up the gaps that can no longer be filled; ``present`` ones were seen and are kept.

        ``read_at`` (``time.monotonic()``) is when the read of ``horizon`` began: a gap's age is
        judged then, not now, or the time a busy poll spent since would count as age it did not have
        when the horizon was read.
        """
        final = [
            gap_id
            for gap_id, gap in self.open.items()
            if gap_id not in present and self.strategy.is_final(gap_id, gap, horizon, read_at)
        ]
        for gap_id in final:
            del self.open[gap_id]
        self.closed_unfilled += len(final)

    def watermark(self, high: int) -> int:
        """Every id up to this one was delivered or can no longer appear."""
        return min(self.open) - 1 if self.open else high
