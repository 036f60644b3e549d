"""Alert rules: dashboard.yaml's `dashboard.alerts`, checked at generation and evaluated on the live stream.

The backend tests run a generated project's backend under uvicorn on PostgreSQL,
MariaDB and SQLite, drive a controlled stream (rows written by the test), and
wait (generously, never measuring time) for each rule kind to fire and resolve:
in ``GET /api/alerts``, in WebSocket ``alert`` messages, in ``/metrics`` and at a
local webhook receiver that fails its first request, so the retry is exercised.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from extensions.entity_model import ModelError, ProjectModel, load_project
from extensions.entity_model.prometheus import alerts_yaml
from tests.support.backend_server import BackendServer
from tests.support.databases import TestDatabase, temporary_database
from tests.support.frontend import browser_page, install_and_build
from tests.support.paths import TPCH
from tests.support.projects import copier_cli, generate, run_in_project
from tests.support.stream_client import StreamClient
from tests.support.webhook_receiver import WebhookReceiver

# -- generation: parsing and one-line errors ---------------------------------------------


def _folder(tmp_path: Path, rules: str) -> Path:
    """A copy of examples/tpch whose dashboard.yaml ends with ``alerts:`` and ``rules`` (YAML list lines)."""
    folder = tmp_path / "entities"
    shutil.copytree(TPCH, folder)
    config = folder / "dashboard.yaml"
    config.write_text(config.read_text() + "\n  alerts:\n" + rules)
    return folder


EXAMPLE = """\
    - {name: orders-burst, entity: Order, event_types: [insert], when: "count > 100 per 1m"}
    - {name: etl-stalled, entity: Order, when: "stale 10m"}
    - {name: big-order, entity: Order, when: "total_price > 100000"}
    - {name: failed, entity: Order, when: "order_status == 'FAILED'", for: 90s}
    - {name: quiet, when: "count < 5 per 10m", for: 1h}
