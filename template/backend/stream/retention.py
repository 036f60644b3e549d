"""Deletes ``db_events`` rows older than the retention window, in small batches."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from ..db.database import describe_error
from .event_store import EventStore

log = logging.getLogger("dashboard.retention")

BATCH = 1000
PAUSE_BETWEEN_BATCHES_S = 0.05
"""Short batches with pauses keep row locks brief for the writers."""


async def delete_expired(store: EventStore, days: int, *, now: datetime | None = None) -> int:
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    total = 0
    while True:
        deleted = await store.delete_older_than(cutoff, BATCH)
        total += deleted
        if deleted < BATCH:
            return total
        await asyncio.sleep(PAUSE_BETWEEN_BATCHES_S)


async def run_retention(store: EventStore, days: int, every_s: float = 300.0) -> None:
    if days <= 0:
        return
    while True:
        try:
            deleted = await delete_expired(store, days)
            if deleted:
                log.info("retention: deleted %d events older than %d days", deleted, days)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - the poller reports outages; retry later
            log.debug("retention skipped: %s", describe_error(error))
        await asyncio.sleep(every_s)
