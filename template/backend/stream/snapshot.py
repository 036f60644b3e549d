"""The current rows of an entity's table, and exactly which events they already reflect.

A page of rows is read in one consistent read (:meth:`Database.consistent_read`)
together with the state of ``db_events`` in that same snapshot, so the page can
say which events it reflects:

- every event with an id up to ``last_event_id`` (the highest visible id), except
- the ids in ``pending``: ids above the poller's watermark and at most
  ``last_event_id`` that were not visible (their transactions were still running,
  or rolled back). Ids only become visible when their transaction commits, so
  "up to id M" alone is not exact (docs/design.md, gap-aware polling).

A client applies a streamed event iff its id is above ``last_event_id`` or inside
a ``pending`` range: no change is missed or applied twice. The watermark is read
before the snapshot: every id at or below it was delivered (so committed before
the snapshot, and visible in it) or can never appear.

Rows are encoded by the SQL the triggers use for an insert payload
(``generated/row_payloads.json``, rendered from the same template filter), so a
row here equals the ``data`` of its latest event. Pages are bounded in rows and
in characters.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..db.database import ConsistentRead, Database
from ..model import Column, Entity

ROW_PAYLOADS_FILE = Path(__file__).resolve().parent.parent / "generated" / "row_payloads.json"

PAGE_CHARS = 4 << 20
"""A page holds at most about this many characters of rows (one larger row goes alone)."""

MAX_LIMIT = 100_000
"""The largest ``limit`` (an entity's max_records is at most this)."""

_CHUNK = 500
"""Rows read per query inside the transaction, so the character bound holds while reading."""

_ID_CHUNK = 10_000
"""Visible event ids read per query when looking for the ones that were not visible."""


@lru_cache(maxsize=4)
def row_payloads(dialect: str, path: Path = ROW_PAYLOADS_FILE) -> dict[str, str]:
    """Entity name -> the SQL expression of a row (alias ``t``) as its trigger encodes it."""
    data: dict[str, dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
    return data[dialect]


def key_column(entity: Entity) -> Column | None:
    """The primary key the rows are keyed and ordered by."""
    return next((c for c in entity.columns if c.primary_key), None) or next(
        (c for c in entity.columns if c.name == entity.id_column), None
    )


class BadKey(ValueError):
    """An ``after_key`` that is no value of the key column; the message says what is accepted."""


_INT64 = 2**63


def parse_key(column: Column, raw: str, family: str) -> Any:
    """``raw`` as a value of the key column (integers and floats by their type, the rest as text).

    ``family`` is the database's (``postgresql``, ``mysql``, ``sqlite``): PostgreSQL's text
    holds no NUL character, and refuses one in a parameter.
    """
    shown = raw if len(raw) <= 40 else raw[:40] + "…"
    if column.type == "integer":
        digits = raw[1:] if raw.startswith("-") else raw
        if not (digits.isascii() and digits.isdigit()) or len(digits) > 19 or not -_INT64 <= int(raw) < _INT64:
            raise BadKey(f"after_key={shown!r} is not a value of the integer key {column.name!r}")
        return int(raw)
    if column.type == "float":
        try:
            value = float(raw)
        except ValueError:
            raise BadKey(f"after_key={shown!r} is not a value of the numeric key {column.name!r}") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise BadKey(f"after_key={shown!r} is not a finite number")
        return value
    if len(raw) > 10_000:
        raise BadKey(f"after_key is {len(raw)} characters long (at most 10000)")
    if family == "postgresql" and "\x00" in raw:
        raise BadKey(f"after_key={shown!r} contains a NUL character, which no PostgreSQL text holds")
    return raw


def _as_live_time(raw: str, key: Column, live_type: str) -> Any:
    """``raw`` as a date or a date and time when the key column's live type is one (PostgreSQL).

    The driver encodes a parameter by the type of the column it is compared with, and wants a
    ``date`` or ``datetime`` there, not text; a Date field stored in a text column keeps the text.
    """
    shown = raw if len(raw) <= 40 else raw[:40] + "…"
    try:
        if live_type == "date":
            return date.fromisoformat(raw)
        if live_type.startswith("timestamp"):
            moment = datetime.fromisoformat(raw)
            if live_type.endswith("with time zone"):
                # A key without an offset is read as UTC, as the cursors this API gives carry one.
                return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
            if moment.tzinfo is not None:
                raise BadKey(f"after_key={shown!r} has a UTC offset, but the key {key.name!r} has no time zone")
            return moment
    except BadKey:
        raise
    except ValueError:
        what = "date (YYYY-MM-DD)" if live_type == "date" else "date and time (ISO 8601)"
        raise BadKey(f"after_key={shown!r} is not a {what} of the key {key.name!r}") from None
    return raw


def _key_text(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return value.decode()
    return str(value)


def _text(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return value.decode()
    return "null" if value is None else str(value)


@dataclass(frozen=True, slots=True)
class Position:
    """Which events a page reflects: ids up to ``last_event_id`` but those in ``pending``."""

    last_event_id: int
    pending: tuple[tuple[int, int], ...]
    """Inclusive ranges of ids that were not visible to the read."""

    def reflects(self, event_id: int) -> bool:
        return event_id <= self.last_event_id and not any(low <= event_id <= high for low, high in self.pending)


@dataclass(frozen=True, slots=True)
class RowsPage:
    rows: tuple[str, ...]
    """Each row as JSON text, the key descending (newest first)."""
    next_after_key: str | None
    """``after_key`` of the next page; None after the last row."""
    position: Position


class RowReader:
    def __init__(self, db: Database, payloads: Mapping[str, str], *, page_chars: int = PAGE_CHARS):
        self.db = db
        self.payloads = payloads
        self.page_chars = page_chars

    async def page(self, entity: Entity, key: Column, limit: int, after_key: Any, watermark: int) -> RowsPage:
        """The first ``limit`` rows of ``entity`` below ``after_key`` (the newest without it), newest first.

        ``watermark``: the poller's, read before this call (see the module docstring). Raises
        :class:`BadKey` for an ``after_key`` that is no value of the key column's live type.
        """
        async with self.db.consistent_read() as read:
            if isinstance(after_key, str) and key.type in ("date", "datetime") and self.db.sql.family == "postgresql":
                after_key = _as_live_time(after_key, key, await self._live_type(read, entity, key))
            position = await self._position(read, watermark)
            rows, next_key = await self._rows(read, entity, key, limit, after_key)
        return RowsPage(tuple(rows), next_key, position)

    async def _live_type(self, read: ConsistentRead, entity: Entity, key: Column) -> str:
        """PostgreSQL's name of the key column's type (``date``, ``timestamp with time zone``, ``text``...)."""
        table = self.db.sql.table(entity.schema, entity.table)
        found = await read.fetch_val(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = CAST(:table AS regclass) AND attname = :column",
            {"table": table, "column": key.sql},
        )
        return str(found or "")

    async def _position(self, read: ConsistentRead, watermark: int) -> Position:
        last = int(await read.fetch_val("SELECT COALESCE(MAX(id), 0) FROM db_events"))
        pending: list[tuple[int, int]] = []
        expected = watermark + 1  # the next id that would be visible if nothing were in flight
        while expected <= last:
            rows = await read.fetch_all(
                "SELECT id FROM db_events WHERE id >= :low AND id <= :high ORDER BY id LIMIT :n",
                {"low": expected, "high": last, "n": _ID_CHUNK},
            )
            for row in rows:
                visible = int(row["id"])
                if visible > expected:
                    pending.append((expected, visible - 1))
                expected = visible + 1
            if len(rows) < _ID_CHUNK:
                break
        return Position(last, tuple(pending))

    async def _rows(
        self, read: ConsistentRead, entity: Entity, key: Column, limit: int, after_key: Any
    ) -> tuple[list[str], str | None]:
        sql = self.db.sql
        key_sql = f"t.{sql.quote(key.sql)}"
        payload = sql.as_text.format(self.payloads[entity.name])
        table = sql.table(entity.schema, entity.table)
        rows: list[str] = []
        size = 0
        cursor = after_key
        while True:
            where = "" if cursor is None else f"WHERE {key_sql} < :after"
            wanted = min(_CHUNK, limit - len(rows) + 1)  # one more than needed: is there a next page?
            chunk = await read.fetch_all(
                f"SELECT {key_sql} AS row_key, {payload} AS payload FROM {table} t {where} "
                f"ORDER BY {key_sql} DESC LIMIT :n",
                {"n": wanted} if cursor is None else {"n": wanted, "after": cursor},
            )
            for row in chunk:
                text = _text(row["payload"])
                if len(rows) >= limit or (rows and size + len(text) > self.page_chars):
                    return rows, _key_text(cursor)
                rows.append(text)
                size += len(text)
                cursor = row["row_key"]
            if len(chunk) < wanted:
                return rows, None
