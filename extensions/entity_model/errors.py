"""The one error type that bad input produces, and how it quotes what it found."""

from __future__ import annotations

from pathlib import Path
from typing import Any

EXCERPT_LENGTH = 60
"""Characters of a value from a file that an error message may quote."""

MAX_MESSAGE_LENGTH = 500
MAX_KEY_LENGTH = 200
"""Backstops: no message quotes more of a file than this, whatever a caller passes in."""


def excerpt(value: Any) -> str:
    """``repr`` of a value read from a file, cut short: errors point at input, they never reprint it."""
    if isinstance(value, str):
        if len(value) <= EXCERPT_LENGTH:
            return repr(value)
        return f"{value[:EXCERPT_LENGTH]!r}… ({len(value)} characters)"
    text = repr(value)
    return text if len(text) <= EXCERPT_LENGTH else f"{text[:EXCERPT_LENGTH]}…"


class ModelError(Exception):
    """Bad input: names the file, the key inside it, and what is wrong.

    Every problem in the entity YAML, in ``dashboard.yaml`` or in an answer is
    reported as exactly one of these, so callers can print ``str(error)`` and
    stop without a traceback.
    """

    def __init__(self, message: str, *, file: Path | str | None = None, key: str | None = None):
        if len(message) > MAX_MESSAGE_LENGTH:
            message = f"{message[: MAX_MESSAGE_LENGTH - 1]}…"
        if key is not None and len(key) > MAX_KEY_LENGTH:
            key = f"{key[: MAX_KEY_LENGTH - 1]}…"
        self.message = message
        self.file = str(file) if file is not None else None
        self.key = key
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.file, self.key) if part)
        return f"{where}: {self.message}" if where else self.message
