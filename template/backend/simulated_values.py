"""Values the simulator writes: plausible ones from a column's name and type, and numbered ones for keys.

A numbered value is the n-th value of a column: distinct numbers give distinct
values, and :func:`number_of` reads the number back from a value, so a new run
can continue after the largest key an earlier run (or anyone) wrote.
"""

from __future__ import annotations

import json
import math
import random
import string
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from .model import Column

WORDS = (
    "quickly",
    "furiously",
    "carefully",
    "slyly",
    "blithely",
    "final",
    "regular",
    "pending",
    "express",
    "special",
    "ironic",
    "bold",
    "even",
    "deposits",
    "accounts",
    "packages",
    "requests",
    "instructions",
    "theodolites",
    "pinto",
    "beans",
    "foxes",
    "ideas",
    "platelets",
)
STATUSES = ("O", "F", "P")
PRIORITIES = ("1-URGENT", "2-HIGH", "3-MEDIUM", "4-NOT SPECIFIED", "5-LOW")
SEGMENTS = ("AUTOMOBILE", "BUILDING", "FURNITURE", "HOUSEHOLD", "MACHINERY")
CONTAINERS = ("SM CASE", "LG BOX", "MED BAG", "JUMBO PKG", "WRAP DRUM")
MONEY_WORDS = ("price", "amount", "balance", "total", "cost")

NUMBERABLE_TYPES = frozenset({"integer", "float", "date", "datetime", "string"})
"""Types with as many distinct values as needed (a boolean has two, a JSON column is not a key)."""

BASE_DATE = date(2000, 1, 1)
BASE_DATETIME = datetime(2000, 1, 1)
KEY_DIGITS = 12
"""Digits of a numbered text key: fixed width, so the largest key is also the largest text."""
MIN_PREFIXED_DIGITS = 6
"""A text key keeps its prefix (``ORD-``) only when this many digits still fit beside it."""


def key_prefix(entity_name: str) -> str:
    """``ORD-`` for Order: keys say which entity they belong to (letters and digits only: safe in LIKE)."""
    letters = "".join(char for char in entity_name if char.isascii() and char.isalnum())
    return f"{letters[:3].upper()}-" if letters else ""


def _text_layout(prefix: str, length: int | None, digits: int) -> tuple[str, int]:
    if length is None:
        return prefix, digits
    if length - len(prefix) < min(digits, MIN_PREFIXED_DIGITS):
        prefix = ""
    return prefix, min(digits, length - len(prefix))


def numbered_value(column: Column, prefix: str, number: int, *, digits: int = KEY_DIGITS) -> Any | None:
    """The ``number``-th value of ``column``; None when its type or length has no such value."""
    if column.type == "integer":
        return number
    if column.type == "float":
        return float(number)
    if column.type == "date":
        return BASE_DATE + timedelta(days=number) if number < 2_900_000 else None
    if column.type == "datetime":
        return BASE_DATETIME + timedelta(seconds=number)
    if column.type == "string":
        prefix, width = _text_layout(prefix, column.length, digits)
        text = f"{prefix}{number:0{width}d}"
        return text if width > 0 and len(text) <= (column.length or len(text)) else None
    return None


def number_of(column: Column, prefix: str, value: Any) -> int | None:
    """The number :func:`numbered_value` would give ``value`` (rounded down); None if it is no such value."""
    try:
        if column.type in ("integer", "float"):
            return math.floor(Decimal(str(value)))
        if column.type == "date":
            day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
            return (day - BASE_DATE).days
        if column.type == "datetime":
            moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
            return math.floor((moment.replace(tzinfo=None) - BASE_DATETIME).total_seconds())
    except (ArithmeticError, ValueError, TypeError):
        return None
    if column.type == "string" and isinstance(value, str):
        prefix, _ = _text_layout(prefix, column.length, KEY_DIGITS)
        digits = value.removeprefix(prefix)
        return int(digits) if value.startswith(prefix) and digits.isascii() and digits.isdigit() else None
    return None


class PlausibleValues:
    """Values that look like the column's data (TPC-H words, dates, prices...), from a seeded generator."""

    def __init__(self, rnd: random.Random):
        self.random = rnd

    def value(self, column: Column, entity_name: str, index: int) -> Any:
        name = column.name.lower()
        rnd = self.random
        if column.type == "integer":
            if "quantity" in name or "size" in name:
                return rnd.randint(1, 50)
            if "number" in name or name.endswith("_no"):
                return index
            return rnd.randint(0, 100)
        if column.type == "float":
            if "discount" in name:
                return round(rnd.uniform(0, 0.1), 2)
            if "tax" in name:
                return round(rnd.uniform(0, 0.08), 2)
            if any(word in name for word in MONEY_WORDS):
                return round(rnd.uniform(1, 50_000), 2)
            return round(rnd.uniform(0, 1000), 3)
        if column.type == "boolean":
            return rnd.random() < 0.5
        if column.type == "date":
            return date(2024, 1, 1) + timedelta(days=rnd.randint(0, 365))
        if column.type == "datetime":
            return datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(seconds=rnd.randint(0, 86400))
        if column.type == "json":
            return json.dumps({"source": "simulator", "tags": rnd.sample(WORDS, 2)})
        text = self._text(name, entity_name)
        return text[: column.length] if column.length else text

    def _text(self, name: str, entity_name: str) -> str:
        rnd = self.random
        if "date" in name:
            return (date(2024, 1, 1) + timedelta(days=rnd.randint(0, 365))).isoformat()
        if "status" in name:
            return rnd.choice(STATUSES)
        if "flag" in name:
            return rnd.choice("RAN")
        if "priority" in name:
            return rnd.choice(PRIORITIES)
        if "segment" in name:
            return rnd.choice(SEGMENTS)
        if "container" in name:
            return rnd.choice(CONTAINERS)
        if "phone" in name:
            return f"{rnd.randint(10, 34)}-{rnd.randint(100, 999)}-{rnd.randint(100, 999)}-{rnd.randint(1000, 9999)}"
        if "brand" in name:
            return f"Brand#{rnd.randint(1, 5)}{rnd.randint(1, 5)}"
        if "clerk" in name:
            return f"Clerk#{rnd.randint(1, 1000):09d}"
        if name == "name":
            return f"{entity_name}#{rnd.randint(1, 99999):09d}"
        if "comment" in name or "note" in name or "address" in name:
            return " ".join(rnd.choices(WORDS, k=rnd.randint(3, 8)))
        if name.endswith("key"):
            return f"{name[:3].upper()}-{rnd.randint(1, 10**6)}"
        return "".join(rnd.choices(string.ascii_uppercase, k=8))
