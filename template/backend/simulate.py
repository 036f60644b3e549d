"""A data simulator: writes records the way nomnom's record_parser does, at a steady rate.

    DATABASE_URL=sqlite:///dashboard.db python -m backend.simulate --rate 50

Driven by the entity model alone. For every record: the reference entities it
points at are fetched or created (get-or-create on their unicity field, so both
"created" and "found" occur), then one root row and the rows derived from it
(1-7 per parent, e.g. an order and its line items, following ``parent``) are
inserted in one transaction. Entities with no such relation get rows of their
own. Some earlier records are updated or deleted. Keys the database does not
generate, and unicity fields, get values no earlier run used, so it can run
again and again against one database. Works on every dialect.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import sys
import time
from collections import Counter, deque
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .db.database import Database, DatabaseUnavailable, describe_error
from .db.url import DatabaseUrlError, parse_database_url
from .model import Column, Entity, Model, load_model
from .simulated_values import NUMBERABLE_TYPES, PlausibleValues, key_prefix, number_of, numbered_value

MAX_DERIVED_ROWS = 7
"""Rows derived from one parent row at most (line items of an order)."""
REFERENCE_POOL = 40
"""Reference rows a run starts drawing from; the pool grows slowly."""
KEY_ATTEMPTS = 1000
"""Taken keys skipped before a column counts as full."""

T = TypeVar("T")


class SimulationError(Exception):
    """Why the simulator stopped, on one line naming the entity, its table and the cause."""


@dataclass
class Written:
    """A row this run wrote (with the rows derived from it), so it can be updated or deleted."""

    entity: Entity
    key: Any
    derived: list[Written] = field(default_factory=list)


@dataclass(frozen=True)
class KeyPlan:
    """How an entity's rows get distinct keys."""

    fresh: frozenset[str] = frozenset()
    """Fields given a value no row of the table has yet (a non-generated primary key, a unicity field)."""
    per_row: str = ""
    """An integer unicity field numbered 1, 2, ... among the rows derived from one parent (line_number)."""
    max_rows: int = MAX_DERIVED_ROWS
    """Rows derived from one parent: 1 when nothing tells siblings apart."""


def _column(entity: Entity, name: str) -> Column:
    return next(column for column in entity.columns if column.name == name)


def _names(entity: Entity) -> set[str]:
    return {column.name for column in entity.columns}


def _numberable(column: Column) -> bool:
    return column.type in NUMBERABLE_TYPES


class Plan:
    """What the simulator writes, read from the model once: the roots of records, what derives from
    what and through which fields, the reference entities and how each entity's keys stay distinct."""

    def __init__(self, model: Model):
        self.references = _references(model)
        looked_up = {entity.name for entity in self.references.values()}
        writable = [entity for entity in model.entities if entity.name not in looked_up]
        self.roots, self.derived = _records(writable)
        self.links = {
            child.name: _link_fields(parent, child) for parent in writable for child in self.derived[parent.name]
        }
        entities = {entity.name: entity for entity in model.entities}
        self.keys = {
            entity.name: self._key_plan(entity, entities[entity.parent] if entity.name in self.links else None)
            for entity in model.entities
        }
        # A record fixes a reference field to a pooled key unless that field is an entity's fresh key.
        self.pooled = {
            entity.name: frozenset(self.references) - self.keys[entity.name].fresh for entity in model.entities
        }

    def subtree(self, entity: Entity) -> list[Entity]:
        return [entity, *(item for child in self.derived[entity.name] for item in self.subtree(child))]

    def _key_plan(self, entity: Entity, parent: Entity | None) -> KeyPlan:
        key = _column(entity, entity.id_column) if entity.id_column in _names(entity) else None
        fresh = {key.name} if key is not None and not key.autogenerate else set()
        unicity = [name for name in entity.unicity_fields if name in _names(entity)]
        if any(entity.name == reference.name for reference in self.references.values()):
            return KeyPlan(frozenset(fresh - set(unicity)))  # its unicity field takes the pooled key
        if not unicity or set(unicity) & fresh:
            return KeyPlan(frozenset(fresh))
        links = self.links.get(entity.name, ())
        identifying = _identifying(parent, links) if parent is not None else None
        if identifying is not None and identifying <= set(unicity):
            # Unique per parent already: siblings only need telling apart.
            rest = [_column(entity, name) for name in unicity if name not in links]
            numbered = next((c.name for c in rest if c.type == "integer"), "")
            if numbered:
                return KeyPlan(frozenset(fresh), per_row=numbered)
            other = next((c.name for c in rest if _numberable(c)), "")
            if other:
                return KeyPlan(frozenset(fresh | {other}))
            return KeyPlan(frozenset(fresh), max_rows=1)
        free = [_column(entity, name) for name in unicity if name not in links]
        choice = next((c for c in free if _numberable(c) and c.name not in self.references), None)
        choice = choice or next((c for c in free if _numberable(c)), None)
        if choice is None:
            types = ", ".join(f"{c.name} ({c.type})" for c in free) or "all copied from the parent"
            raise SimulationError(
                f"entity {entity.name} ({entity.qualified_table}): none of its unicity fields can take a new "
                f"value for every row: {types}"
            )
        return KeyPlan(frozenset(fresh | {choice.name}))


