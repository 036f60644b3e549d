"""The suite's own database servers: throwaway ones start from the installed binaries, answer real
queries, and leave nothing behind, also when the run is stopped with Ctrl-C (tests/support/servers.py).

The throwaway servers are forced here (``TEST_DATABASES=throwaway``) even though the machine's servers
are up, through the same code path a machine without any database service takes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pymysql
import pytest

from tests.support import servers
from tests.support.paths import ROOT

SYSTEM_PORTS = {"postgresql": 5432, "mariadb": 3306}


def _processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that mention ``text`` (a server's folder)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # exited meanwhile
        if text in command:
            found.append(command)
    return found


def _real_query(server: servers.Server) -> tuple[str, list[tuple[int, str]]]:
    """The server's data folder, and rows written and read back through a real table."""
    if server.kind == "postgresql":
        with psycopg.connect(host=server.host, port=server.port, user=server.user, dbname="postgres") as conn:
            conn.execute("CREATE TABLE probe (id INTEGER PRIMARY KEY, note TEXT)")
            conn.execute("INSERT INTO probe VALUES (1, 'déjà vu')")
            rows = [(int(r[0]), str(r[1])) for r in conn.execute("SELECT id, note FROM probe").fetchall()]
            data_dir = conn.execute("SHOW data_directory").fetchone()
            assert data_dir is not None
            return str(data_dir[0]), rows
    conn = pymysql.connect(host=server.host, port=server.port, user=server.user, password="", autocommit=True)
    try:
        cursor = conn.cursor()
        cursor.execute("CREATE DATABASE probe CHARACTER SET utf8mb4")
        cursor.execute("CREATE TABLE probe.probe (id INTEGER PRIMARY KEY, note TEXT)")
        cursor.execute("INSERT INTO probe.probe VALUES (1, 'déjà vu')")
        cursor.execute("SELECT id, note FROM probe.probe")
        rows = [(int(r[0]), str(r[1])) for r in cursor.fetchall()]
        cursor.execute("SELECT @@datadir")
        return str(cursor.fetchone()[0]), rows
    finally:
        conn.close()


@pytest.mark.parametrize("kind", servers.KINDS)
def test_a_forced_throwaway_server_answers_then_leaves_nothing(kind: str) -> None:
    server = servers.choose(kind, {"TEST_DATABASES": "throwaway"})
    try:
        folder = server.folder
        assert folder is not None and folder.is_dir()
        assert server.port != SYSTEM_PORTS[kind]
        assert server in servers.running()
        data_dir, rows = _real_query(server)
        assert rows == [(1, "déjà vu")]
        assert Path(data_dir).resolve().is_relative_to(folder.resolve())
        assert _processes_mentioning(str(folder))
    finally:
        servers.stop(server)
    assert not folder.exists()
    assert server not in servers.running()
    assert servers.answers(kind, server.host, server.port, server.user) is not None
    assert _processes_mentioning(str(folder)) == []


def test_configured_servers_must_answer_and_the_mode_must_be_known() -> None:
    before = servers.running()
    with pytest.raises(servers.ServerError, match=r"TEST_PG_PORT set, but postgresql at 127\.0\.0\.1:1 does not"):
        servers.choose("postgresql", {"TEST_PG_PORT": "1"})
    with pytest.raises(servers.ServerError, match=r"TEST_MARIADB_HOST set, but mariadb at 127\.0\.0\.9:3306"):
        servers.choose("mariadb", {"TEST_MARIADB_HOST": "127.0.0.9", "TEST_DATABASES": "throwaway"})
    with pytest.raises(servers.ServerError, match="TEST_PG_PORT='543x' is not a port number"):
        servers.choose("postgresql", {"TEST_PG_PORT": "543x"})
    with pytest.raises(servers.ServerError, match="TEST_DATABASES='docker': expected one of auto, throwaway"):
        servers.choose("postgresql", {"TEST_DATABASES": "docker"})
    assert servers.running() == before  # no throwaway server started by any of these


INNER_TEST = """
import json, os, time
from pathlib import Path

from tests.support.databases import temporary_database


def test_hold_the_servers(tmp_path):
    used = {}
    for dialect in ("postgresql", "mariadb"):
        with temporary_database(dialect, tmp_path) as db:
            db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
            db.execute("INSERT INTO t (id) VALUES (7)")
            assert db.query("SELECT id FROM t") == [(7,)]
            used[dialect] = {"folder": str(db.server.folder), "port": db.server.port, "url": db.url}
    Path(os.environ["SERVERS_REPORT"]).write_text(json.dumps(used))
    time.sleep(120)
"""


def test_ctrl_c_during_a_run_stops_and_deletes_its_throwaway_servers(tmp_path: Path) -> None:
    """A pytest run on a machine 'without servers' is interrupted as a terminal does (SIGINT to its group)."""
    (tmp_path / "test_inner.py").write_text(INNER_TEST)
    report = tmp_path / "servers.json"
    env = {name: value for name, value in os.environ.items() if not name.startswith(("TEST_PG_", "TEST_MARIADB_"))}
    env |= {"TEST_DATABASES": "throwaway", "SERVERS_REPORT": str(report)}
    run = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "--rootdir", str(ROOT), "-c",
         str(ROOT / "pyproject.toml"), str(tmp_path / "test_inner.py")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not report.exists() and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert report.exists(), run.communicate(timeout=30)[0] if run.poll() is not None else "no report in 60 s"
        used = json.loads(report.read_text())
        for kind, server in used.items():
            assert Path(server["folder"]).is_dir()
            assert server["port"] != SYSTEM_PORTS[kind] and f"127.0.0.1:{server['port']}/" in server["url"]
            assert servers.answers(kind, "127.0.0.1", server["port"], servers.DEFAULTS[kind][2]) is None
        os.killpg(run.pid, signal.SIGINT)
        output, _ = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    assert run.returncode == pytest.ExitCode.INTERRUPTED, output
    assert "KeyboardInterrupt" in output
    for kind, server in used.items():
        assert not Path(server["folder"]).exists(), (kind, output)
        assert _processes_mentioning(server["folder"]) == [], kind
        assert servers.answers(kind, "127.0.0.1", server["port"], servers.DEFAULTS[kind][2]) is not None
