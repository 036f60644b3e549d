"""Throw-away databases on real servers, and direct SQL access to them.

The servers are PostgreSQL (trust auth, user ``postgres``) and MariaDB (``root`` with an
empty password): the ones named by ``TEST_PG_*`` / ``TEST_MARIADB_*``, else the ones on
127.0.0.1:5432 / 127.0.0.1:3306, else throwaway servers this process starts (see
``servers.py``). Each kind is resolved on first use, once per process, and the result is
exported as ``TEST_PG_*`` / ``TEST_MARIADB_*`` so subprocesses use the same server. The
``mysql`` dialect is exercised on MariaDB, since no Oracle MySQL server can be installed here.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pymysql

from . import servers

DIALECTS = ("postgresql", "mysql", "mariadb", "sqlite")

_resolved: dict[str, servers.Server] = {}
_resolving = threading.Lock()


def server(kind: str) -> servers.Server:
    """The PostgreSQL (``postgresql``) or MariaDB (``mariadb``) server of this test run."""
    with _resolving:
        if kind not in _resolved:
            found = servers.choose(kind, os.environ)
            prefix = servers.ENV_PREFIX[kind]
            os.environ.update(
                {prefix + "HOST": found.host, prefix + "PORT": str(found.port), prefix + "USER": found.user}
            )
            _resolved[kind] = found
        return _resolved[kind]


# The old constant names, resolved on first use (so importing this module starts nothing).
_NAMES = {
    "PG_HOST": ("postgresql", "host"),
    "PG_PORT": ("postgresql", "port"),
    "PG_USER": ("postgresql", "user"),
    "MARIADB_HOST": ("mariadb", "host"),
    "MARIADB_PORT": ("mariadb", "port"),
    "MARIADB_USER": ("mariadb", "user"),
}


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        kind, attribute = _NAMES[name]
        return getattr(server(kind), attribute)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class TestDatabase:
    __test__ = False  # a helper, not a test class

    dialect: str
    url: str
    name: str
    sqlite_path: Path | None = None

    @property
    def server(self) -> servers.Server:
        """The server holding this database (not for SQLite)."""
        assert self.dialect != "sqlite", "a SQLite database has no server"
        return server("postgresql" if self.dialect == "postgresql" else "mariadb")

    def url_through(self, port: int) -> str:
        """This database's URL with the server reached on another loopback port (a proxy in front of it)."""
        address = f"{self.server.host}:{self.server.port}"
        assert address in self.url, (address, self.url)
        return self.url.replace(address, f"127.0.0.1:{port}")

    @contextmanager
    def connect(self) -> Iterator[Any]:
        """A DB-API connection in autocommit mode."""
        if self.dialect == "postgresql":
            pg = self.server
            with psycopg.connect(host=pg.host, port=pg.port, user=pg.user, dbname=self.name, autocommit=True) as conn:
                yield conn
        elif self.dialect == "sqlite":
            assert self.sqlite_path is not None
            lite = sqlite3.connect(self.sqlite_path, isolation_level=None)
            try:
                yield lite
            finally:
                lite.close()
        else:
            maria_server = self.server
            maria = pymysql.connect(
                host=maria_server.host,
                port=maria_server.port,
                user=maria_server.user,
                password="",
                database=self.name,
                autocommit=True,
                charset="utf8mb4",
            )
            try:
                yield maria
            finally:
                maria.close()

    @property
    def placeholder(self) -> str:
        return "?" if self.dialect == "sqlite" else "%s"

    def quote(self, name: str) -> str:
        return f"`{name}`" if self.dialect in ("mysql", "mariadb") else f'"{name}"'

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        with self.connect() as conn:
            cursor = conn.cursor()
            cursor.execute(sql, params)

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.connect() as conn:
            cursor = conn.cursor()
            cursor.execute(sql, params)
            return [tuple(row) for row in cursor.fetchall()]

    def insert(self, table: str, row: dict[str, Any]) -> int:
        """Insert ``row`` and return the generated id."""
        columns = ", ".join(self.quote(name) for name in row)
        marks = ", ".join(self.placeholder for _ in row)
        sql = f"INSERT INTO {self.quote(table)} ({columns}) VALUES ({marks})"
        with self.connect() as conn:
            cursor = conn.cursor()
            if self.dialect == "postgresql":
                cursor.execute(sql + " RETURNING *", tuple(row.values()))
                return int(cursor.fetchone()[0])
            cursor.execute(sql, tuple(row.values()))
            return int(cursor.lastrowid)

    def events(self) -> list[dict[str, Any]]:
        """Every row of db_events, JSON columns parsed, in id order."""
        rows = self.query("SELECT id, entity, event_type, payload, changed_columns FROM db_events ORDER BY id")
        return [
            {
                "id": row[0],
                "entity": row[1],
                "event_type": row[2],
                "payload": _json(row[3]),
                "changed_columns": _json(row[4]),
            }
            for row in rows
        ]

    def trigger_names(self) -> set[str]:
        if self.dialect == "postgresql":
            sql = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        elif self.dialect == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        else:
            sql = "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()"
        return {str(row[0]) for row in self.query(sql)}

    def table_names(self) -> set[str]:
        if self.dialect == "postgresql":
            sql = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        elif self.dialect == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        else:
            sql = "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
        return {str(row[0]) for row in self.query(sql)}

    def function_names(self) -> set[str]:
        if self.dialect != "postgresql":
            return set()
        rows = self.query(
            "SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE nspname = 'public'"
        )
        return {str(row[0]) for row in rows}


def _json(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        value = value.decode()
    return json.loads(value) if isinstance(value, str) else value


@contextmanager
def temporary_database(dialect: str, directory: Path) -> Iterator[TestDatabase]:
    """A new, empty database on the test server for ``dialect``; dropped afterwards."""
    name = f"dt_{uuid.uuid4().hex[:12]}"
    if dialect == "sqlite":
        path = directory / f"{name}.db"
        yield TestDatabase(dialect, f"sqlite:///{path}", name, path)
        return
    if dialect == "postgresql":
        pg = server("postgresql")
        with _admin_pg(pg) as admin:
            admin.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
        try:
            yield TestDatabase(dialect, f"postgresql://{pg.user}@{pg.host}:{pg.port}/{name}", name)
        finally:
            with _admin_pg(pg) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return
    maria = server("mariadb")
    _admin_maria(maria, f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield TestDatabase(dialect, f"{dialect}://{maria.user}@{maria.host}:{maria.port}/{name}", name)
    finally:
        _admin_maria(maria, f"DROP DATABASE IF EXISTS `{name}`")


def _admin_pg(pg: servers.Server) -> psycopg.Connection[tuple[Any, ...]]:
    return psycopg.connect(host=pg.host, port=pg.port, user=pg.user, dbname="postgres", autocommit=True)


def _admin_maria(maria: servers.Server, sql: str) -> None:
    admin = pymysql.connect(host=maria.host, port=maria.port, user=maria.user, password="", autocommit=True)
    try:
        admin.cursor().execute(sql)
    finally:
        admin.close()