def _references(model: Model) -> dict[str, Entity]:
    """Reference entities by the single unicity field other entities carry (looked up, get-or-create)."""
    references: dict[str, Entity] = {}
    for entity in model.entities:
        if entity.kind != "reference" or len(entity.unicity_fields) != 1:
            continue
        key = entity.unicity_fields[0]
        carried = any(
            column.name == key and not column.primary_key
            for other in model.entities
            if other.name != entity.name
            for column in other.columns
        )
        if carried and key not in references:
            references[key] = entity
    return references


def _records(entities: list[Entity]) -> tuple[list[Entity], dict[str, list[Entity]]]:
    """The entities that start a record, and the entities derived from each (following ``parent``).

    Roots, entities without a parent in the model and reference data nothing points at start
    records of their own; a cycle of parents is broken above the first of its entities.
    """
    derived: dict[str, list[Entity]] = {entity.name: [] for entity in entities}
    for entity in entities:
        if entity.parent in derived and entity.parent != entity.name:
            derived[entity.parent].append(entity)

    def below(entity: Entity, seen: set[str]) -> None:
        seen.add(entity.name)
        for child in derived[entity.name]:
            if child.name not in seen:
                below(child, seen)

    roots = [entity for entity in entities if entity.parent not in derived or entity.parent == entity.name]
    reached: set[str] = set()
    for root in roots:
        below(root, reached)
    for entity in entities:
        if entity.name not in reached:
            roots.append(entity)
            derived[entity.parent] = [other for other in derived[entity.parent] if other.name != entity.name]
            below(entity, reached)
    return roots, derived


def _link_fields(parent: Entity, child: Entity) -> tuple[str, ...]:
    """Fields a derived row copies from its parent row: the parent's key or unicity fields it also has."""
    shared = {parent.id_column, *parent.unicity_fields}
    return tuple(c.name for c in child.columns if c.name in shared and not c.primary_key)


def _identifying(parent: Entity, links: Sequence[str]) -> set[str] | None:
    """The copied fields that single out one parent row; None when they do not."""
    if parent.unicity_fields and set(parent.unicity_fields) <= set(links):
        return set(parent.unicity_fields)
    if parent.id_column in links:
        return {parent.id_column}
    return None


