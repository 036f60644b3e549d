"""Default look of an entity: a stable color, an icon, the columns shown first."""

from __future__ import annotations

import hashlib
import re

from .model import Column

PALETTE = (
    "#3b82f6",
    "#10b981",
    "#f59e0b",
    "#ef4444",
    "#8b5cf6",
    "#ec4899",
    "#14b8a6",
    "#f97316",
)

# First match wins; patterns are matched against the snake_case entity name.
_ICON_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"line_?item|item|line", "📄"),
    (r"order|purchase|cart", "📦"),
    (r"customer|client|user|person|member|account", "👤"),
    (r"product|part|article|sku|catalog", "🏷️"),
    (r"supplier|vendor|manufacturer", "🏭"),
    (r"payment|invoice|bill|transaction|price", "💳"),
    (r"ship|delivery|shipment|parcel", "🚚"),
    (r"address|location|nation|region|country|city", "📍"),
    (r"event|log|audit|message", "📝"),
    (r"group|team|organi[sz]ation|company", "👥"),
)
DEFAULT_ICON = "🔹"
DEFAULT_DISPLAY_COUNT = 5

HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def default_color(entity_name: str) -> str:
    """The same name always gets the same color, across runs and machines."""
    digest = hashlib.md5(entity_name.encode(), usedforsecurity=False).hexdigest()
    return PALETTE[int(digest, 16) % len(PALETTE)]


def snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def default_icon(entity_name: str) -> str:
    snake = snake_case(entity_name)
    for pattern, icon in _ICON_PATTERNS:
        if re.search(pattern, snake):
            return icon
    return DEFAULT_ICON


def default_display_fields(columns: tuple[Column, ...]) -> tuple[str, ...]:
    """The first five data columns; the primary key only fills a short list."""
    data = [column.name for column in columns if not column.primary_key]
    keys = [column.name for column in columns if column.primary_key]
    return tuple((data + keys)[:DEFAULT_DISPLAY_COUNT])
