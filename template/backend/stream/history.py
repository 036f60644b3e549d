"""History queries on ``db_events``: time ranges, filters, keyset pages, histogram, bounds.

Pages are in ``(created_at, id)`` order, the database's own clock first and the
id to break ties, so a page boundary is one exact point: following a cursor
never skips nor repeats an event of the range, even where ``created_at`` is not
in id order (MySQL / MariaDB stamp the statement's start, concurrent writers
commit out of order). The boundary is written ``created_at <= c AND
(created_at < c OR id < i)``: the first term is a plain range on the
``(created_at, id)`` index on every server (a row-value comparison is not range
scanned by MariaDB), the second drops the few rows of the boundary's own instant.

Times cross this module as the database holds them (:func:`native_time`):
PostgreSQL an aware datetime, MySQL / MariaDB a naive UTC one (sessions run in
UTC), SQLite the text its triggers write, with milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from ..db.database import Database
from .event_store import EVENT_SIZE, EventRef, refs_with_time

Order = Literal["asc", "desc"]
DbTime = datetime | str
"""A ``created_at`` value as the database holds it."""

SQLITE_STAMP = "%Y-%m-%dT%H:%M:%fZ"
"""The format of SQLite's ``created_at`` (001_db_events.sql, the triggers)."""
LIKE_ESCAPE = "!"
"""Not a backslash: MySQL string literals treat a backslash as an escape themselves."""

# "Contains the text": the payload's JSON text, case-insensitive for ASCII on all three.
_TEXT_MATCH = {
    "postgresql": "CAST(payload AS text) ILIKE :q ESCAPE '!'",
    # CAST AS CHAR: MySQL's JSON type has a binary collation, on which LOWER does nothing.
    "mysql": "LOWER(CAST(payload AS CHAR)) LIKE :q ESCAPE '!'",
    "sqlite": "payload LIKE :q ESCAPE '!'",  # SQLite's LIKE ignores ASCII case
}
# The bucket number of created_at (seconds since the epoch, divided by the bucket size).
_BUCKET = {
    "postgresql": "CAST(floor(extract(epoch FROM created_at) / {size}) AS bigint)",
    # UNIX_TIMESTAMP of a TIMESTAMP column reads its UTC value, whatever the session's zone.
    "mysql": "CAST(FLOOR(UNIX_TIMESTAMP(created_at) / {size}) AS SIGNED)",
    # (The format is a parameter: the driver layer reads % in SQL text as a placeholder.)
    "sqlite": "CAST(strftime(:epoch_format, created_at) AS INTEGER) / {size}",
}
_NOW = {
    "postgresql": "SELECT clock_timestamp()",
    "mysql": "SELECT NOW(6)",
    "sqlite": "SELECT strftime(:stamp_format, 'now')",
}


@dataclass(frozen=True, slots=True)
class Position:
    """A point in ``(created_at, id)`` order."""

    at: DbTime
    id: int


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    since: DbTime | None = None
    """Inclusive."""
    until: DbTime | None = None
    """Exclusive."""
    entities: tuple[str, ...] | None = None
    """None: every entity; empty: none."""
    event_types: tuple[str, ...] | None = None
    """None: every event type; empty: none."""
    text: str | None = None
    """Contained in the payload's JSON text (matched literally)."""


def like_pattern(text: str) -> str:
    """``%text%`` with the LIKE wildcards in ``text`` taken literally."""
    escaped = text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")
    return f"%{escaped}%"


