"""A generated project's backend under a real uvicorn on a loopback port."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Debian's faketime package, under the machine's multiarch folder (x86_64-linux-gnu, aarch64-linux-gnu, ...).
FAKETIME_LIBRARY = next(
    Path("/usr/lib").glob("*/faketime/libfaketimeMT.so.1"), Path("/usr/lib/faketime/libfaketimeMT.so.1")
)


def shifted_clock(offset: str) -> dict[str, str]:
    """Environment that runs a process with its clock shifted (libfaketime, e.g. ``"+30d"``).

    Shifts time(), clock_gettime() and everything built on them, including
    SQLite's ``'now'`` inside the process. Needs the ``faketime`` package.
    """
    if not FAKETIME_LIBRARY.exists():
        raise RuntimeError(f"{FAKETIME_LIBRARY} is missing: apt-get install faketime")
    return {"LD_PRELOAD": str(FAKETIME_LIBRARY), "FAKETIME": offset, "FAKETIME_DONT_RESET": "1"}


class BackendServer:
    def __init__(
        self,
        project: Path,
        database_url: str,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        clock_offset: str | None = None,
        **env: str,
    ):
        self.project = project
        self.host = host
        """A loopback address (127.0.0.2, ...) lets replicas share one port, as containers do."""
        self.port = port or free_port()
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "POLL_INTERVAL_MS": "50",
            "PYTHONUNBUFFERED": "1",
            "UVICORN_WS_PER_MESSAGE_DEFLATE": "false",  # as the project's Docker image runs it
            **(shifted_clock(clock_offset) if clock_offset else {}),
            **env,
        }
        self.process: subprocess.Popen[str] | None = None
        self.log_path = project.parent / f"uvicorn-{self.host}-{self.port}.log"

    @property
    def http(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://{self.host}:{self.port}/ws"

    def metrics(self) -> str:
        """The text of ``/metrics`` (for a backend without a token)."""
        with urllib.request.urlopen(self.http + "/metrics", timeout=10) as response:
            return str(response.read().decode())

    def metric(self, name: str) -> float:
        """One sample of ``/metrics``, by its full name (``dashboard_clients``, ``..._total``)."""
        found = re.search(rf"^{re.escape(name)} (\S+)$", self.metrics(), re.MULTILINE)
        assert found is not None, f"{name} is not in /metrics"
        return float(found.group(1))

    def start(self, wait_healthy: bool = True) -> BackendServer:
        log = self.log_path.open("a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "backend.main:app", "--host", self.host, "--port", str(self.port)],
            cwd=self.project,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"backend exited with {self.process.returncode}:\n{self.log()}")
            status = self.status("/health")
            if status == 200 or (status is not None and not wait_healthy):
                return self
            time.sleep(0.1)
        self.kill()  # not left running: no `with` block will stop it
        raise RuntimeError(f"backend did not become healthy:\n{self.log()}")

    def status(self, path: str) -> int | None:
        try:
            with urllib.request.urlopen(self.http + path, timeout=2) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except OSError:
            return None

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash or an OOM kill."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def __enter__(self) -> BackendServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
