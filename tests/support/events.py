"""db_events rows with the old values of updates (the column added for issue 12)."""

from __future__ import annotations

from typing import Any

from .databases import TestDatabase, _json


def events_with_old(database: TestDatabase) -> list[dict[str, Any]]:
    """``database.events()`` with each row's ``old_values`` parsed (None for inserts and deletes)."""
    old = [_json(row[0]) for row in database.query("SELECT old_values FROM db_events ORDER BY id")]
    return [{**event, "old_values": values} for event, values in zip(database.events(), old, strict=True)]
