"""The database server next to a generated project, per dialect: one table for compose, CI and URLs.

The compose file's `db` service, the CI workflow's service container and the
default DATABASE_URLs all read these facts, so an image tag or a health check
changes in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Dialect

USER = "dashboard"
PASSWORD = "dashboard"  # noqa: S105 - the throw-away password of the bundled development database
DATABASE = "dashboard"
ROOT_PASSWORD = "root"  # noqa: S105 - likewise


@dataclass(frozen=True)
class DatabaseServer:
    image: str
    env_prefix: str
    """Prefix of the image's settings: POSTGRES_USER, MARIADB_DATABASE, ..."""
    port: int
    data_dir: str
    healthcheck: tuple[str, ...]
    """A Docker health check command (exec form)."""
    health_retries: int

    def environment(self) -> dict[str, str]:
        """The image's settings: a user, its password and a database, all named dashboard."""
        names = {"USER": USER, "PASSWORD": PASSWORD, "DB" if self.env_prefix == "POSTGRES" else "DATABASE": DATABASE}
        if self.env_prefix != "POSTGRES":
            names = {"ROOT_PASSWORD": ROOT_PASSWORD, **names}
        return {f"{self.env_prefix}_{key}": value for key, value in names.items()}

    @property
    def health_command(self) -> str:
        """The health check as one shell line (GitHub's service `options`)."""
        return " ".join(self.healthcheck)


SERVERS: dict[Dialect, DatabaseServer] = {
    "postgresql": DatabaseServer(
        image="postgres:16-alpine",
        env_prefix="POSTGRES",
        port=5432,
        data_dir="/var/lib/postgresql/data",
        healthcheck=("pg_isready", "-U", USER, "-d", DATABASE),
        health_retries=20,
    ),
    "mysql": DatabaseServer(
        image="mysql:8.4",
        env_prefix="MYSQL",
        port=3306,
        data_dir="/var/lib/mysql",
        healthcheck=("mysqladmin", "ping", "-h", "127.0.0.1", "-uroot", f"-p{ROOT_PASSWORD}"),
        health_retries=30,
    ),
    "mariadb": DatabaseServer(
        image="mariadb:11.4",
        env_prefix="MARIADB",
        port=3306,
        data_dir="/var/lib/mysql",
        healthcheck=("healthcheck.sh", "--connect", "--innodb_initialized"),
        health_retries=30,
    ),
}


def database_url(dialect: Dialect, host: str, *, sqlite_path: str = "dashboard.db", as_root: bool = False) -> str:
    """The URL of the bundled database as seen from ``host`` (``localhost``, ``db``, ``127.0.0.1``).

    ``as_root``: MySQL's and MariaDB's root account, which may create databases (the
    project's tests create their own); PostgreSQL's image user already can.
    """
    if dialect == "sqlite":
        return f"sqlite:///{sqlite_path}"
    user, password = ("root", ROOT_PASSWORD) if as_root and dialect != "postgresql" else (USER, PASSWORD)
    return f"{dialect}://{user}:{password}@{host}:{SERVERS[dialect].port}/{DATABASE}"
