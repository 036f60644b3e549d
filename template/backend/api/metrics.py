"""Prometheus text exposition of the backend's counters (no client library needed)."""

from __future__ import annotations

import time

from ..stream.hub import Hub
from ..stream.poller import Poller


def render_metrics(poller: Poller, hub: Hub) -> str:
    state = poller.state
    durations = sorted(state.durations)
    lines: list[str] = []

    def metric(name: str, kind: str, help_text: str, value: float, labels: str = "") -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        lines.append(f"{name}{labels} {value}")

    metric("dashboard_events_polled_total", "counter", "Events read from db_events.", state.events_polled)
    metric("dashboard_events_sent_total", "counter", "Events published to clients.", hub.events_published)
    metric("dashboard_messages_sent_total", "counter", "Messages queued to clients.", hub.messages_queued)
    metric("dashboard_clients", "gauge", "Connected WebSocket clients.", len(hub.clients))
    metric("dashboard_slow_clients_total", "counter", "Clients dropped for falling behind.", hub.slow_disconnects)
    metric("dashboard_polls_total", "counter", "Polls of db_events.", state.polls)
    metric("dashboard_poll_duration_seconds_sum", "counter", "Time spent polling.", round(state.poll_seconds_total, 6))
    if durations:
        p99 = durations[min(len(durations) - 1, int(len(durations) * 0.99))]
        metric("dashboard_poll_duration_p99_seconds", "gauge", "p99 of recent poll durations.", round(p99, 6))
    metric(
        "dashboard_poll_lag_seconds", "gauge", "Age of the newest event when delivered.", round(state.lag_seconds, 3)
    )
    age = time.monotonic() - state.last_poll_at if state.last_poll_at else -1
    metric("dashboard_last_poll_age_seconds", "gauge", "Seconds since the last successful poll.", round(age, 3))
    metric("dashboard_open_gaps", "gauge", "Skipped event ids that may still commit.", len(poller.gaps.open))
    metric("dashboard_gaps_closed_total", "counter", "Skipped ids that never committed.", poller.gaps.closed_unfilled)
    metric("dashboard_gaps_dropped_total", "counter", "Gaps given up over the limit.", poller.gaps.dropped_over_limit)
    metric("dashboard_full_pages_total", "counter", "Polls that filled a page.", state.full_pages)
    metric("dashboard_database_up", "gauge", "1 when the last poll succeeded.", 1 if state.healthy else 0)
    metric("dashboard_reconnects_total", "counter", "Database (re)connections.", state.reconnects)
    metric("dashboard_last_event_id", "gauge", "Highest event id delivered.", state.high)
    return "\n".join(lines) + "\n"
