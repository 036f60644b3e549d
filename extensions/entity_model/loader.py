"""From a folder of YAML files to a :class:`~.model.ProjectModel`."""

from __future__ import annotations

from pathlib import Path

from .alerts import parse_alerts
from .dashboard_config import CONFIG_FILE_NAMES, apply_dashboard_config, read_dashboard_config
from .entities import read_entity_file, resolve_entities
from .errors import ModelError
from .folder import require_inside
from .model import ProjectModel, SkippedEntity

ENTITY_SUFFIXES = (".yaml", ".yml")


def resolve_entities_dir(entities_dir: str, base: Path) -> Path:
    """``entities_dir`` as given in the answers: absolute, or relative to the project."""
    if not entities_dir or not entities_dir.strip():
        raise ModelError("entities_dir is empty: give the folder that holds the entity YAML files")
    path = Path(entities_dir.strip()).expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def entity_files(entities_dir: Path) -> list[Path]:
    if not entities_dir.exists():
        raise ModelError(f"entities folder {str(entities_dir)!r} does not exist")
    if not entities_dir.is_dir():
        raise ModelError(f"entities folder {str(entities_dir)!r} is not a folder")
    candidates = sorted(path for path in entities_dir.iterdir() if path.suffix in ENTITY_SUFFIXES)
    for path in candidates:
        require_inside(path, entities_dir)
    files = [path for path in candidates if path.is_file() and path.name not in CONFIG_FILE_NAMES]
    if not files:
        raise ModelError(f"entities folder {str(entities_dir)!r} holds no .yaml or .yml entity files")
    return files


def load_project(entities_dir: Path) -> ProjectModel:
    """Parse, validate and normalize every entity file and ``dashboard.yaml``.

    Raises :class:`ModelError` naming the file and key of the first problem.
    Entities that get no place in the dashboard are kept in ``skipped`` with the reason.
    """
    raw = [read_entity_file(path) for path in entity_files(entities_dir)]
    resolved, skipped = resolve_entities(raw)
    config = read_dashboard_config(entities_dir)
    entities = apply_dashboard_config(resolved, config)
    kept = {entity.name for entity in entities}
    skipped += [
        SkippedEntity(entity.name, entity.source, EXCLUDED_REFERENCE) for entity in resolved if entity.name not in kept
    ]
    skipped.sort(key=lambda item: (item.file, item.name))
    if not entities:
        reasons = "; ".join(f"{item.name} ({item.file}): {item.reason}" for item in skipped)
        raise ModelError(
            f"no persistent entity in {str(entities_dir)!r}: an entity needs a table "
            "(`persistence.database.conformant_table`, or `spec.persistence.table` in Entity Schema v1) "
            f"and must not be abstract (skipped: {reasons})"
        )
    alerts = parse_alerts(config.alerts, entities) if config.alerts is not None else ()
    return ProjectModel(entities=tuple(entities), settings=config.settings, skipped=tuple(skipped), alerts=alerts)


EXCLUDED_REFERENCE = "reference entity, excluded by `include_reference: false` in dashboard.yaml"
