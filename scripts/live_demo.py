"""The README's first command (`make demo`): generate the TPC-H dashboard and run it live on SQLite.

1. `copier copy` of this template with examples/tpch into demo/ (regenerated on every run);
2. `python -m backend.migrate --create-entity-tables` on demo/dashboard.db;
3. `npm ci` and `vite build` of the frontend;
4. the backend under uvicorn serving it, and the data simulator writing records into the database.

Ctrl-C stops everything it started.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo"
ENTITIES = ROOT / "examples" / "tpch"
DATABASE_URL = "sqlite:///dashboard.db"


def step(message: str) -> None:
    print(f"\n==> {message}", flush=True)


class Setup:
    """The setup steps, each a command in a session of its own, and how a Ctrl-C or `kill` stops them.

    A Ctrl-C at the terminal reaches only this script, which stops the running step quietly: a step
    interrupted itself can print a traceback of its own (copier while importing), and one started in
    the instant the signal came must not be left running (it would go on writing into demo/). So the
    signal sets a flag and stops the step, rather than raising wherever the script happens to be.
    """

    def __init__(self) -> None:
        self.interrupted = False
        self.step: subprocess.Popen[bytes] | None = None

    def on_signal(self, signum: int, frame: object) -> None:
        self.interrupted = True
        if self.step is not None:
            _signal_group(self.step, signal.SIGTERM)

    def run(self, command: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        if self.interrupted:
            raise KeyboardInterrupt
        process = subprocess.Popen(command, cwd=cwd, env={**os.environ, **(env or {})}, start_new_session=True)
        self.step = process
        try:
            if self.interrupted:  # the signal came while it was being started
                _signal_group(process, signal.SIGTERM)
            try:
                returncode = process.wait(timeout=None if not self.interrupted else 10)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                returncode = process.wait()
            if self.interrupted and process.poll() is None:
                _signal_group(process, signal.SIGKILL)
                process.wait()
        finally:
            self.step = None
        if self.interrupted:
            raise KeyboardInterrupt
        if returncode != 0:
            sys.exit(f"demo: `{' '.join(command)}` failed with exit code {returncode}")


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    """``signum`` to the step and what it started (npm's children, copier's git)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


SETUP = Setup()
run = SETUP.run


def generate() -> None:
    step(f"Generating the dashboard from {ENTITIES.relative_to(ROOT)} into {DEMO.relative_to(ROOT)}/")
    if DEMO.exists():
        shutil.rmtree(DEMO)
    command = [sys.executable, "-m", "copier", "copy", "--trust", "--defaults", "--quiet"]
    command += ["--data", f"entities_dir={ENTITIES}", "--data", "database=sqlite"]
    command += ["--data", "project_name=TPC-H dashboard", str(ROOT), str(DEMO)]
    run(command, cwd=ROOT, env={"PYTHONWARNINGS": "ignore"})


def migrate() -> None:
    step(f"Creating the entity tables and change capture in {DEMO.relative_to(ROOT)}/dashboard.db")
    run([sys.executable, "-m", "backend.migrate", "--create-entity-tables"], DEMO, {"DATABASE_URL": DATABASE_URL})


def build_frontend() -> None:
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("demo: npm is not installed; the frontend needs Node.js 20 or newer with npm")
    step("Building the frontend (npm ci, vite build)")
    run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], DEMO / "frontend")
    run([npm, "run", "build", "--silent"], DEMO / "frontend")


def check_port_free(port: int) -> None:
    with socket.socket() as probe:
        # As uvicorn binds: connections of a demo just stopped (TIME_WAIT) do not make the port busy.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            sys.exit(f"demo: port {port} is not free ({error.strerror}); choose another: make demo PORT=9000")


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit("demo: the backend stopped during startup (see its output above)")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:  # noqa: S310 - our http URL
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    sys.exit("demo: the backend did not become healthy within a minute")


def serve(port: int, rate: float) -> None:
    env = {**os.environ, "DATABASE_URL": DATABASE_URL}
    url = f"http://127.0.0.1:{port}"
    step(f"Starting the backend on {url} and the simulator ({rate:g} records/s)")
    backend = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "backend.main:app", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning", "--ws-per-message-deflate", "false"],
        cwd=DEMO, env=env, start_new_session=True,
    )  # fmt: skip
    processes = [backend]
    try:
        wait_healthy(url, backend)
        simulator = subprocess.Popen(
            [sys.executable, "-m", "backend.simulate", "--rate", str(rate)], cwd=DEMO, env=env, start_new_session=True
        )
        processes.append(simulator)
        page = f"{url}/" if (DEMO / "frontend" / "dist").is_dir() else f"{url}/docs"
        print(
            f"\nLive: {page}\n  stats: {url}/api/stats\n  events: {url}/api/events?limit=20\n"
            f"  stream: ws://127.0.0.1:{port}/ws\nPress Ctrl-C to stop.\n",
            flush=True,
        )
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
        sys.exit("demo: a process stopped unexpectedly (see its output above)")
    except KeyboardInterrupt:
        print("\nStopping...", flush=True)
    finally:
        # The children run in their own sessions, so a Ctrl-C at the terminal reaches
        # only this script, and each child is told to stop exactly once (a second
        # SIGINT makes uvicorn print a traceback).
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description="Generate the TPC-H example dashboard and run it live on SQLite.")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--rate", type=float, default=20.0, help="simulated records per second")
    args = parser.parse_args()
    check_port_free(args.port)  # before a minute of setup, not after it
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, SETUP.on_signal)
    try:
        generate()
        migrate()
        build_frontend()
    except KeyboardInterrupt:
        # The step running has been stopped; demo/ is regenerated on the next run.
        print("\ndemo: stopped during setup; run it again to start over", file=sys.stderr, flush=True)
        sys.exit(130)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    if SETUP.interrupted:  # a signal between the last step and here
        print("\ndemo: stopped during setup; run it again to start over", file=sys.stderr, flush=True)
        sys.exit(130)
    serve(args.port, args.rate)


if __name__ == "__main__":
    main()
