"""The live parts of a running backend, shared by the HTTP and WebSocket endpoints."""

from __future__ import annotations

from dataclasses import dataclass

from .api.stats import Stats
from .db.database import Database
from .model import Model
from .settings import Settings
from .stream.event_store import Event, EventStore
from .stream.hub import Hub
from .stream.poller import Poller


@dataclass
class Runtime:
    settings: Settings
    model: Model
    db: Database
    store: EventStore
    poller: Poller
    hub: Hub
    stats: Stats


def build_runtime(settings: Settings, model: Model) -> Runtime:
    db = Database(settings.database, pool_size=5)
    hub = Hub(settings.client_queue_size)
    stats = Stats(model)

    def publish(events: list[Event], resume_after: int) -> None:
        stats.record(events)
        hub.publish(events, resume_after)

    poller = Poller(
        db,
        interval_s=settings.poll_interval_s,
        page_size=settings.max_events_per_poll,
        publish=publish,
    )
    return Runtime(settings, model, db, EventStore(db), poller, hub, stats)
