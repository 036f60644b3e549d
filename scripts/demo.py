"""The README's first command (`make demo`): generate the TPC-H dashboard and run it on SQLite.

Steps, each printed as it runs:
1. `copier copy` of this template with examples/tpch into demo/ (regenerated on every run);
2. `python -m backend.migrate --create-entity-tables` on demo/dashboard.db.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo"
ENTITIES = ROOT / "examples" / "tpch"
DATABASE_URL = "sqlite:///dashboard.db"


def step(message: str) -> None:
    print(f"\n==> {message}", flush=True)


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(command, cwd=cwd, env={**os.environ, **(env or {})}, check=False)
    if result.returncode != 0:
        sys.exit(f"demo: `{' '.join(command)}` failed with exit code {result.returncode}")


def generate() -> None:
    step(f"Generating the dashboard from {ENTITIES.relative_to(ROOT)} into {DEMO.relative_to(ROOT)}/")
    if DEMO.exists():
        shutil.rmtree(DEMO)
    command = [sys.executable, "-m", "copier", "copy", "--trust", "--defaults", "--quiet"]
    command += ["--data", f"entities_dir={ENTITIES}", "--data", "database=sqlite"]
    command += ["--data", "project_name=TPC-H dashboard", str(ROOT), str(DEMO)]
    run(command, cwd=ROOT)


def migrate() -> None:
    step(f"Creating the entity tables and change capture in {DEMO.relative_to(ROOT)}/dashboard.db")
    run([sys.executable, "-m", "backend.migrate", "--create-entity-tables"], DEMO, {"DATABASE_URL": DATABASE_URL})


def main() -> None:
    generate()
    migrate()


if __name__ == "__main__":
    main()