"""


def test_the_issue_example_is_read_into_the_model(tmp_path: Path) -> None:
    model = load_project(_folder(tmp_path, EXAMPLE))
    burst, stalled, big, failed, quiet = model.alerts
    assert (burst.kind, burst.entity, burst.event_types, burst.operator, burst.threshold, burst.window_s) == (
        "rate", "Order", ("insert",), ">", 100, 60,
    )  # fmt: skip
    assert (stalled.kind, stalled.window_s, stalled.event_types) == ("stale", 600, ("insert", "update", "delete"))
    # A field rule looks at inserted and updated rows; the literal takes the column's type.
    assert (big.kind, big.field, big.operator, big.value, big.for_s) == ("field", "total_price", ">", 100000.0, 300)
    assert isinstance(big.value, float) and big.event_types == ("insert", "update")
    assert (failed.value, failed.for_s) == ("FAILED", 90)
    assert (quiet.entity, quiet.operator, quiet.threshold, quiet.window_s, quiet.for_s) == ("", "<", 5, 600, 3600)


def test_rules_survive_the_snapshot_and_old_snapshots_load(tmp_path: Path) -> None:
    model = load_project(_folder(tmp_path, EXAMPLE))
    snapshot = json.loads(json.dumps(model.to_snapshot()))
    assert ProjectModel.from_snapshot(snapshot) == model
    del snapshot["alerts"]  # as written before alert rules existed
    assert ProjectModel.from_snapshot(snapshot) == replace(model, alerts=())


# (case id, the rule's YAML line(s), fragments of the one-line message)
BAD_RULES: list[tuple[str, str, tuple[str, ...]]] = [
    (
        "unknown-key",
        '    - {name: a, when: "stale 1m", severity: high}\n',
        ("dashboard.alerts[0].severity", "unknown key"),
    ),
    ("missing-name", '    - {when: "stale 1m"}\n', ("dashboard.alerts[0].name", "is required")),
    ("bad-name", '    - {name: "a b", when: "stale 1m"}\n', ("dashboard.alerts[0].name", "letters, digits")),
    (
        "twice",
        '    - {name: a, when: "stale 1m"}\n    - {name: a, when: "stale 2m"}\n',
        ("dashboard.alerts[1].name", "alert 'a' is defined twice"),
    ),
    ("missing-when", "    - {name: a}\n", ("dashboard.alerts[0].when", "alert 'a'", "is required")),
    ("unreadable", '    - {name: a, when: "sometimes"}\n', ("dashboard.alerts[0].when", "alert 'a'", "cannot read")),
    (
        "unknown-entity",
        '    - {name: a, entity: Invoice, when: "stale 1m"}\n',
        ("dashboard.alerts[0].entity", "no entity named 'Invoice'", "known: Customer, Order"),
    ),
    (
        "bad-unit",
        '    - {name: a, when: "count > 5 per 1d"}\n',
        ("dashboard.alerts[0].when", "alert 'a'", "'1d' is not a duration"),
    ),
    ("too-long", '    - {name: a, when: "stale 25h"}\n', ("dashboard.alerts[0].when", "out of range (1s to 24h)")),
    ("bad-count", '    - {name: a, when: "count > 1.5 per 1m"}\n', ("alerts[0].when", "must be a whole number")),
    ("rate-without-window", '    - {name: a, when: "count > 5"}\n', ("alerts[0].when", "a rate needs a window")),
    (
        "bad-for",
        '    - {name: a, when: "stale 1m", for: soon}\n',
        ("dashboard.alerts[0].for", "'soon' is not a duration"),
    ),
    (
        "unknown-field",
        '    - {name: a, entity: Order, when: "totl_price > 5"}\n',
        ("dashboard.alerts[0].when", "Order has no field 'totl_price'", "total_price"),
    ),
    (
        "field-without-entity",
        '    - {name: a, when: "total_price > 5"}\n',
        ("dashboard.alerts[0].entity", "needs an entity"),
    ),
    (
        "string-for-number",
        "    - {name: a, entity: Order, when: \"total_price > 'big'\"}\n",
        ("alerts[0].when", "Order.total_price is a float field", "a number"),
    ),
    (
        "unquoted-string",
        '    - {name: a, entity: Order, when: "order_status == FAILED"}\n',
        ("alerts[0].when", "Order.order_status is a string field", "quoted string"),
    ),
    (
        "float-for-integer",
        '    - {name: a, entity: Order, when: "ship_priority > 1.5"}\n',
        ("alerts[0].when", "Order.ship_priority is a integer field", "whole number"),
    ),
    (
        "delete-for-a-field-rule",
        '    - {name: a, entity: Order, event_types: [delete], when: "total_price > 5"}\n',
        ("dashboard.alerts[0].event_types[0]", "'delete' is not one of insert, update"),
    ),
    (
        "untracked-event-type",
        '    - {name: a, entity: Customer, event_types: [delete], when: "count > 5 per 1m"}\n',
        ("dashboard.alerts[0].event_types[0]", "Customer does not track delete events"),
    ),
    ("not-a-list", "    oops: true\n", ("dashboard.alerts", "must be a list")),
]


@pytest.mark.parametrize(("rules", "fragments"), [c[1:] for c in BAD_RULES], ids=[c[0] for c in BAD_RULES])
def test_a_bad_rule_is_one_error_naming_the_rule_and_key(
    tmp_path: Path, rules: str, fragments: tuple[str, ...]
) -> None:
    with pytest.raises(ModelError) as caught:
        load_project(_folder(tmp_path, rules))
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(tmp_path / "entities" / "dashboard.yaml"))
    for fragment in fragments:
        assert fragment in message, message


def test_copier_copy_of_a_bad_rule_stops_with_one_line_and_writes_nothing(template_repo: Path, tmp_path: Path) -> None:
    folder = _folder(tmp_path, "    - {name: big, entity: Order, when: \"total_price > 'big'\"}\n")
    destination = tmp_path / "project"
    result = copier_cli(
        "copy", "--trust", "--defaults", "--vcs-ref", "HEAD",
        "--data", f"entities_dir={folder}", str(template_repo), str(destination),
    )  # fmt: skip
    assert result.returncode != 0
    ours = [line for line in result.stderr.splitlines() if line.startswith("dashboard-template:")]
    assert len(ours) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "dashboard.alerts[0].when" in ours[0] and "alert 'big'" in ours[0]
    assert not destination.exists()


def test_prometheus_rules_mirror_each_kind(tmp_path: Path) -> None:
    text = alerts_yaml(load_project(_folder(tmp_path, EXAMPLE)))
    assert (
        'sum(increase(dashboard_entity_events_total{entity="Order",event_type=~"insert"}[1m])) or vector(0)) > 100'
        in text
    )
    assert 'time() - max(dashboard_entity_last_event_timestamp_seconds{entity="Order"}) >= 600' in text
    assert 'increase(dashboard_alert_matches_total{rule="big-order"}[5m]) > 0' in text
    assert "(sum(increase(dashboard_entity_events_total[10m])) or vector(0)) < 5" in text
    assert "for: 1h" in text  # `for:` of a rate rule is Prometheus' own


# -- the evaluator on a controlled clock ---------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _evaluator(tmp_path: Path, rules: str) -> tuple[Any, Clock, list[tuple[str, str, Any]]]:
    from backend.alerts.evaluator import AlertEvaluator
    from backend.model import parse_model

    from extensions.entity_model.answers import runtime_model

    model = parse_model(runtime_model(load_project(_folder(tmp_path, rules)), "sqlite", 500))
    clock = Clock()
    evaluator = AlertEvaluator(model.alerts, clock=clock, wall_clock=clock)
    changes: list[tuple[str, str, Any]] = []
    evaluator.listeners.append(lambda change: changes.append((change.name, change.state, change.value)))
    return evaluator, clock, changes


def _event(entity: str, event_type: str, payload: dict[str, Any], event_id: int = 1) -> Any:
    from backend.stream.event_store import Event

    return Event(event_id, entity, event_type, json.dumps(payload), None, "2024-01-01T00:00:00.000Z")


def test_a_rate_rule_counts_its_window_and_waits_for_a_full_one_before_saying_too_few(tmp_path: Path) -> None:
    evaluator, clock, changes = _evaluator(
        tmp_path,
        '    - {name: burst, entity: Order, event_types: [insert], when: "count > 2 per 10s"}\n'
        '    - {name: quiet, entity: Order, when: "count < 1 per 10s"}\n',
    )
    evaluator.observe([_event("Order", "insert", {}), _event("Order", "update", {}), _event("Customer", "insert", {})])
    evaluator.observe([_event("Order", "insert", {})])
    assert changes == []  # 2 inserts: not more than 2; "fewer than 1" not judged before 10 s
    evaluator.observe([_event("Order", "insert", {})])
    assert changes == [("burst", "firing", 3)]
    clock.now += 10.5  # the window emptied
    evaluator.evaluate()
    assert changes[1:] == [("burst", "ok", 0), ("quiet", "firing", 0)]
    evaluator.observe([_event("Order", "delete", {})])
    assert changes[3:] == [("quiet", "ok", 1)]


def test_a_stale_rule_fires_on_silence_and_for_delays_it(tmp_path: Path) -> None:
    evaluator, clock, changes = _evaluator(
        tmp_path, '    - {name: stalled, entity: Order, when: "stale 60s", for: 30s}\n'
    )
    clock.now += 59
    evaluator.observe([_event("Customer", "insert", {})])  # another entity: still silent
    clock.now += 1
    evaluator.evaluate()
    assert changes == []  # silent for 60 s, but `for: 30s` has not passed
    clock.now += 30
    evaluator.evaluate()
    assert changes == [("stalled", "firing", 90.0)]
    evaluator.observe([_event("Order", "update", {})])
    assert changes[1:] == [("stalled", "ok", 0.0)]


def test_a_field_rule_fires_on_a_matching_row_and_resolves_after_its_hold(tmp_path: Path) -> None:
    evaluator, clock, changes = _evaluator(
        tmp_path,
        '    - {name: big, entity: Order, when: "total_price > 100000", for: 2m}\n'
        "    - {name: failed, entity: Order, when: \"order_status == 'F'\"}\n",
    )
    evaluator.observe(
        [
            _event("Order", "insert", {"total_price": 99.5, "order_status": "O"}),
            _event("Order", "delete", {"total_price": 500000, "order_status": "F"}),  # deletes are not looked at
            _event("Customer", "insert", {"total_price": 500000}),
        ]
    )
    assert changes == []
    # DECIMAL columns may arrive as strings in the payload.
    evaluator.observe([_event("Order", "update", {"total_price": "250000.50", "order_status": "F"})])
    assert changes == [("big", "firing", 250000.5), ("failed", "firing", "F")]
    clock.now += 119
    evaluator.evaluate()
    assert len(changes) == 2
    clock.now += 1
    evaluator.evaluate()
    assert changes[2:] == [("big", "ok", 250000.5)]
    clock.now += 180
    evaluator.evaluate()
    assert changes[3:] == [("failed", "ok", "F")]  # the default hold: 5 minutes
    assert [state.matches for state in evaluator.states] == [1, 1]


# -- a real backend on each database -----------------------------------------------------------

LIVE_RULES = """\
    - {name: burst, entity: Order, event_types: [insert], when: "count > 2 per 3s"}
    - {name: products-stalled, entity: Product, when: "stale 2s"}
    - {name: big-order, entity: Order, when: "total_price > 100000", for: 2s}
