"""Throw-away databases on the machine's real servers, and direct SQL access to them.

PostgreSQL (127.0.0.1:5432, trust auth) and MariaDB (127.0.0.1:3306, root with an
empty password) must be running; `.ci/run` starts them. The ``mysql`` dialect is
exercised on MariaDB, since no Oracle MySQL server can be installed here.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pymysql

PG_HOST = os.environ.get("TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("TEST_PG_USER", "postgres")
MARIADB_HOST = os.environ.get("TEST_MARIADB_HOST", "127.0.0.1")
MARIADB_PORT = int(os.environ.get("TEST_MARIADB_PORT", "3306"))
MARIADB_USER = os.environ.get("TEST_MARIADB_USER", "root")

DIALECTS = ("postgresql", "mysql", "mariadb", "sqlite")


@dataclass(frozen=True)
class TestDatabase:
    __test__ = False  # a helper, not a test class

    dialect: str
    url: str
    name: str
    sqlite_path: Path | None = None

    @contextmanager
    def connect(self) -> Iterator[Any]:
        """A DB-API connection in autocommit mode."""
        if self.dialect == "postgresql":
            with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=self.name, autocommit=True) as conn:
                yield conn
        elif self.dialect == "sqlite":
            assert self.sqlite_path is not None
            lite = sqlite3.connect(self.sqlite_path, isolation_level=None)
            try:
                yield lite
            finally:
                lite.close()
        else:
            maria = pymysql.connect(
                host=MARIADB_HOST,
                port=MARIADB_PORT,
                user=MARIADB_USER,
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
    """A new, empty database on the real server for ``dialect``; dropped afterwards."""
    name = f"dt_{uuid.uuid4().hex[:12]}"
    if dialect == "sqlite":
        path = directory / f"{name}.db"
        yield TestDatabase(dialect, f"sqlite:///{path}", name, path)
        return
    if dialect == "postgresql":
        with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
        try:
            yield TestDatabase(dialect, f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}", name)
        finally:
            with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return
    admin = pymysql.connect(host=MARIADB_HOST, port=MARIADB_PORT, user=MARIADB_USER, password="", autocommit=True)
    try:
        admin.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    finally:
        admin.close()
    try:
        yield TestDatabase(dialect, f"{dialect}://{MARIADB_USER}@{MARIADB_HOST}:{MARIADB_PORT}/{name}", name)
    finally:
        admin = pymysql.connect(host=MARIADB_HOST, port=MARIADB_PORT, user=MARIADB_USER, password="", autocommit=True)
        try:
            admin.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        finally:
            admin.close()
