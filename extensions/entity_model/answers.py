"""Checks of the Copier answers, and the model as the generated backend reads it."""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

from .dashboard_config import POLL_INTERVAL_RANGE
from .identifiers import COLUMN_NAME_STYLES, OBJECT_PREFIX, spelled
from .model import DIALECTS, Dialect, ProjectModel, Settings
from .services import database_url


def slug(name: str) -> str:
    """A package-safe form of the project name: ``Sales Dashboard`` -> ``sales-dashboard``."""
    return re.sub(r"[^a-z0-9]+", "-", str(name).lower()).strip("-") or "dashboard"


# Bidirectional overrides and isolates reorder how text is shown ("Trojan Source").
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _control_character(text: str) -> str | None:
    """The first character of ``text`` that would break a line or hide text in a generated file."""
    for char in text:
        if unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp") or char in _BIDI_CONTROLS:
            return char
    return None


def _project_name(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty name"
    control = _control_character(value)
    if control is not None:
        return f"must be one line of text without control or text-direction characters (found U+{ord(control):04X})"
    if not re.search(r"[A-Za-z0-9]", value):
        return "must contain at least one letter or digit"
    return None


def _database(value: Any) -> str | None:
    if not is_explicit(value):
        return None
    return None if value in DIALECTS else f"must be one of {', '.join(DIALECTS)} (or empty: dashboard.yaml's)"


def _poll_interval(value: Any) -> str | None:
    low, high = POLL_INTERVAL_RANGE
    if not is_explicit(value):
        return None
    text = str(value).strip()
    # ASCII digits only: int() would also take "5_00", "+500" or Arabic-Indic digits.
    if not re.fullmatch(r"[0-9]{1,6}", text):
        return f"must be a whole number of milliseconds between {low} and {high}"
    return None if low <= int(text) <= high else f"must be between {low} and {high} milliseconds"


ENTITIES_DIR_PUNCTUATION = " _-./~"
"""Besides letters and digits, what ``entities_dir`` may hold. It ends up in the regenerate
workflow's ``paths:`` filter, where ``* ? [ ] { } ( ) ! + @`` are glob syntax, and in files
where quotes, ``$``, backticks, backslashes and control characters could end a string or
start an expansion."""


def _entities_dir(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "must name the folder of entity YAML files"
    for char in value:
        if not (char.isalnum() or char in ENTITIES_DIR_PUNCTUATION):
            shown = repr(char) if char.isprintable() else f"U+{ord(char):04X}"
            return (
                f"may hold only letters, digits, spaces and {' '.join(ENTITIES_DIR_PUNCTUATION.strip())} "
                f"(found {shown}); rename the folder or link it under a plain name"
            )
    return None


def entities_glob(entities_dir: str) -> str | None:
    """The ``paths:`` filter of the regenerate workflow, or None for a folder outside the repository."""
    path = posixpath.normpath(entities_dir.strip())
    if path.startswith(("/", "~")) or path == ".." or path.startswith("../"):
        return None
    return "**" if path == "." else f"{path}/**"


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


# Questions whose empty answer means "dashboard.yaml's value": the recorded answer stays
# empty, so every `copier update` takes dashboard.yaml's current value; an answer given
# explicitly (`--data`, or typed) is recorded and wins. Question -> dashboard.yaml key.
FOLLOWS_DASHBOARD_YAML: dict[str, str] = {
    "database": "database.type",
    "poll_interval_ms": "polling.interval_ms",
}

ANSWERS_FORMAT = 2
"""Recorded as the ``answers_format`` answer. Projects generated before it (no such answer)
recorded dashboard.yaml's values as if they were answers; the update migration turns
those back into empty answers (see :func:`follow_dashboard_yaml`)."""


def is_explicit(value: Any) -> bool:
    """Whether an answer was given, rather than left empty to follow dashboard.yaml."""
    return value is not None and str(value).strip() != ""


def dashboard_value(question: str, settings: Mapping[str, Any]) -> str:
    """What dashboard.yaml (the snapshot's ``settings``) says for a question in :data:`FOLLOWS_DASHBOARD_YAML`."""
    if question == "database":
        return str(settings.get("database") or "postgresql")
    if question == "poll_interval_ms":
        return str(settings.get("poll_interval_ms", Settings.poll_interval_ms))
    raise KeyError(question)


def effective_answer(question: str, value: Any, settings: Mapping[str, Any]) -> str:
    """The answer the templates use: an explicit one, else dashboard.yaml's value."""
    return str(value).strip() if is_explicit(value) else dashboard_value(question, settings)


def follow_dashboard_yaml(answers: dict[str, Any]) -> None:
    """Convert the answers of a project generated before :data:`ANSWERS_FORMAT` (in place).

    Those projects recorded dashboard.yaml's value as the answer, so later edits of
    dashboard.yaml were ignored. An answer equal to what its snapshot's dashboard.yaml
    said becomes empty (follow dashboard.yaml); a different one was given on purpose
    and stays. Call it with the answers before their snapshot is refreshed.
    """
    if "answers_format" in answers:
        return
    snapshot = answers.get("entities_snapshot")
    settings = snapshot.get("settings") if isinstance(snapshot, dict) else None
    if isinstance(settings, dict):
        for question in FOLLOWS_DASHBOARD_YAML:
            value = answers.get(question)
            if is_explicit(value) and str(value).strip() == dashboard_value(question, settings):
                answers[question] = ""
    answers["answers_format"] = ANSWERS_FORMAT


def default_database_url(database: Dialect) -> str:
    """DATABASE_URL when none is set: the compose service of the chosen database, or a local SQLite file.

    Without a password: the bundled database's comes from the project's ``.env``, and CI's fixed
    one must not become a default that every generated project knows.
    """
    return database_url(database, "localhost", password=False)


def model_version(model: ProjectModel) -> str:
    """A stable hash of the entity model (its entities, in order), served by ``/api/entities``.

    Tells a client or a tool which model a backend runs without comparing the whole model.
    The page does not need it: it reads the model at run time, and what it compares to
    know it must be rebuilt is the hash of its own sources (``frontend_version``).
    """
    entities = model.to_snapshot()["entities"]
    canonical = json.dumps(entities, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def runtime_model(model: ProjectModel, database: Dialect, poll_interval_ms: Any) -> dict[str, Any]:
    """The snapshot, the answers the backend needs, and the names of our triggers."""
    data = model.to_snapshot()
    data["model_version"] = model_version(model)
    data["settings"]["poll_interval_ms"] = int(str(poll_interval_ms))
    data["settings"]["database"] = database
    data["settings"]["default_database_url"] = default_database_url(database)
    data["settings"]["object_prefix"] = OBJECT_PREFIX
    for entity, entity_data in zip(model.entities, data["entities"], strict=True):
        entity_data["triggers"] = {event: entity.trigger_name(event) for event in entity.event_types}
        entity_data["function"] = entity.function_name
        for column_data in entity_data["columns"]:
            # The runner recognizes a table that spells a field another way (capture/schema.py).
            column_data["spellings"] = {style: spelled(column_data["name"], style) for style in COLUMN_NAME_STYLES}
    return data
