"""Every query the backend runs against ``db_events``, per dialect.

Reads come in two steps so that memory stays bounded whatever the rows hold:
first the ids with the size of each event (:class:`EventRef`, a few bytes per
row), then the events themselves, in groups of at most :data:`PAGE_CHARS`
(:meth:`EventStore.read`). A 1 MB row costs 1 MB once, never a page of them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..db.database import ConsistentRead, Database

PAGE_CHARS = 4 << 20
"""Events read from the database at once hold at most about this many characters
of JSON (one larger event is read alone)."""

_IN_LIST = 1000
"""Ids per ``IN (...)`` list."""

# Size of an event in the database, read without reading the payload itself
# (PostgreSQL takes octet_length of a TOASTed value from its header).
EVENT_SIZE = {
    "postgresql": "octet_length(CAST(payload AS text)) + COALESCE(octet_length(CAST(changed_columns AS text)), 0) "
    "+ COALESCE(octet_length(CAST(old_values AS text)), 0)",
    "sqlite": "length(CAST(payload AS BLOB)) + COALESCE(length(CAST(changed_columns AS BLOB)), 0) "
    "+ COALESCE(length(CAST(old_values AS BLOB)), 0)",
    "mysql": "LENGTH(payload) + COALESCE(LENGTH(changed_columns), 0) + COALESCE(LENGTH(old_values), 0)",
}
_ENVELOPE = 130
"""Characters an event takes besides its payload, changed columns and old values."""

# The highest id older than the retention window, by the database's clock: the
# backend's clock never decides what is deleted. SQLite has no server: its
# "now" is this process's clock, so it is capped by the newest event's stamp
# (written by the application's own clock); a backend clock running ahead then
# deletes nothing it should not.
_EXPIRED_THROUGH = {
    "postgresql": "SELECT MAX(id) FROM db_events WHERE created_at < now() - make_interval(days => :days)",
    "mysql": "SELECT MAX(id) FROM db_events WHERE created_at < NOW(6) - INTERVAL :days DAY",
    # (The stamp format is a parameter: the driver layer treats % in SQL text as a placeholder.)
    "sqlite": "SELECT MAX(id) FROM db_events WHERE created_at < strftime(:stamp_format, "
    "MIN(julianday('now'), julianday((SELECT MAX(created_at) FROM db_events))), '-' || :days || ' days')",
}
_DELETE_BELOW = {
    "postgresql": "DELETE FROM db_events WHERE id IN "
    "(SELECT id FROM db_events WHERE id < :boundary ORDER BY id LIMIT :batch)",
    "sqlite": "DELETE FROM db_events WHERE id IN "
    "(SELECT id FROM db_events WHERE id < :boundary ORDER BY id LIMIT :batch)",
    "mysql": "DELETE FROM db_events WHERE id < :boundary ORDER BY id LIMIT :batch",
}


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
    old_values: str | None = None
    """JSON text: for an update, the old values of the changed columns by field name."""


@dataclass(frozen=True, slots=True)
class EventRef:
    """An event's id and its approximate size in characters, read without its payload."""

    id: int
    size: int
    entity: str = ""
    event_type: str = ""
    """Read with the size, so that a subscribed client's replay reads only the payloads it gets."""
    at: datetime | str | None = None
    """History pages: ``created_at`` as the database holds it (SQLite: its text), for the cursors."""


def within_budget(refs: Sequence[EventRef], budget: int) -> list[list[EventRef]]:
    """``refs`` in order, grouped so that each group's size stays within ``budget``."""
    groups: list[list[EventRef]] = []
    group: list[EventRef] = []
    size = 0
    for ref in refs:
        if group and (size + ref.size > budget or len(group) >= _IN_LIST):
            groups.append(group)
            group, size = [], 0
        group.append(ref)
        size += ref.size
    if group:
        groups.append(group)
    return groups


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
        old_values=_text(row["old_values"]),
    )


