"""Change capture never fails the application's writes, whatever the live columns hold.

Issue 8, finding 2 (a `Json` field in a text column holding invalid JSON, a
`DateTime` field in a VARCHAR holding no date) and finding 3 (SQLite: an
infinite REAL, a BLOB). The `Reading` entity (tests/fixtures/loose_types) is
stored in looser columns than its model; every odd value is inserted, updated
and deleted by the application, and each write must succeed and be recorded,
with the value carried as a JSON string when it is no value of the model's type.
On MySQL / MariaDB the triggers are also installed under a non-strict and a
strict sql_mode (a trigger runs with the mode it was created under).
"""

from __future__ import annotations

import math
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymysql
import pytest

from tests.support.capture import create_readings
from tests.support.databases import (
    MARIADB_HOST,
    MARIADB_PORT,
    MARIADB_USER,
    TestDatabase,
    temporary_database,
)
from tests.support.events import events_with_old
from tests.support.projects import run_in_project

DEEP_JSON = "[" * 31 + "]" * 31
"""Valid JSON, one level deeper than MariaDB accepts inside the payload object."""
LONG_TEXT = "é" * 150_000
"""300 kB: within a text value's share of MariaDB's default 16 MB packet for this entity
in an update event, which carries it new and old (16 MB / (6 x 4 text columns x 2) = 349 kB;
see the packet test below)."""
HUGE_TEXT = "é" * 5_000_000
CONTROL = '\x01\x1f"\\ \t\n'
NOT_JSON_NOR_DATES = {
    "label": "x",
    "body": "not json {",
    "seen_at": "yesterday",
    "day": "someday",
    "ratio": 1.5,
    "flag": True,
    "amount": 7,
}
"""Text columns declared Json / DateTime / Date holding what those types cannot parse: carried as written."""
NULLS = dict.fromkeys(("label", "body", "seen_at", "day", "ratio", "flag", "amount"))


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


