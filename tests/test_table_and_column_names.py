"""How the model names tables and columns in SQL: ``schema.table`` and dashboard.yaml's ``column_names``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from extensions.entity_model import ModelError, load_project
from extensions.entity_model.identifiers import spelled, split_table
from tests.support.paths import TPCH


@pytest.mark.parametrize(
    ("name", "snake"),
    [
        ("patientId", "patient_id"),
        ("HTTPCode", "http_code"),
        ("customerID", "customer_id"),
        ("icd10Code", "icd_10_code"),
        ("address2", "address_2"),
        ("order_key", "order_key"),
        ("ID", "id"),
    ],
)
def test_snake_case_splits_words_as_nomnoms_to_snake_case(name: str, snake: str) -> None:
    assert spelled(name, "snake_case") == snake
    assert spelled(name, "lower_case") == name.lower()
    assert spelled(name, "as_written") == name


def test_split_table() -> None:
    assert split_table("staging.orders") == ("staging", "orders")
    assert split_table("orders") == ("", "orders")
    for bad, fragment in [
        ("a.b.c", "more than one dot"),
        ("staging.", "not a safe SQL identifier"),
        (".orders", "not a safe SQL identifier"),
        ("sta ging.orders", "not a safe SQL identifier"),
    ]:
        with pytest.raises(ValueError, match=fragment):
            split_table(bad)


@pytest.fixture
def entities(tmp_path: Path) -> Path:
    folder = tmp_path / "entities"
    shutil.copytree(TPCH, folder)
    return folder


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_a_schema_qualified_table_keeps_its_schema(entities: Path) -> None:
    _edit(entities / "order.yaml", "conformant_table: orders", "conformant_table: staging.orders")
    order = load_project(entities).entity("Order")
    assert (order.schema, order.table, order.qualified_table) == ("staging", "orders", "staging.orders")
    assert load_project(entities).entity("Customer").schema == ""


def test_one_table_in_two_schemas_is_two_tables_but_not_twice_in_one(entities: Path) -> None:
    _edit(entities / "order.yaml", "conformant_table: orders", "conformant_table: staging.customers")
    assert load_project(entities).entity("Order").qualified_table == "staging.customers"
    _edit(entities / "customer.yaml", "conformant_table: customers", "conformant_table: Staging.Customers")
    clash = r"'staging\.customers' of entity Order differs from table 'Staging\.Customers'"
    with pytest.raises(ModelError, match=clash):
        load_project(entities)


def test_a_bad_qualified_table_names_file_key_and_part(entities: Path) -> None:
    _edit(entities / "order.yaml", "conformant_table: orders", "conformant_table: staging.1orders")
    with pytest.raises(ModelError) as error:
        load_project(entities)
    assert "order.yaml" in str(error.value)
    assert "conformant_table" in str(error.value)
    assert "'1orders' is not a safe SQL identifier" in str(error.value)


def test_column_names_sets_the_sql_spelling_project_wide_and_per_entity(entities: Path) -> None:
    config = entities / "dashboard.yaml"
    _edit(config, "dashboard:\n", "dashboard:\n  column_names: lower_case\n")
    _edit(config, "    - name: Order\n", "    - name: Order\n      column_names: as_written\n")
    model = load_project(entities)
    # TPC-H's names are already lower case: nothing differs, nothing is recorded.
    assert all(column.sql_name == "" for entity in model.entities for column in entity.columns)

    for path in [*entities.glob("order*.yaml"), config]:
        path.write_text(path.read_text().replace("order_key", "orderKey"))
    model = load_project(entities)
    assert model.entity("Order").column("orderKey").sql == "orderKey"
    assert model.entity("Order").column("orderKey").sql_name == ""
    assert model.entity("OrderLineItem").column("orderKey").sql == "orderkey"
    assert model.entity("OrderLineItem").column("orderKey").sql_name == "orderkey"


def test_column_names_that_spell_two_fields_alike_is_an_error(entities: Path) -> None:
    text = (entities / "order.yaml").read_text()
    (entities / "order.yaml").write_text(text.replace("order_status", "orderStatus").replace("clerk", "order_Status"))
    (entities / "dashboard.yaml").write_text(
        (entities / "dashboard.yaml").read_text().replace("order_status", "comment")
    )
    _edit(entities / "dashboard.yaml", "dashboard:\n", "dashboard:\n  column_names: snake_case\n")
    with pytest.raises(ModelError, match="spells fields 'orderStatus' and 'order_Status' of entity Order both as"):
        load_project(entities)


def test_an_unknown_column_names_style_is_named(entities: Path) -> None:
    _edit(entities / "dashboard.yaml", "dashboard:\n", "dashboard:\n  column_names: camel\n")
    with pytest.raises(ModelError, match=r"dashboard.column_names: unknown column_names 'camel'"):
        load_project(entities)
