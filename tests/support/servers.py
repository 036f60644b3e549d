"""The PostgreSQL and MariaDB servers the tests use: one already running, or a throwaway one.

``make test`` needs nothing running beforehand. For each server kind, in order:

1. ``TEST_PG_*`` / ``TEST_MARIADB_*`` set: that server, which must answer (a typo must
   not silently fall back to something else).
2. Else, unless ``TEST_DATABASES=throwaway``, the default address (127.0.0.1:5432 trust
   auth as ``postgres``; 127.0.0.1:3306 as ``root`` without password) if it answers.
3. Else a throwaway server started from the installed binaries (``initdb`` + ``pg_ctl``;
   ``mariadb-install-db`` + ``mariadbd``) in a temporary folder on a free port, with the
   same authentication. It is stopped and its folder deleted by :func:`stop_all`, which the
   test session calls at its end (also after Ctrl-C), and at interpreter exit otherwise.

Each process resolves once (see ``databases.py``); under pytest-xdist every worker would
start its own pair, which stays correct since test databases have unique names.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pymysql

KINDS = ("postgresql", "mariadb")
DEFAULTS = {"postgresql": ("127.0.0.1", 5432, "postgres"), "mariadb": ("127.0.0.1", 3306, "root")}
ENV_PREFIX = {"postgresql": "TEST_PG_", "mariadb": "TEST_MARIADB_"}
MODES = ("auto", "throwaway")
START_TIMEOUT = 60.0


class ServerError(Exception):
    """A server that should answer does not, or a throwaway one cannot start."""


@dataclass(eq=False)  # compared by identity: one object per started server
class Server:
    """Where a server answers; ``folder`` is set for a throwaway server (None once deleted)."""

    kind: str
    host: str
    port: int
    user: str
    folder: Path | None = None
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def throwaway(self) -> bool:
        return self.folder is not None

    def describe(self) -> str:
        where = f"{self.host}:{self.port}"
        return f"{self.kind} {where} (throwaway in {self.folder})" if self.folder else f"{self.kind} {where}"


def answers(kind: str, host: str, port: int, user: str, timeout: int = 3) -> str | None:
    """None when a real login and query work, else why not (one line)."""
    try:
        if kind == "postgresql":
            with psycopg.connect(host=host, port=port, user=user, dbname="postgres", connect_timeout=timeout) as conn:
                conn.execute("SELECT 1")
        else:
            conn = pymysql.connect(host=host, port=port, user=user, password="", connect_timeout=timeout)
            try:
                conn.cursor().execute("SELECT 1")
            finally:
                conn.close()
    except (psycopg.Error, pymysql.Error, OSError) as error:
        return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return None


def choose(kind: str, env: Mapping[str, str]) -> Server:
    """The server of ``kind`` the tests should use, per the rules in the module docstring."""
    mode = env.get("TEST_DATABASES", "") or "auto"
    if mode not in MODES:
        raise ServerError(f"TEST_DATABASES={mode!r}: expected one of {', '.join(MODES)}")
    host, port, user = DEFAULTS[kind]
    prefix = ENV_PREFIX[kind]
    configured = sorted(name for name in env if name.startswith(prefix))
    if configured:
        host = env.get(prefix + "HOST", host)
        port = _port(env.get(prefix + "PORT", str(port)), prefix + "PORT")
        user = env.get(prefix + "USER", user)
        problem = answers(kind, host, port, user)
        if problem:
            raise ServerError(f"{', '.join(configured)} set, but {kind} at {host}:{port} does not answer: {problem}")
        return Server(kind, host, port, user)
    if mode == "auto" and answers(kind, host, port, user) is None:
        return Server(kind, host, port, user)
    return start_throwaway(kind)


def _port(text: str, name: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ServerError(f"{name}={text!r} is not a port number")
    return int(text)


# -- throwaway servers ---------------------------------------------------------------------------------------------

_running: list[Server] = []
_lock = threading.Lock()
_exit_hook = False


def start_throwaway(kind: str) -> Server:
    """A new server of ``kind`` in a temporary folder on a free port; registered for :func:`stop_all`."""
    global _exit_hook
    folder = Path(tempfile.mkdtemp(prefix=f"dashboard-test-{kind}-"))
    server = Server(kind, "127.0.0.1", _free_port(), DEFAULTS[kind][2], folder)
    with _lock:
        # Registered before anything runs, so a Ctrl-C during start-up still cleans up.
        _running.append(server)
        if not _exit_hook:
            atexit.register(stop_all)
            _exit_hook = True
    try:
        if kind == "postgresql":
            _start_postgres(server)
        else:
            _start_mariadb(server)
        _wait_until_ready(server)
    except BaseException:
        stop(server)
        raise
    return server


def stop(server: Server) -> None:
    """Stop a throwaway server and delete its folder (a no-op for other servers, or when done already)."""
    with _lock:
        if server not in _running:
            return
        _running.remove(server)
    folder = server.folder
    if folder is None:
        return
    try:
        if server.kind == "postgresql":
            _stop_postgres(server)
        else:
            _stop_mariadb(server)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        server.folder = None


def stop_all() -> None:
    """Stop every throwaway server this process started, newest first."""
    while _running:
        stop(_running[-1])


def running() -> list[Server]:
    return list(_running)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _service_user(name: str, folder: Path) -> str | None:
    """As root, the system user the server runs as (PostgreSQL refuses root), owning ``folder``; else None."""
    if os.geteuid() != 0:
        return None
    try:
        account = pwd.getpwnam(name)
    except KeyError:
        raise ServerError(f"running as root, but there is no `{name}` user to run a throwaway server as") from None
    os.chown(folder, account.pw_uid, account.pw_gid)
    return name


def _run(command: list[str], server: Server, what: str) -> None:
    assert server.folder is not None
    log = server.folder / f"{what}.log"
    with log.open("wb") as output:
        # A session of its own, also for what it starts: a Ctrl-C at the terminal reaches pytest only,
        # which then stops the server in order.
        result = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT, timeout=START_TIMEOUT,
                                start_new_session=True, check=False)  # fmt: skip
    if result.returncode != 0:
        raise ServerError(f"{what} for a throwaway {server.kind} failed ({result.returncode}):\n{_tail(log)}")


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _find(names: tuple[str, ...], folders: list[Path], what: str) -> str:
    for name in names:
        found = shutil.which(name) or next((str(f / name) for f in folders if (f / name).is_file()), None)
        if found:
            return found
    raise ServerError(f"no {what} found ({' or '.join(names)}): install the server package (see .ci/run)")


def _postgres_bin() -> Path:
    """The newest installed PostgreSQL's binaries (Debian keeps them off PATH, by version)."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]), reverse=True)
    return Path(_find(("initdb",), [p.parent for p in versions], "PostgreSQL initdb")).parent


