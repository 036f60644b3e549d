"""One spelling for the event filters of ``/api/events`` (both modes) and ``/api/events/histogram``.

``entities`` / ``types``, comma lists as a ``/ws`` subscription takes them, are
the main spelling, so that a user need not know which mode takes which.
``entity`` / ``event_type`` were history mode's spelling (and ``entity`` one
name in id mode): they still work, in both modes, as aliases. Given both ways
with different names, the request is ambiguous and refused rather than guessed.
"""

from __future__ import annotations

from collections.abc import Collection

from fastapi import HTTPException

from ..stream.subscription import EVENT_TYPES, BadSubscription, Subscription, parse_names


def event_filter(
    known_entities: Collection[str],
    *,
    entities: str | None,
    types: str | None,
    entity: str | None,
    event_type: str | None,
) -> Subscription:
    """The filter of a request; None in it is all, empty is none. A bad value raises a 422 naming it."""
    try:
        return Subscription(
            _either("entities", entities, "entity", entity, known_entities, "entity"),
            _either("types", types, "event_type", event_type, EVENT_TYPES, "event type"),
        )
    except BadSubscription as error:
        raise HTTPException(status_code=422, detail=str(error)) from None


def _either(
    name: str, raw: str | None, alias: str, alias_raw: str | None, known: Collection[str], what: str
) -> frozenset[str] | None:
    chosen = parse_names(name, raw, known, what)
    older = parse_names(alias, alias_raw, known, what)
    if chosen is not None and older is not None and chosen != older:
        raise BadSubscription(
            f"{name}={_shown(raw)} and {alias}={_shown(alias_raw)} differ: give {name}= alone "
            f"({alias}= is its older spelling)"
        )
    return chosen if chosen is not None else older


def _shown(raw: str | None) -> str:
    text = raw or ""
    return repr(text if len(text) <= 40 else text[:40] + "…")
