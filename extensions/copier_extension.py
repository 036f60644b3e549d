"""The Jinja extension Copier loads: entity ingestion and SQL filters for the templates.

Loaded by ``copier_template_extensions.TemplateExtensionLoader`` from this file's
path. The :mod:`entity_model` package next to it is imported under a name tied
to its location, so that during ``copier update`` the old and the new template
versions (two checkouts, one process) each render with their own code.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path, PurePath
from types import ModuleType
from typing import TYPE_CHECKING, Any

from copier.errors import UserMessageError
from copier_template_extensions import ContextHook
from jinja2 import Environment
from jinja2.ext import Extension


def _load_model_package() -> ModuleType:
    package_dir = Path(__file__).resolve().parent / "entity_model"
    digest = hashlib.sha256(str(package_dir).encode()).hexdigest()[:16]
    name = f"dashboard_template_entity_model_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name, package_dir / "__init__.py", submodule_search_locations=[str(package_dir)]
    )
    if spec is None or spec.loader is None:
        raise UserMessageError(f"dashboard-template: cannot load {package_dir}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


if TYPE_CHECKING:
    # mypy checks the filters against the package itself; at run time it is
    # loaded under its path-specific name (see the module docstring).
    from .entity_model import answers as _answers
    from .entity_model import encoders as _encoders
    from .entity_model import errors as _errors
    from .entity_model import loader as _loader
    from .entity_model import prometheus as _prometheus
    from .entity_model import services as _services
    from .entity_model import sql as _sql
    from .entity_model.model import Dialect, ProjectModel
else:
    _package = _load_model_package()
    _answers = importlib.import_module(f"{_package.__name__}.answers")
    _encoders = importlib.import_module(f"{_package.__name__}.encoders")
    _errors = importlib.import_module(f"{_package.__name__}.errors")
    _loader = importlib.import_module(f"{_package.__name__}.loader")
    _prometheus = importlib.import_module(f"{_package.__name__}.prometheus")
    _services = importlib.import_module(f"{_package.__name__}.services")
    _sql = importlib.import_module(f"{_package.__name__}.sql")
    _model_module = importlib.import_module(f"{_package.__name__}.model")
    ProjectModel = _model_module.ProjectModel
    Dialect = str


def _user_error(error: Exception | str) -> UserMessageError:
    return UserMessageError(f"dashboard-template: {error}")


def _answer_error(question: str, value: Any, problem: str) -> UserMessageError:
    return UserMessageError(f"dashboard-template: answer {question}={_errors.excerpt(value)}: {problem}")


def entity_snapshot(entities_dir: str, dst_path: PurePath | str) -> str:
    """Default of the ``entities_snapshot`` answer: the YAML folder parsed into the model."""
    # Checked before the folder is read, so a crafted name is refused as a name.
    problem = _answers.answer_problem("entities_dir", entities_dir)
    if problem:
        raise _answer_error("entities_dir", entities_dir, problem)
    folder: Path | None = None
    try:
        folder = _loader.resolve_entities_dir(str(entities_dir), Path(str(dst_path)))
        model = _loader.load_project(folder)
    except _errors.ModelError as error:
        relative = not Path(str(entities_dir).strip()).expanduser().is_absolute()
        if folder is not None and not folder.exists() and relative:
            # `--data entities_dir=examples/x` is read from the new project's folder, not the current one.
            raise _user_error(f"{error} (a relative entities_dir is read from the project's folder)") from None
        raise _user_error(error) from None
    _report_skipped(model, str(dst_path))
    return json.dumps(model.to_snapshot(), ensure_ascii=False)


_reported: set[tuple[str, str]] = set()


def _report_skipped(model: ProjectModel, destination: str) -> None:
    """One stderr line per entity the dashboard leaves out, once per generated project.

    Copier may render this default more than once per ``copier copy``; stderr keeps the
    lines apart from the files Copier lists on stdout. (``copier update`` does not
    render it: the update migration, refresh_snapshot.py, prints the lines then.)
    """
    for item in model.skipped:
        if (destination, item.line) not in _reported:
            _reported.add((destination, item.line))
            print(item.line, file=sys.stderr)


_models_by_snapshot: dict[str, ProjectModel] = {}


def entity_model(snapshot: Any) -> ProjectModel:
    """The typed :class:`ProjectModel` behind an ``entities_snapshot`` answer (parsed once per snapshot)."""
    key = json.dumps(snapshot, sort_keys=True, default=str)
    cached = _models_by_snapshot.get(key)
    if cached is not None:
        return cached
    try:
        model = ProjectModel.from_snapshot(snapshot)
    except _errors.ModelError as error:
        raise _user_error(error) from None
    _models_by_snapshot[key] = model
    return model


def answer_problem(value: Any, question: str, data: Any = None) -> str:
    """Validator text for an interactive answer: empty when the answer is fine.

    Answers given with ``--data`` are left to :func:`check_answers`: Copier turns a
    validator's message for those into a traceback.
    """
    if data is not None and question in data:
        return ""
    return _answers.answer_problem(question, value) or ""


DEFAULT_ENTITIES_DIR = "entities"


def default_entities_dir(dst_path: PurePath | str) -> str:
    """Default of ``entities_dir``: ``entities`` when the project has that folder with entity files, else empty.

    Copier validates a default before it asks (a failure is a traceback), so the
    default must pass :func:`entities_dir_problem`; empty passes, and the snapshot
    reports it in one line when it is kept.
    """
    try:
        _loader.entity_files(_loader.resolve_entities_dir(DEFAULT_ENTITIES_DIR, Path(str(dst_path))))
    except _errors.ModelError:
        return ""
    return DEFAULT_ENTITIES_DIR


def entities_dir_problem(value: Any, dst_path: PurePath | str, data: Any = None) -> str:
    """Validator of ``entities_dir``: besides its spelling, the folder must exist and hold entity files.

    Copier asks again when a validator returns text, so a mistyped folder is asked
    again interactively. Only the folder is checked here (not the YAML inside, which
    the snapshot reports in one line): on ``copier update`` Copier validates the
    recorded answer too and would drop it over a YAML error. An empty answer (the
    default when there is no ``entities`` folder) is left to the snapshot's one line.
    """
    if data is not None and "entities_dir" in data:
        return ""
    if not _answers.is_explicit(value):
        return ""
    problem = _answers.answer_problem("entities_dir", value)
    if problem:
        return problem
    try:
        _loader.entity_files(_loader.resolve_entities_dir(str(value), Path(str(dst_path))))
    except _errors.ModelError as error:
        return f"{error}; give the folder of the entity YAML files (absolute, or relative to the project)"
    return ""


def check_answers(answers: dict[str, Any]) -> bool:
    """Validate every answer at once; the one clear error Copier prints on bad ``--data``."""
    for question, value in answers.items():
        problem = _answers.answer_problem(question, value)
        if problem:
            raise _answer_error(question, value, problem)
    return True


def runtime_json(model: ProjectModel, database: Dialect, poll_interval_ms: Any) -> str:
    """The model as the generated backend reads it (``backend/generated/entities.json``)."""
    return json.dumps(_answers.runtime_model(model, database, poll_interval_ms), indent=2, ensure_ascii=False) + "\n"


class ModelContext(ContextHook):
    """Every template sees the typed entity model as ``model`` (built once per snapshot).

    And the effective ``database`` and ``poll_interval_ms``: an empty answer (the
    default) means "dashboard.yaml's value", so templates see that value, while the
    recorded answer stays empty and the next ``copier update`` reads dashboard.yaml
    again. ``explicit_answers`` holds the answers given explicitly (they win):
    question -> ``{"value", "dashboard_key"}``; ``followed_answers`` the others:
    question -> dashboard.yaml key.
    """

    def hook(self, context: dict[str, Any]) -> None:
        snapshot = context.get("entities_snapshot")
        # Absent while Copier renders the questions that come before it.
        if isinstance(snapshot, dict) and "model" not in context:
            context["model"] = entity_model(snapshot)
            settings = snapshot.get("settings") or {}
            explicit: dict[str, dict[str, str]] = {}
            followed: dict[str, str] = {}
            for question, dashboard_key in _answers.FOLLOWS_DASHBOARD_YAML.items():
                if question in context:
                    value = context[question]
                    if _answers.is_explicit(value):
                        explicit[question] = {"value": str(value).strip(), "dashboard_key": dashboard_key}
                    else:
                        followed[question] = dashboard_key
                    context[question] = _answers.effective_answer(question, value, settings)
            context["explicit_answers"] = explicit
            context["followed_answers"] = followed


class DashboardExtension(Extension):
    """Registers the filters the template files use."""

    def __init__(self, environment: Environment):
        super().__init__(environment)
        environment.filters.update(
            {
                "entity_snapshot": entity_snapshot,
                "entity_model": entity_model,
                "answer_problem": answer_problem,
                "entities_dir_problem": entities_dir_problem,
                "default_entities_dir": default_entities_dir,
                "check_answers": check_answers,
                "runtime_json": runtime_json,
                "prometheus_alerts": _prometheus.alerts_yaml,
                "slug": _answers.slug,
                # Every answer written into a TOML or YAML file goes through one of these.
                "toml_str": _encoders.toml_string,
                "yaml_str": _encoders.yaml_string,
                "one_line": _encoders.one_line,
                "entities_glob": _answers.entities_glob,
                # JSON for TypeScript sources: unlike Jinja's `tojson`, keeps non-ASCII (icons) readable.
                "ts_json": lambda value: json.dumps(value, ensure_ascii=False),
                "default_database_url": _answers.default_database_url,
                # The bundled database server of a dialect (None for SQLite) and its URLs.
                "database_server": _services.SERVERS.get,
                "database_url": _services.database_url,
                "compose_database_url": _services.compose_database_url,
                **_sql.FILTERS,
            }
        )
