"""Per-entity statistics: counters, rates and row counts moved by events (no database needed)."""

from __future__ import annotations

import pytest

from backend.api.stats import RATE_WINDOW_S, EntityStats


def test_counts_each_event_type() -> None:
    stats = EntityStats()
    for event_id, event_type in enumerate(["insert", "insert", "update", "delete"], start=1):
        stats.record(event_id, event_type, second=1000)
    assert (stats.inserts, stats.updates, stats.deletes) == (2, 1, 1)


def test_rate_covers_only_the_last_window() -> None:
    stats = EntityStats()
    for second in range(1000, 1000 + 2 * RATE_WINDOW_S):
        stats.record(second, "insert", second)
    now = 1000 + 2 * RATE_WINDOW_S - 0.5
    assert stats.rate(now) == 1.0
    sparkline = stats.sparkline(now)
    assert len(sparkline) == RATE_WINDOW_S and set(sparkline) == {1}


def test_rows_follow_inserts_and_deletes_after_the_count() -> None:
    stats = EntityStats()
    assert stats.rows() is None  # never counted: unknown, not zero
    stats.record(1, "insert", 1000)
    stats.rebase(rows=10, event_id=1, estimated=False)  # the count already includes event 1
    assert stats.rows() == 10
    stats.record(2, "insert", 1000)
    stats.record(3, "delete", 1000)
    stats.record(4, "insert", 1000)
    assert stats.rows() == 11


def test_a_newer_count_keeps_only_the_changes_after_it() -> None:
    stats = EntityStats()
    for event_id in range(1, 6):
        stats.record(event_id, "insert", 1000)
    stats.rebase(rows=3, event_id=3, estimated=True)  # events 4 and 5 came after the count
    assert stats.rows() == 5
    assert stats.estimated


def test_changes_kept_between_counts_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("backend.api.stats.MAX_ROW_CHANGES", 3)
    stats = EntityStats()
    stats.rebase(rows=10, event_id=0, estimated=False)
    for event_id in range(1, 4):
        stats.record(event_id, "insert", 1000)
    assert stats.rows() == 13
    stats.record(4, "insert", 1000)  # counting has not succeeded for too long
    assert stats.rows() is None and len(stats.row_changes) == 1
    stats.rebase(rows=14, event_id=4, estimated=False)
    assert stats.rows() == 14
