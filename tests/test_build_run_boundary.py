"""Facts declared on both sides of the build/run boundary must agree.

The generated project stands alone, so its backend cannot import the template's
extensions: the column types and dialect names are declared once on each side,
and these tests keep the two declarations equal.
"""

from __future__ import annotations

from typing import get_args

from backend.db.dialects import DIALECTS as RUNTIME_DIALECTS
from backend.db.url import Dialect as RuntimeDialect
from backend.model import ColumnType as RuntimeColumnType

from extensions.entity_model.field_types import COLUMN_TYPES
from extensions.entity_model.model import DIALECTS


def test_column_types_agree() -> None:
    assert get_args(RuntimeColumnType) == COLUMN_TYPES


def test_dialects_agree() -> None:
    assert get_args(RuntimeDialect) == DIALECTS
    assert tuple(RUNTIME_DIALECTS) == DIALECTS
