"""Prometheus text exposition of the backend's counters (no client library needed)."""

from __future__ import annotations

from ..stream.live import StreamStatus
from ..stream.retention import Retention


def render_metrics(status: StreamStatus, retention: Retention) -> str:
    lines: list[str] = []

    def metric(name: str, kind: str, help_text: str, value: float, labels: str = "") -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        lines.append(f"{name}{labels} {value}")

    dropped = status.clients_dropped_queue_full + status.clients_dropped_not_reading
    metric("dashboard_events_polled_total", "counter", "Events read from db_events.", status.events_polled)
    metric("dashboard_events_sent_total", "counter", "Events published to clients.", status.events_published)
    metric("dashboard_messages_sent_total", "counter", "Messages queued to clients.", status.messages_queued)
    metric("dashboard_clients", "gauge", "Connected WebSocket clients.", status.clients)
    metric("dashboard_slow_clients_total", "counter", "Clients closed with 1013 (both reasons below).", dropped)
    metric(
        "dashboard_slow_clients_queue_full_total",
        "counter",
        "Clients closed for falling CLIENT_QUEUE_BYTES behind.",
        status.clients_dropped_queue_full,
    )
    metric(
        "dashboard_slow_clients_not_reading_total",
        "counter",
        "Clients closed because a send waited longer than CLIENT_SEND_TIMEOUT_S.",
        status.clients_dropped_not_reading,
    )
    metric("dashboard_polls_total", "counter", "Polls of db_events.", status.polls)
    metric("dashboard_poll_duration_seconds_sum", "counter", "Time spent polling.", round(status.poll_seconds_total, 6))
    if status.poll_p99_s is not None:
        p99 = round(status.poll_p99_s, 6)
        metric("dashboard_poll_duration_p99_seconds", "gauge", "p99 of recent poll durations.", p99)
    metric("dashboard_poll_lag_seconds", "gauge", "Age of the newest event when delivered.", round(status.lag_s, 3))
    age = -1.0 if status.last_poll_age_s is None else status.last_poll_age_s
    metric("dashboard_last_poll_age_seconds", "gauge", "Seconds since the last successful poll.", round(age, 3))
    metric("dashboard_open_gaps", "gauge", "Skipped event ids that may still commit.", status.open_gaps)
    metric("dashboard_gaps_closed_total", "counter", "Skipped ids that never committed.", status.gaps_closed)
    metric("dashboard_gaps_dropped_total", "counter", "Gaps given up over the limit.", status.gaps_dropped)
    metric("dashboard_full_pages_total", "counter", "Polls that left more to read at once.", status.full_pages)
    metric("dashboard_database_up", "gauge", "1 when the last poll succeeded.", 1 if status.healthy else 0)
    metric("dashboard_stream_started", "gauge", "1 once the poller has read the head.", 1 if status.started else 0)
    metric("dashboard_reconnects_total", "counter", "Database (re)connections.", status.reconnects)
    metric("dashboard_last_event_id", "gauge", "Highest event id delivered.", status.last_event_id)
    metric("dashboard_retention_deleted_total", "counter", "Events deleted by retention.", retention.deleted_total)
    metric("dashboard_retention_failures_total", "counter", "Retention rounds that failed.", retention.failures_total)
    return "\n".join(lines) + "\n"