def _refs(rows: Sequence[Mapping[str, Any]]) -> list[EventRef]:
    return [
        EventRef(int(row["id"]), int(row["size"] or 0) + _ENVELOPE, str(row["entity"]), str(row["event_type"]))
        for row in rows
    ]


def refs_with_time(rows: Sequence[Mapping[str, Any]]) -> list[EventRef]:
    return [EventRef(int(row["id"]), int(row["size"] or 0) + _ENVELOPE, at=row["created_at"]) for row in rows]


def _id_list(ids: Sequence[int]) -> str:
    # Integers only: safe to inline, and one statement whatever the count.
    return ",".join(str(int(i)) for i in ids)


class EventStore:
    def __init__(self, db: Database):
        self.db = db
        self.family = db.sql.family
        # The JSON columns are read as text: the payload goes to the browsers as
        # is, without being parsed and encoded again.
        self._columns = db.sql.event_columns
        self._size = EVENT_SIZE[self.family]
        self._expired_through = _EXPIRED_THROUGH[self.family]
        self._delete_below = _DELETE_BELOW[self.family]
        self.deleting_below = 0
        """Retention in this process has started to delete the ids below this one (0: none).

        Set before the DELETE runs, so a reader that finds it above an id it has
        not read yet knows that id may be gone."""

    # -- sizes first ------------------------------------------------------------

    async def refs_after(
        self,
        after: int,
        limit: int,
        *,
        before: int | None = None,
        entity: str | None = None,
        entities: Collection[str] | None = None,
        types: Collection[str] | None = None,
    ) -> list[EventRef]:
        """The first ``limit`` events after ``after`` (and before ``before``), in id order."""
        where, values = self._where(after=after, before=before, entity=entity, entities=entities, types=types)
        rows = await self.db.fetch_all(
            f"SELECT id, entity, event_type, {self._size} AS size FROM db_events {where} ORDER BY id LIMIT :limit",
            {**values, "limit": limit},
        )
        return _refs(rows)

    async def refs_before(
        self,
        before: int | None,
        limit: int,
        *,
        entity: str | None = None,
        entities: Collection[str] | None = None,
        types: Collection[str] | None = None,
    ) -> list[EventRef]:
        """The last ``limit`` events before ``before`` (the newest without it), in id order."""
        where, values = self._where(before=before, entity=entity, entities=entities, types=types)
        rows = await self.db.fetch_all(
            f"SELECT id, entity, event_type, {self._size} AS size FROM db_events {where} ORDER BY id DESC LIMIT :limit",
            {**values, "limit": limit},
        )
        return _refs(rows)[::-1]

    async def refs_of(self, ids: Sequence[int]) -> list[EventRef]:
        """Those of ``ids`` that are present, in id order, as of one moment however many they are.

        One moment matters to the poller: its open gaps are read in lists of
        ``_IN_LIST``, and a transaction whose ids fall in two lists, committing
        between the two statements, would be seen by the second only: half of it
        delivered, the rest, with lower ids, one poll later (seen in
        test_a_slow_client_is_dropped_without_delaying_a_fast_one under load,
        with more than 1,000 open gaps). More than one list is therefore read
        in one snapshot; a single statement is one already.
        """
        if len(ids) <= _IN_LIST:
            return await self._refs_of(self.db, ids)
        async with self.db.consistent_read() as read:
            return await self._refs_of(read, ids)

    async def _refs_of(self, reader: Database | ConsistentRead, ids: Sequence[int]) -> list[EventRef]:
        found: list[EventRef] = []
        for start in range(0, len(ids), _IN_LIST):
            chunk = _id_list(ids[start : start + _IN_LIST])
            rows = await reader.fetch_all(
                f"SELECT id, entity, event_type, {self._size} AS size FROM db_events WHERE id IN ({chunk}) ORDER BY id"
            )
            found.extend(_refs(rows))
        return found

    def _where(
        self,
        *,
        after: int | None = None,
        before: int | None = None,
        entity: str | None = None,
        entities: Collection[str] | None = None,
        types: Collection[str] | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """``entities`` / ``types``: None is any, empty is none (a subscription's sets)."""
        conditions: list[str] = []
        values: dict[str, Any] = {}
        if after is not None:
            conditions.append("id > :after")
            values["after"] = after
        if before is not None:
            conditions.append("id < :before")
            values["before"] = before
        if entity is not None:
            conditions.append("entity = :entity")
            values["entity"] = entity
        for column, names in (("entity", entities), ("event_type", types)):
            if names is None:
                continue
            if not names:
                conditions.append("1 = 0")
                continue
            placeholders = []
            for number, name in enumerate(sorted(names)):
                placeholders.append(f":{column}_{number}")
                values[f"{column}_{number}"] = name
            conditions.append(f"{column} IN ({', '.join(placeholders)})")
        return (f"WHERE {' AND '.join(conditions)}" if conditions else ""), values

    # -- then the events ----------------------------------------------------------

    async def by_ids(self, ids: Sequence[int]) -> list[Event]:
        """Those of ``ids`` that are present, in id order. Callers bound the total size."""
        found: list[Event] = []
        for start in range(0, len(ids), _IN_LIST):
            chunk = _id_list(ids[start : start + _IN_LIST])
            rows = await self.db.fetch_all(f"SELECT {self._columns} FROM db_events WHERE id IN ({chunk}) ORDER BY id")
            found.extend(_event(row) for row in rows)
        return found

    async def read(self, refs: Sequence[EventRef], budget: int = PAGE_CHARS) -> AsyncIterator[list[Event]]:
        """The events of ``refs`` in the order of ``refs``, one group of at most ``budget`` characters at a time."""
        for group in within_budget(refs, budget):
            events = await self.by_ids([ref.id for ref in group])
            # by_ids reads in id order; history pages are in (created_at, id) order.
            position = {ref.id: index for index, ref in enumerate(group)}
            events.sort(key=lambda event: position[event.id])
            yield events

    # -- bounds ---------------------------------------------------------------------

    async def head(self) -> int:
        """The highest id in the table (0 when empty)."""
        return int(await self.db.fetch_val("SELECT COALESCE(MAX(id), 0) FROM db_events"))

    async def oldest(self) -> int | None:
        value = await self.db.fetch_val("SELECT MIN(id) FROM db_events")
        return None if value is None else int(value)

    async def ids_between(self, low: int, high: int) -> list[int]:
        rows = await self.db.fetch_all(
            "SELECT id FROM db_events WHERE id > :low AND id <= :high", {"low": low, "high": high}
        )
        return [int(row["id"]) for row in rows]

    async def existing_ids_uncommitted(self, ids: Sequence[int]) -> set[int]:
        """MySQL / MariaDB: which of ``ids`` have a row, committed or not (READ UNCOMMITTED)."""
        found: set[int] = set()
        for start in range(0, len(ids), _IN_LIST):
            chunk = _id_list(ids[start : start + _IN_LIST])
            rows = await self.db.fetch_all_read_uncommitted(f"SELECT id FROM db_events WHERE id IN ({chunk})")
            found.update(int(row["id"]) for row in rows)
        return found

    # -- retention ------------------------------------------------------------------

    async def expired_through(self, days: int) -> int | None:
        """The highest id whose event is older than ``days`` by the database's clock."""
        values: dict[str, Any] = {"days": days}
        if self.family == "sqlite":
            values["stamp_format"] = "%Y-%m-%dT%H:%M:%fZ"  # as the triggers write created_at
        value = await self.db.fetch_val(self._expired_through, values)
        return None if value is None else int(value)

    async def delete_below(self, boundary: int, batch: int) -> int:
        """Delete one batch of the events with ids below ``boundary``; returns how many went.

        The event at ``boundary`` itself stays: the oldest retained event then marks
        where retention stopped, so an id just below it that never committed (a
        rolled-back insert) cannot pass for a deleted one.
        """
        self.deleting_below = max(self.deleting_below, boundary)
        return await self.db.execute_count(self._delete_below, {"boundary": boundary, "batch": batch})
