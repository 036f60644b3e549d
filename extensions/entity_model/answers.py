"""Checks of the Copier answers, and the model as the generated backend reads it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .dashboard_config import POLL_INTERVAL_RANGE
from .model import DIALECTS, ProjectModel


def slug(name: str) -> str:
    """A package-safe form of the project name: ``Sales Dashboard`` -> ``sales-dashboard``."""
    return re.sub(r"[^a-z0-9]+", "-", str(name).lower()).strip("-") or "dashboard"


def _project_name(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty name"
    if not re.search(r"[A-Za-z0-9]", value):
        return "must contain at least one letter or digit"
    return None


def _database(value: Any) -> str | None:
    return None if value in DIALECTS else f"must be one of {', '.join(DIALECTS)}"


def _poll_interval(value: Any) -> str | None:
    low, high = POLL_INTERVAL_RANGE
    try:
        number = int(str(value).strip())
    except ValueError:
        return f"must be a whole number of milliseconds between {low} and {high}"
    return None if low <= number <= high else f"must be between {low} and {high} milliseconds"


def _entities_dir(value: Any) -> str | None:
    return None if isinstance(value, str) and value.strip() else "must name the folder of entity YAML files"


_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "project_name": _project_name,
    "entities_dir": _entities_dir,
    "database": _database,
    "poll_interval_ms": _poll_interval,
}


def answer_problem(question: str, value: Any) -> str | None:
    """What is wrong with one answer, or None."""
    check = _CHECKS.get(question)
    return check(value) if check else None


DEFAULT_DATABASE_URLS = {
    "postgresql": "postgresql://dashboard:dashboard@localhost:5432/dashboard",
    "mysql": "mysql://dashboard:dashboard@localhost:3306/dashboard",
    "mariadb": "mariadb://dashboard:dashboard@localhost:3306/dashboard",
    "sqlite": "sqlite:///dashboard.db",
}
"""DATABASE_URL when none is set: the compose service of the chosen database, or a local SQLite file."""


def runtime_model(model: ProjectModel, database: str, poll_interval_ms: Any) -> dict[str, Any]:
    """The snapshot, the answers the backend needs, and the names of our triggers."""
    data = model.to_snapshot()
    data["settings"]["poll_interval_ms"] = int(str(poll_interval_ms))
    data["settings"]["database"] = database
    data["settings"]["default_database_url"] = DEFAULT_DATABASE_URLS[database]
    for entity, entity_data in zip(model.entities, data["entities"], strict=True):
        entity_data["triggers"] = {event: entity.trigger_name(event) for event in entity.event_types}
        entity_data["function"] = entity.function_name
    return data
