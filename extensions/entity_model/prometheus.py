"""``monitoring/alerts.yml``: dashboard.yaml's alert rules as Prometheus alerting rules.

The same conditions, computed by Prometheus from the backend's ``/metrics``, so a
team that runs Alertmanager routes them like any other alert:

- rate: ``increase`` of ``dashboard_entity_events_total`` over the window;
- stale: the age of ``dashboard_entity_last_event_timestamp_seconds``;
- field: ``increase`` of ``dashboard_alert_matches_total`` (rows the backend found
  matching) over the rule's hold time.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from .model import EVENT_TYPES, AlertRule, ProjectModel

GROUP_NAME = "dashboard"


def duration(seconds: int) -> str:
    """A Prometheus duration: ``10m`` rather than ``600s`` where it divides evenly."""
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _label(value: str) -> str:
    # A PromQL string literal; JSON's escapes are a subset of the ones PromQL reads.
    return json.dumps(value, ensure_ascii=False)


def _selector(rule: AlertRule, model: ProjectModel) -> str:
    matchers = []
    if rule.entity:
        matchers.append(f"entity={_label(rule.entity)}")
    tracked = model.entity(rule.entity).event_types if rule.entity else EVENT_TYPES
    if set(rule.event_types) != set(tracked):
        matchers.append(f"event_type=~{_label('|'.join(rule.event_types))}")
    return "{" + ",".join(matchers) + "}" if matchers else ""


def expression(rule: AlertRule, model: ProjectModel) -> str:
    if rule.kind == "rate":
        window = duration(rule.window_s)
        count = f"sum(increase(dashboard_entity_events_total{_selector(rule, model)}[{window}]))"
        # No series at all (no entity tracks those events) counts as zero, not as "no data".
        count = f"({count} or vector(0))"
        return f"{count} {rule.operator} {rule.threshold:g}"
    if rule.kind == "stale":
        newest = f"max(dashboard_entity_last_event_timestamp_seconds{_selector(rule, model)})"
        return f"time() - {newest} >= {rule.window_s}"
    return f"increase(dashboard_alert_matches_total{{rule={_label(rule.name)}}}[{duration(rule.for_s)}]) > 0"


def alerting_rule(rule: AlertRule, model: ProjectModel) -> dict[str, Any]:
    where = f"{rule.entity}: " if rule.entity else ""
    item: dict[str, Any] = {"alert": rule.name, "expr": expression(rule, model)}
    if rule.kind != "field" and rule.for_s:
        item["for"] = duration(rule.for_s)
    item["labels"] = {"source": "dashboard", "kind": rule.kind}
    item["annotations"] = {
        "summary": f"{where}{rule.when}",
        "description": "dashboard.yaml alert rule; the dashboard's own state: dashboard_alert_firing",
    }
    return item


def alerts_yaml(model: ProjectModel) -> str:
    """The rule file's body (a YAML document; one group, possibly without rules)."""
    groups = [{"name": GROUP_NAME, "rules": [alerting_rule(rule, model) for rule in model.alerts]}]
    return yaml.safe_dump({"groups": groups}, sort_keys=False, allow_unicode=True, width=10_000)
