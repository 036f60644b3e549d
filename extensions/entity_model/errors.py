"""The one error type that bad input produces."""

from __future__ import annotations

from pathlib import Path


class ModelError(Exception):
    """Bad input: names the file, the key inside it, and what is wrong.

    Every problem in the entity YAML, in ``dashboard.yaml`` or in an answer is
    reported as exactly one of these, so callers can print ``str(error)`` and
    stop without a traceback.
    """

    def __init__(self, message: str, *, file: Path | str | None = None, key: str | None = None):
        self.message = message
        self.file = str(file) if file is not None else None
        self.key = key
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.file, self.key) if part)
        return f"{where}: {self.message}" if where else self.message
