"""Per-client subscriptions: which entities and event types a client wants.

``/ws?entities=Order,Customer&types=insert`` (either parameter may be left
out: all). The live feed and the replay both filter with :meth:`Subscription.split`,
and what a client does not get is still counted for it (``unsent``), so that the
page's statistics stay exact. The hub groups clients by subscription and
encodes each batch once per distinct subscription, not once per client.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from .event_store import Event

EVENT_TYPES = ("insert", "update", "delete")
MAX_PARAMETER_CHARS = 6000
"""A subscription parameter longer than this is refused (a model's entity names fit many times over)."""
MAX_CLOSE_REASON_BYTES = 123
"""RFC 6455: a close frame's reason is at most 123 bytes of UTF-8."""

Tally = dict[str, dict[str, int]]
"""Entity -> event type -> how many events of the batch were not sent (only non-zero entries)."""


class BadSubscription(ValueError):
    """An ``entities`` / ``types`` value naming something that does not exist; the message names it."""


@dataclass(frozen=True, slots=True)
class Subscription:
    entities: frozenset[str] | None = None
    """None: every entity."""
    types: frozenset[str] | None = None
    """None: every event type."""

    @property
    def everything(self) -> bool:
        return self.entities is None and self.types is None

    def wants(self, entity: str, event_type: str) -> bool:
        return (self.entities is None or entity in self.entities) and (self.types is None or event_type in self.types)

    def split(self, events: Sequence[Event]) -> tuple[list[Event], Tally]:
        """The events this subscription gets, and a count of the others by entity and type."""
        if self.everything:
            return list(events), {}
        wanted: list[Event] = []
        unsent: Tally = {}
        for event in events:
            if self.wants(event.entity, event.event_type):
                wanted.append(event)
            else:
                count(unsent, event.entity, event.event_type)
        return wanted, unsent


def count(tally: Tally, entity: str, event_type: str) -> None:
    by_type = tally.setdefault(entity, {})
    by_type[event_type] = by_type.get(event_type, 0) + 1


EVERYTHING = Subscription()


def parse_subscription(entities: str | None, types: str | None, known_entities: Collection[str]) -> Subscription:
    """The subscription of comma-separated ``entities`` and ``types`` (None: all; empty: none)."""
    return Subscription(
        parse_names("entities", entities, known_entities, "entity"),
        parse_names("types", types, EVENT_TYPES, "event type"),
    )


def parse_names(parameter: str, raw: str | None, known: Collection[str], what: str) -> frozenset[str] | None:
    """The names of the comma list ``raw`` given as ``parameter`` (None: not given, all; empty: none)."""
    if raw is None:
        return None
    if len(raw) > MAX_PARAMETER_CHARS:
        raise BadSubscription(f"{parameter}= is too long ({len(raw)} characters, at most {MAX_PARAMETER_CHARS})")
    names = frozenset(name.strip() for name in raw.split(",") if name.strip())
    for name in sorted(names):
        if name not in known:
            shown = name if len(name) <= 40 else name[:40] + "…"
            raise BadSubscription(f"unknown {what} {shown!r} in {parameter}= (known: {', '.join(sorted(known))})")
    return names


def close_reason(message: str) -> str:
    """``message`` cut to fit a close frame."""
    encoded = message.encode()
    if len(encoded) <= MAX_CLOSE_REASON_BYTES:
        return message
    return encoded[: MAX_CLOSE_REASON_BYTES - 3].decode(errors="ignore") + "…"
