"""Splitting a migration file into statements the drivers can execute one by one.

The files are plain SQL that also runs through ``psql -f``, ``mysql < file`` and
``sqlite3 db < file``: no ``DELIMITER`` lines. A statement ends at a ``;``
outside quotes, comments and PostgreSQL dollar quotes. SQLite trigger bodies
(``BEGIN ... END;``) contain semicolons, so for SQLite the standard library's
own completeness check decides.
"""

from __future__ import annotations

import re
import sqlite3

from ..db.dialects import Family

_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


def split_statements(script: str, family: Family) -> list[str]:
    # MySQL also reads `#` as a comment and `\` as an escape inside quotes.
    statements = _split_sqlite(script) if family == "sqlite" else _split_generic(script, mysql=family == "mysql")
    return [statement for statement in statements if _has_code(statement)]


def _split_sqlite(script: str) -> list[str]:
    statements: list[str] = []
    current = ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return statements


def _split_generic(script: str, *, mysql: bool) -> list[str]:
    statements: list[str] = []
    start = 0
    index = 0
    length = len(script)
    while index < length:
        char = script[index]
        if char in ("'", '"', "`"):
            index = _skip_quoted(script, index, char, backslash_escapes=mysql)
            continue
        if script.startswith("--", index) or (mysql and char == "#"):
            newline = script.find("\n", index)
            index = length if newline == -1 else newline + 1
            continue
        if script.startswith("/*", index):
            end = script.find("*/", index + 2)
            index = length if end == -1 else end + 2
            continue
        if char == "$":
            match = _DOLLAR_TAG.match(script, index)
            if match:
                end = script.find(match.group(0), match.end())
                index = length if end == -1 else end + len(match.group(0))
                continue
        if char == ";":
            statements.append(script[start:index].strip())
            start = index + 1
        index += 1
    tail = script[start:].strip()
    if tail:
        statements.append(tail)
    return statements


def _skip_quoted(script: str, index: int, quote: str, *, backslash_escapes: bool) -> int:
    """Index just past the quoted text starting at ``index`` (doubled quotes and backslashes escape)."""
    position = index + 1
    while position < len(script):
        char = script[position]
        if char == "\\" and backslash_escapes:
            position += 2
            continue
        if char == quote:
            if script.startswith(quote * 2, position):
                position += 2
                continue
            return position + 1
        position += 1
    return position


def _has_code(statement: str) -> bool:
    """False for chunks made only of comments and blank lines."""
    without_block = re.sub(r"/\*.*?\*/", "", statement, flags=re.DOTALL)
    lines = (line.strip() for line in without_block.splitlines())
    return any(line and not line.startswith("--") for line in lines)