"""


@pytest.fixture(scope="module")
def alerts_project(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("alerts")
    return generate(template_repo, base / "alerts-dashboard", _folder(base, LIVE_RULES))


@pytest.fixture(params=("postgresql", "mariadb", "sqlite"))
def alerts_db(request: pytest.FixtureRequest, tmp_path: Path, alerts_project: Path) -> Iterator[TestDatabase]:
    with temporary_database(request.param, tmp_path) as db:
        result = run_in_project(
            alerts_project, "-m", "backend.migrate", "--create-entity-tables", env={"DATABASE_URL": db.url}
        )
        assert result.returncode == 0, result.stderr
        yield db


def _get(server: BackendServer, path: str) -> Any:
    import urllib.request

    with urllib.request.urlopen(server.http + path, timeout=10) as response:
        return json.loads(response.read())


async def _eventually(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"never: {what}"
        await asyncio.sleep(0.1)


def _order(db: TestDatabase, key: str, price: float) -> None:
    db.insert(
        "orders",
        {
            "order_key": key,
            "customer_key": "C-1",
            "order_status": "O",
            "total_price": price,
            "order_date": "2024-05-01",
        },
    )


async def test_each_rule_kind_fires_and_resolves_on_a_live_stream(
    alerts_project: Path, alerts_db: TestDatabase
) -> None:
    with (
        WebhookReceiver(refuse_first=True) as hook,
        BackendServer(alerts_project, alerts_db.url, ALERT_WEBHOOK_URL=hook.url) as server,
    ):
        client = await StreamClient(server.ws).start()

        def state(name: str) -> str:
            found = [rule for rule in _get(server, "/api/alerts") if rule["name"] == name]
            assert len(found) == 1
            return str(found[0]["state"])

        def messages(name: str) -> list[str]:
            return [m["alert"]["state"] for m in client.messages if m["type"] == "alert" and m["alert"]["name"] == name]

        rules = _get(server, "/api/alerts")
        assert [rule["name"] for rule in rules] == ["burst", "products-stalled", "big-order"]
        assert set(rules[0]) >= {"name", "state", "since", "value"}
        assert rules[0]["state"] == "ok" and rules[2]["state"] == "ok"

        # Silence: no product event since the start.
        await _eventually(lambda: state("products-stalled") == "firing", "products-stalled fires")
        alerts_db.insert("products", {"part_key": "P-1", "name": "bolt", "retail_price": 1.5})
        await _eventually(lambda: "ok" in messages("products-stalled"), "products-stalled resolves")

        # A burst of inserts, then quiet.
        for number in range(3):
            _order(alerts_db, f"B-{number}", 10.0)
        await _eventually(lambda: "firing" in messages("burst"), "burst fires")
        await _eventually(lambda: state("burst") == "ok" and "ok" in messages("burst"), "burst resolves")

        # One matching row; resolved once its hold (2 s) has passed.
        _order(alerts_db, "BIG-1", 250000.0)
        await _eventually(lambda: "firing" in messages("big-order"), "big-order fires")
        fired = next(m["alert"] for m in client.messages if m["type"] == "alert" and m["alert"]["name"] == "big-order")
        assert fired["value"] == 250000 and fired["entity"] == "Order"
        await _eventually(lambda: state("big-order") == "ok", "big-order resolves")

        metrics = server.metrics()
        assert 'dashboard_alert_matches_total{rule="big-order"} 1.0' in metrics
        assert 'dashboard_entity_events_total{entity="Order",event_type="insert"} 4.0' in metrics
        assert 'dashboard_alert_firing{rule="burst"} 0.0' in metrics

        # The webhook got both changes of every rule, after a refused first delivery.
        for name in ("burst", "products-stalled", "big-order"):
            await _eventually(
                lambda name=name: {"firing", "resolved"} <= set(hook.statuses(name)),  # type: ignore[misc]
                f"the webhook receives {name} firing and resolved",
            )
        assert hook.refused == 1
        history = next(rule for rule in _get(server, "/api/alerts") if rule["name"] == "burst")["history"]
        assert [entry["state"] for entry in history[:2]] == ["firing", "ok"]
        await client.stop()


def test_a_bad_webhook_url_stops_the_backend_with_one_line(alerts_project: Path, tmp_path: Path) -> None:
    server = BackendServer(alerts_project, f"sqlite:///{tmp_path / 'x.db'}", ALERT_WEBHOOK_URL="ftp://example.org/x")
    with pytest.raises(RuntimeError) as caught:
        server.start()
    assert "ALERT_WEBHOOK_URL must be an http:// or https:// URL" in str(caught.value)
    assert "Traceback" not in server.log()


# -- the page, in Chromium ------------------------------------------------------------------------

RECORD_NOTIFICATIONS = """
window.__notifications = [];
const Real = window.Notification;
class Recording extends Real {
  constructor(title, options) {
    window.__notifications.push(title);
    super(title, options);
  }
}
Object.defineProperty(Recording, "permission", { get: () => Real.permission });
window.Notification = Recording;
"""


def test_the_page_shows_firing_alerts_their_history_and_a_notification(alerts_project: Path, tmp_path: Path) -> None:
    install_and_build(alerts_project / "frontend")
    with temporary_database("sqlite", tmp_path) as db:
        migrated = run_in_project(
            alerts_project, "-m", "backend.migrate", "--create-entity-tables", env={"DATABASE_URL": db.url}
        )
        assert migrated.returncode == 0, migrated.stderr
        with (
            BackendServer(alerts_project, db.url, POLL_INTERVAL_MS="100") as server,
            browser_page(permissions=["notifications"], viewport={"width": 1400, "height": 1000}) as page,
        ):
            page.add_init_script(RECORD_NOTIFICATIONS)
            page.goto(server.http + "/")
            page.get_by_test_id("connection-status").filter(has_text="Live").wait_for(timeout=15_000)
            button = page.get_by_test_id("alerts-button")
            # No product event since the start: the stale rule fires and the header counts it.
            button.filter(has_text="1 firing").wait_for(timeout=20_000)
            assert button.get_attribute("title") == "products-stalled"
            _order(db, "BIG-1", 250000.0)
            button.filter(has_text="2 firing").wait_for(timeout=20_000)
            button.click()
            panel = page.get_by_test_id("alerts-panel")
            panel.locator('[data-testid="alert-big-order"][data-state="firing"]').wait_for(timeout=5_000)
            assert "value 250000" in panel.get_by_test_id("alert-big-order").inner_text()
            page.wait_for_function("window.__notifications.includes('Alert firing: big-order')", timeout=10_000)
            # Resolved after its 2 s hold: back to one firing rule, two changes in its history.
            panel.locator('[data-testid="alert-big-order"][data-state="ok"]').wait_for(timeout=20_000)
            assert "1 firing" in button.inner_text()
            history = panel.get_by_test_id("alert-history-big-order")
            panel.get_by_test_id("alert-big-order").locator("summary").click()
            assert history.locator("li").count() == 2
            assert [line.split(": ", 1)[1].split(" ")[0] for line in history.inner_text().splitlines()] == [
                "ok",
                "firing",
            ]