def _cases(dialect: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(name, row as written, payload expected without the id)."""
    text_kept = dialect == "postgresql"  # PostgreSQL 14 has no JSON check that cannot raise
    cases = [
        ("invalid json and no dates in text columns", NOT_JSON_NOR_DATES, NOT_JSON_NOR_DATES),
        ("nulls", NULLS, NULLS),
        ("no json, but a list's items", {**NULLS, "body": "1, 2"}, {**NULLS, "body": "1, 2"}),
        (
            "valid json and a datetime in text columns",
            {**NULLS, "body": '{"a": [1, 2]}', "seen_at": "2024-02-29 13:45:10", "day": "2024-02-29"},
            {
                **NULLS,
                "body": '{"a": [1, 2]}' if text_kept else {"a": [1, 2]},
                "seen_at": "2024-02-29 13:45:10" if text_kept else "2024-02-29T13:45:10",
                "day": "2024-02-29",
            },
        ),
        (
            "json nested 31 deep",
            {**NULLS, "body": DEEP_JSON},
            {**NULLS, "body": _nested(31) if dialect == "sqlite" else DEEP_JSON},
        ),
        ("a long string", {**NULLS, "body": LONG_TEXT}, {**NULLS, "body": LONG_TEXT}),
        (
            "control characters",
            {**NULLS, "label": CONTROL, "body": CONTROL},
            {**NULLS, "label": CONTROL, "body": CONTROL},
        ),
    ]
    if dialect in ("postgresql", "sqlite"):
        cases.append(("a 10 MB string", {**NULLS, "label": HUGE_TEXT}, {**NULLS, "label": HUGE_TEXT}))
    if dialect == "postgresql":
        cases += [
            ("NaN", {**NULLS, "ratio": math.nan}, {**NULLS, "ratio": "NaN"}),
            ("infinities", {**NULLS, "ratio": math.inf}, {**NULLS, "ratio": "Infinity"}),
            ("minus infinity", {**NULLS, "ratio": -math.inf}, {**NULLS, "ratio": "-Infinity"}),
        ]
    if dialect == "sqlite":
        cases += [
            ("infinities", {**NULLS, "ratio": math.inf, "amount": -math.inf},
             {**NULLS, "ratio": "Infinity", "amount": "-Infinity"}),
            ("blobs", {**NULLS, "label": b"\x00\xff", "body": b"[1]", "flag": b"\x01", "day": b""},
             {**NULLS, "label": "\\x00ff", "body": "\\x5b315d", "flag": "\\x01", "day": "\\x"}),
            # TEXT columns store numbers as text; INTEGER and BOOLEAN keep text that is no number.
            ("values of other types", {**NULLS, "flag": "yes", "amount": "many", "ratio": "x", "day": 20240229},
             {**NULLS, "flag": "yes", "amount": "many", "ratio": "x", "day": "20240229"}),
            ("a boolean stored as 2", {**NULLS, "flag": 2}, {**NULLS, "flag": True}),
            ("json nested 2,000 deep", {**NULLS, "body": "[" * 2000 + "]" * 2000},
             {**NULLS, "body": "[" * 2000 + "]" * 2000}),
        ]  # fmt: skip
    return cases


# (dialect, sql_mode the triggers are re-created and the application writes under;
# None: as the runner installs them, under the server's default mode)
SETUPS = [
    ("postgresql", None),
    ("mariadb", None),
    ("mysql", ""),
    ("mariadb", "TRADITIONAL"),
    ("sqlite", None),
]


@pytest.fixture(params=SETUPS, ids=[f"{dialect}-{mode}" for dialect, mode in SETUPS])
def loose_db(
    request: pytest.FixtureRequest, tmp_path: Path, loose_project: Path
) -> Iterator[tuple[TestDatabase, str | None]]:
    dialect, sql_mode = request.param
    with temporary_database(dialect, tmp_path) as database:
        create_readings(database)
        result = run_in_project(loose_project, "-m", "backend.migrate", env={"DATABASE_URL": database.url})
        assert result.returncode == 0, result.stderr
        if sql_mode is not None:
            _recreate_triggers(loose_project, database, sql_mode)
        yield database, sql_mode


def _recreate_triggers(project: Path, database: TestDatabase, sql_mode: str) -> None:
    script = (project / "migrations" / database.dialect / "002_triggers.sql").read_text()
    command = ["mysql", "-h", MARIADB_HOST, "-P", str(MARIADB_PORT), "-u", MARIADB_USER,
               "--default-character-set=utf8mb4", f"--init-command=SET SESSION sql_mode = '{sql_mode}'",
               database.name]  # fmt: skip
    result = subprocess.run(command, input=script, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    modes = database.query(
        "SELECT DISTINCT SQL_MODE FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()"
    )
    assert modes == [("",)] if sql_mode == "" else ("STRICT_ALL_TABLES" in modes[0][0] and len(modes) == 1)


class Application:
    """The application's own writes, on one connection (MySQL: under the given sql_mode)."""

    def __init__(self, database: TestDatabase, sql_mode: str | None):
        self.database = database
        self.sql_mode = sql_mode

    def run(self, sql: str, params: tuple[Any, ...]) -> int:
        if self.sql_mode is None:
            if sql.startswith("INSERT"):
                return self.database.insert("readings", dict(zip(NULLS, params, strict=True)))
            self.database.execute(sql, params)
            return 0
        connection = pymysql.connect(host=MARIADB_HOST, port=MARIADB_PORT, user=MARIADB_USER, password="",
                                     database=self.database.name, autocommit=True, charset="utf8mb4")  # fmt: skip
        try:
            cursor = connection.cursor()
            cursor.execute("SET SESSION sql_mode = %s", (self.sql_mode,))
            cursor.execute(sql, params)
            return int(cursor.lastrowid)
        finally:
            connection.close()


def test_odd_values_never_fail_a_write_and_are_recorded(loose_db: tuple[TestDatabase, str | None]) -> None:
    database, sql_mode = loose_db
    app = Application(database, sql_mode)
    q, mark = database.quote, database.placeholder
    insert = f"INSERT INTO readings ({', '.join(q(c) for c in NULLS)}) VALUES ({', '.join(mark for _ in NULLS)})"
    others = [column for column in NULLS if column != "label"]
    clear = f"UPDATE readings SET {', '.join(f'{q(c)} = NULL' for c in others)} WHERE id = {mark}"
    for name, row, expected in _cases(database.dialect):
        before = len(database.events())
        row_id = app.run(insert, tuple(row.values()))
        app.run(f"UPDATE readings SET {q('label')} = {mark} WHERE id = {mark}", ("changed", row_id))
        # Every odd value becomes NULL: it is an old value now, encoded as in the payload.
        app.run(clear, (row_id,))
        app.run(f"DELETE FROM readings WHERE id = {mark}", (row_id,))
        events = events_with_old(database)[before:]
        changed = {**expected, "label": "changed"}
        cleared = {**changed, **dict.fromkeys(others)}
        was = {column: expected[column] for column in others if expected[column] is not None}
        kinds = ["insert", "update", *(["update"] if was else []), "delete"]
        assert [event["event_type"] for event in events] == kinds, name
        assert [event["payload"] for event in events] == [
            {"id": row_id, **expected},
            {"id": row_id, **changed},
            *([{"id": row_id, **cleared}] if was else []),
            {"id": row_id, **cleared},
        ], name
        assert events[1]["changed_columns"] == ["label"], name
        assert events[1]["old_values"] == {"label": expected["label"]}, name
        if was:
            assert events[2]["changed_columns"] == [column for column in others if column in was], name
            assert events[2]["old_values"] == was, name
        assert events[0]["old_values"] is None and events[-1]["old_values"] is None, name


def test_a_row_larger_than_the_packet_is_captured_cut(tmp_path: Path, loose_project: Path) -> None:
    """MariaDB: a JSON function whose result exceeds max_allowed_packet fails the statement."""
    with temporary_database("mariadb", tmp_path) as database:
        create_readings(database)
        result = run_in_project(loose_project, "-m", "backend.migrate", env={"DATABASE_URL": database.url})
        assert result.returncode == 0, result.stderr
        (packet,) = database.query("SELECT @@max_allowed_packet")[0]
        size = int(packet) * 3 // 5  # each fits a packet, the two together do not
        database.execute("INSERT INTO readings (amount) VALUES (1)")
        database.execute(f"UPDATE readings SET label = REPEAT('a', {size}), body = REPEAT('b', {size})")
        # Four values of 3/5 of a packet, new and old: each cut, the row still readable.
        database.execute(f"UPDATE readings SET label = REPEAT('c', {size}), body = REPEAT('d', {size})")
        database.execute("DELETE FROM readings")
        events = events_with_old(database)
        assert [event["event_type"] for event in events] == ["insert", "update", "update", "delete"]

        def cut(value: str, letter: str) -> bool:
            return value.endswith("...[truncated]") and value.startswith(letter * 1000) and len(value) < size

        for event, letters in zip(events[1:], ("ab", "cd", "cd"), strict=True):
            assert cut(event["payload"]["label"], letters[0]) and cut(event["payload"]["body"], letters[1])
            assert event["payload"]["amount"] == 1
        assert events[1]["old_values"] == {"label": None, "body": None}
        assert cut(events[2]["old_values"]["label"], "a") and cut(events[2]["old_values"]["body"], "b")
        assert set(events[2]["old_values"]) == {"label", "body"}
        (row_bytes,) = database.query("SELECT LENGTH(payload) + LENGTH(old_values) FROM db_events WHERE id = %s",
                                      (events[2]["id"],))[0]  # fmt: skip
        assert int(row_bytes) < int(packet)
