"""``/metrics``: the stream's counters and the process's own, in Prometheus' text format.

A collector reads the stream's status at scrape time, so the hot path only
bumps plain integers; ``prometheus-client`` does the exposition (escaping,
types, the process's memory, CPU and file descriptors).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from ..alerts.evaluator import AlertEvaluator
from ..alerts.sender_role import WebhookSenderRole
from ..alerts.webhook import Webhook
from ..stream.live import StreamStatus
from ..stream.retention import Retention
from .stats import Stats

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class DashboardCollector(Collector):
    def __init__(
        self,
        status: Callable[[], StreamStatus],
        retention: Retention,
        stats: Stats,
        alerts: AlertEvaluator,
        webhook: Webhook | None,
        webhook_sender: WebhookSenderRole | None,
    ):
        self._status = status
        self._retention = retention
        self._stats = stats
        self._alerts = alerts
        self._webhook = webhook
        self._webhook_sender = webhook_sender

    def collect(self) -> Iterable[Metric]:
        status = self._status()

        def counter(name: str, help_text: str, value: float) -> CounterMetricFamily:
            return CounterMetricFamily(name, help_text, value=value)

        def gauge(name: str, help_text: str, value: float) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, help_text, value=value)

        dropped = status.clients_dropped_queue_full + status.clients_dropped_not_reading
        yield counter("dashboard_events_polled", "Events read from db_events.", status.events_polled)
        yield counter("dashboard_events_sent", "Events published to clients.", status.events_published)
        yield counter("dashboard_messages_sent", "Messages queued to clients.", status.messages_queued)
        yield gauge("dashboard_clients", "Connected WebSocket clients.", status.clients)
        yield gauge(
            "dashboard_subscriptions",
            "Distinct subscriptions (entities and types) among clients.",
            status.subscriptions,
        )
        yield counter("dashboard_batches_published", "Batches of events published.", status.batches_published)
        yield counter(
            "dashboard_batch_encodings",
            "Batches encoded for clients: one per batch and distinct subscription.",
            status.batch_encodings,
        )
        yield counter(
            "dashboard_batch_compressions",
            "Batches compressed for clients that asked for compression: one per batch and distinct subscription.",
            status.batch_compressions,
        )
        yield counter(
            "dashboard_message_bytes_queued",
            "Size of the messages queued to clients, summed over clients (text in characters, compressed in bytes).",
            status.bytes_queued,
        )
        yield counter("dashboard_slow_clients", "Clients closed with 1013 (both reasons below).", dropped)
        yield counter(
            "dashboard_slow_clients_queue_full",
            "Clients closed for falling CLIENT_QUEUE_BYTES behind.",
            status.clients_dropped_queue_full,
        )
        yield counter(
            "dashboard_slow_clients_not_reading",
            "Clients closed because a send waited longer than CLIENT_SEND_TIMEOUT_S.",
            status.clients_dropped_not_reading,
        )
        yield gauge(
            "dashboard_connections",
            "Open WebSocket connections (clients, and those still in their handshake or replay).",
            status.connections,
        )
        yield counter(
            "dashboard_connections_refused",
            "WebSocket connections closed with 1013 at once: WS_MAX_CLIENTS were open.",
            status.connections_refused,
        )
        yield gauge(
            "dashboard_replays_waiting",
            "Replay pages waiting for one of the WS_MAX_REPLAYS slots.",
            status.replays_waiting,
        )
        yield counter("dashboard_polls", "Polls of db_events.", status.polls)
        yield counter("dashboard_poll_seconds", "Time spent polling.", status.poll_seconds_total)
        yield counter(
            "dashboard_fanout_seconds",
            "Time from publishing batches to every client's send done.",
            status.fanout_seconds_total,
        )
        if status.poll_p99_s is not None:
            yield gauge("dashboard_poll_duration_p99_seconds", "p99 of recent poll durations.", status.poll_p99_s)
        yield gauge("dashboard_poll_lag_seconds", "Age of the newest event when delivered.", status.lag_s)
        age = -1.0 if status.last_poll_age_s is None else status.last_poll_age_s
        yield gauge("dashboard_last_poll_age_seconds", "Seconds since the last successful poll (-1: none).", age)
        yield gauge("dashboard_open_gaps", "Skipped event ids that may still commit.", status.open_gaps)
        yield counter("dashboard_gaps_closed", "Skipped ids that never committed.", status.gaps_closed)
        yield counter("dashboard_gaps_dropped", "Gaps given up over the limit.", status.gaps_dropped)
        yield counter("dashboard_full_pages", "Polls that left more to read at once.", status.full_pages)
        yield gauge("dashboard_database_up", "1 when the last poll succeeded.", 1 if status.healthy else 0)
        yield gauge("dashboard_stream_started", "1 once the poller has read the head.", 1 if status.started else 0)
        yield counter("dashboard_reconnects", "Database (re)connections.", status.reconnects)
        yield counter("dashboard_polls_fast", "Polls at the fast pace (events were flowing).", status.fast_polls)
        yield counter("dashboard_polls_woken", "Polls started by a NOTIFY before their timer.", status.woken_polls)
        yield counter(
            "dashboard_events_after_wakeup", "Events delivered by polls a NOTIFY started.", status.events_after_wakeup
        )
        yield gauge("dashboard_poll_delay_seconds", "Wait before the next timed poll.", status.poll_delay_s)
        if status.listener_connected is not None:
            yield gauge(
                "dashboard_listener_connected", "1 while the LISTEN connection is up.", int(status.listener_connected)
            )
            yield counter(
                "dashboard_listener_reconnects", "LISTEN connections re-established.", status.listener_reconnects
            )
            yield counter("dashboard_notifications", "NOTIFYs received on db_events.", status.notifications)
        yield gauge("dashboard_last_event_id", "Highest event id delivered.", status.last_event_id)
        yield counter("dashboard_retention_deleted", "Events deleted by retention.", self._retention.deleted_total)
        yield counter("dashboard_retention_failures", "Retention rounds that failed.", self._retention.failures_total)
        yield counter(
            "dashboard_retention_busy",
            "Retention rounds skipped because another backend held the retention lock.",
            self._retention.busy_total,
        )
        yield from self._entity_metrics()
        yield from self._alert_metrics()
        yield from self._webhook_metrics()

    def _entity_metrics(self) -> Iterable[Metric]:
        """Per entity and event type: what Grafana's events/s and monitoring/alerts.yml's rules read."""
        events = CounterMetricFamily(
            "dashboard_entity_events", "Events delivered, by entity and event type.", labels=["entity", "event_type"]
        )
        last_seen = GaugeMetricFamily(
            "dashboard_entity_last_event_timestamp_seconds",
            "Wall time of the last event delivered, by entity and event type (the backend's start before one).",
            labels=["entity", "event_type"],
        )
        for entity in self._stats.model.entities:
            stats = self._stats.by_entity[entity.name]
            counts = {"insert": stats.inserts, "update": stats.updates, "delete": stats.deletes}
            for event_type in entity.event_types:
                events.add_metric([entity.name, event_type], counts[event_type])
                last_seen.add_metric(
                    [entity.name, event_type], stats.last_event_at.get(event_type, self._stats.started_at)
                )
        yield events
        yield last_seen

    def _alert_metrics(self) -> Iterable[Metric]:
        states = self._alerts.states
        if not states:
            return
        firing = GaugeMetricFamily("dashboard_alert_firing", "1 while the alert rule fires.", labels=["rule"])
        value = GaugeMetricFamily(
            "dashboard_alert_value", "The last numeric value that decided the rule's state.", labels=["rule"]
        )
        matches = CounterMetricFamily(
            "dashboard_alert_matches", "Rows that met a field rule's condition.", labels=["rule"]
        )
        for state in states:
            name = state.rule.name
            firing.add_metric([name], 1 if state.state == "firing" else 0)
            if isinstance(state.value, int | float) and not isinstance(state.value, bool):
                value.add_metric([name], state.value)
            if state.rule.kind == "field":
                matches.add_metric([name], state.matches)
        yield firing
        yield value
        yield matches

    def _webhook_metrics(self) -> Iterable[Metric]:
        sender = self._webhook_sender
        yield GaugeMetricFamily(
            "dashboard_alert_webhook_sender",
            "1 on the backend that sends the alert webhooks (holds the sender role), else 0.",
            value=1 if sender is not None and sender.holding else 0,
        )
        webhook = self._webhook
        if webhook is None:
            return
        yield CounterMetricFamily("dashboard_alert_webhooks_sent", "Alert state changes POSTed.", value=webhook.sent)
        yield CounterMetricFamily(
            "dashboard_alert_webhooks_failed", "Alert state changes given up after every attempt.", value=webhook.failed
        )
        yield CounterMetricFamily(
            "dashboard_alert_webhooks_dropped", "Alert state changes dropped from a full queue.", value=webhook.dropped
        )
        yield CounterMetricFamily(
            "dashboard_alert_webhooks_skipped",
            "Alert state changes left to the backend that holds the sender role.",
            value=webhook.skipped,
        )


def metrics_registry(
    status: Callable[[], StreamStatus],
    retention: Retention,
    stats: Stats,
    alerts: AlertEvaluator,
    webhook: Webhook | None,
    webhook_sender: WebhookSenderRole | None,
) -> CollectorRegistry:
    """One registry per app (not the library's global one), so several apps in one process stay apart."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(DashboardCollector(status, retention, stats, alerts, webhook, webhook_sender))
    registry.register(ProcessCollector(registry=None))
    return registry


def render_metrics(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
