"""The normalized model built from the example entities and from the showcase set."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from extensions.entity_model import Column, ProjectModel, load_project
from extensions.entity_model.field_types import normalize_type
from extensions.entity_model.identifiers import MAX_IDENTIFIER_LENGTH, index_name, owned_name
from extensions.entity_model.model import SkippedEntity
from extensions.entity_model.presentation import PALETTE, default_colors, default_icon
from tests.support.paths import FIXTURES, SHOWCASE, TPCH

NOMNOM = FIXTURES / "nomnom"
V1_STAGING = FIXTURES / "v1_staging"


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
    # Sorted names take the palette in order: Customer, Order, OrderLineItem, Product.
    assert product.color == PALETTE[3]
    assert len({entity.color for entity in model.entities}) == len(model.entities)
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
    model = load_project(tmp_path)
    assert [entity.name for entity in model.entities] == ["Order", "OrderLineItem"]
    # Never silently: each one is recorded with the reason.
    reason = "reference entity, excluded by `include_reference: false` in dashboard.yaml"
    assert model.skipped == (
        SkippedEntity("Customer", "customer.yaml", reason),
        SkippedEntity("Product", "product.yaml", reason),
    )


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
    assert [item.line for item in model.skipped] == [
        "skipped TrackedRecord (tracked_record.yaml): abstract (only the entities that extend it have tables)"
    ]


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


def test_colors_are_stable_and_distinct() -> None:
    names = ("A", "B", "C", "D", "E", "F", "G", "H", "I")
    assert default_colors(names) == default_colors(reversed(names))
    assert set(default_colors(names).values()) <= set(PALETTE)


# -- nomnom Entity Schema v1 ------------------------------------------------------------


def test_v1_entity_maps_as_nomnoms_to_legacy() -> None:
    """nomnom's own examples/patient-diagnosis-core-v1.yaml, field by field.

    ``EntityV1::to_legacy`` (scie-nz/nomnom src/codegen/types.rs) gives: name from
    metadata.name, doc from the `description` annotation, source_type from spec.type,
    conformant_table from persistence.table, conformant_id_column "id", unicity_fields
    from unicity.fields, and one field override per spec.fields[] entry: its type,
    args [maxLength], nullable, index from indexed, its doc. What it ignores (indexes,
    labels, source, default) changes nothing here.
    """
    model = load_project(NOMNOM / "v1")
    core = model.entity("PatientDiagnosisCore")
    assert (core.name, core.table, core.schema, core.kind, core.id_column, core.source) == (
        "PatientDiagnosisCore",
        "patient_diagnosis_conformant",
        "",
        "derived",
        "id",
        "patient-diagnosis-core-v1.yaml",
    )
    assert core.doc == "Patient diagnosis record for database persistence"
    assert core.unicity_fields == ("facilityId", "patientIdentifier", "diagnosisCode")
    # Four parents, none of them in the folder: no parent to nest under.
    assert core.parent == ""
    # nomnom never writes `id` for a v1 entity (it is no field), so the database generates it.
    assert core.column("id") == Column("id", "integer", primary_key=True, autogenerate=True)
    assert core.columns[1:] == (
        Column("facilityId", "string", length=255, indexed=True, doc="Facility identifier"),
        Column("patientIdentifier", "string", length=100, indexed=True, doc="Patient MRN or account number"),
        Column("diagnosisCode", "string", nullable=True, length=50, indexed=True, doc="Diagnosis code (ICD-10, etc.)"),
        Column("diagnosisCodeText", "string", nullable=True, length=255, doc="Diagnosis description"),
        Column("diagnosisCodeSystem", "string", nullable=True, length=50, doc="Coding system"),
        Column("eventTimestamp", "datetime", nullable=True, doc="Event occurrence timestamp"),
        Column("createdAt", "datetime", doc="Record creation timestamp"),
        Column("updatedAt", "datetime", doc="Record last update timestamp"),
    )
    assert [item.line for item in model.skipped] == [
        "skipped Diagnosis (diagnosis-v1.yaml): not persisted (no spec.persistence)"
    ]


def test_v1_staging_keys_schemas_and_reserved_words() -> None:
    model = load_project(V1_STAGING)
    assert [e.name for e in model.entities] == ["LoadNote", "StagingOrder", "StagingOrderLine"]
    order = model.entity("StagingOrder")
    assert (order.schema, order.table, order.qualified_table) == ("staging", "orders", "staging.orders")
    # constraints.primaryKey: the loader writes the key, the database does not generate it.
    assert order.id_column == "orderNumber"
    assert order.columns[0] == Column(
        "orderNumber",
        "string",
        length=20,
        primary_key=True,
        doc="Business key, written by the loader (not generated by the database)",
    )
    assert "id" not in order.column_names
    assert order.column_names == (
        "orderNumber", "customerName", "totalPrice", "order", "group", "select", "placedAt", "shipDate",
    )  # fmt: skip
    assert order.column("totalPrice").type == "float"  # decimal
    assert (order.column("select").type, order.column("select").nullable) == ("boolean", True)
    assert order.column("customerName").indexed is True
    assert order.column("shipDate").type == "date"
    line = model.entity("StagingOrderLine")
    assert (line.qualified_table, line.id_column, line.parent, line.kind) == (
        "staging.order_lines",
        "key",
        "StagingOrder",
        "derived",
    )
    assert line.column("key") == Column("key", "integer", primary_key=True)
    assert line.column("quantity").type == "integer"  # bigint
    assert line.column("attributes").type == "json"
    assert line.unicity_fields == ("orderNumber", "lineNumber")
    note = model.entity("LoadNote")
    assert (note.id_column, note.column("id").autogenerate, note.doc) == ("id", True, "")
    assert model.skipped == (
        SkippedEntity("StagingBatch", "staging_batch.yaml", "not persisted (spec.persistence.enabled: false)"),
    )


def test_mixed_folder_reads_both_formats_side_by_side() -> None:
    model = load_project(NOMNOM / "mixed")
    assert [e.name for e in model.entities] == [
        "Customer", "Order", "OrderLineItem", "PatientDiagnosisCore", "Product",
    ]  # fmt: skip
    # Each entity is the same as in its own folder, but for its color: colors are
    # assigned over the whole project, so no two of its entities share one.
    for folder in ("v1", "tpch"):
        for entity in load_project(NOMNOM / folder).entities:
            mixed = model.entity(entity.name)
            assert mixed is not None and replace(mixed, color=entity.color) == entity
    assert len({entity.color for entity in model.entities}) == len(model.entities)
    assert model.entity("OrderLineItem").parent == "Order"
    assert [item.name for item in model.skipped] == ["Diagnosis"]


def test_legacy_entity_extends_a_v1_entity(tmp_path: Path) -> None:
    """nomnom follows ``extends`` into any loaded entity, a converted v1 one included."""
    (tmp_path / "core.yaml").write_text((NOMNOM / "v1" / "patient-diagnosis-core-v1.yaml").read_text())
    (tmp_path / "archived.yaml").write_text(
        "entity:\n"
        "  name: ArchivedDiagnosis\n"
        "  extends: PatientDiagnosisCore\n"
        "  fields:\n"
        "    - name: archivedAt\n"
        "      type: DateTime\n"
        "  persistence:\n"
        "    database:\n"
        "      conformant_table: archive.patient_diagnosis\n"
        "    field_overrides:\n"
        "      - name: archivedAt\n"
        "        type: DateTime\n"
    )
    model = load_project(tmp_path)
    archived, core = model.entity("ArchivedDiagnosis"), model.entity("PatientDiagnosisCore")
    assert archived.qualified_table == "archive.patient_diagnosis"
    assert archived.columns == (*core.columns, Column("archivedAt", "datetime"))
    assert archived.unicity_fields == core.unicity_fields


def test_a_legacy_override_marked_primary_key_keys_the_rows(tmp_path: Path) -> None:
    """As nomnom's Diesel schema: without `persistence.primary_key`, the override marked `primary_key`."""
    text = (TPCH / "customer.yaml").read_text()
    text = text.replace(
        "    primary_key:\n      name: id\n      type: Integer\n      autogenerate: true\n", ""
    ).replace(
        "      - name: customer_key\n        type: String\n",
        "      - name: customer_key\n        primary_key: true\n        type: String\n",
    )
    assert "primary_key: true" in text and "autogenerate" not in text
    (tmp_path / "customer.yaml").write_text(text)
    customer = load_project(tmp_path).entity("Customer")
    assert customer.id_column == "customer_key"
    assert customer.columns[0] == Column(
        "customer_key", "string", length=50, primary_key=True, doc="Business key of the customer"
    )
    assert "id" not in customer.column_names


