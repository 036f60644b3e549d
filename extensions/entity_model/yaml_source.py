"""Reading YAML files into typed, path-aware nodes.

Every value read from a file keeps the file name and the key path that led to
it, so a bad value can be reported as ``customer.yaml: entity.fields[2].type``
instead of a Python traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import ModelError, excerpt


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys (PyYAML silently keeps the last)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {excerpt(key)}", mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml_file(path: Path) -> Any:
    """Parse one YAML file, turning every failure into a :class:`ModelError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ModelError(f"not UTF-8 text ({error.reason} at byte {error.start})", file=path) from None
    except OSError as error:
        raise ModelError(f"cannot read file: {error.strerror}", file=path) from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        problem = error.problem or error.context or "unparsable"
        raise ModelError(f"invalid YAML at {where}: {problem}", file=path) from None
    except yaml.YAMLError as error:
        raise ModelError(f"invalid YAML: {' '.join(str(error).split())}", file=path) from None


@dataclass(frozen=True)
class Node:
    """A value from a YAML file together with where it came from.

    A mapping or list built in code may hold Nodes as its values (see
    :mod:`.v1`): such a value keeps the place it was read from, so a
    converted entity reports its errors at the keys its author wrote.
    """

    value: Any
    file: Path
    path: str

    def error(self, message: str) -> ModelError:
        return ModelError(message, file=self.file, key=self.path or None)

    def _child_path(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else key

    # -- shape checks -------------------------------------------------------

    def require_mapping(self) -> dict[str, Any]:
        if not isinstance(self.value, dict):
            raise self.error(f"must be a mapping, got {_describe(self.value)}")
        return self.value

    def reject_unknown_keys(self, allowed: set[str]) -> None:
        unknown = sorted(str(key) for key in self.require_mapping() if key not in allowed)
        if unknown:
            node = self.child(unknown[0])
            raise node.error(f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def has(self, key: str) -> bool:
        return self.child(key).value is not None

    def child(self, key: str) -> Node:
        value = self.require_mapping().get(key)
        return value if isinstance(value, Node) else Node(value, self.file, self._child_path(key))

    def items(self) -> Iterator[Node]:
        if self.value is None:
            return
        if not isinstance(self.value, list):
            raise self.error(f"must be a list, got {_describe(self.value)}")
        for index, item in enumerate(self.value):
            yield item if isinstance(item, Node) else Node(item, self.file, self._child_path(index))

    # -- typed access -------------------------------------------------------

    def as_str(self) -> str:
        if isinstance(self.value, bool) or not isinstance(self.value, (str, int, float)):
            raise self.error(f"must be a string, got {_describe(self.value)}")
        text = str(self.value).strip()
        if not text:
            raise self.error("must not be empty")
        return text

    def as_bool(self) -> bool:
        if not isinstance(self.value, bool):
            raise self.error(f"must be true or false, got {_describe(self.value)}")
        return self.value

    def as_int(self, minimum: int, maximum: int) -> int:
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise self.error(f"must be a whole number, got {_describe(self.value)}")
        if not minimum <= self.value <= maximum:
            raise self.error(f"must be between {minimum} and {maximum}, got {self.value}")
        return self.value

    def bool_or(self, key: str, default: bool) -> bool:
        return self.child(key).as_bool() if self.has(key) else default

    def int_or(self, key: str, default: int, minimum: int, maximum: int) -> int:
        return self.child(key).as_int(minimum, maximum) if self.has(key) else default

    def required_str(self, key: str) -> str:
        if not self.has(key):
            raise self.child(key).error("is required")
        return self.child(key).as_str()


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {excerpt(value)}"
