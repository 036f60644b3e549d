"""`python -m backend.simulate` writes records for any entity model, on every dialect, run after run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest
from backend.db.database import Database
from backend.db.url import parse_database_url
from backend.model import Column, Defaults, Entity, Model
from backend.simulate import Plan, SimulationError, Simulator
from backend.simulated_values import number_of, numbered_value

from tests.support.databases import MARIADB_HOST, MARIADB_PORT, MARIADB_USER, TestDatabase, temporary_database
from tests.support.paths import FIXTURES, TPCH
from tests.support.projects import generate, run_in_project

SIMULATED = FIXTURES / "simulated"
"""Application-assigned keys (text and integer), reserved words and camelCase columns, a reference
entity keyed by a short code, a derived entity numbered per parent, and an entity with no relation."""


def _simulate(project: Path, database: TestDatabase, records: int) -> dict[str, int]:
    """One run with a fixed seed (the same in every run: the worst case for keys); its summary's counts."""
    result = run_in_project(
        project, "-m", "backend.simulate", "--rate", "1000", "--records", str(records), "--seed", "3",
        env={"DATABASE_URL": database.url}, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    return {name: int(count) for name, count in (item.rsplit(" ", 1) for item in summary.split(": ", 1)[1].split(", "))}


def _migrate(project: Path, database: TestDatabase) -> None:
    result = run_in_project(project, "-m", "backend.migrate", "--create-entity-tables",
                            env={"DATABASE_URL": database.url})  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_simulator_writes_records_like_record_parser_twice(tpch_project: Path, database: TestDatabase) -> None:
    _migrate(tpch_project, database)
    first = _simulate(tpch_project, database, 300)
    for name in ("Customer created", "Customer found", "Product created", "Product found", "Order created",
                 "OrderLineItem created"):  # fmt: skip
        assert name in first, first
    orders = database.query("SELECT COUNT(*) FROM orders")[0][0]
    lines = database.query("SELECT COUNT(*) FROM order_line_items")[0][0]
    # A count, not a rate: the machine's speed does not matter.
    assert first["Order created"] == 300
    assert orders == 300 - first.get("Order deleted", 0)
    assert orders <= lines <= 7 * orders + 7 * 10
    customers = database.query("SELECT COUNT(*) FROM customers")[0][0]
    assert 0 < customers < orders  # get-or-create reuses customers
    kinds = {(row[0], row[1]) for row in database.query("SELECT DISTINCT entity, event_type FROM db_events")}
    assert {("Order", "insert"), ("Order", "update"), ("Order", "delete"), ("OrderLineItem", "insert"),
            ("OrderLineItem", "delete"), ("Customer", "insert")} <= kinds  # fmt: skip

    # Again, same seed, same database: new order keys, the same customers found again.
    second = _simulate(tpch_project, database, 300)
    assert second["Order created"] == 300
    assert second["Customer found"] > second.get("Customer created", 0)
    deleted = first.get("Order deleted", 0) + second.get("Order deleted", 0)
    assert database.query("SELECT COUNT(*) FROM orders")[0][0] == 600 - deleted
    assert database.query("SELECT COUNT(DISTINCT order_key) FROM orders")[0][0] == 600 - deleted
    # Every line item belongs to an existing order, numbered from 1, as record_parser derives them.
    orphans = database.query(
        "SELECT COUNT(*) FROM order_line_items l WHERE NOT EXISTS "
        "(SELECT 1 FROM orders o WHERE o.order_key = l.order_key)"
    )[0][0]
    assert orphans == 0
    assert database.query("SELECT MIN(line_number) FROM order_line_items")[0][0] == 1


@pytest.fixture(scope="module")
def simulated_project(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(template_repo, tmp_path_factory.mktemp("simulated") / "simulated-dashboard", SIMULATED)


@pytest.mark.parametrize("dialect", ["postgresql", "mariadb", "sqlite"])
def test_simulator_runs_twice_on_application_keys_reserved_words_and_camel_case(
    simulated_project: Path, dialect: str, tmp_path: Path
) -> None:
    with temporary_database(dialect, tmp_path) as database:
        _migrate(simulated_project, database)
        runs = [_simulate(simulated_project, database, 80), _simulate(simulated_project, database, 80)]
        q = database.quote

        def count(sql: str) -> int:
            return int(database.query(sql)[0][0])

        for name in ("Ticket", "AuditEntry"):  # two roots, chosen at random for each record
            assert all(run.get(f"{name} created", 0) > 0 for run in runs), runs
        assert sum(run.get("Ticket created", 0) + run.get("AuditEntry created", 0) for run in runs) == 160
        tickets = sum(run.get("Ticket created", 0) - run.get("Ticket deleted", 0) for run in runs)
        assert count("SELECT COUNT(*) FROM tickets") == tickets
        # Keys the application assigns: new ones in the second run, in the simulator's own format.
        assert count(f"SELECT COUNT(DISTINCT {q('order')}) FROM tickets") == tickets
        codes = [row[0] for row in database.query("SELECT ticket_code FROM tickets")]
        assert all(code.startswith("TIC-") and len(code) <= 20 for code in codes), codes[:5]
        entries = sum(run.get("AuditEntry created", 0) - run.get("AuditEntry deleted", 0) for run in runs)
        assert count(f"SELECT COUNT(DISTINCT entry_no) FROM audit_entries WHERE {q('user')} <> ''") == entries
        # A code of 8 characters has no room for a prefix: digits only.
        labels = [row[0] for row in database.query("SELECT code FROM labels")]
        assert labels and all(len(code) == 8 and code.isdigit() for code in labels), labels
        assert runs[1].get("Label found", 0) > 0
        # Notes follow their ticket, numbered 1, 2, ... per ticket; camelCase columns filled.
        notes = "SELECT COUNT(*) FROM ticket_notes n JOIN tickets t ON t.ticket_code = n.ticket_code"
        assert count(notes) == count("SELECT COUNT(*) FROM ticket_notes") > 0
        assert count(f"SELECT MIN({q('noteNumber')}) FROM ticket_notes") == 1
        assert count(f"SELECT COUNT(*) FROM tickets WHERE {q('createdBy')} IS NULL") == 0
        kinds = {(row[0], row[1]) for row in database.query("SELECT DISTINCT entity, event_type FROM db_events")}
        assert {("Ticket", "insert"), ("TicketNote", "insert"), ("Label", "insert"), ("AuditEntry", "insert"),
                ("Ticket", "delete"), ("TicketNote", "delete")} <= kinds  # fmt: skip


@pytest.fixture(scope="module")
def business_keyed_project(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """TPC-H with Customer keyed by its business key (customer_key), which orders carry: no generated id."""
    entities = tmp_path_factory.mktemp("business-keyed") / "entities"
    entities.mkdir()
    for path in TPCH.iterdir():
        (entities / path.name).write_text(path.read_text())
    customer = entities / "customer.yaml"
    generated_id = "conformant_id_column: id\n"
    keyed = customer.read_text().replace(generated_id, "conformant_id_column: customer_key\n")
    keyed = keyed.replace(
        "    primary_key:\n      name: id\n      type: Integer\n      autogenerate: true\n",
        "    primary_key:\n      name: customer_key\n      type: String\n      autogenerate: false\n",
    )
    assert keyed.count("customer_key") > customer.read_text().count("customer_key")
    customer.write_text(keyed)
    return generate(template_repo, entities.parent / "project", entities)


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_a_reference_keyed_by_its_unicity_field_is_created_with_that_key(
    business_keyed_project: Path, dialect: str, tmp_path: Path
) -> None:
    """The key an order refers to is the reference row's primary key: it was left out (a NULL key)."""
    with temporary_database(dialect, tmp_path) as database:
        _migrate(business_keyed_project, database)
        counts = _simulate(business_keyed_project, database, 60)
        assert counts["Customer created"] > 0 and counts["Order created"] == 60
        orphans = database.query(
            "SELECT COUNT(*) FROM orders o LEFT JOIN customers c ON c.customer_key = o.customer_key "
            "WHERE c.customer_key IS NULL"
        )[0][0]
        assert orphans == 0


def test_simulator_errors_name_the_real_cause(simulated_project: Path, tmp_path: Path) -> None:
    with temporary_database("sqlite", tmp_path) as database:
        result = run_in_project(simulated_project, "-m", "backend.simulate", "--records", "1",
                                env={"DATABASE_URL": database.url})  # fmt: skip
        assert result.returncode == 1
        assert result.stderr.count("\n") == 1, result.stderr
        assert "table" in result.stderr and "--create-entity-tables" in result.stderr, result.stderr
        _migrate(simulated_project, database)
        # A row the simulator cannot write: the message says which table and why, no hint about missing tables.
        database.execute("CREATE UNIQUE INDEX one_urgent ON tickets (isUrgent)")
        result = run_in_project(simulated_project, "-m", "backend.simulate", "--records", "20", "--seed", "1",
                                env={"DATABASE_URL": database.url})  # fmt: skip
        assert result.returncode == 1
        assert result.stderr.count("\n") == 1, result.stderr
        assert "inserting Ticket (table tickets) failed" in result.stderr and "UNIQUE" in result.stderr, result.stderr
        assert "create-entity-tables" not in result.stderr


def test_simulator_stops_on_sigterm_at_once_without_a_traceback(tpch_project: Path, sqlite_db: TestDatabase) -> None:
    """`kill` mid-write, again and again: the process ends (no SQLite worker thread left waiting) and says
    nothing of a closed event loop. Raising from a signal handler used to do both, now and then."""
    for attempt in range(8):
        simulator = subprocess.Popen(
            [sys.executable, "-m", "backend.simulate", "--rate", "2000"],
            cwd=tpch_project, env={**os.environ, "DATABASE_URL": sqlite_db.url},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        time.sleep(1.0 + attempt * 0.13)  # a different moment of the write each time
        simulator.send_signal(signal.SIGTERM)
        try:
            output, _ = simulator.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            simulator.kill()
            raise AssertionError(f"attempt {attempt}: still running 15 s after SIGTERM") from None
        assert simulator.returncode == 0, (attempt, output)
        assert "Traceback" not in output and "simulate: " in output, (attempt, output)


def test_a_second_sigterm_cancels_a_write_that_waits_on_a_lock(tpch_project: Path, tmp_path: Path) -> None:
    """The first `kill` lets the record being written finish; one waiting on a lock may never finish,
    so a second one cancels it: the process ends at once, its transaction rolled back, one line said."""
    with temporary_database("postgresql", tmp_path) as database:
        _migrate(tpch_project, database)
        simulator = subprocess.Popen(
            [sys.executable, "-m", "backend.simulate", "--rate", "20"],
            cwd=tpch_project, env={**os.environ, "DATABASE_URL": database.url},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while database.query("SELECT COUNT(*) FROM orders")[0][0] < 3:
                assert time.monotonic() < deadline and simulator.poll() is None, "the simulator wrote no orders"
                time.sleep(0.1)
            with database.connect() as blocker:
                blocker.execute("BEGIN")
                blocker.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
                time.sleep(1.0)  # the next record's INSERT now waits for the lock
                orders_before = blocker.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
                simulator.send_signal(signal.SIGTERM)
                time.sleep(1.5)
                assert simulator.poll() is None, "the first SIGTERM must let the write in progress finish"
                simulator.send_signal(signal.SIGTERM)
                try:
                    output, errors = simulator.communicate(timeout=15)
                except subprocess.TimeoutExpired:
                    raise AssertionError("still running 15 s after the second SIGTERM") from None
                blocker.execute("ROLLBACK")
            assert simulator.returncode == 130, (output, errors)
            assert errors == (
                "simulate: stopping after the record being written (again to cancel it)\n"
                "simulate: stopped during a write; its transaction was rolled back\n"
            ), errors
            assert "simulate: " in output
            # Nothing of the simulator's is left on the server (its session ends when it notices the
            # client gone), and the cancelled record left nothing behind.
            others = (
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            deadline = time.monotonic() + 10
            while database.query(others)[0][0] > 0:
                assert time.monotonic() < deadline, "a session of the simulator outlived it"
                time.sleep(0.1)
            assert database.query("SELECT COUNT(*) FROM orders")[0][0] == orders_before
        finally:
            if simulator.poll() is None:
                simulator.kill()
                simulator.communicate()


def test_simulator_bad_url_is_one_line(tpch_project: Path) -> None:
    result = run_in_project(tpch_project, "-m", "backend.simulate", env={"DATABASE_URL": "nope://x"})
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "unknown scheme" in result.stderr


# -- models the YAML reader of this branch cannot produce yet: the simulator reads them all the same --

SCHEMA = "dt_staging"


def _column(name: str, type_: str, *, key: bool = False, sql_name: str = "", auto: bool = False) -> Column:
    return Column(name, type_, False, key, 40 if type_ == "string" else None, "", sql_name, auto)  # type: ignore[arg-type]


def _entity(name: str, table: str, key: str, columns: tuple[Column, ...], **extra: object) -> Entity:
    values: dict[str, object] = {
        "kind": "root", "display_fields": (), "color": "#000000", "icon": "", "max_records": 10, "event_types": (),
        "triggers": {}, "function": "", "unicity_fields": (), "parent": "", "doc": "", **extra,
    }  # fmt: skip
    return Entity(name, table, key, columns=columns, **values)  # type: ignore[arg-type]


def _model(*entities: Entity) -> Model:
    return Model(entities, Defaults(500, 100, 7, 5173, "sqlite:///x.db", {}), "dashboard_")


def _schema_model(schema: str = SCHEMA) -> Model:
    """v1-style names: a camelCase field stored folded to lower case, in a table of another schema."""
    shipment = _entity(
        "Shipment", "shipments", "shipmentId",
        (_column("shipmentId", "string", key=True, sql_name="shipmentid"), _column("trackingNo", "integer"),
         _column("carrierName", "string", sql_name="carriername"), _column("from", "string")),
        schema=schema, unicity_fields=("trackingNo",),
    )  # fmt: skip
    parcel = _entity(
        "Parcel", "parcels", "id",
        (_column("id", "integer", key=True, auto=True), _column("shipmentId", "string", sql_name="shipmentid"),
         _column("weightKg", "float")),
        schema=schema, kind="derived", parent="Shipment",
    )  # fmt: skip
    return _model(shipment, parcel)


# The camelCase fields shipmentId and carrierName are folded to lower case in the tables; trackingNo is not.
_PG_TABLES = (
    "CREATE TABLE {schema}.shipments (shipmentid VARCHAR(40) PRIMARY KEY, "
    '"trackingNo" BIGINT NOT NULL UNIQUE, carriername VARCHAR(40), "from" VARCHAR(40))',
    "CREATE TABLE {schema}.parcels (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
    'shipmentid VARCHAR(40), "weightKg" DOUBLE PRECISION)',
)
_MARIADB_TABLES = (
    "CREATE TABLE `{schema}`.shipments (shipmentid VARCHAR(40) PRIMARY KEY, "
    "trackingNo BIGINT NOT NULL UNIQUE, carriername VARCHAR(40), `from` VARCHAR(40))",
    "CREATE TABLE `{schema}`.parcels (id BIGINT AUTO_INCREMENT PRIMARY KEY, shipmentid VARCHAR(40), weightKg DOUBLE)",
)


@pytest.fixture(params=["postgresql", "mariadb"])
def staged(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestDatabase]:
    """A database whose entity tables live in another schema (MariaDB: another database)."""
    with temporary_database(request.param, tmp_path) as database:
        if request.param == "postgresql":
            database.execute(f"CREATE SCHEMA {SCHEMA}")
            for statement in _PG_TABLES:
                database.execute(statement.format(schema=SCHEMA))
            yield database
            return
        schema = f"{SCHEMA}_{uuid.uuid4().hex[:8]}"
        admin = pymysql.connect(host=MARIADB_HOST, port=MARIADB_PORT, user=MARIADB_USER, password="", autocommit=True)
        try:
            cursor = admin.cursor()
            cursor.execute(f"CREATE DATABASE `{schema}`")
            for statement in _MARIADB_TABLES:
                cursor.execute(statement.format(schema=schema))
            yield TestDatabase(database.dialect, database.url, schema)
        finally:
            admin.cursor().execute(f"DROP DATABASE IF EXISTS `{schema}`")
            admin.close()


async def test_simulator_writes_schema_qualified_tables_and_sql_names_twice(staged: TestDatabase) -> None:
    schema = staged.name if staged.dialect == "mariadb" else SCHEMA
    model = _schema_model(schema)
    created = 0
    for seed in (5, 5):  # two runs, the same seed
        db = Database(parse_database_url(staged.url), pool_size=1)
        await db.connect()
        try:
            simulator = Simulator(db, model, seed)
            await simulator.check_tables()
            for _ in range(30):
                await simulator.record()
        finally:
            await db.disconnect()
        created += simulator.counts["Shipment created"] - simulator.counts["Shipment deleted"]
        assert simulator.counts["Parcel created"] >= simulator.counts["Shipment created"] == 30
    table = f"{staged.quote(schema)}.shipments"
    assert staged.query(f"SELECT COUNT(DISTINCT shipmentid) FROM {table}")[0][0] == created
    assert staged.query(f"SELECT COUNT(*) FROM {table} WHERE carriername IS NULL")[0][0] == 0
    orphans = staged.query(
        f"SELECT COUNT(*) FROM {staged.quote(schema)}.parcels p WHERE NOT EXISTS "
        f"(SELECT 1 FROM {table} s WHERE s.shipmentid = p.shipmentid)"
    )[0][0]
    assert orphans == 0


def test_plan_follows_the_model_alone() -> None:
    plan = Plan(_schema_model())
    assert [entity.name for entity in plan.roots] == ["Shipment"]
    assert plan.links["Parcel"] == ("shipmentId",)  # the parent's key, copied
    assert plan.keys["Shipment"].fresh == {"shipmentId", "trackingNo"}
    assert plan.keys["Parcel"].fresh == frozenset()
    # Parents that form a cycle: broken above the first, so every entity is still written.
    one = _entity("One", "ones", "id", (_column("id", "integer", key=True, auto=True),), parent="Two")
    two = _entity("Two", "twos", "id", (_column("id", "integer", key=True, auto=True),), parent="One")
    cycle = Plan(_model(one, two))
    assert [entity.name for entity in cycle.roots] == ["One"] and [e.name for e in cycle.subtree(one)] == ["One", "Two"]
    # A unicity made only of booleans cannot get a new value per row: said before any write.
    flag = _entity("Flag", "flags", "id", (_column("id", "integer", key=True, auto=True), _column("on", "boolean")),
                   unicity_fields=("on",))  # fmt: skip
    with pytest.raises(SimulationError, match=r"entity Flag \(flags\): none of its unicity fields .* on \(boolean\)"):
        Plan(_model(flag))


@pytest.mark.parametrize(
    ("type_", "length"), [("integer", None), ("float", None), ("date", None), ("datetime", None), ("string", None),
                          ("string", 16), ("string", 8), ("string", 3)],
)  # fmt: skip
def test_numbered_keys_are_distinct_and_read_back(type_: str, length: int | None) -> None:
    """Every key type continues after the largest value found: the n-th value reads back as n."""
    column = Column("k", type_, False, True, length)  # type: ignore[arg-type]
    values = [numbered_value(column, "ORD-", number) for number in (1, 2, 99, 999)]
    assert len(set(values)) == 4 and None not in values
    assert [number_of(column, "ORD-", value) for value in values] == [1, 2, 99, 999]
    # A longer text sorts after a shorter one only with the same width: all keys of a column have one.
    if type_ == "string":
        texts = [str(value) for value in values]
        assert len({len(text) for text in texts}) == 1 and sorted(texts) == texts
    if type_ == "string" and length:
        assert numbered_value(column, "ORD-", 10**length) is None  # no room left: said, not truncated
    assert numbered_value(Column("b", "boolean", False, True), "ORD-", 1) is None