def test_old_snapshots_without_skipped_entities_still_load(tpch: ProjectModel) -> None:
    snapshot = tpch.to_snapshot()
    assert list(snapshot["skipped"]) == []
    del snapshot["skipped"]
    assert ProjectModel.from_snapshot(snapshot) == tpch
    mixed = load_project(NOMNOM / "mixed")
    assert ProjectModel.from_snapshot(json.loads(json.dumps(mixed.to_snapshot()))) == mixed


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("string", "string"),
        ("integer", "integer"),
        ("bigint", "integer"),
        ("float", "float"),
        ("decimal", "float"),
        ("boolean", "boolean"),
        ("timestamp", "datetime"),
        ("date", "date"),
        ("json", "json"),
        ("uuid", "string"),
        ("array", "json"),
    ],
)
def test_v1_types(raw: str, expected: str) -> None:
    """Every type of ENTITY_SCHEMA_V1.md's type system."""
    assert normalize_type(raw) == (expected, False)


@pytest.mark.parametrize(
    ("derivation", "parent"),
    [
        ("    parent: LoadNote\n", "LoadNote"),
        ("    parents:\n      - name: note\n        entity: LoadNote\n", "LoadNote"),
        ("    parents:\n      - {name: a, entity: LoadNote}\n      - {name: b, entity: StagingOrder}\n", ""),
        ("    repeatedFor: {entity: LoadNote, field: lines, itemName: line}\n", "LoadNote"),
    ],
    ids=["parent", "one-of-parents", "two-parents", "repeated-for"],
)
def test_v1_derivation_gives_the_parent(tmp_path: Path, derivation: str, parent: str) -> None:
    shutil.copytree(V1_STAGING, tmp_path / "entities")
    (tmp_path / "entities" / "child.yaml").write_text(
        "apiVersion: nomnom.io/v1\nkind: Entity\nmetadata: {name: NoteChild}\n"
        "spec:\n  type: derived\n  derivation:\n" + derivation + "  persistence: {table: note_children}\n"
    )
    child = load_project(tmp_path / "entities").entity("NoteChild")
    assert (child.kind, child.parent, child.column_names) == ("derived", parent, ("id",))


def test_a_v1_id_field_is_written_by_the_application(tmp_path: Path) -> None:
    """to_legacy's `autogenerate_conformant_id: false`: nomnom extracts and writes an `id` field itself."""
    text = (V1_STAGING / "load_note.yaml").read_text()
    (tmp_path / "load_note.yaml").write_text(
        text.replace("  fields:\n", "  fields:\n    - name: id\n      type: bigint\n")
    )
    note = load_project(tmp_path).entity("LoadNote")
    assert (note.id_column, note.columns[0]) == ("id", Column("id", "integer", primary_key=True))
