"""A generated project's backend under a real uvicorn on a loopback port."""

from __future__ import annotations

import os
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


class BackendServer:
    def __init__(self, project: Path, database_url: str, *, port: int | None = None, **env: str):
        self.project = project
        self.port = port or free_port()
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "POLL_INTERVAL_MS": "50",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.process: subprocess.Popen[str] | None = None
        self.log_path = project.parent / f"uvicorn-{self.port}.log"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self, wait_healthy: bool = True) -> BackendServer:
        log = self.log_path.open("a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "backend.main:app", "--host", "127.0.0.1", "--port", str(self.port)],
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
        raise RuntimeError(f"backend did not become healthy:\n{self.log()}")

    def status(self, path: str) -> int | None:
        try:
            with urllib.request.urlopen(self.http + path, timeout=2) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except OSError:
            return None

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
