"""Default entity looks: one color per entity of a project, icons by name and kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from extensions.entity_model import load_project
from extensions.entity_model.presentation import (
    DEFAULT_ICONS,
    MIN_CONTRAST_WITH_WHITE,
    PALETTE,
    contrast_with_white,
    default_colors,
    default_icon,
)
from tests.support.paths import TPCH


def test_palette_carries_white_text() -> None:
    assert len(set(PALETTE)) == len(PALETTE)
    for color in PALETTE:
        assert contrast_with_white(color) >= MIN_CONTRAST_WITH_WHITE, color


def test_colors_follow_sorted_names_and_never_repeat() -> None:
    colors = default_colors(["Order", "Customer", "Product"])
    assert colors == {"Customer": PALETTE[0], "Order": PALETTE[1], "Product": PALETTE[2]}
    # Names whose hashes collide on an 8-color modulo (the old scheme) still differ.
    many = default_colors(f"Entity{n}" for n in range(40))
    assert len(set(many.values())) == 40
    assert all(contrast_with_white(color) >= MIN_CONTRAST_WITH_WHITE for color in many.values())
    # Same project, same colors, whatever the order the YAML files were read in.
    assert many == default_colors(f"Entity{n}" for n in reversed(range(40)))


def test_colors_chosen_in_the_yaml_are_not_given_to_another_entity() -> None:
    colors = default_colors(["A", "B"], taken=[PALETTE[0].upper()])
    assert colors == {"A": PALETTE[1], "B": PALETTE[2]}


def test_a_palette_color_of_the_same_hue_as_a_chosen_one_is_skipped() -> None:
    # The TPC-H example gives Order #3b82f6 (blue-500): blue-700 would look the same.
    colors = default_colors(["Customer", "Product"], taken=["#3b82f6"])
    assert colors == {"Customer": PALETTE[1], "Product": PALETTE[2]}


def test_names_alike_but_for_case_are_ordered_by_hash_not_by_chance() -> None:
    assert default_colors(["order", "Order"]) == default_colors(["Order", "order"])
    assert len(set(default_colors(["order", "Order"]).values())) == 2


@pytest.mark.parametrize(
    ("name", "icon"),
    [
        ("OrderLineItem", "📄"),
        ("Order", "📦"),
        ("Customers", "👤"),
        ("Employee", "👤"),
        ("Invoice", "💳"),
        ("Shipment", "🚚"),
        ("Warehouse", "🏬"),
        ("ProductReview", "🏷️"),
        ("SensorReading", "📈"),
        ("Categories", "🗂️"),
        ("SupportTicket", "🎫"),
        ("Addresses", "📍"),
    ],
)
def test_icons_from_name_patterns(name: str, icon: str) -> None:
    assert default_icon(name) == icon


def test_unmatched_names_get_a_neutral_icon_per_kind() -> None:
    # Whole words only: "separate" holds "rate", "prototypes" holds "type".
    assert default_icon("SeparateRun", "root") == DEFAULT_ICONS["root"]
    assert default_icon("Prototypes", "derived") == DEFAULT_ICONS["derived"]
    assert default_icon("Zorblax", "reference") == DEFAULT_ICONS["reference"]
    assert len(set(DEFAULT_ICONS.values())) == 3


def test_a_projects_entities_all_differ_in_color(tmp_path: Path) -> None:
    for path in TPCH.glob("*.yaml"):
        if path.name != "dashboard.yaml":
            (tmp_path / path.name).write_text(path.read_text())
    # dashboard.yaml gives Order the palette's first color: no other entity may get it.
    yaml = f'dashboard:\n  entities:\n    - name: Order\n      color: "{PALETTE[0]}"\n'
    (tmp_path / "dashboard.yaml").write_text(yaml)
    model = load_project(tmp_path)
    colors = [entity.color for entity in model.entities]
    assert model.entity("Order").color == PALETTE[0]
    assert len(set(colors)) == len(colors) == 4
