"""Answers written into generated TOML and YAML files, encoded for that format.

Templates never paste an answer between quotes: a quote or a newline in it
would end the string and add keys of its own. These filters return a complete,
quoted string literal that parses back to exactly the answer.
"""

from __future__ import annotations

from typing import Any

_QUOTE_ESCAPES = {'"': '\\"', "\\": "\\\\"}
"""The two characters both formats escape by name inside double quotes."""


def _escape(text: str) -> str:
    out: list[str] = []
    for char in text:
        if char in _QUOTE_ESCAPES:
            out.append(_QUOTE_ESCAPES[char])
        elif char.isprintable():  # False for every control, format, separator (but space) and unassigned character
            out.append(char)
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return "".join(out)


def yaml_string(value: Any) -> str:
    """A YAML double-quoted scalar (``\\u``/``\\U`` escapes are YAML 1.1 and 1.2)."""
    return f'"{_escape(str(value))}"'


def toml_string(value: Any) -> str:
    """A TOML basic string."""
    return f'"{_escape(str(value))}"'


def one_line(value: Any) -> str:
    """Text for a comment: whitespace runs (newlines included) become one space, other controls are dropped."""
    words = "".join(char if char.isprintable() or char.isspace() else "" for char in str(value)).split()
    return " ".join(words)
