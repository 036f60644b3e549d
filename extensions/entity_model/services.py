"""The database server next to a generated project, per dialect: one table for compose, CI and URLs.

The compose file's `db` service, the CI workflow's service container and the
default DATABASE_URLs all read these facts, so an image tag or a health check
changes in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Dialect

USER = "dashboard"
PASSWORD = "dashboard"  # noqa: S105 - the throw-away password of CI's service container
DATABASE = "dashboard"
ROOT_PASSWORD = "root"  # noqa: S105 - likewise

PASSWORD_VARIABLE = "DB_PASSWORD"  # noqa: S105 - a variable's name, not a password
ROOT_PASSWORD_VARIABLE = "DB_ROOT_PASSWORD"  # noqa: S105 - likewise
"""The compose file reads the bundled database's passwords from these (the project's ``.env``)."""


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

    def compose_environment(self) -> dict[str, str]:
        """:meth:`environment` with the passwords read from ``.env``; compose refuses to start without them."""
        return {
            key: _required(ROOT_PASSWORD_VARIABLE if key.endswith("ROOT_PASSWORD") else PASSWORD_VARIABLE)
            if key.endswith("PASSWORD")
            else value
            for key, value in self.environment().items()
        }

    @property
    def compose_healthcheck(self) -> tuple[str, ...]:
        """The health check with the root password read inside the container, not written in the file."""
        secret = f"-p{ROOT_PASSWORD}"
        if secret not in self.healthcheck:
            return ("CMD", *self.healthcheck)
        command = " ".join(part for part in self.healthcheck if part != secret)
        # `$$` is compose's escape for `$`: the container's shell expands the variable.
        return ("CMD-SHELL", f'MYSQL_PWD="$${self.env_prefix}_ROOT_PASSWORD" {command}')

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


def database_url(
    dialect: Dialect, host: str, *, sqlite_path: str = "dashboard.db", as_root: bool = False, password: bool = True
) -> str:
    """The URL of the bundled database as seen from ``host`` (``localhost``, ``db``, ``127.0.0.1``).

    ``as_root``: MySQL's and MariaDB's root account, which may create databases (the
    project's tests create their own); PostgreSQL's image user already can.
    ``password``: False leaves it out (a URL outside CI, where the password comes from ``.env``).
    """
    if dialect == "sqlite":
        return f"sqlite:///{sqlite_path}"
    user, secret = ("root", ROOT_PASSWORD) if as_root and dialect != "postgresql" else (USER, PASSWORD)
    account = f"{user}:{secret}" if password else user
    return f"{dialect}://{account}@{host}:{SERVERS[dialect].port}/{DATABASE}"


def _required(variable: str) -> str:
    """A compose variable that stops ``docker compose`` with this message when unset or empty."""
    return f"${{{variable}:?{variable} is not set: copy .env.example to .env and set it (see README.md)}}"


def compose_database_url(dialect: Dialect, *, as_root: bool = False) -> str:
    """The bundled database's URL inside compose (host ``db``), its password from ``.env``."""
    if dialect == "sqlite":
        return "sqlite:////data/dashboard.db"
    user, variable = (
        ("root", ROOT_PASSWORD_VARIABLE) if as_root and dialect != "postgresql" else (USER, PASSWORD_VARIABLE)
    )
    return f"{dialect}://{user}:{_required(variable)}@db:{SERVERS[dialect].port}/{DATABASE}"
