"""GapTracker: which skipped ids stay open, and the resume watermark (no database needed)."""

from __future__ import annotations

from typing import Any

import pytest

from backend.stream import gaps
from backend.stream.gaps import Gap, GapTracker, HorizonStrategy, MySqlHorizon, PostgresHorizon, horizon_strategy


class NeverFinal(HorizonStrategy):
    def is_final(self, gap_id: int, gap: Gap, horizon: Any, now: float) -> bool:
        return False


def test_watermark_is_below_the_oldest_open_gap() -> None:
    tracker = GapTracker(NeverFinal())
    assert tracker.watermark(10) == 10
    tracker.add([4, 7], token=None)
    assert tracker.watermark(10) == 3
    tracker.fill([4])
    assert tracker.watermark(10) == 6
    tracker.fill([7])
    assert tracker.watermark(10) == 10


def test_sqlite_gaps_are_final_at_once() -> None:
    tracker = GapTracker(horizon_strategy("sqlite"))
    tracker.add(range(3, 6), token=None)
    tracker.close_final(horizon=None, read_at=0.0)
    assert tracker.open == {}
    assert tracker.closed_unfilled == 3


def test_postgresql_gap_is_final_only_once_the_horizon_passed_its_token(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr("backend.stream.gaps.time.monotonic", lambda: clock[0])
    tracker = GapTracker(PostgresHorizon())
    tracker.add([5], token=1000)
    clock[0] += 1.0
    tracker.close_final(horizon=999, read_at=clock[0])  # a transaction that may hold id 5 still runs
    assert 5 in tracker.open
    tracker.close_final(horizon=1000, read_at=clock[0])
    assert tracker.open == {}


def test_no_gap_is_final_while_younger_than_the_minimum_age(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr("backend.stream.gaps.time.monotonic", lambda: clock[0])
    tracker = GapTracker(PostgresHorizon())
    tracker.add([5], token=1)
    tracker.close_final(horizon=10**9, read_at=clock[0])
    assert 5 in tracker.open  # an id is drawn a moment before its row is written
    clock[0] += 2 * gaps.MIN_GAP_AGE_S
    tracker.close_final(horizon=10**9, read_at=clock[0])
    assert tracker.open == {}


def test_mysql_gap_stays_open_while_an_uncommitted_row_holds_it(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr("backend.stream.gaps.time.monotonic", lambda: clock[0])
    tracker = GapTracker(MySqlHorizon())
    tracker.add([8, 9], token=None)
    clock[0] += gaps.MYSQL_MIN_GAP_AGE_S - 0.01
    tracker.close_final(horizon=set(), read_at=clock[0])  # seen by no read yet, but its row may still be on its way
    assert set(tracker.open) == {8, 9}
    clock[0] += 0.01
    tracker.close_final(horizon={8}, read_at=clock[0])  # READ UNCOMMITTED still sees id 8
    assert set(tracker.open) == {8}


def test_open_gaps_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(GapTracker, "MAX_OPEN", 5)
    tracker = GapTracker(NeverFinal())
    tracker.add(range(1, 9), token=None)
    assert sorted(tracker.open) == [4, 5, 6, 7, 8]
    assert tracker.dropped_over_limit == 3


def test_a_huge_jump_of_ids_admits_only_the_newest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(GapTracker, "MAX_OPEN", 4)
    tracker = GapTracker(NeverFinal())
    # A rolled-back load of a billion rows: nothing is allocated per skipped id.
    admitted = tracker.admit([range(2, 5), range(6, 1_000_000_002)])
    assert admitted == [999_999_998, 999_999_999, 1_000_000_000, 1_000_000_001]
    assert tracker.dropped_over_limit == 3 + 999_999_996 - 4
    assert tracker.admit([range(2, 4), range(5, 7)]) == [2, 3, 5, 6]


def test_a_gap_is_aged_when_the_horizon_was_read_not_when_the_poll_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    """A poll that took long after reading the horizon must not count that time as the gap's age."""
    clock = [100.0]
    monkeypatch.setattr("backend.stream.gaps.time.monotonic", lambda: clock[0])
    tracker = GapTracker(MySqlHorizon())
    tracker.add([8], token=None)
    read_at = clock[0] + gaps.MYSQL_MIN_GAP_AGE_S - 0.5  # the horizon read: the gap was 0.5 s too young
    clock[0] = read_at + 2.0  # the poll ends long after
    tracker.close_final(horizon=set(), read_at=read_at)
    assert set(tracker.open) == {8}
    tracker.close_final(horizon=set(), read_at=read_at + 0.5)
    assert tracker.open == {}
