"""Evaluating the alert rules on the stream: no query, only what the poller already read.

Each published batch goes through :meth:`AlertEvaluator.observe` (counting into
rate windows, stamping the last event seen, testing field rules on the rows the
events carry); :meth:`AlertEvaluator.evaluate` turns that into each rule's state.
It runs after every batch and on a timer (:meth:`run`), since silence (a stale
rule) and time passing (a window emptying, a field rule's hold ending) change
states without any event. Every state change goes to the listeners: WebSocket
clients, the webhook.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from ..stream.event_store import Event
from .rules import AlertRule, AlertValue, compare, row_matches

log = logging.getLogger("dashboard.alerts")

TICK_S = 0.5
"""How often the timer re-evaluates: the resolution of stale rules and window ends."""
MAX_BUCKETS = 60
"""A rate window is counted in at most this many buckets (a 10 min window: 10 s buckets)."""
HISTORY_LENGTH = 50
"""State changes kept per rule for ``GET /api/alerts``."""

AlertState = Literal["ok", "firing"]


class RateWindow:
    """Events counted in buckets over a sliding window; memory is ``MAX_BUCKETS`` pairs at most."""

    def __init__(self, window_s: int):
        self.buckets_in_window = min(MAX_BUCKETS, max(1, window_s))
        self.width = window_s / self.buckets_in_window
        self.buckets: deque[tuple[int, int]] = deque()  # (bucket index, events)

    def add(self, now: float, count: int = 1) -> None:
        index = math.floor(now / self.width)
        if self.buckets and self.buckets[-1][0] == index:
            self.buckets[-1] = (index, self.buckets[-1][1] + count)
        else:
            self.buckets.append((index, count))
        self._trim(index)

    def count(self, now: float) -> int:
        self._trim(math.floor(now / self.width))
        return sum(count for _, count in self.buckets)

    def _trim(self, index: int) -> None:
        while self.buckets and self.buckets[0][0] <= index - self.buckets_in_window:
            self.buckets.popleft()


@dataclass(frozen=True)
class AlertChange:
    """One state change, as sent to clients and the webhook."""

    name: str
    state: AlertState
    since: float
    """Wall-clock time (epoch seconds) of the change."""
    value: AlertValue
    rule: AlertRule

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": self.state,
            "since": _iso(self.since),
            "value": self.value,
            "entity": self.rule.entity or None,
            "kind": self.rule.kind,
            "when": self.rule.when,
        }


@dataclass
class RuleState:
    rule: AlertRule
    state: AlertState
    since: float
    """Wall-clock time the current state began (the backend's start for the first)."""
    value: AlertValue = None
    pending_since: float | None = None
    """Monotonic time the condition of a rule with ``for:`` began to hold."""
    window: RateWindow | None = None
    last_seen: float = 0.0
    """stale rules: monotonic time of the last matching event (the start before one)."""
    last_seen_value: AlertValue = None
    last_match: float | None = None
    """field rules: monotonic time of the last matching row."""
    matches: int = 0
    """field rules: matching rows seen (a counter in /metrics)."""
    history: deque[AlertChange] = field(default_factory=lambda: deque(maxlen=HISTORY_LENGTH))

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.rule.name,
            "state": self.state,
            "since": _iso(self.since),
            "value": self.value,
            "entity": self.rule.entity or None,
            "kind": self.rule.kind,
            "when": self.rule.when,
            "history": [{"state": c.state, "since": _iso(c.since), "value": c.value} for c in self.history],
        }


Listener = Callable[[AlertChange], None]


class AlertEvaluator:
    def __init__(
        self,
        rules: Iterable[AlertRule],
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ):
        self._clock = clock
        self._wall = wall_clock
        self.started = clock()
        started_wall = wall_clock()
        self.states: list[RuleState] = []
        for rule in rules:
            state = RuleState(rule, "ok", started_wall, last_seen=self.started)
            if rule.kind == "rate":
                state.window = RateWindow(rule.window_s)
                state.value = 0
            self.states.append(state)
        self.listeners: list[Listener] = []
        # Which rules an (entity, event type) concerns, so an event costs a dict lookup.
        self._by_event: dict[tuple[str, str], list[RuleState]] = {}
        self._field_entities = {state.rule.entity for state in self.states if state.rule.kind == "field"}

    def _rules_for(self, entity: str, event_type: str) -> list[RuleState]:
        key = (entity, event_type)
        found = self._by_event.get(key)
        if found is None:
            found = [state for state in self.states if state.rule.applies_to(entity, event_type)]
            if len(self._by_event) < 10_000:  # only names from db_events: bounded anyway, but never grows unchecked
                self._by_event[key] = found
        return found

    def observe(self, events: list[Event]) -> None:
        """Count a published batch into the rules, then re-evaluate them."""
        if not self.states:
            return
        now = self._clock()
        for event in events:
            states = self._rules_for(event.entity, event.event_type)
            if not states:
                continue
            row: Any = None
            if event.entity in self._field_entities:
                try:
                    row = json.loads(event.payload)
                except ValueError:
                    row = None
            for state in states:
                kind = state.rule.kind
                if kind == "rate" and state.window is not None:
                    state.window.add(now)
                elif kind == "stale":
                    state.last_seen = now
                elif kind == "field":
                    matched, value = row_matches(state.rule, row)
                    if matched:
                        state.last_match, state.last_seen_value = now, value
                        state.matches += 1
        self.evaluate()

    def evaluate(self) -> None:
        now = self._clock()
        for state in self.states:
            holds, value = self._condition(state, now)
            state.value = value
            rule = state.rule
            firing = holds
            if rule.kind != "field" and rule.for_s > 0:
                # Prometheus' `for:`: the condition must hold that long first.
                if not holds:
                    state.pending_since = None
                elif state.pending_since is None:
                    state.pending_since = now
                firing = state.pending_since is not None and now - state.pending_since >= rule.for_s
            new_state: AlertState = "firing" if firing else "ok"
            if new_state != state.state:
                state.state, state.since = new_state, self._wall()
                change = AlertChange(rule.name, new_state, state.since, value, rule)
                state.history.append(change)
                log.info("alert %s: %s (value %s)", rule.name, new_state, value)
                for listener in self.listeners:
                    try:
                        listener(change)
                    except Exception:  # a listener's failure never stops evaluation
                        log.exception("alert listener failed")

    def _condition(self, state: RuleState, now: float) -> tuple[bool, AlertValue]:
        rule = state.rule
        if rule.kind == "rate":
            assert state.window is not None
            count = state.window.count(now)
            # "Fewer than N per window" is only known once a whole window has been watched.
            if rule.operator in ("<", "<=") and now - self.started < rule.window_s:
                return False, count
            return compare(count, rule.operator, rule.threshold), count
        if rule.kind == "stale":
            silence = round(now - state.last_seen, 1)
            return silence >= rule.window_s, silence
        if state.last_match is None:
            return False, None
        return now - state.last_match < rule.for_s, state.last_seen_value

    async def run(self) -> None:
        """The timer: re-evaluates every ``TICK_S``, for changes that no event brings."""
        if not self.states:
            return
        while True:
            await asyncio.sleep(TICK_S)
            self.evaluate()

    def snapshot(self) -> list[dict[str, Any]]:
        return [state.as_json() for state in self.states]


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch % 1 * 1000):03d}Z"