class Simulator:
    def __init__(self, db: Database, model: Model, seed: int | None = None):
        self.db = db
        self.model = model
        self.plan = Plan(model)
        self.random = random.Random(seed)  # noqa: S311 - test data, not secrets
        self.values = PlausibleValues(self.random)
        self.counts: Counter[str] = Counter()
        self.sequence = 0
        self.recent: dict[str, deque[Written]] = {}
        self.pool_size = {entity.name: REFERENCE_POOL for entity in self.plan.references.values()}
        self.next_number: dict[tuple[str, str], int] = {}

    @property
    def roots(self) -> list[Entity]:
        return self.plan.roots

    # -- SQL ------------------------------------------------------------------

    def q(self, name: str) -> str:
        return self.db.quote(name)

    def table(self, entity: Entity) -> str:
        """Schema and table quoted separately: ``"staging"."orders"``."""
        return f"{self.q(entity.schema)}.{self.q(entity.table)}" if entity.schema else self.q(entity.table)

    def col(self, entity: Entity, name: str) -> str:
        return self.q(_column(entity, name).sql)

    async def _run(self, doing: str, entity: Entity, call: Awaitable[T]) -> T:
        """Await ``call``; a failure says what was being done to which table, and the database's reason."""
        try:
            return await call
        except Exception as error:  # noqa: BLE001 - every driver has its own error types
            raise SimulationError(
                f"{doing} {entity.name} (table {entity.qualified_table}) failed: {describe_error(error)}"
            ) from None

    async def check_tables(self) -> None:
        """Read every table the simulator writes, so a missing table or column is named before any write."""
        for entity in self.model.entities:
            columns = ", ".join(self.q(column.sql) for column in entity.columns)
            try:
                await self.db.fetch_all(f"SELECT {columns} FROM {self.table(entity)} WHERE 1 = 0")
            except Exception as error:  # noqa: BLE001
                raise SimulationError(
                    f"cannot read the table {entity.qualified_table} of entity {entity.name} with the model's "
                    f"columns: {describe_error(error)} (`python -m backend.migrate --create-entity-tables` "
                    f"creates missing entity tables)"
                ) from None

    # -- keys -----------------------------------------------------------------

    async def _fresh(self, entity: Entity, column: Column) -> Any:
        """A value of ``column`` that no row has: numbered after the largest one, skipping taken ones."""
        prefix = key_prefix(entity.name)
        slot = (entity.name, column.name)
        if slot not in self.next_number:
            where, values = "", {}
            if column.type == "string" and prefix:
                where, values = f" WHERE {self.q(column.sql)} LIKE :p0", {"p0": f"{prefix}%"}
            largest = await self._run(
                "reading the largest key of",
                entity,
                self.db.fetch_val(f"SELECT MAX({self.q(column.sql)}) FROM {self.table(entity)}{where}", values),
            )
            found = None if largest is None else number_of(column, prefix, largest)
            self.next_number[slot] = max(found or 0, 0) + 1
        for _ in range(KEY_ATTEMPTS):
            number = self.next_number[slot]
            self.next_number[slot] = number + 1
            value = numbered_value(column, prefix, number)
            if value is None:
                break
            taken = await self._run(
                "looking up a key of",
                entity,
                self.db.fetch_val(
                    f"SELECT 1 FROM {self.table(entity)} WHERE {self.q(column.sql)} = :p0", {"p0": value}
                ),
            )
            if taken is None:
                return value
        raise SimulationError(
            f"entity {entity.name} (table {entity.qualified_table}): no new value left for its key column "
            f"{column.name} ({column.type}{f', length {column.length}' if column.length else ''})"
        )

    # -- rows -----------------------------------------------------------------

    async def _row(self, entity: Entity, fixed: dict[str, Any], index: int, line: int) -> dict[str, Any]:
        keys = self.plan.keys[entity.name]
        row: dict[str, Any] = {}
        for column in entity.columns:
            if column.name in keys.fresh:
                row[column.name] = await self._fresh(entity, column)
            elif column.primary_key and column.autogenerate:
                continue  # generated by the database
            elif column.name in fixed:  # a reference keyed by its unicity field gets that key here
                row[column.name] = fixed[column.name]
            elif column.primary_key:
                continue  # neither fresh nor given: the database's default
            elif column.name == keys.per_row:
                row[column.name] = line
            elif column.nullable and self.random.random() < 0.2:
                row[column.name] = None
            else:
                row[column.name] = self.values.value(column, entity.name, index)
        return row

    async def _insert(self, entity: Entity, row: dict[str, Any]) -> Any:
        """Insert ``row``; return its primary-key value (generated by the database or given in ``row``)."""
        names = list(row)
        columns = ", ".join(self.col(entity, name) for name in names)
        params = ", ".join(f":p{index}" for index in range(len(names)))
        values = {f"p{index}": row[name] for index, name in enumerate(names)}
        query = f"INSERT INTO {self.table(entity)} ({columns}) VALUES ({params})"
        key = _column(entity, entity.id_column)
        if key.name in row:
            await self._run("inserting", entity, self.db.execute(query, values))
            return row[key.name]
        return await self._run("inserting", entity, self.db.insert_returning_id(query, values, key.sql))

    async def get_or_create(self, entity: Entity, key_field: str) -> Any:
        """Like record_parser: find the reference row by its unicity field, or create it."""
        size = self.pool_size[entity.name]
        number = self.random.randint(1, size)
        if self.random.random() < 0.05:
            self.pool_size[entity.name] = size + 1  # the reference data grows slowly
        column = _column(entity, key_field)
        key = numbered_value(column, key_prefix(entity.name), number, digits=6)
        if key is None:  # a boolean or too short a column: few distinct references
            key = numbered_value(column, "", number % 10, digits=1) if column.type == "string" else number % 2 == 0
        found = await self._run(
            "looking up",
            entity,
            self.db.fetch_val(
                f"SELECT {self.col(entity, entity.id_column)} FROM {self.table(entity)} "
                f"WHERE {self.col(entity, key_field)} = :p0",
                {"p0": key},
            ),
        )
        if found is not None:
            self.counts[f"{entity.name} found"] += 1
            if self.random.random() < 0.05:
                await self._update_one(entity, found)
            return key
        row = await self._row(entity, {key_field: key}, number, 1)
        try:
            await self._insert(entity, row)
            self.counts[f"{entity.name} created"] += 1
        except SimulationError:
            # A concurrent writer may have created it first: that is a find. Anything else is an error.
            again = await self.db.fetch_val(
                f"SELECT 1 FROM {self.table(entity)} WHERE {self.col(entity, key_field)} = :p0", {"p0": key}
            )
            if again is None:
                raise
            self.counts[f"{entity.name} found"] += 1
        return key

    async def _update_one(self, entity: Entity, key: Any) -> None:
        """Change one ordinary column of a row (never a key, a unicity field or a pooled reference)."""
        untouchable = {entity.id_column, *entity.unicity_fields, *self.plan.references}
        candidates = [c for c in entity.columns if not c.primary_key and c.name not in untouchable]
        if not candidates:
            return
        column = self.random.choice(candidates)
        await self._run(
            "updating",
            entity,
            self.db.execute(
                f"UPDATE {self.table(entity)} SET {self.q(column.sql)} = :p0 "
                f"WHERE {self.col(entity, entity.id_column)} = :p1",
                {"p0": self.values.value(column, entity.name, self.sequence), "p1": key},
            ),
        )
        self.counts[f"{entity.name} updated"] += 1

    async def _insert_tree(self, entity: Entity, fixed: dict[str, Any], line: int) -> Written:
        """One row of ``entity`` and, below it, the rows derived from it (recursively)."""
        row = await self._row(entity, fixed, self.sequence, line)
        key = await self._insert(entity, row)
        row[entity.id_column] = key
        self.counts[f"{entity.name} created"] += 1
        written = Written(entity, key)
        references = {name: value for name, value in fixed.items() if name in self.plan.references}
        for child in self.plan.derived[entity.name]:
            copied = {name: row[name] for name in self.plan.links[child.name]}
            for child_line in range(1, self.random.randint(1, self.plan.keys[child.name].max_rows) + 1):
                written.derived.append(await self._insert_tree(child, {**references, **copied}, child_line))
        return written

    async def _delete_tree(self, written: Written) -> None:
        for derived in written.derived:
            await self._delete_tree(derived)
        entity = written.entity
        await self._run(
            "deleting",
            entity,
            self.db.execute(
                f"DELETE FROM {self.table(entity)} WHERE {self.col(entity, entity.id_column)} = :p0",
                {"p0": written.key},
            ),
        )
        self.counts[f"{entity.name} deleted"] += 1

    async def record(self) -> None:
        """One incoming record: references, then the root row and what derives from it, in one transaction."""
        root = self.random.choice(self.plan.roots)
        references: dict[str, Any] = {}
        for entity in self.plan.subtree(root):
            for column in entity.columns:
                reference = self.plan.references.get(column.name)
                if (
                    reference is not None
                    and reference is not entity
                    and column.name in self.plan.pooled[entity.name]
                    and column.name not in references
                ):
                    references[column.name] = await self.get_or_create(reference, column.name)
        self.sequence += 1
        async with self.db.transaction():
            written = await self._insert_tree(root, references, 1)
        recent = self.recent.setdefault(root.name, deque(maxlen=200))
        recent.append(written)
        await self._maybe_change(root, recent)

    async def _maybe_change(self, root: Entity, recent: deque[Written]) -> None:
        if len(recent) < 5:
            return
        roll = self.random.random()
        if roll < 0.1:
            await self._update_one(root, self.random.choice(list(recent)[:-1]).key)
        elif roll < 0.13:
            victim = recent.popleft()
            async with self.db.transaction():
                await self._delete_tree(victim)


