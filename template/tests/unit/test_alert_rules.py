"""Alert rules on their own: rate windows, field comparisons and the evaluator's states (no database needed)."""

from __future__ import annotations

from backend.alerts.evaluator import AlertChange, AlertEvaluator, RateWindow
from backend.alerts.rules import AlertRule, compare, field_value, row_matches
from backend.stream.event_store import Event


def test_a_rate_window_forgets_what_is_older_than_the_window() -> None:
    window = RateWindow(60)
    window.add(1000.0)
    window.add(1030.0, count=2)
    assert window.count(1030.0) == 3
    assert window.count(1061.0) == 2
    assert window.count(1091.0) == 0


def test_field_values_are_read_in_the_literals_type_and_never_raise() -> None:
    assert field_value("12.5", 10.0) == 12.5  # a DECIMAL written as text
    assert field_value(1, True) is True  # a MySQL BOOLEAN
    assert field_value("x", 10.0) is None
    assert field_value(5, "5") is None
    assert field_value(None, 1) is None
    assert compare("a", ">", 1) is False  # not comparable: no match, no error
    rule = AlertRule(name="big", kind="field", when="total_price > 100", field="total_price", operator=">", value=100.0)
    assert row_matches(rule, {"total_price": 150}) == (True, 150)
    assert row_matches(rule, {"total_price": 50}) == (False, 50)
    assert row_matches(rule, ["not", "a", "row"]) == (False, None)


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_stale_rule_fires_and_resolves_and_listeners_hear_both() -> None:
    clock = Clock()
    rule = AlertRule(name="stalled", kind="stale", when="stale 10s", entity="Order", window_s=10)
    evaluator = AlertEvaluator([rule], clock=clock, wall_clock=clock)
    heard: list[AlertChange] = []
    evaluator.listeners.append(heard.append)
    clock.now = 10.0
    evaluator.evaluate()
    event = Event(1, "Order", "insert", "{}", None, "2024-01-01T00:00:00.000Z")
    evaluator.observe([event])
    assert [(change.state, change.value) for change in heard] == [("firing", 10.0), ("ok", 0.0)]
    assert [item["state"] for item in evaluator.snapshot()[0]["history"]] == ["firing", "ok"]
