"""Names of our objects for schema-qualified tables, and the spelling rules the runner shares with the model."""

from __future__ import annotations

import pytest
from backend.capture.runner import EVENTS_DATABASE_PLACEHOLDER as RUNNER_PLACEHOLDER
from backend.capture.schema import SPELLINGS
from backend.model import parse_model

from extensions.entity_model import load_project
from extensions.entity_model.answers import runtime_model
from extensions.entity_model.identifiers import COLUMN_NAME_STYLES, MAX_IDENTIFIER_LENGTH, owned_name, spelled
from extensions.entity_model.sql import EVENTS_DATABASE_PLACEHOLDER
from tests.support.paths import FIXTURES


def test_a_qualified_table_gets_its_own_names_and_bare_tables_keep_theirs() -> None:
    assert owned_name("orders", "insert") == "dashboard_orders_insert"
    qualified = owned_name("orders", "insert", "staging")
    assert qualified.startswith("dashboard_staging_orders_") and qualified.endswith("_insert")
    others = {
        owned_name("orders", "insert"),
        owned_name("staging_orders", "insert"),
        owned_name("orders", "insert", "s2"),
    }
    assert qualified not in others and len(others) == 3
    long = owned_name("t" * 63, "capture", "s" * 63)
    assert len(long) <= MAX_IDENTIFIER_LENGTH
    assert long != owned_name("t" * 63, "capture", "s" * 62 + "x")


@pytest.mark.parametrize(
    "name", ["facilityId", "HTTPCode", "patient2Id", "already_snake", "ABC", "x", "orderCode", "v2Field"]
)
def test_spellings_are_spelled_by_the_model_alone(name: str) -> None:
    assert set(SPELLINGS) == set(COLUMN_NAME_STYLES)
    assert {spelled(name, style) for style in COLUMN_NAME_STYLES} >= {name, name.lower()}


def test_the_runner_reads_every_spelling_from_the_generated_model() -> None:
    """The runner recognizes a table's other spelling of a field without spelling logic of its own."""
    project = load_project(FIXTURES / "v1_staging")
    backend_model = parse_model(runtime_model(project, "postgresql", 500))
    for entity in project.entities:
        runtime = backend_model.entity(entity.name)
        assert runtime is not None
        for column, runtime_column in zip(entity.columns, runtime.columns, strict=True):
            expected = {style: spelled(column.name, style) for style in COLUMN_NAME_STYLES}
            assert dict(runtime_column.spellings) == expected


def test_the_runner_fills_the_placeholder_the_triggers_have() -> None:
    assert RUNNER_PLACEHOLDER == EVENTS_DATABASE_PLACEHOLDER