def _report(simulator: Simulator) -> None:
    print("simulate: " + ", ".join(f"{k} {v}" for k, v in sorted(simulator.counts.items())), flush=True)


async def run(url: str, rate: float, duration: float, seed: int | None, records: int = 0) -> None:
    db = Database(parse_database_url(url), pool_size=2)
    simulator = Simulator(db, load_model(), seed)  # a model it cannot simulate fails before connecting
    if not simulator.roots:
        raise SimulationError("the entity model has no entity to simulate")
    # Ctrl-C and `kill` let the record being written finish, then stop between records. Raising from a
    # signal handler instead could stop the loop between an SQLite query and its answer: the driver's
    # worker thread then found the loop closed (a traceback) or kept the process alive. A second one
    # cancels the write (a write waiting on a lock can wait for ever): its transaction is rolled back,
    # and the loop still runs while the connection closes.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    writing = asyncio.current_task()

    def on_signal() -> None:
        if stop.is_set() and writing is not None:
            writing.cancel()
        elif not stop.is_set():
            # Said at once: a write that waits on a lock would otherwise look like a frozen process.
            print("simulate: stopping after the record being written (again to cancel it)", file=sys.stderr, flush=True)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal)
    await db.connect()
    try:
        async with db.session():  # one connection for the whole run, not one per statement
            await _simulate(simulator, rate, duration, records, stop)
    finally:
        await db.disconnect()


async def _simulate(simulator: Simulator, rate: float, duration: float, records: int, stop: asyncio.Event) -> None:
    """Write records at ``rate`` until ``stop``, ``duration`` seconds or ``records`` root records (0: no limit)."""
    await simulator.check_tables()
    started = time.monotonic()
    next_report = started + 5
    interval = 1 / rate
    next_at = started
    written = 0
    try:
        while (
            not stop.is_set()
            and (duration <= 0 or time.monotonic() - started < duration)
            and (records <= 0 or written < records)
        ):
            await simulator.record()
            written += 1
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await stop.wait()
            elif delay < -1:
                next_at = time.monotonic()  # cannot keep up: do not try to catch up in a burst
            if time.monotonic() >= next_report:
                next_report += 5
                _report(simulator)
    finally:
        _report(simulator)


def main(argv: Sequence[str] | None = None) -> int:
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
    except (DatabaseUrlError, DatabaseUnavailable, SimulationError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # a Ctrl-C before the loop's handlers were in place
        return 0
    except asyncio.CancelledError:  # a second Ctrl-C or kill, during a write
        print("simulate: stopped during a write; its transaction was rolled back", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - one line, not a traceback
        print(f"error: {describe_error(error)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
