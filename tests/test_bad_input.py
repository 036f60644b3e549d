"""Bad input stops generation with one clear message naming the file and the key."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import shutil
import struct
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from extensions.entity_model import ModelError, load_project
from tests.support.paths import FIXTURES, TPCH
from tests.support.projects import copier_cli

Mutation = Callable[[Path], None]


def _replace(file: str, old: str, new: str) -> Mutation:
    def mutate(folder: Path) -> None:
        path = folder / file
        text = path.read_text()
        assert old in text, f"{old!r} not in {file}"
        path.write_text(text.replace(old, new, 1))

    return mutate


def _write(file: str, text: str) -> Mutation:
    def mutate(folder: Path) -> None:
        (folder / file).write_text(text)

    return mutate


def _both(*mutations: Mutation) -> Mutation:
    def mutate(folder: Path) -> None:
        for mutation in mutations:
            mutation(folder)

    return mutate


def _append(file: str, text: str) -> Mutation:
    def mutate(folder: Path) -> None:
        path = folder / file
        path.write_text(path.read_text() + text)

    return mutate


def _link(name: str, target: str) -> Mutation:
    def mutate(folder: Path) -> None:
        (folder / name).symlink_to(target)

    return mutate


def _remove_all(folder: Path) -> None:
    for path in folder.iterdir():
        path.unlink()


# (case id, mutation of a copy of examples/tpch, fragments the message must contain)
CASES: list[tuple[str, Mutation, tuple[str, ...]]] = [
    (
        "invalid-yaml",
        _write("broken.yaml", "entity:\n  name: Broken\n  fields: [\n"),
        ("broken.yaml", "invalid YAML at line 4"),
    ),
    (
        "duplicate-yaml-key",
        _replace("order.yaml", '  doc: "A customer order"\n', "  doc: a\n  doc: b\n"),
        ("order.yaml", "duplicate key 'doc'"),
    ),
    (
        "missing-conformant-table",
        _replace("order.yaml", "      conformant_table: orders\n", ""),
        ("order.yaml", "entity.persistence.database.conformant_table", "is required"),
    ),
    (
        "missing-id-column",
        _replace("order.yaml", "      conformant_id_column: id\n", ""),
        ("order.yaml", "conformant_id_column", "is required"),
    ),
    (
        "unknown-field-type",
        _replace(
            "order.yaml",
            "      - name: total_price\n        type: Float",
            "      - name: total_price\n        type: Money",
        ),
        ("order.yaml", "entity.persistence.field_overrides[3].type", "unknown field type 'Money'"),
    ),
    (
        "two-entities-one-table",
        _replace("product.yaml", "conformant_table: products", "conformant_table: customers"),
        ("product.yaml", "entity.persistence.database.conformant_table", "'customers'", "Customer", "customer.yaml"),
    ),
    (
        "override-names-no-field",
        _replace(
            "order.yaml",
            "      - name: clerk\n        type: String\n        args: [50]",
            "      - name: clerck\n        type: String\n        args: [50]",
        ),
        ("order.yaml", "entity.persistence.field_overrides[6].name", "'clerck' names no field"),
    ),
    (
        "unsafe-table-name",
        _replace("order.yaml", "conformant_table: orders", 'conformant_table: "orders; DROP TABLE x"'),
        ("order.yaml", "conformant_table", "not a safe SQL identifier"),
    ),
    (
        "unsafe-column-name",
        _replace(
            "customer.yaml",
            "      - name: phone\n        type: String\n        args: [30]",
            "      - name: phone-number\n        type: String\n        args: [30]",
        ),
        ("customer.yaml", "entity.persistence.field_overrides[4].name", "'phone-number' is not a safe SQL identifier"),
    ),
    (
        "too-long-column-name",
        _replace("customer.yaml", "conformant_id_column: id", "conformant_id_column: " + "x" * 64),
        ("customer.yaml", "conformant_id_column", "longer than 63"),
    ),
    ("empty-folder", _remove_all, ("holds no .yaml or .yml entity files",)),
    (
        "symlink-outside-the-folder",
        _link("passwd.yaml", "/etc/passwd"),
        ("passwd.yaml: is a symbolic link to a file outside the entities folder",),
    ),
    (
        "columns-differing-by-case",
        _both(
            _replace("customer.yaml", "  fields:\n", "  fields:\n    - name: Phone\n      type: String\n"),
            _append("customer.yaml", "      - name: Phone\n        type: String\n"),
        ),
        ("customer.yaml", "field_overrides[8].name", "entity Customer", "'Phone'", "'phone'", "only by case"),
    ),
    (
        "entities-differing-by-case",
        _replace("product.yaml", "  name: Product\n", "  name: customer\n"),
        ("product.yaml", "entity.name", "'customer'", "'Customer'", "customer.yaml", "only by case"),
    ),
    (
        "tables-differing-by-case",
        _replace("product.yaml", "conformant_table: products", "conformant_table: Customers"),
        ("product.yaml", "conformant_table", "'Customers'", "'customers'", "Customer", "only by case"),
    ),
    (
        "reserved-events-table",
        _replace("order.yaml", "conformant_table: orders", "conformant_table: db_events"),
        ("order.yaml", "reserved for the dashboard"),
    ),
    (
        "duplicate-entity-name",
        _replace("product.yaml", "  name: Product\n", "  name: Customer\n"),
        ("product.yaml", "'Customer' is also defined in customer.yaml"),
    ),
    (
        "unknown-parent",
        _replace("order.yaml", "  source_type: root\n", "  source_type: root\n  extends: Ghost\n"),
        ("order.yaml", "entity.extends", "unknown entity 'Ghost'"),
    ),
    (
        "unknown-entity-kind",
        _replace("order.yaml", "source_type: root", "source_type: rooted"),
        ("order.yaml", "entity.source_type", "unknown entity type 'rooted'"),
    ),
    (
        "not-an-entity-file",
        _write("nomnom.yaml", "project: tpch\n"),
        ("nomnom.yaml", "not an entity file"),
    ),
    (
        "unicity-field-not-a-column",
        _replace("order.yaml", "        - order_key\n    primary_key", "        - line_items\n    primary_key"),
        ("order.yaml", "unicity_fields[0]", "'line_items' is not a persisted column"),
    ),
    (
        "bad-length-arg",
        _replace("order.yaml", "args: [50]", "args: [fifty]"),
        ("order.yaml", "args[0]", "whole number"),
    ),
    (
        "dashboard-interval-out-of-range",
        _replace("dashboard.yaml", "interval_ms: 500", "interval_ms: 50"),
        ("dashboard.yaml", "dashboard.polling.interval_ms", "between 100 and 5000"),
    ),
    (
        "dashboard-unknown-key",
        _replace("dashboard.yaml", "  include_reference: true", "  include_references: true"),
        ("dashboard.yaml", "dashboard.include_references", "unknown key"),
    ),
    (
        "dashboard-unknown-entity",
        _replace("dashboard.yaml", "    - name: Customer\n", "    - name: Client\n"),
        ("dashboard.yaml", "dashboard.entities[2].name", "no persistent entity named 'Client'"),
    ),
    (
        "dashboard-bad-color",
        _replace("dashboard.yaml", 'color: "#3b82f6"', "color: blue"),
        ("dashboard.yaml", "dashboard.entities[0].color", "#rrggbb"),
    ),
    (
        "dashboard-unknown-display-field",
        _replace("dashboard.yaml", "display_fields: [order_key, customer_key", "display_fields: [order_key, customer"),
        ("dashboard.yaml", "dashboard.entities[0].display_fields[1]", "Order has no column 'customer'"),
    ),
    (
        "dashboard-unknown-event-type",
        _replace("dashboard.yaml", "event_types: [insert, update]", "event_types: [insert, upsert]"),
        ("dashboard.yaml", "dashboard.entities[2].event_types[1]", "unknown event type 'upsert'"),
    ),
    (
        "dashboard-invalid-yaml",
        _write("dashboard.yaml", "dashboard:\n  polling: {interval_ms: 500\n"),
        ("dashboard.yaml", "invalid YAML"),
    ),
]


def _prepared(tmp_path: Path, mutate: Mutation, source: Path = TPCH) -> Path:
    folder = tmp_path / "entities"
    shutil.copytree(source, folder)
    mutate(folder)
    return folder


def _assert_one_model_error(folder: Path, fragments: tuple[str, ...]) -> None:
    with pytest.raises(ModelError) as caught:
        load_project(folder)
    message = str(caught.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize(("mutate", "fragments"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_model_error_names_file_and_key(tmp_path: Path, mutate: Mutation, fragments: tuple[str, ...]) -> None:
    _assert_one_model_error(_prepared(tmp_path, mutate), fragments)


def test_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        load_project(tmp_path / "nowhere")


def _assert_one_clear_error(result_stderr: str, fragments: tuple[str, ...]) -> None:
    assert "Traceback" not in result_stderr
    ours = [line for line in result_stderr.splitlines() if line.startswith("dashboard-template:")]
    assert len(ours) == 1, result_stderr
    for fragment in fragments:
        assert fragment in ours[0]


CLI_CASES = [
    "invalid-yaml",
    "missing-conformant-table",
    "two-entities-one-table",
    "dashboard-unknown-key",
    "columns-differing-by-case",
    "symlink-outside-the-folder",
]


@pytest.mark.parametrize("case", CLI_CASES)
def test_copier_copy_stops_with_one_line_and_writes_nothing(template_repo: Path, tmp_path: Path, case: str) -> None:
    _, mutate, fragments = next(c for c in CASES if c[0] == case)
    folder = _prepared(tmp_path, mutate)
    destination = tmp_path / "project"
    result = copier_cli(
        "copy", "--trust", "--defaults", "--vcs-ref", "HEAD",
        "--data", f"entities_dir={folder}", str(template_repo), str(destination),
    )  # fmt: skip
    assert result.returncode != 0
    _assert_one_clear_error(result.stderr, fragments)
    assert "root:" not in result.stderr  # nothing of /etc/passwd
    assert not destination.exists()


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        ("database=oracle", "must be one of postgresql, mysql, mariadb, sqlite"),
        ("poll_interval_ms=50", "between 100 and 5000"),
        ("poll_interval_ms=fast", "whole number"),
        ("project_name=   ", "non-empty"),
        ("entities_dir=/definitely/not/here", "does not exist"),
        ("entities_dir=examples/tpch", "does not exist (a relative entities_dir is read from the project's folder)"),
    ],
)
def test_wrong_answers_give_one_clear_error(template_repo: Path, tmp_path: Path, answer: str, fragment: str) -> None:
    destination = tmp_path / "project"
    data = ["--data", f"entities_dir={TPCH}"] if not answer.startswith("entities_dir") else []
    result = copier_cli(
        "copy", "--trust", "--defaults", "--vcs-ref", "HEAD", *data,
        "--data", answer, str(template_repo), str(destination),
    )  # fmt: skip
    assert result.returncode != 0
    _assert_one_clear_error(result.stderr, (fragment,))
    assert not destination.exists()


def test_symlink_leaving_the_folder_is_refused_naming_the_link_only(tmp_path: Path) -> None:
    folder = _prepared(tmp_path, lambda _: None)
    (folder / "passwd.yaml").symlink_to("/etc/passwd")
    with pytest.raises(ModelError) as caught:
        load_project(folder)
    message = str(caught.value)
    assert message.startswith(f"{folder / 'passwd.yaml'}: ")
    assert "symbolic link to a file outside the entities folder" in message
    assert "root:" not in message
    assert "/etc/passwd" not in message


def test_dashboard_yaml_linked_from_outside_is_refused(tmp_path: Path) -> None:
    folder = _prepared(tmp_path, lambda _: None)
    secret = tmp_path / "secret.yaml"
    secret.write_text("dashboard:\n  api_key_of_production: s3cr3t-value\n")
    (folder / "dashboard.yaml").unlink()
    (folder / "dashboard.yaml").symlink_to(secret)
    with pytest.raises(ModelError) as caught:
        load_project(folder)
    message = str(caught.value)
    assert "dashboard.yaml" in message and "outside the entities folder" in message
    assert "s3cr3t" not in message and "api_key" not in message


def test_symlinks_inside_the_folder_are_followed_and_broken_ones_named(tmp_path: Path) -> None:
    folder = _prepared(tmp_path, lambda _: None)
    (folder / "shared").mkdir()
    (folder / "order.yaml").rename(folder / "shared" / "order.yaml")
    (folder / "order.yaml").symlink_to(Path("shared") / "order.yaml")
    assert "Order" in {entity.name for entity in load_project(folder).entities}

    (folder / "ghost.yml").symlink_to(folder / "nowhere.yml")
    with pytest.raises(ModelError, match=r"ghost\.yml: is a symbolic link that leads nowhere"):
        load_project(folder)


LONG_TEXT = "".join(f"user{n}:x:{n}:{n}:secret line {n}:/home/user{n}:/bin/sh\n" for n in range(200))


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (_write("notes.yaml", LONG_TEXT), "notes.yaml: must be a mapping, got str 'user0:x:0:0:secret"),
        (
            _replace(
                "order.yaml", "source_type: root", "source_type: " + LONG_TEXT.replace("\n", " ").replace(":", ".")
            ),
            "entity.source_type: unknown entity type 'user0.x.0.0.secret",
        ),
        (
            _replace("dashboard.yaml", "  include_reference: true", "  " + "x" * 1000 + ": true"),
            "dashboard.yaml: dashboard.xxxxx",
        ),
    ],
    ids=["whole-file-as-a-string", "long-value", "long-key"],
)
def test_errors_quote_a_short_excerpt_of_the_file_at_most(tmp_path: Path, mutate: Mutation, fragment: str) -> None:
    folder = _prepared(tmp_path, mutate)
    with pytest.raises(ModelError) as caught:
        load_project(folder)
    message = str(caught.value).replace(str(folder), "")
    assert fragment in message
    assert "\n" not in message
    assert "secret line 5" not in message
    assert len(message) < 700


# -- nomnom Entity Schema v1 ------------------------------------------------------------

V1_STAGING = FIXTURES / "v1_staging"

# (case id, mutation of a copy of tests/fixtures/v1_staging, fragments the message must contain)
V1_CASES: list[tuple[str, Mutation, tuple[str, ...]]] = [
    (
        "unknown-type",
        _replace("staging_order.yaml", "type: decimal", "type: money"),
        ("staging_order.yaml", "spec.fields[2].type", "unknown field type 'money'", "decimal, boolean, timestamp"),
    ),
    (
        "max-length-not-a-number",
        _replace("staging_order.yaml", "maxLength: 20", "maxLength: twenty"),
        ("staging_order.yaml", "spec.fields[0].constraints.maxLength", "whole number", "'twenty'"),
    ),
    (
        "max-length-zero",
        _replace("staging_order.yaml", "maxLength: 100", "maxLength: 0"),
        ("staging_order.yaml", "spec.fields[1].constraints.maxLength", "between 1 and 65535"),
    ),
    (
        "nullable-not-a-boolean",
        _replace(
            "staging_order_line.yaml",
            "      constraints:\n        nullable: true",
            "      constraints:\n        nullable: maybe",
        ),
        ("staging_order_line.yaml", "spec.fields[4].constraints.nullable", "true or false"),
    ),
    (
        "constraint-outside-constraints",
        _replace(
            "load_note.yaml",
            "    - name: noteText\n      type: string\n",
            "    - name: noteText\n      type: string\n      nullable: true\n",
        ),
        ("load_note.yaml", "spec.fields[0].nullable", "belongs under `constraints`"),
    ),
    (
        "missing-table",
        _replace("staging_order.yaml", "    table: staging.orders\n", ""),
        ("staging_order.yaml", "spec.persistence.table", "is required"),
    ),
    (
        "unsafe-table",
        _replace("staging_order.yaml", "table: staging.orders", 'table: "staging.orders; DROP TABLE x"'),
        ("staging_order.yaml", "spec.persistence.table", "not a safe SQL identifier"),
    ),
    (
        "unsafe-column",
        _replace("staging_order.yaml", "    - name: group\n", "    - name: group-by\n"),
        ("staging_order.yaml", "spec.fields[4].name", "'group-by' is not a safe SQL identifier"),
    ),
    (
        "enabled-not-a-boolean",
        _replace("staging_batch.yaml", "enabled: false", "enabled: no-thanks"),
        ("staging_batch.yaml", "spec.persistence.enabled", "true or false"),
    ),
    (
        "wrong-api-version",
        _replace("load_note.yaml", "apiVersion: nomnom.io/v1", "apiVersion: nomnom.io/v2"),
        ("load_note.yaml", "apiVersion", "unsupported 'nomnom.io/v2'", "nomnom.io/v1"),
    ),
    (
        "missing-api-version",
        _replace("load_note.yaml", "apiVersion: nomnom.io/v1\n", ""),
        ("load_note.yaml", "apiVersion", "is required"),
    ),
    (
        "missing-spec-type",
        _replace("load_note.yaml", "  type: root\n", ""),
        ("load_note.yaml", "spec.type", "is required"),
    ),
    (
        "unknown-entity-type",
        _replace("load_note.yaml", "  type: root\n", "  type: rooted\n"),
        ("load_note.yaml", "spec.type", "unknown entity type 'rooted'"),
    ),
    (
        "missing-name",
        _replace("load_note.yaml", "  name: LoadNote\n", "  labels: {}\n"),
        ("load_note.yaml", "metadata.name", "is required"),
    ),
    (
        "field-twice",
        _replace("load_note.yaml", "    - name: writtenAt\n", "    - name: noteText\n"),
        ("load_note.yaml", "spec.fields[1].name", "'noteText' is also defined at spec.fields[0]"),
    ),
    (
        "two-primary-keys",
        _replace(
            "staging_order.yaml", "        maxLength: 100\n", "        maxLength: 100\n        primaryKey: true\n"
        ),
        ("staging_order.yaml", "spec.fields[1].constraints.primaryKey", "'orderNumber'", "composite keys"),
    ),
    (
        "unicity-names-no-field",
        _replace("staging_order_line.yaml", "fields: [orderNumber, lineNumber]", "fields: [orderNumber, line]"),
        ("staging_order_line.yaml", "spec.persistence.unicity.fields[1]", "'line' names no field"),
    ),
    (
        "mixed-persistence-forms",
        _replace(
            "load_note.yaml",
            "    table: load_notes\n",
            "    table: load_notes\n    database:\n      conformant_table: notes\n",
        ),
        ("load_note.yaml", "spec.persistence", "mixes Entity Schema v1 keys (table)", "legacy keys (database)"),
    ),
    (
        "table-used-twice",
        _replace("load_note.yaml", "table: load_notes", "table: staging.orders"),
        (
            "staging_order.yaml",
            "spec.persistence.table",
            "'staging.orders' is already used by entity 'LoadNote' in load_note.yaml",
        ),
    ),
    (
        "case-twin-columns",
        _replace("load_note.yaml", "    - name: writtenAt\n", "    - name: NoteText\n"),
        ("load_note.yaml", "spec.fields[1].name", "'NoteText'", "'noteText'", "only by case"),
    ),
    (
        "reserved-events-table",
        _replace("load_note.yaml", "table: load_notes", "table: db_events"),
        ("load_note.yaml", "spec.persistence.table", "reserved for the dashboard"),
    ),
]


@pytest.mark.parametrize(("mutate", "fragments"), [c[1:] for c in V1_CASES], ids=[c[0] for c in V1_CASES])
def test_v1_error_names_file_and_key(tmp_path: Path, mutate: Mutation, fragments: tuple[str, ...]) -> None:
    _assert_one_model_error(_prepared(tmp_path, mutate, V1_STAGING), fragments)


def test_a_folder_with_nothing_persisted_names_every_skipped_entity(tmp_path: Path) -> None:
    (tmp_path / "diagnosis-v1.yaml").write_text((FIXTURES / "nomnom" / "v1" / "diagnosis-v1.yaml").read_text())
    (tmp_path / "staging_batch.yaml").write_text((V1_STAGING / "staging_batch.yaml").read_text())
    with pytest.raises(ModelError) as caught:
        load_project(tmp_path)
    message = str(caught.value)
    assert "no persistent entity" in message
    assert "Diagnosis (diagnosis-v1.yaml): not persisted (no spec.persistence)" in message
    assert "StagingBatch (staging_batch.yaml): not persisted (spec.persistence.enabled: false)" in message


def test_copier_copy_of_bad_v1_input_stops_with_one_line_and_writes_nothing(
    template_repo: Path, tmp_path: Path
) -> None:
    _, mutate, fragments = next(c for c in V1_CASES if c[0] == "max-length-not-a-number")
    folder = _prepared(tmp_path, mutate, V1_STAGING)
    destination = tmp_path / "project"
    result = copier_cli(
        "copy", "--trust", "--defaults", "--vcs-ref", "HEAD",
        "--data", f"entities_dir={folder}", str(template_repo), str(destination),
    )  # fmt: skip
    assert result.returncode != 0
    _assert_one_clear_error(result.stderr, fragments)
    assert not destination.exists()


def test_defaults_without_an_entities_folder_give_one_clear_error(template_repo: Path, tmp_path: Path) -> None:
    """`entities_dir` defaults to `entities` only when the project has it; else its empty default is one line."""
    destination = tmp_path / "project"
    result = copier_cli("copy", "--trust", "--defaults", "--vcs-ref", "HEAD", str(template_repo), str(destination))
    assert result.returncode != 0
    _assert_one_clear_error(result.stderr, ("entities_dir", "must name the folder of entity YAML files"))
    assert not destination.exists()


class _Terminal:
    """A program on a pseudo-terminal, driven like a person typing (Copier's prompts need a terminal)."""

    def __init__(self, *command: str):
        pid, fd = pty.fork()
        if pid == 0:  # the child: a wide terminal, so messages are not cut
            os.environ.update(TERM="xterm", COLUMNS="250", PYTHONWARNINGS="ignore")
            os.execv(command[0], list(command))
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 250, 0, 0))
        self.pid, self.fd, self.raw = pid, fd, b""

    @property
    def text(self) -> str:
        """What was shown, without terminal control sequences."""
        return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", self.raw.decode("utf-8", "replace"))

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # the program ended
            return False
        if b"\x1b[6n" in chunk:  # prompt_toolkit asks where the cursor is
            os.write(self.fd, b"\x1b[1;1R")
        self.raw += chunk
        return bool(chunk)

    def expect(self, fragment: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while fragment not in self.text:
            assert time.monotonic() < deadline and self._read(0.2), f"{fragment!r} never shown:\n{self.text}"

    def type(self, line: str) -> None:
        time.sleep(0.3)  # let the prompt settle before keys arrive
        os.write(self.fd, b"\x15" + line.encode() + b"\r")  # Ctrl-U clears what is in the field

    def wait(self, timeout: float = 120) -> int:
        deadline = time.monotonic() + timeout
        while self._read(0.2) and time.monotonic() < deadline:
            pass
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status)


def test_interactive_wrong_entities_folder_is_asked_again(template_repo: Path, tmp_path: Path) -> None:
    destination = tmp_path / "project"
    terminal = _Terminal(
        sys.executable, "-m", "copier", "copy", "--trust", "--vcs-ref", "HEAD", str(template_repo), str(destination)
    )
    terminal.expect("Name of the dashboard")
    terminal.type("Interactive dashboard")
    terminal.expect("Folder holding the nomnom entity YAML files")
    terminal.type("no-such-folder")
    terminal.expect(f"entities folder '{destination / 'no-such-folder'}' does not exist; give the folder")
    terminal.type(str(TPCH))
    terminal.expect("Default database")
    terminal.type("sqlite")
    terminal.expect("How often the backend polls db_events")
    terminal.type("")
    assert terminal.wait() == 0, terminal.text
    assert "Traceback" not in terminal.text
    answers = (destination / ".copier-answers.yml").read_text()
    assert f"entities_dir: {TPCH}\n" in answers and "project_name: Interactive dashboard\n" in answers
