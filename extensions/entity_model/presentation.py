"""Default look of an entity: a color no other entity of the project has, an icon, the columns shown first."""

from __future__ import annotations

import colorsys
import hashlib
import re
from collections.abc import Collection, Iterable

from .model import Column, EntityKind

# Tailwind's 700 shades, in the order that keeps the first few far apart. Each
# carries white text at >= 4.5:1 (WCAG AA): entity badges are white on the color.
PALETTE = (
    "#1d4ed8",  # blue
    "#b45309",  # amber
    "#047857",  # emerald
    "#b91c1c",  # red
    "#6d28d9",  # violet
    "#0e7490",  # cyan
    "#be185d",  # pink
    "#4d7c0f",  # lime
    "#4338ca",  # indigo
    "#c2410c",  # orange
    "#0f766e",  # teal
    "#a21caf",  # fuchsia
)
MIN_CONTRAST_WITH_WHITE = 4.5
SAME_HUE_DEGREES = 12
_GOLDEN_ANGLE = 137.508

# First match wins. Each pattern must match whole words of the snake_case name
# (plural allowed): "rate" names exchange rates, not "separate_runs".
_ICON_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"line_?item|item|line|detail", "📄"),
    (r"order|purchase|cart|basket|booking|reservation", "📦"),
    (r"customer|client|user|person|member|account|patient|employee|staff|contact|author|profile", "👤"),
    (r"product|part|article|sku|catalog|goods|variant", "🏷️"),
    (r"supplier|vendor|manufacturer|partner|provider", "🏭"),
    (r"payment|invoice|bill|transaction|price|charge|refund|payout|fee", "💳"),
    (r"ship(?:ment|ping)?|deliver(?:y|ie)|parcel|package|freight|route", "🚚"),
    (r"address|location|nation|region|country|city|place|site|geo|zone", "📍"),
    (r"event|log|audit|message|notification|alert", "📝"),
    (r"group|team|organi[sz]ation|company|department|tenant", "👥"),
    (r"inventory|stock|warehouse|store|shop", "🏬"),
    (r"review|rating|feedback|comment", "⭐"),
    (r"session|login|token|auth|permission|role", "🔑"),
    (r"task|job|ticket|issue|incident|request", "🎫"),
    (r"file|document|attachment|image|media|asset", "📎"),
    (r"metric|measurement|reading|sensor|sample|stat", "📈"),
    (r"schedule|calendar|appointment|shift|slot", "📅"),
    (r"currency|exchange|rate|tax", "💱"),
    (r"categor(?:y|ie)|tag|label|type|kind|status", "🗂️"),
)
# No pattern matched: a neutral icon that still tells the entity's kind.
DEFAULT_ICONS: dict[EntityKind, str] = {"root": "🔷", "derived": "🔸", "reference": "📚"}
DEFAULT_DISPLAY_COUNT = 5

HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _name_hash(name: str) -> int:
    return int(hashlib.md5(name.encode(), usedforsecurity=False).hexdigest(), 16)


def _luminance(color: str) -> float:
    channels = [int(color[index : index + 2], 16) / 255 for index in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_with_white(color: str) -> float:
    return 1.05 / (_luminance(color) + 0.05)


def _extra_color(index: int) -> str:
    """Colors past the palette: hues a golden angle apart, darkened until white text reads on them."""
    hue = (index * _GOLDEN_ANGLE) % 360 / 360
    lightness = 0.42
    while True:
        red, green, blue = colorsys.hls_to_rgb(hue, lightness, 0.75)
        color = f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}"
        if contrast_with_white(color) >= MIN_CONTRAST_WITH_WHITE:
            return color
        lightness -= 0.02


def _candidates() -> Iterable[str]:
    yield from PALETTE
    index = 0
    while True:
        yield _extra_color(index)
        index += 1


def _hue(color: str) -> float:
    red, green, blue = (int(color[index : index + 2], 16) / 255 for index in (1, 3, 5))
    return colorsys.rgb_to_hls(red, green, blue)[0] * 360


def _looks_like(color: str, others: Iterable[str]) -> bool:
    """Same hue within a few degrees: #3b82f6 and #1d4ed8 differ as hex, not to the eye."""
    hue = _hue(color)
    return any(min(abs(hue - _hue(other)), 360 - abs(hue - _hue(other))) < SAME_HUE_DEGREES for other in others)


def default_colors(names: Iterable[str], taken: Collection[str] = ()) -> dict[str, str]:
    """A distinct color per entity of one project.

    Entities get the palette in the order of their sorted names (so the same
    project always looks the same), skipping colors the dashboard YAML already
    gives to other entities (and palette colors of the same hue as those); the
    name's hash only orders names that sort alike without case. Past the palette,
    generated colors keep every one distinct.
    """
    chosen = [color.lower() for color in taken if HEX_COLOR.match(color)]
    ordered = sorted(set(names), key=lambda name: (name.casefold(), _name_hash(name), name))
    colors: dict[str, str] = {}
    candidates = iter(_candidates())
    for name in ordered:
        color = next(candidates)
        # A palette color near one the YAML chose is skipped; generated ones only need to differ.
        while color in chosen or (color in PALETTE and _looks_like(color, chosen)) or color in colors.values():
            color = next(candidates)
        colors[name] = color
    return colors


def snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def default_icon(entity_name: str, kind: EntityKind = "root") -> str:
    snake = snake_case(entity_name)
    for pattern, icon in _ICON_PATTERNS:
        if re.search(rf"(?:^|_)(?:{pattern})(?:e?s)?(?:_|$)", snake):
            return icon
    return DEFAULT_ICONS[kind]


def default_display_fields(columns: tuple[Column, ...]) -> tuple[str, ...]:
    """The first five data columns; the primary key only fills a short list."""
    data = [column.name for column in columns if not column.primary_key]
    keys = [column.name for column in columns if column.primary_key]
    return tuple((data + keys)[:DEFAULT_DISPLAY_COUNT])
