"""A data simulator: writes records the way nomnom's record_parser does, at a steady rate.

    DATABASE_URL=sqlite:///dashboard.db python -m backend.simulate --rate 50

For every record: the reference entities it points at are fetched or created
(get-or-create on their unicity fields, so both "created" and "found" occur),
then one root row and its derived rows (1-7, e.g. an order and its line items)
are inserted in one transaction. Some earlier records are updated or deleted.
Values follow the column names and types of the entity model (dates, prices,
statuses, priorities, quantities...). Works on every dialect.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import string
import sys
import time
from collections import Counter, deque
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from .db.database import Database, DatabaseUnavailable, describe_error
from .db.url import DatabaseUrlError, parse_database_url
from .model import Column, Entity, Model, load_model

WORDS = (
    "quickly",
    "furiously",
    "carefully",
    "slyly",
    "blithely",
    "final",
    "regular",
    "pending",
    "express",
    "special",
    "ironic",
    "bold",
    "even",
    "deposits",
    "accounts",
    "packages",
    "requests",
    "instructions",
    "theodolites",
    "pinto",
    "beans",
    "foxes",
    "ideas",
    "platelets",
)
STATUSES = ("O", "F", "P")
PRIORITIES = ("1-URGENT", "2-HIGH", "3-MEDIUM", "4-NOT SPECIFIED", "5-LOW")
SEGMENTS = ("AUTOMOBILE", "BUILDING", "FURNITURE", "HOUSEHOLD", "MACHINERY")
CONTAINERS = ("SM CASE", "LG BOX", "MED BAG", "JUMBO PKG", "WRAP DRUM")
MONEY_WORDS = ("price", "amount", "balance", "total", "cost")


class Simulator:
    def __init__(self, db: Database, model: Model, seed: int | None = None):
        self.db = db
        self.model = model
        self.random = random.Random(seed)  # noqa: S311 - test data, not secrets
        self.counts: Counter[str] = Counter()
        self.sequence = int(time.time())
        self.recent: dict[str, deque[int]] = {}
        # A reference entity is looked up by a single unicity field that other entities carry.
        self.references = {
            entity.unicity_fields[0]: entity
            for entity in model.entities
            if entity.kind == "reference" and len(entity.unicity_fields) == 1
        }
        self.pool_size = {entity.name: 40 for entity in self.references.values()}
        self.roots = [entity for entity in model.entities if entity.kind == "root"] or [
            entity for entity in model.entities if entity.kind != "reference" and not entity.parent
        ]
        self.children = {
            root.name: [entity for entity in model.entities if entity.parent == root.name] for root in self.roots
        }

    def q(self, name: str) -> str:
        return self.db.quote(name)

    # -- values ---------------------------------------------------------------

    def value(self, column: Column, entity: Entity, index: int) -> Any:
        name = column.name.lower()
        rnd = self.random
        if column.type == "integer":
            if "quantity" in name or "size" in name:
                return rnd.randint(1, 50)
            if "number" in name or name.endswith("_no"):
                return index
            return rnd.randint(0, 100)
        if column.type == "float":
            if "discount" in name:
                return round(rnd.uniform(0, 0.1), 2)
            if "tax" in name:
                return round(rnd.uniform(0, 0.08), 2)
            if any(word in name for word in MONEY_WORDS):
                return round(rnd.uniform(1, 50_000), 2)
            return round(rnd.uniform(0, 1000), 3)
        if column.type == "boolean":
            return rnd.random() < 0.5
        if column.type == "date":
            return date(2024, 1, 1) + timedelta(days=rnd.randint(0, 365))
        if column.type == "datetime":
            return datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(seconds=rnd.randint(0, 86400))
        if column.type == "json":
            return json.dumps({"source": "simulator", "tags": rnd.sample(WORDS, 2)})
        return self._text(name, column, entity)

    def _text(self, name: str, column: Column, entity: Entity) -> str:
        rnd = self.random
        if "date" in name:
            text = (date(2024, 1, 1) + timedelta(days=rnd.randint(0, 365))).isoformat()
        elif "status" in name:
            text = rnd.choice(STATUSES)
        elif "flag" in name:
            text = rnd.choice("RAN")
        elif "priority" in name:
            text = rnd.choice(PRIORITIES)
        elif "segment" in name:
            text = rnd.choice(SEGMENTS)
        elif "container" in name:
            text = rnd.choice(CONTAINERS)
        elif "phone" in name:
            text = f"{rnd.randint(10, 34)}-{rnd.randint(100, 999)}-{rnd.randint(100, 999)}-{rnd.randint(1000, 9999)}"
        elif "brand" in name:
            text = f"Brand#{rnd.randint(1, 5)}{rnd.randint(1, 5)}"
        elif "clerk" in name:
            text = f"Clerk#{rnd.randint(1, 1000):09d}"
        elif name == "name":
            text = f"{entity.name}#{rnd.randint(1, 99999):09d}"
        elif "comment" in name or "note" in name or "address" in name:
            text = " ".join(rnd.choices(WORDS, k=rnd.randint(3, 8)))
        elif name.endswith("_key") or name.endswith("key"):
            text = f"{name[:3].upper()}-{rnd.randint(1, 10**6)}"
        else:
            text = "".join(rnd.choices(string.ascii_uppercase, k=8))
        return text[: column.length] if column.length else text

    def _row(self, entity: Entity, fixed: dict[str, Any], index: int) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for column in entity.columns:
            if column.primary_key:
                continue
            if column.name in fixed:
                row[column.name] = fixed[column.name]
            elif column.nullable and self.random.random() < 0.2:
                row[column.name] = None
            else:
                row[column.name] = self.value(column, entity, index)
        return row

    # -- writes ---------------------------------------------------------------

    async def _insert(self, entity: Entity, row: dict[str, Any]) -> int:
        names = list(row)
        columns = ", ".join(self.q(name) for name in names)
        params = ", ".join(f":{name}" for name in names)
        query = f"INSERT INTO {self.q(entity.table)} ({columns}) VALUES ({params})"
        return await self.db.insert_returning_id(query, row, entity.id_column)

    async def get_or_create(self, entity: Entity, key_field: str) -> str:
        """Like record_parser: find the reference row by its unicity field, or create it."""
        size = self.pool_size[entity.name]
        number = self.random.randint(1, size)
        if self.random.random() < 0.05:
            self.pool_size[entity.name] = size + 1  # the reference data grows slowly
        column = next(c for c in entity.columns if c.name == key_field)
        key = f"{entity.name[:4].upper()}-{number:06d}"[: column.length or None]
        found = await self.db.fetch_val(
            f"SELECT {self.q(entity.id_column)} FROM {self.q(entity.table)} WHERE {self.q(key_field)} = :key",
            {"key": key},
        )
        if found is not None:
            self.counts[f"{entity.name} found"] += 1
            if self.random.random() < 0.05:
                await self._update_one(entity, int(found))
            return key
        try:
            await self._insert(entity, self._row(entity, {key_field: key}, number))
            self.counts[f"{entity.name} created"] += 1
        except Exception:  # noqa: BLE001 - a concurrent writer created it first: that is a find
            self.counts[f"{entity.name} found"] += 1
        return key

    async def _update_one(self, entity: Entity, row_id: int) -> None:
        candidates = [
            c for c in entity.columns if not c.primary_key and c.name not in entity.unicity_fields and not c.nullable
        ]
        if not candidates:
            return
        column = self.random.choice(candidates)
        await self.db.execute(
            f"UPDATE {self.q(entity.table)} SET {self.q(column.name)} = :value WHERE {self.q(entity.id_column)} = :id",
            {"value": self.value(column, entity, 1), "id": row_id},
        )
        self.counts[f"{entity.name} updated"] += 1

    async def record(self) -> None:
        """One incoming record: references, then the root row and its children in one transaction."""
        root = self.random.choice(self.roots)
        children = self.children.get(root.name, [])
        involved = [root, *children]
        references: dict[str, str] = {}
        for entity in involved:
            for column in entity.columns:
                reference = self.references.get(column.name)
                if reference is not None and reference is not entity and column.name not in references:
                    references[column.name] = await self.get_or_create(reference, column.name)
        self.sequence += 1
        fixed: dict[str, Any] = dict(references)
        for field in root.unicity_fields:
            column = next(c for c in root.columns if c.name == field)
            if column.type == "string":
                fixed[field] = f"{root.name[:3].upper()}-{self.sequence}"[: column.length or None]
            elif column.type == "integer":
                fixed[field] = self.sequence
        async with self.db.transaction():
            root_row = self._row(root, fixed, self.sequence)
            root_id = await self._insert(root, root_row)
            for child in children:
                shared = {c.name: root_row[c.name] for c in child.columns if c.name in root_row}
                for line in range(1, self.random.randint(1, 7) + 1):
                    row = self._row(child, {**references, **shared}, line)
                    for field in child.unicity_fields:
                        column = next(c for c in child.columns if c.name == field)
                        if field not in shared and column.type == "integer":
                            row[field] = line
                    await self._insert(child, row)
                    self.counts[f"{child.name} created"] += 1
        self.counts[f"{root.name} created"] += 1
        recent = self.recent.setdefault(root.name, deque(maxlen=200))
        recent.append(root_id)
        await self._maybe_change(root, children, recent)

    async def _maybe_change(self, root: Entity, children: list[Entity], recent: deque[int]) -> None:
        if len(recent) < 5:
            return
        roll = self.random.random()
        if roll < 0.1:
            await self._update_one(root, self.random.choice(list(recent)[:-1]))
        elif roll < 0.13:
            victim = recent.popleft()
            row = await self.db.fetch_all(
                f"SELECT * FROM {self.q(root.table)} WHERE {self.q(root.id_column)} = :id", {"id": victim}
            )
            if not row:
                return
            async with self.db.transaction():
                for child in children:
                    shared = [c.name for c in child.columns if c.name in root.unicity_fields]
                    if shared:
                        where = " AND ".join(f"{self.q(name)} = :{name}" for name in shared)
                        await self.db.execute(
                            f"DELETE FROM {self.q(child.table)} WHERE {where}", {name: row[0][name] for name in shared}
                        )
                await self.db.execute(
                    f"DELETE FROM {self.q(root.table)} WHERE {self.q(root.id_column)} = :id", {"id": victim}
                )
            self.counts[f"{root.name} deleted"] += 1


def _report(simulator: Simulator) -> None:
    print("simulate: " + ", ".join(f"{k} {v}" for k, v in sorted(simulator.counts.items())), flush=True)


async def run(url: str, rate: float, duration: float, seed: int | None, records: int = 0) -> None:
    model = load_model()
    db = Database(parse_database_url(url), pool_size=2)
    await db.connect()
    simulator = Simulator(db, model, seed)
    if not simulator.roots:
        raise SystemExit("error: the entity model has no root entity to simulate")
    started = time.monotonic()
    next_report = started + 5
    interval = 1 / rate
    next_at = started
    written = 0
    try:
        while (duration <= 0 or time.monotonic() - started < duration) and (records <= 0 or written < records):
            await simulator.record()
            written += 1
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -1:
                next_at = time.monotonic()  # cannot keep up: do not try to catch up in a burst
            if time.monotonic() >= next_report:
                next_report += 5
                _report(simulator)
        _report(simulator)
    finally:
        await db.disconnect()


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _stop)  # `kill` stops it like Ctrl-C: the current write finishes or rolls back
    parser = argparse.ArgumentParser(prog="python -m backend.simulate", description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=10.0, help="records per second (default 10)")
    parser.add_argument("--duration", type=float, default=0.0, help="seconds to run; 0 runs until Ctrl-C")
    parser.add_argument("--records", type=int, default=0, help="stop after this many root records; 0: no limit")
    parser.add_argument("--seed", type=int, default=None, help="for a reproducible stream of records")
    parser.add_argument("--database-url", help="overrides the DATABASE_URL environment variable")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if not 0 < args.rate <= 10_000:
        print("error: --rate must be between 0 and 10000 records per second", file=sys.stderr)
        return 2
    url = args.database_url or os.environ.get("DATABASE_URL") or load_model().defaults.default_database_url
    try:
        asyncio.run(run(url, args.rate, args.duration, args.seed, args.records))
    except (DatabaseUrlError, DatabaseUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    except Exception as error:  # noqa: BLE001 - e.g. missing tables: one line, not a traceback
        hint = "are the tables there? python -m backend.migrate --create-entity-tables creates them"
        print(f"error: {describe_error(error)} ({hint})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
