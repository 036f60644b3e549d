"""Ids that were skipped by the poller and may still commit.

Auto-increment ids are handed out at insert time but become visible at commit
time, so a poller reading ``id > last`` sees id 12 before id 11 when 11's
transaction commits later. Every skipped id is a *gap*: it is re-queried on each
poll until it shows up, or until it can no longer show up (its transaction
rolled back). Deciding the latter exactly, per dialect:

- PostgreSQL: a gap seen by a statement whose snapshot had ``xmax = X`` is final
  once the cluster's oldest running transaction is past X
  (``pg_snapshot_xmin(pg_current_snapshot()) >= X``): every transaction that
  could have held the id has ended.
- MySQL / MariaDB: a gap seen at time T is final once no InnoDB transaction
  that started at or before T remains (``information_schema.INNODB_TRX``; needs
  the PROCESS privilege). Without the privilege, a timer is the fallback.
- SQLite: one writer at a time, so ids commit in order: a gap is final at once.

The horizon is read *before* the gaps are re-queried, so a transaction that
ends between the two is always seen by the re-query.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .database import Database

log = logging.getLogger("dashboard.gaps")

# information_schema.INNODB_TRX is served from a cache refreshed at most every
# 100 ms: a gap younger than this may miss a transaction that just started.
_MYSQL_MIN_GAP_AGE_S = 0.25


@dataclass(slots=True)
class Gap:
    seen_at: float  # time.monotonic()
    token: Any  # dialect-specific: see module docstring


class HorizonStrategy:
    """How to tell that a gap can no longer be filled."""

    exact = True

    async def token_for_new_gaps(self, db: Database, poll_horizon: int | None) -> Any:
        return None

    async def current(self, db: Database) -> Any:
        return None

    def is_final(self, gap: Gap, horizon: Any, now: float) -> bool:
        return True


class PostgresHorizon(HorizonStrategy):
    async def token_for_new_gaps(self, db: Database, poll_horizon: int | None) -> Any:
        return poll_horizon  # xmax of the snapshot that saw the newer ids

    async def current(self, db: Database) -> Any:
        return int(await db.fetch_val("SELECT CAST(pg_snapshot_xmin(pg_current_snapshot()) AS text)"))

    def is_final(self, gap: Gap, horizon: Any, now: float) -> bool:
        return gap.token is not None and horizon >= gap.token


class MySqlHorizon(HorizonStrategy):
    def __init__(self, fallback_timeout_s: float):
        self.fallback_timeout_s = fallback_timeout_s

    async def token_for_new_gaps(self, db: Database, poll_horizon: int | None) -> Any:
        # Seconds resolution, like INNODB_TRX.trx_started: the comparison stays conservative.
        return await db.fetch_val("SELECT NOW()")

    async def current(self, db: Database) -> Any:
        if not self.exact:
            return None
        try:
            return ("known", await db.fetch_val("SELECT MIN(trx_started) FROM information_schema.INNODB_TRX"))
        except Exception as error:  # noqa: BLE001 - access denied has no portable error type
            self.exact = False
            log.warning(
                "cannot read information_schema.INNODB_TRX (%s): gaps in event ids now close after %.0f s; "
                "grant PROCESS to the dashboard's database user for exact gap tracking",
                error,
                self.fallback_timeout_s,
            )
            return None

    def is_final(self, gap: Gap, horizon: Any, now: float) -> bool:
        if horizon is None:
            return now - gap.seen_at >= self.fallback_timeout_s
        if now - gap.seen_at < _MYSQL_MIN_GAP_AGE_S:
            return False
        _, oldest_started = horizon
        seen_at: datetime = gap.token
        return oldest_started is None or oldest_started > seen_at


def horizon_strategy(dialect: str, fallback_timeout_s: float) -> HorizonStrategy:
    if dialect == "postgresql":
        return PostgresHorizon()
    if dialect in ("mysql", "mariadb"):
        return MySqlHorizon(fallback_timeout_s)
    return HorizonStrategy()


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

    def fill(self, ids: list[int]) -> None:
        for gap_id in ids:
            self.open.pop(gap_id, None)

    def close_final(self, horizon: Any) -> None:
        now = time.monotonic()
        final = [gap_id for gap_id, gap in self.open.items() if self.strategy.is_final(gap, horizon, now)]
        for gap_id in final:
            del self.open[gap_id]
        self.closed_unfilled += len(final)

    def watermark(self, high: int) -> int:
        """Every id up to this one was delivered or can no longer appear."""
        return min(self.open) - 1 if self.open else high