def _start_postgres(server: Server) -> None:
    assert server.folder is not None
    bin_dir = _postgres_bin()
    user = _service_user("postgres", server.folder)
    as_user = ["runuser", "-u", user, "--"] if user else []
    data = server.folder / "data"
    _run([*as_user, str(bin_dir / "initdb"), "-D", str(data), "-U", server.user, "--auth=trust",
          "--encoding=UTF8", "--no-locale", "--no-sync"], server, "initdb")  # fmt: skip
    # Like the system cluster (UTC, trust auth); durability is not needed for data deleted at the end.
    options = [
        f"-p {server.port}", "-c listen_addresses=127.0.0.1",
        f"-c unix_socket_directories={shlex.quote(str(server.folder))}",
        "-c timezone=UTC", "-c fsync=off", "-c full_page_writes=off", "-c synchronous_commit=off",
    ]  # fmt: skip
    _run([*as_user, str(bin_dir / "pg_ctl"), "start", "-w", "-t", str(int(START_TIMEOUT)), "-D", str(data),
          "-l", str(server.folder / "postgres.log"), "-o", " ".join(options)], server, "pg_ctl-start")  # fmt: skip


def _stop_postgres(server: Server) -> None:
    assert server.folder is not None
    data = server.folder / "data"
    if not (data / "postmaster.pid").exists():
        return
    user = "postgres" if os.geteuid() == 0 else None
    as_user = ["runuser", "-u", user, "--"] if user else []
    # Immediate: the data is deleted next, so no checkpoint is worth waiting for.
    subprocess.run([*as_user, str(_postgres_bin() / "pg_ctl"), "stop", "-w", "-m", "immediate", "-D", str(data)],
                   capture_output=True, timeout=START_TIMEOUT, check=False)  # fmt: skip
    _kill_pid_file(data / "postmaster.pid")


def _start_mariadb(server: Server) -> None:
    assert server.folder is not None
    folder = server.folder
    sbin = [Path("/usr/sbin"), Path("/usr/bin"), Path("/usr/local/sbin"), Path("/usr/local/bin")]
    install = _find(("mariadb-install-db", "mysql_install_db"), sbin, "MariaDB install script")
    daemon = _find(("mariadbd", "mysqld"), sbin, "MariaDB server")
    user = _service_user("mysql", folder)
    as_user = [f"--user={user}"] if user else []
    data = folder / "data"
    _run([install, "--no-defaults", f"--datadir={data}", *as_user, "--auth-root-authentication-method=normal",
          "--skip-test-db"], server, "mariadb-install-db")  # fmt: skip
    # As on the system server: utf8mb4 with its general collation, TCP on loopback only.
    command = [daemon, "--no-defaults", f"--datadir={data}", *as_user, f"--port={server.port}",
               "--bind-address=127.0.0.1", "--skip-name-resolve", f"--socket={folder / 'mariadbd.sock'}",
               f"--pid-file={folder / 'mariadbd.pid'}", f"--log-error={folder / 'mariadbd.log'}", f"--tmpdir={folder}",
               "--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci", "--skip-log-bin",
               "--innodb-flush-log-at-trx-commit=2"]  # fmt: skip
    # A session of its own: a Ctrl-C at the terminal reaches pytest, which then stops the server in order.
    server._process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )


def _stop_mariadb(server: Server) -> None:
    process = server._process
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _kill_pid_file(pid_file: Path) -> None:
    """Last resort when a polite stop did not work: the server's pid is the file's first line."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, signal.SIGKILL)


def _wait_until_ready(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    problem = answers(server.kind, server.host, server.port, server.user)
    while problem is not None:
        exited = server._process is not None and server._process.poll() is not None
        if exited or time.monotonic() > deadline:
            assert server.folder is not None
            log = server.folder / ("mariadbd.log" if server.kind == "mariadb" else "postgres.log")
            raise ServerError(f"the throwaway {server.kind} did not answer ({problem}):\n{_tail(log)}")
        time.sleep(0.1)
        problem = answers(server.kind, server.host, server.port, server.user)
