"""The database these tests use: always one they create and drop themselves.

``TEST_DATABASE_URL`` (else ``DATABASE_URL``) names only the *server*: the tests
create a new database with a unique name there, run everything in it and drop
it at the end, so the database the URL names (your tables, your data, your
change capture) is never read or written. SQLite, or no URL at all: a
temporary file. The server account needs the right to create databases
(PostgreSQL ``CREATEDB``, MySQL/MariaDB ``CREATE`` and ``DROP``).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import pytest

from backend.db.url import scheme_dialect


def _family(url: str) -> str | None:
    """``postgresql`` or ``mysql`` (MySQL and MariaDB) for a server URL, with or without a driver; else None."""
    dialect = scheme_dialect(urlsplit(url).scheme)
    if dialect is None or dialect == "sqlite":
        return None
    return "postgresql" if dialect == "postgresql" else "mysql"


@dataclass(frozen=True)
class ScratchDatabase:
    """A database the tests own on the server a URL names."""

    server_url: str
    name: str

    @property
    def family(self) -> str:
        family = _family(self.server_url)
        assert family is not None, "only server URLs make a ScratchDatabase"
        return family

    @property
    def url(self) -> str:
        return urlunsplit(urlsplit(self.server_url)._replace(path="/" + quote(self.name)))

    @property
    def display(self) -> str:
        parts = urlsplit(self.url)
        netloc = parts.netloc.rpartition("@")[2]
        user = f"{parts.username}@" if parts.username else ""
        return urlunsplit(parts._replace(netloc=user + netloc, query=""))

    def create(self) -> None:
        quoted = f'"{self.name}"' if self.family == "postgresql" else f"`{self.name}`"
        self._admin(f"CREATE DATABASE {quoted}")

    def drop(self) -> None:
        if self.family == "postgresql":
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        else:
            self._admin(f"DROP DATABASE IF EXISTS `{self.name}`")

    def _admin(self, statement: str) -> None:
        """Run one statement on the server, connected to the database the URL names (only to reach the server)."""
        parts = urlsplit(self.server_url)
        user = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else None
        database = unquote(parts.path.lstrip("/")) or None
        if self.family == "postgresql":
            import asyncpg

            async def run() -> None:
                connection = await asyncpg.connect(
                    host=parts.hostname, port=parts.port or 5432, user=user, password=password, database=database
                )
                try:
                    await connection.execute(statement)
                finally:
                    await connection.close()

        else:
            import aiomysql

            async def run() -> None:
                connection = await aiomysql.connect(
                    host=parts.hostname or "127.0.0.1",
                    port=parts.port or 3306,
                    user=user or "root",
                    password=password or "",
                    db=database,
                    autocommit=True,
                )
                try:
                    async with connection.cursor() as cursor:
                        await cursor.execute(statement)
                finally:
                    connection.close()

        asyncio.run(run())


def _server_url() -> str | None:
    url = (os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL") or "").strip()
    return url if _family(url) is not None else None


SCRATCH = pytest.StashKey[ScratchDatabase | None]()


def _scratch(config: pytest.Config) -> ScratchDatabase | None:
    return config.stash.get(SCRATCH, None)


def pytest_configure(config: pytest.Config) -> None:
    server = _server_url()
    config.stash[SCRATCH] = ScratchDatabase(server, f"dashboard_test_{uuid.uuid4().hex[:12]}") if server else None


def pytest_report_header(config: pytest.Config) -> str:
    scratch = _scratch(config)
    if scratch is None:
        return "test database: a temporary SQLite file"
    return f"test database: {scratch.display} (created for this run and dropped after; {scratch.family} server)"


@pytest.fixture(scope="session")
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a database that exists for this test run only."""
    scratch = _scratch(request.config)
    if scratch is None:
        path: Path = tmp_path_factory.mktemp("db") / "test.db"
        yield f"sqlite:///{path}"
        return
    try:
        scratch.create()
    except Exception as error:  # noqa: BLE001 - every driver has its own errors
        pytest.fail(
            f"cannot create the test database {scratch.name!r} on {scratch.display}: {error} "
            "(the tests need a server account allowed to create databases; set TEST_DATABASE_URL to one)",
            pytrace=False,
        )
    try:
        yield scratch.url
    finally:
        scratch.drop()
