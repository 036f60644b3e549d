"""The one module that talks to the database driver layer (the `databases` package).

Everything else in the backend goes through :class:`Database`, so the driver
layer can be swapped by changing this file alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import warnings
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import databases

from .dialects import CONNECT_TIMEOUT_SECONDS, SqlDialect, sql_dialect
from .url import DatabaseTarget, Dialect


class DatabaseUnavailable(RuntimeError):
    """The server cannot be reached or refused us; the message is one line."""


class StatementFailed(RuntimeError):
    """A statement of a script failed; ``index`` says which one."""

    def __init__(self, index: int, message: str):
        super().__init__(message)
        self.index = index
        self.message = message


def describe_error(error: BaseException) -> str:
    """The driver's message on one line, without the driver's class names."""
    args: tuple[Any, ...] = getattr(error, "args", ())
    # PyMySQL errors carry (code, message).
    if len(args) == 2 and isinstance(args[0], int) and isinstance(args[1], str):
        text = f"{args[1]} (MySQL error {args[0]})"
    else:
        text = str(error) or type(error).__name__
    if isinstance(error, OSError) and error.strerror:
        text = error.strerror
    if isinstance(error, TimeoutError):
        text = f"timed out after {CONNECT_TIMEOUT_SECONDS:.0f} s"
    return " ".join(text.split())


async def _let_failed_sqlite_workers_finish(threads_before: set[threading.Thread]) -> None:
    """Wait for the aiosqlite worker threads started by a failed connection attempt to end.

    After a failed open, aiosqlite stops the connection's thread without waiting
    for it; the thread then reports to the event loop, and prints a traceback if
    that loop has closed meanwhile (a command that exits on the error).
    """
    for thread in set(threading.enumerate()) - threads_before:
        if thread.name.endswith("(_connection_worker_thread)"):
            await asyncio.to_thread(thread.join, 2.0)


class ConsistentRead:
    """The queries of one :meth:`Database.consistent_read` transaction."""

    def __init__(self, connection: Any):
        self._connection = connection

    async def fetch_all(self, query: str, values: Mapping[str, Any] | None = None) -> list[Mapping[str, Any]]:
        rows = await self._connection.fetch_all(query, dict(values or {}))
        return [row._mapping for row in rows]

    async def fetch_val(self, query: str, values: Mapping[str, Any] | None = None) -> Any:
        return await self._connection.fetch_val(query, dict(values or {}))


class Database:
    def __init__(self, target: DatabaseTarget, *, pool_size: int = 5):
        self.target = target
        self.sql: SqlDialect = sql_dialect(target.dialect)
        self._options = self.sql.driver_options(pool_size)
        self._db = databases.Database(target.driver_url, **self._options)

    @property
    def dialect(self) -> Dialect:
        return self.target.dialect

    def quote(self, name: str) -> str:
        return self.sql.quote(name)

    async def connect(self) -> None:
        threads_before = set(threading.enumerate())
        try:
            await self._db.connect()
            await self._db.fetch_val("SELECT 1")
        except Exception as error:  # noqa: BLE001 - every driver has its own error types
            if self._db.is_connected:
                await self._db.disconnect()
            await _let_failed_sqlite_workers_finish(threads_before)
            raise DatabaseUnavailable(f"cannot connect to {self.target.display}: {describe_error(error)}") from None

    async def disconnect(self) -> None:
        if self._db.is_connected:
            await self._db.disconnect()

    @property
    def connected(self) -> bool:
        return bool(self._db.is_connected)

    async def disconnect_quietly(self) -> None:
        """Drop the pool after a failure; a dead server must not make this raise."""
        try:
            await asyncio.wait_for(self.disconnect(), timeout=5)
        except Exception:  # noqa: BLE001 - the connections are broken anyway
            self._db = databases.Database(self.target.driver_url, **self._options)

    async def fetch_all(self, query: str, values: Mapping[str, Any] | None = None) -> list[Mapping[str, Any]]:
        rows = await self._db.fetch_all(query, dict(values or {}))
        return [row._mapping for row in rows]

    async def fetch_val(self, query: str, values: Mapping[str, Any] | None = None) -> Any:
        return await self._db.fetch_val(query, dict(values or {}))

    async def execute(self, query: str, values: Mapping[str, Any] | None = None) -> None:
        await self._db.execute(query, dict(values or {}))

    async def execute_count(self, query: str, values: Mapping[str, Any] | None = None) -> int:
        """Run a DELETE or UPDATE and return how many rows it touched."""
        if self.sql.returning:
            return len(await self._db.fetch_all(f"{query} RETURNING 1", dict(values or {})))
        async with self._db.connection() as connection:
            await connection.execute(query, dict(values or {}))
            return int(await connection.fetch_val("SELECT ROW_COUNT()"))

    def transaction(self) -> Any:
        """``async with db.transaction():`` — the statements of this task in one transaction."""
        return self._db.transaction()

    async def insert_returning_id(self, query: str, values: Mapping[str, Any], id_column: str) -> int:
        """Run an INSERT and return the id the database generated for it."""
        if self.sql.returning:
            return int(await self._db.fetch_val(f"{query} RETURNING {self.quote(id_column)}", dict(values)))
        return int(await self._db.execute(query, dict(values)))

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[None]:
        """Within the block, every statement of this task runs on one pooled connection.

        For session-level state that must outlive a statement, such as an
        advisory lock taken by one statement and released by a later one.
        """
        async with self._db.connection():
            yield

    async def fetch_all_read_uncommitted(self, query: str) -> list[Mapping[str, Any]]:
        """MySQL / MariaDB: ``query`` in a READ UNCOMMITTED transaction of its own (rows of
        running transactions included)."""
        async with self._db.connection() as connection:
            # Applies to the next transaction only: the SELECT below (autocommit).
            await connection.execute("SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED")
            rows = await connection.fetch_all(query)
        return [row._mapping for row in rows]

    @contextlib.asynccontextmanager
    async def consistent_read(self) -> AsyncIterator[ConsistentRead]:
        """``async with db.consistent_read() as read:`` — queries that all see one snapshot of the
        database (PostgreSQL REPEATABLE READ, MySQL / MariaDB a consistent snapshot, SQLite one
        read transaction), read-only, on a connection of their own."""
        async with self._db.connection() as connection:
            for statement in self.sql.consistent_read:
                await connection.execute(statement)
            try:
                yield ConsistentRead(connection)
            finally:
                await connection.execute("ROLLBACK")

    async def run_script(self, statements: Sequence[str], *, lock_name: str) -> None:
        """Run DDL statements as written, holding a named lock so two runs never interleave.

        PostgreSQL and SQLite run them in one transaction (all or nothing);
        MySQL and MariaDB commit each DDL statement implicitly.
        """
        async with self._db.connection() as connection:
            await _SCRIPT_RUNNERS[self.sql.family](connection.raw_connection, statements, lock_name)


async def _run_postgresql(raw: Any, statements: Sequence[str], lock_name: str) -> None:
    async with raw.transaction():
        await raw.execute("SELECT pg_advisory_xact_lock(hashtext($1))", lock_name)
        for index, statement in enumerate(statements):
            try:
                await raw.execute(statement)
            except Exception as error:  # noqa: BLE001
                raise StatementFailed(index, describe_error(error)) from None


async def _run_sqlite(raw: Any, statements: Sequence[str], lock_name: str) -> None:
    # BEGIN IMMEDIATE takes SQLite's one write lock: no named lock needed.
    # Write-ahead logging lets the dashboard read while the loaders write
    # (it persists in the file; it cannot be switched inside a transaction).
    await raw.execute("PRAGMA journal_mode = WAL")
    await raw.execute("BEGIN IMMEDIATE")
    try:
        for index, statement in enumerate(statements):
            try:
                await raw.execute(statement)
            except Exception as error:  # noqa: BLE001
                raise StatementFailed(index, describe_error(error)) from None
    except BaseException:
        await raw.execute("ROLLBACK")
        raise
    await raw.execute("COMMIT")


async def _run_mysql(raw: Any, statements: Sequence[str], lock_name: str) -> None:
    # "IF NOT EXISTS" on an existing table is a server warning, which the driver
    # would print through the warnings module: expected here, so silenced.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        await _run_mysql_statements(raw, statements, lock_name)


async def _run_mysql_statements(raw: Any, statements: Sequence[str], lock_name: str) -> None:
    async with raw.cursor() as cursor:
        await cursor.execute("SELECT GET_LOCK(%s, 60)", (lock_name,))
        (locked,) = await cursor.fetchone()
        if locked != 1:
            raise StatementFailed(-1, f"another migration holds the lock {lock_name!r}")
        try:
            for index, statement in enumerate(statements):
                try:
                    # No parameters: the driver then sends the text as is ('%' stays '%').
                    await cursor.execute(statement)
                except Exception as error:  # noqa: BLE001
                    raise StatementFailed(index, describe_error(error)) from None
        finally:
            await cursor.execute("SELECT RELEASE_LOCK(%s)", (lock_name,))


_SCRIPT_RUNNERS = {"postgresql": _run_postgresql, "mysql": _run_mysql, "sqlite": _run_sqlite}
