"""Every query the backend runs against ``db_events``, per dialect."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..db.database import Database

_EVENT_TYPES = {"insert", "update", "delete"}


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    entity: str
    event_type: str
    payload: str
    """JSON text as the trigger wrote it."""
    changed_columns: str | None
    timestamp: str
    """ISO 8601, UTC."""

    def to_json(self) -> str:
        """The event as it goes over the wire, built without re-parsing the payload."""
        event_type = self.event_type if self.event_type in _EVENT_TYPES else "unknown"
        return (
            f'{{"id":{self.id},"entity":{json.dumps(self.entity)},"event_type":"{event_type}",'
            f'"data":{self.payload},"changed":{self.changed_columns or "null"},"timestamp":"{self.timestamp}"}}'
        )


def _timestamp(value: object) -> str:
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)  # MySQL sessions run in UTC
        return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return str(value)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        return value.decode()
    return str(value)


def _event(row: Mapping[str, Any]) -> Event:
    return Event(
        id=int(row["id"]),
        entity=str(row["entity"]),
        event_type=str(row["event_type"]),
        payload=_text(row["payload"]) or "null",
        changed_columns=_text(row["changed_columns"]),
        timestamp=_timestamp(row["created_at"]),
    )


class EventStore:
    def __init__(self, db: Database):
        self.db = db
        self.family = db.sql.family
        # The JSON columns are read as text: the payload goes to the browsers as
        # is, without being parsed and encoded again.
        self._columns = db.sql.event_columns

    async def after(self, after: int, limit: int) -> list[Event]:
        rows = await self.db.fetch_all(
            f"SELECT {self._columns} FROM db_events WHERE id > :after ORDER BY id LIMIT :limit",
            {"after": after, "limit": limit},
        )
        return [_event(row) for row in rows]

    async def by_ids(self, ids: Sequence[int]) -> list[Event]:
        found: list[Event] = []
        for start in range(0, len(ids), 1000):
            chunk = [int(i) for i in ids[start : start + 1000]]
            # Integers only: safe to inline, and one statement whatever the count.
            rows = await self.db.fetch_all(
                f"SELECT {self._columns} FROM db_events WHERE id IN ({','.join(map(str, chunk))}) ORDER BY id"
            )
            found.extend(_event(row) for row in rows)
        return found

    async def page(self, *, after: int | None, before: int | None, limit: int, entity: str | None) -> list[Event]:
        """History in id order: the first ``limit`` after ``after``, or the last ``limit`` before ``before``."""
        conditions, values = [], {"limit": limit}
        if after is not None:
            conditions.append("id > :after")
            values["after"] = after
        if before is not None:
            conditions.append("id < :before")
            values["before"] = before
        if entity is not None:
            conditions.append("entity = :entity")
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        newest_first = after is None
        order = "DESC" if newest_first else "ASC"
        query = f"SELECT {self._columns} FROM db_events {where} ORDER BY id {order} LIMIT :limit"
        params: dict[str, Any] = dict(values)
        if entity is not None:
            params["entity"] = entity
        events = [_event(row) for row in await self.db.fetch_all(query, params)]
        return events[::-1] if newest_first else events

    async def bounds(self) -> tuple[int | None, int | None]:
        row = await self.db.fetch_all("SELECT MIN(id) AS low, MAX(id) AS high FROM db_events")
        low, high = row[0]["low"], row[0]["high"]
        return (None if low is None else int(low)), (None if high is None else int(high))

    async def ids_between(self, low: int, high: int) -> list[int]:
        rows = await self.db.fetch_all(
            "SELECT id FROM db_events WHERE id > :low AND id <= :high", {"low": low, "high": high}
        )
        return [int(row["id"]) for row in rows]

    async def delete_older_than(self, cutoff: datetime, batch: int) -> int:
        """Delete one batch of events older than ``cutoff``; returns how many went."""
        if self.family == "sqlite":
            cutoff_value: Any = cutoff.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"
        elif self.family == "postgresql":
            cutoff_value = cutoff
        else:
            cutoff_value = cutoff.astimezone(UTC).replace(tzinfo=None)
        if self.family == "mysql":
            query = "DELETE FROM db_events WHERE created_at < :cutoff ORDER BY id LIMIT :batch"
        else:
            query = (
                "DELETE FROM db_events WHERE id IN "
                "(SELECT id FROM db_events WHERE created_at < :cutoff ORDER BY id LIMIT :batch)"
            )
        return await self.db.execute_count(query, {"cutoff": cutoff_value, "batch": batch})
