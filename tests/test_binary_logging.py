"""MySQL / MariaDB with binary logging on, as `mysql:8.4` runs by default (issue 12, point 13).

There the dashboard's own account (what the images make of MYSQL_USER: every privilege on
its database, no SUPER) may not create triggers: ERROR 1419. The compose file therefore
migrates as the admin; the runner names that way out when it meets the refusal, and the
triggers the admin installs capture the writes of the dashboard's account.

The shared test servers run without binary logging (tests/support/servers.py), so this
module starts its own MariaDB with ``--log-bin`` in a temporary folder.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymysql
import pytest

from tests.support.projects import run_in_project

APP_PASSWORD = "app0secret1"  # the throwaway server's
DATABASE = "dashboard"


def _fresh_database(port: int) -> None:
    admin = _connect(port)
    try:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        admin.cursor().execute(f"CREATE DATABASE {DATABASE}")
    finally:
        admin.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name) or next(
            (str(folder / name) for folder in (Path("/usr/sbin"), Path("/usr/bin")) if (folder / name).is_file()), None
        )
        if found:
            return found
    raise AssertionError(f"no {' or '.join(names)}: install mariadb-server (see .ci/run)")


def _connect(port: int, user: str = "root", password: str = "") -> Any:
    return pymysql.connect(host="127.0.0.1", port=port, user=user, password=password, autocommit=True,
                           connect_timeout=3)  # fmt: skip


@pytest.fixture(scope="module")
def binlog_port() -> Iterator[int]:
    """A MariaDB with binary logging on; the dashboard's account made as the images make it."""
    # Not under pytest's tmp_path: the server's account must reach it, and pytest's folders are root's alone.
    folder = Path(tempfile.mkdtemp(prefix="dashboard-test-binlog-"))
    server: subprocess.Popen[bytes] | None = None
    try:
        as_user: list[str] = []
        if os.geteuid() == 0:  # mariadbd refuses to run as root without --user
            account = pwd.getpwnam("mysql")
            os.chown(folder, account.pw_uid, account.pw_gid)
            as_user = ["--user=mysql"]
        data = folder / "data"
        installed = subprocess.run(
            [_binary("mariadb-install-db", "mysql_install_db"), "--no-defaults", f"--datadir={data}", *as_user,
             "--auth-root-authentication-method=normal", "--skip-test-db"],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert installed.returncode == 0, installed.stdout + installed.stderr
        port = _free_port()
        server = subprocess.Popen(
            [_binary("mariadbd", "mysqld"), "--no-defaults", f"--datadir={data}", *as_user, f"--port={port}",
             "--bind-address=127.0.0.1", "--skip-name-resolve", f"--socket={folder / 's.sock'}",
             f"--pid-file={folder / 'p.pid'}", f"--log-error={folder / 'error.log'}", f"--tmpdir={folder}",
             f"--log-bin={folder / 'binlog'}", "--server-id=1", "--character-set-server=utf8mb4"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = _connect(port)
                break
            except pymysql.err.OperationalError:
                assert server.poll() is None and time.monotonic() < deadline, (folder / "error.log").read_text()
                time.sleep(0.3)
        try:
            cursor = conn.cursor()
            cursor.execute("SELECT @@log_bin, @@log_bin_trust_function_creators")
            assert cursor.fetchone() == (1, 0)
            # What the mysql / mariadb images do with MYSQL_USER and MYSQL_PASSWORD (and MYSQL_DATABASE, below).
            cursor.execute(f"CREATE USER 'dashboard'@'%' IDENTIFIED BY '{APP_PASSWORD}'")
            cursor.execute(f"GRANT ALL ON {DATABASE}.* TO 'dashboard'@'%'")
        finally:
            conn.close()
        yield port
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("scheme", ["mysql", "mariadb"])
def test_migrating_as_the_app_account_names_the_way_out_and_the_admin_migrates(
    tpch_project: Path, binlog_port: int, scheme: str
) -> None:
    _fresh_database(binlog_port)
    app_url = f"{scheme}://dashboard:{APP_PASSWORD}@127.0.0.1:{binlog_port}/{DATABASE}"
    refused = run_in_project(tpch_project, "-m", "backend.migrate", "--create-entity-tables",
                             env={"DATABASE_URL": app_url})  # fmt: skip
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.endswith(
        "(MySQL error 1419); fix: migrate as an account with the SUPER privilege, such as the server's admin "
        "(docker compose: MIGRATE_DATABASE_URL), or set log_bin_trust_function_creators = 1 on the server\n"
    ), refused.stderr
    assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr

    # compose's `migrate` service: the admin account.
    admin_url = f"{scheme}://root@127.0.0.1:{binlog_port}/{DATABASE}"
    migrated = run_in_project(tpch_project, "-m", "backend.migrate", "--create-entity-tables",
                              env={"DATABASE_URL": admin_url})  # fmt: skip
    assert migrated.returncode == 0, migrated.stderr
    # The application writes as the dashboard's account; the admin's triggers capture it.
    app = _connect(binlog_port, "dashboard", APP_PASSWORD)
    try:
        cursor = app.cursor()
        cursor.execute(f"USE {DATABASE}")
        cursor.execute("DELETE FROM db_events")
        cursor.execute("INSERT INTO customers (customer_key, name, account_balance) VALUES ('C-BINLOG', 'logged', 1.5)")
        cursor.execute("SELECT entity, event_type, JSON_VALUE(payload, '$.customer_key') FROM db_events")
        assert cursor.fetchall() == (("Customer", "insert", "C-BINLOG"),)
        cursor.execute("DELETE FROM customers")
    finally:
        app.close()


def test_the_app_account_migrates_once_the_server_trusts_it(tpch_project: Path, binlog_port: int) -> None:
    """The other way out the message names (it loosens the server for every account)."""
    _fresh_database(binlog_port)
    admin = _connect(binlog_port)
    try:
        admin.cursor().execute("SET GLOBAL log_bin_trust_function_creators = 1")
        app_url = f"mariadb://dashboard:{APP_PASSWORD}@127.0.0.1:{binlog_port}/{DATABASE}"
        migrated = run_in_project(tpch_project, "-m", "backend.migrate", "--create-entity-tables",
                                  env={"DATABASE_URL": app_url})  # fmt: skip
        assert migrated.returncode == 0, migrated.stderr
    finally:
        admin.cursor().execute("SET GLOBAL log_bin_trust_function_creators = 0")
        admin.close()
