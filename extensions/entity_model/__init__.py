"""Entity ingestion: nomnom entity YAML and ``dashboard.yaml`` to one normalized model.

Depends only on the standard library and PyYAML, so it runs inside Copier's own
interpreter (as a Jinja extension and as an update migration).
"""

from .errors import ModelError
from .loader import load_project, resolve_entities_dir
from .model import (
    DIALECTS,
    EVENT_TYPES,
    Column,
    Dialect,
    Entity,
    EventType,
    Features,
    ProjectModel,
    Settings,
)

__all__ = [
    "DIALECTS",
    "EVENT_TYPES",
    "Column",
    "Dialect",
    "Entity",
    "EventType",
    "Features",
    "ModelError",
    "ProjectModel",
    "Settings",
    "load_project",
    "resolve_entities_dir",
]
