"""The normalized model built from the example entities and from the showcase set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from extensions.entity_model import ProjectModel, load_project
from extensions.entity_model.field_types import normalize_type
from extensions.entity_model.identifiers import MAX_IDENTIFIER_LENGTH, index_name, owned_name
from extensions.entity_model.presentation import PALETTE, default_color, default_icon
from tests.support.paths import SHOWCASE, TPCH


@pytest.fixture(scope="module")
def tpch() -> ProjectModel:
    return load_project(TPCH)


def test_tpch_has_the_four_entities_with_their_tables_and_kinds(tpch: ProjectModel) -> None:
    summary = {(e.name, e.table, e.kind, e.id_column) for e in tpch.entities}
    assert summary == {
        ("Customer", "customers", "reference", "id"),
        ("Product", "products", "reference", "id"),
        ("Order", "orders", "root", "id"),
        ("OrderLineItem", "order_line_items", "derived", "id"),
    }


def test_columns_come_from_field_overrides_plus_the_id(tpch: ProjectModel) -> None:
    order = tpch.entity("Order")
    assert order.column_names == (
        "id",
        "order_key",
        "customer_key",
        "order_status",
        "total_price",
        "order_date",
        "order_priority",
        "clerk",
        "ship_priority",
        "comment",
    )
    # line_items is a field without an override: not a column.
    assert "line_items" not in order.column_names
    key = order.column("id")
    assert (key.type, key.primary_key, key.autogenerate, key.nullable) == ("integer", True, True, False)
    assert (order.column("order_key").type, order.column("order_key").length) == ("string", 50)
    assert order.column("total_price").type == "float"
    assert order.column("ship_priority").type == "integer"
    assert order.column("clerk").nullable is True
    assert order.column("order_date").nullable is False
    assert order.column("comment").length is None
    assert order.unicity_fields == ("order_key",)
    assert tpch.entity("OrderLineItem").unicity_fields == ("order_key", "line_number")


def test_dashboard_yaml_is_applied(tpch: ProjectModel) -> None:
    order = tpch.entity("Order")
    assert order.color == "#3b82f6"
    assert order.icon == "📦"
    assert order.display_fields == ("order_key", "customer_key", "order_status", "total_price", "order_date")
    assert tpch.entity("Customer").event_types == ("insert", "update")
    assert tpch.entity("Product").event_types == ("insert", "update", "delete")
    assert tpch.settings.poll_interval_ms == 500
    assert tpch.settings.retention_days == 7


def test_defaults_without_dashboard_yaml(tmp_path: Path) -> None:
    for path in TPCH.glob("*.yaml"):
        if path.name != "dashboard.yaml":
            (tmp_path / path.name).write_text(path.read_text())
    model = load_project(tmp_path)
    product = model.entity("Product")
    assert product.color == default_color("Product")
    assert product.color in PALETTE
    assert product.icon == default_icon("Product") == "🏷️"
    # The first five data columns.
    assert product.display_fields == ("part_key", "name", "manufacturer", "brand", "part_type")
    assert product.max_records == 500
    assert product.event_types == ("insert", "update", "delete")
    settings = model.settings
    assert (settings.poll_interval_ms, settings.retention_days, settings.max_events_per_poll) == (500, 7, 1000)
    assert (settings.backend_port, settings.frontend_port) == (8000, 5173)
    assert settings.include_reference is True
    assert all(vars(settings.features).values())


def test_include_reference_false_drops_reference_entities(tmp_path: Path) -> None:
    for path in TPCH.glob("*.yaml"):
        if path.name != "dashboard.yaml":
            (tmp_path / path.name).write_text(path.read_text())
    (tmp_path / "dashboard.yaml").write_text("dashboard:\n  include_reference: false\n")
    names = [entity.name for entity in load_project(tmp_path).entities]
    assert names == ["Order", "OrderLineItem"]


def test_showcase_extends_abstract_yml_and_kubernetes_form() -> None:
    model = load_project(SHOWCASE)
    assert [e.name for e in model.entities] == ["Alert", "Group", "SensorReading"]  # abstract parent skipped
    group = model.entity("Group")
    assert group.table == "group"
    assert group.kind == "reference"
    assert group.source == "group.yml"
    # Inherited from the abstract parent, then the child's own columns.
    assert group.column_names == ("id", "recorded_at", "active", "order", "select", "settings")
    assert [group.column(n).type for n in ("recorded_at", "active", "settings")] == ["datetime", "boolean", "json"]
    assert (group.color, group.icon) == ("#112233", "🧩")
    reading = model.entity("SensorReading")
    assert reading.table == "sensor_readings"
    assert reading.column("tags").type == "json"
    assert reading.column("note").nullable is True  # Option[String]
    assert reading.column("sensor").indexed is True
    assert reading.column("value").type == "float"
    assert "raw_frame" not in reading.column_names
    alert = model.entity("Alert")
    assert (alert.kind, alert.id_column, alert.event_types) == ("derived", "alert_id", ("insert",))
    assert model.settings.poll_interval_ms == 250


def test_snapshot_round_trips_and_is_stable(tpch: ProjectModel) -> None:
    snapshot = tpch.to_snapshot()
    text = json.dumps(snapshot, sort_keys=True)
    assert ProjectModel.from_snapshot(json.loads(text)) == tpch
    assert json.dumps(load_project(TPCH).to_snapshot(), sort_keys=True) == text
    # Snapshots never depend on where the YAML lives.
    assert str(TPCH) not in text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("String", ("string", False)),
        ("Int", ("integer", False)),
        ("Integer", ("integer", False)),
        ("Double", ("float", False)),
        ("Bool", ("boolean", False)),
        ("DateTime", ("datetime", False)),
        ("Date", ("date", False)),
        ("Json", ("json", False)),
        ("Object", ("json", False)),
        ("List[String]", ("json", False)),
        ("List[Object]", ("json", False)),
        ("Option[Integer]", ("integer", True)),
        ("Gizmo", None),
        ("List", None),
    ],
)
def test_type_normalization(raw: str, expected: tuple[str, bool] | None) -> None:
    assert normalize_type(raw) == expected


def test_owned_names_fit_identifier_limits() -> None:
    table = "t" * 63
    assert len(owned_name(table, "insert")) <= MAX_IDENTIFIER_LENGTH
    assert owned_name(table, "insert") != owned_name("t" * 62 + "u", "insert")
    assert owned_name("orders", "insert") == "dashboard_orders_insert"
    assert len(index_name(table, "c" * 63)) <= MAX_IDENTIFIER_LENGTH


def test_colors_are_stable_hashes() -> None:
    assert default_color("Order") == default_color("Order")
    assert {default_color(name) for name in ("A", "B", "C", "D", "E", "F", "G", "H", "I")} <= set(PALETTE)