def native_time(family: str, moment: datetime) -> DbTime:
    """``moment`` (aware) as the database compares it with ``created_at``.

    SQLite keeps milliseconds as text: the moment is rounded up to the next
    millisecond, which selects exactly the same events for ``>=`` and ``<``
    (a stamp is at or after a moment iff it is at or after its ceiling).
    """
    utc = moment.astimezone(UTC)
    if family == "postgresql":
        return utc
    if family == "mysql":
        return utc.replace(tzinfo=None)
    ceiling = utc + timedelta(microseconds=-utc.microsecond % 1000)
    # isoformat, not strftime: %Y drops the leading zeros of years before 1000 ("999-..."),
    # which would compare as text after "2026-...".
    return ceiling.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def aware_time(value: object) -> datetime:
    """A ``created_at`` or "now" value from any of the databases, as an aware UTC datetime."""
    if isinstance(value, datetime):
        return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).astimezone(UTC)
    text = value.decode() if isinstance(value, (bytes, bytearray)) else str(value)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def time_text(value: datetime) -> str:
    """An aware time as ISO 8601 UTC with microseconds (the resolved range in answers)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"  # years < 1000: 0999


class HistoryStore:
    def __init__(self, db: Database):
        self.db = db
        self.family = db.sql.family
        self._size = EVENT_SIZE[self.family]

    def _where(self, filters: HistoryFilter, position: Position | None, order: Order) -> tuple[str, dict[str, Any]]:
        conditions: list[str] = []
        values: dict[str, Any] = {}
        if filters.since is not None:
            conditions.append("created_at >= :since")
            values["since"] = filters.since
        if filters.until is not None:
            conditions.append("created_at < :until")
            values["until"] = filters.until
        if position is not None:
            if order == "desc":
                conditions.append("created_at <= :at AND (created_at < :at OR id < :at_id)")
            else:
                conditions.append("created_at >= :at AND (created_at > :at OR id > :at_id)")
            values["at"], values["at_id"] = position.at, position.id
        for column, wanted in (("entity", filters.entities), ("event_type", filters.event_types)):
            if wanted is None:
                continue
            if not wanted:  # an empty list asks for nothing, as an empty subscription does
                conditions.append("1 = 0")
                continue
            names = [f":{column}{index}" for index in range(len(wanted))]
            conditions.append(f"{column} IN ({', '.join(names)})")
            values.update({f"{column}{index}": value for index, value in enumerate(wanted)})
        if filters.text is not None:
            conditions.append(_TEXT_MATCH[self.family])
            text = filters.text.lower() if self.family == "mysql" else filters.text
            values["q"] = like_pattern(text)
        return (f"WHERE {' AND '.join(conditions)}" if conditions else ""), values

    def page_sql(self, filters: HistoryFilter, position: Position | None, order: Order) -> tuple[str, dict[str, Any]]:
        """The statement that reads one page's refs (exposed for the query-plan tests)."""
        where, values = self._where(filters, position, order)
        direction = "DESC" if order == "desc" else "ASC"
        sql = (
            f"SELECT id, created_at, {self._size} AS size FROM db_events {where} "
            f"ORDER BY created_at {direction}, id {direction} LIMIT :limit"
        )
        return sql, values

    async def page(self, filters: HistoryFilter, position: Position | None, order: Order, limit: int) -> list[EventRef]:
        """Up to ``limit`` events of the range beyond ``position`` in ``order`` (from the range's end without it)."""
        sql, values = self.page_sql(filters, position, order)
        rows = await self.db.fetch_all(sql, {**values, "limit": limit})
        return refs_with_time(rows)

    async def histogram(self, filters: HistoryFilter, bucket_seconds: int) -> list[Mapping[str, Any]]:
        """``(bucket, entity, count)`` rows, ``bucket`` counting ``bucket_seconds`` since the epoch."""
        where, values = self._where(filters, None, "asc")
        bucket = _BUCKET[self.family].format(size=int(bucket_seconds))
        if self.family == "sqlite":
            values["epoch_format"] = "%s"
        sql = (
            f"SELECT {bucket} AS bucket, entity, COUNT(*) AS events FROM db_events {where} GROUP BY 1, 2 ORDER BY 1, 2"
        )
        return await self.db.fetch_all(sql, values)

    async def now(self) -> datetime:
        """The database's clock (SQLite: this process's, the one its triggers stamp with)."""
        values = {"stamp_format": SQLITE_STAMP} if self.family == "sqlite" else {}
        return aware_time(await self.db.fetch_val(_NOW[self.family], values))

    async def bound(self, newest: bool) -> tuple[int, DbTime] | None:
        """The oldest (or newest) retained event in ``(created_at, id)`` order."""
        direction = "DESC" if newest else "ASC"
        rows = await self.db.fetch_all(
            f"SELECT id, created_at FROM db_events ORDER BY created_at {direction}, id {direction} LIMIT 1"
        )
        return (int(rows[0]["id"]), rows[0]["created_at"]) if rows else None
