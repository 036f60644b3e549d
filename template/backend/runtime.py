"""The live parts of a running backend, shared by the HTTP and WebSocket endpoints."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from .alerts.evaluator import AlertChange, AlertEvaluator
from .alerts.sender_role import WebhookSenderRole, sender_lock
from .alerts.webhook import Webhook
from .api.metrics import metrics_registry
from .api.stats import Stats
from .db.database import Database
from .db.listener import Listener
from .model import Model
from .settings import Settings
from .stream import protocol
from .stream.event_store import Event, EventStore
from .stream.hub import Hub
from .stream.live import LiveStream
from .stream.poller import Poller
from .stream.retention import Retention

log = logging.getLogger("dashboard")


@dataclass
class Runtime:
    settings: Settings
    model: Model
    db: Database
    store: EventStore
    """The one EventStore: every db_events query goes through it."""
    poller: Poller
    stream: LiveStream
    retention: Retention
    stats: Stats
    metrics: CollectorRegistry
    alerts: AlertEvaluator
    webhook: Webhook | None
    webhook_sender: WebhookSenderRole | None
    """Decides which of the backends sharing the database sends the webhooks (with ``webhook`` only)."""


def build_runtime(settings: Settings, model: Model) -> Runtime:
    db = Database(settings.database, pool_size=5)
    store = EventStore(db)
    hub = Hub(
        settings.client_queue_bytes,
        settings.client_send_timeout_s,
        settings.heartbeat_s,
        max_connections=settings.max_clients,
        max_replays=settings.max_replays,
    )
    stats = Stats(model)
    alerts = AlertEvaluator(model.alerts)
    webhook: Webhook | None = None
    # A backend without a webhook URL never seeks the sender role: it would keep it from those that have one.
    webhook_sender: WebhookSenderRole | None = None
    if settings.alert_webhook_url:
        sender = webhook_sender = WebhookSenderRole(sender_lock(settings.database))
        webhook = Webhook(settings.alert_webhook_url, sends=lambda: sender.holding)

    def alert_changed(change: AlertChange) -> None:
        hub.broadcast(protocol.alert(change.as_json()))

    alerts.listeners.append(alert_changed)
    if webhook is not None:
        alerts.listeners.append(webhook.offer)

    def publish(events: list[Event], resume_after: int) -> None:
        stats.record(events)
        hub.publish(events, resume_after)
        # After the events, so a client sees the rows before the alert they raised.
        try:
            alerts.observe(events)
        except Exception:  # alerting never stops the stream
            log.exception("alert rules not evaluated for this batch")

    poller = Poller(
        store,
        interval_s=settings.poll_interval_s,
        page_size=settings.max_events_per_poll,
        publish=publish,
        fast_interval_s=settings.poll_fast_interval_s,
        idle_after=settings.poll_idle_after,
    )
    # PostgreSQL wakes the poller on commit (LISTEN/NOTIFY); elsewhere the pace alone decides.
    listener = Listener(settings.database, poller.wake) if db.sql.family == "postgresql" else None
    stream = LiveStream(poller, hub, listener)
    retention = Retention(store, stream, settings.retention_days)
    metrics = metrics_registry(stream.status, retention, stats, alerts, webhook, webhook_sender)
    return Runtime(
        settings, model, db, store, poller, stream, retention, stats, metrics, alerts, webhook, webhook_sender
    )
