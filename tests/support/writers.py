"""Concurrent writers: transactions of random length, some rolled back, on the real servers."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .databases import TestDatabase


@dataclass
class WriterLog:
    committed: list[str] = field(default_factory=list)  # order_key values, in commit order
    rolled_back: int = 0


@dataclass
class WriterPool:
    """``count`` threads inserting orders until stopped; each key says which writer and sequence."""

    database: TestDatabase
    count: int = 8
    rollback_ratio: float = 0.1
    max_transaction_s: float = 0.03
    long_transaction_ratio: float = 0.02
    long_transaction_s: float = 0.6
    rows_per_transaction: tuple[int, int] = (1, 3)
    seed: int = 7
    logs: list[WriterLog] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    def start(self) -> WriterPool:
        self.logs = [WriterLog() for _ in range(self.count)]
        for number in range(self.count):
            thread = threading.Thread(target=self._run, args=(number,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        if self.errors:
            raise self.errors[0]

    @property
    def committed(self) -> list[str]:
        return [key for log in self.logs for key in log.committed]

    def _run(self, number: int) -> None:
        rng = random.Random(self.seed * 100 + number)
        log = self.logs[number]
        sequence = 0
        try:
            with self.database.connect() as conn:
                if self.database.dialect == "sqlite":
                    conn.execute("PRAGMA busy_timeout = 30000")
                cursor = conn.cursor()
                while not self._stop.is_set():
                    rows = rng.randint(*self.rows_per_transaction)
                    keys = [f"w{number}-{sequence + i:06d}" for i in range(rows)]
                    sequence += rows
                    rollback = rng.random() < self.rollback_ratio
                    hold = (
                        self.long_transaction_s
                        if rng.random() < self.long_transaction_ratio
                        else rng.random() * self.max_transaction_s
                    )
                    self._transaction(conn, cursor, keys, hold, rollback)
                    if rollback:
                        log.rolled_back += len(keys)
                    else:
                        log.committed.extend(keys)
        except BaseException as error:  # noqa: BLE001 - reported by stop()
            self.errors.append(error)

    def _transaction(self, conn: Any, cursor: Any, keys: list[str], hold: float, rollback: bool) -> None:
        db = self.database
        begin = "BEGIN IMMEDIATE" if db.dialect == "sqlite" else "BEGIN"
        cursor.execute(begin)
        sql = (
            f"INSERT INTO orders (order_key, customer_key, order_status, total_price, order_date) "
            f"VALUES ({db.placeholder}, 'C-1', 'O', 10.5, '2024-01-01')"
        )
        for key in keys:
            cursor.execute(sql, (key,))
            if hold:
                time.sleep(hold / len(keys))
        cursor.execute("ROLLBACK" if rollback else "COMMIT")
