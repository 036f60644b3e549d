from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
TPCH = EXAMPLES / "tpch"
FIXTURES = ROOT / "tests" / "fixtures"
SHOWCASE = FIXTURES / "showcase"
LOOSE_TYPES = FIXTURES / "loose_types"
TEMPLATE_BACKEND_PARENT = ROOT / "template"
