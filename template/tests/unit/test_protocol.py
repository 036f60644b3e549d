"""The stream's wire protocol, byte budgets and client queues (no database needed)."""

from __future__ import annotations

import json

import pytest

from backend.stream import protocol
from backend.stream.event_store import Event, EventRef, within_budget
from backend.stream.hub import Client


def _event(event_id: int, size: int = 10) -> Event:
    return Event(event_id, "Order", "insert", json.dumps({"c": "x" * size}), None, "2024-01-01T00:00:00.000Z")


@pytest.mark.parametrize("raw", ["0", "42", "9223372036854775807", "007"])
def test_event_ids_are_ascii_digits_within_int64(raw: str) -> None:
    assert protocol.parse_event_id("after", raw) == int(raw)


@pytest.mark.parametrize("raw", ["", "²", "١٢", "1_000", "+5", " 5", "5.0", "-1", "9223372036854775808", "9" * 5000])
def test_anything_else_is_refused_with_one_line(raw: str) -> None:
    with pytest.raises(protocol.BadEventId) as refused:
        protocol.parse_event_id("after", raw)
    assert str(refused.value).startswith("after=") and "\n" not in str(refused.value)


def test_a_large_batch_is_split_and_every_message_can_be_resumed_from() -> None:
    events = [_event(i, 300_000) for i in range(1, 11)]  # ~3 MB
    messages = [json.loads(m) for m in protocol.events_messages(events, 10, max_chars=1_000_000)]
    assert len(messages) == 4
    assert [e["id"] for m in messages for e in m["events"]] == list(range(1, 11))
    # Every message but the last says: everything up to my last id; the last one, the watermark.
    assert [m["resume_after"] for m in messages] == [3, 6, 9, 10]
    with_gap = [json.loads(m)["resume_after"] for m in protocol.events_messages(events, 2, max_chars=1_000_000)]
    assert with_gap == [2, 2, 2, 2]  # an open gap at 3 holds every message back


def test_one_event_larger_than_a_message_goes_alone() -> None:
    sizes = [len(m) for m in protocol.events_messages([_event(1, 10), _event(2, 3_000_000), _event(3, 10)], 3)]
    assert len(sizes) == 3 and sizes[1] > protocol.MESSAGE_CHARS


def test_pong_echoes_only_safe_ids() -> None:
    assert json.loads(protocol.pong(7)) == {"type": "pong", "id": 7}
    assert json.loads(protocol.pong("a")) == {"type": "pong", "id": "a"}
    for unsafe in (2**60, 1.5, float("nan"), [1], {"a": 1}, "x" * 101, True):
        assert json.loads(protocol.pong(unsafe)) == {"type": "pong", "id": None}


@pytest.mark.parametrize(
    "text", ["[" * 100_000, '{"a":' * 700 + "1" + "}" * 700, "{", "not json", '{"type":"ping"' + " " * 5000 + "}"]
)
def test_client_messages_never_raise(text: str) -> None:
    assert protocol.client_ping_id(text) == (False, None)


def test_hello_and_starting_carry_the_version_and_no_head() -> None:
    hello = json.loads(protocol.hello(last_event_id=5, resume_after=4, poll_interval_ms=100, server_time=1.0))
    assert hello["protocol"] == protocol.PROTOCOL_VERSION == 1
    assert json.loads(protocol.starting()) == {"type": "starting", "message": "waiting for the database"}


def test_groups_stay_within_the_budget() -> None:
    refs = [EventRef(i, 400) for i in range(10)] + [EventRef(10, 5000), EventRef(11, 10)]
    groups = within_budget(refs, 1000)
    assert [[r.id for r in g] for g in groups] == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10], [11]]


async def test_a_client_queue_counts_bytes_and_takes_a_batch_whole() -> None:
    client = Client(limit_bytes=100_000)
    assert client.offer(["x" * 150_000])  # a batch always fits an empty queue
    assert not client.offer(["y"])  # 150 kB still unsent: too far behind
    assert client.overflowed.is_set()
    assert not client.offer([])  # and closed for good
    small = Client(limit_bytes=100_000)
    assert small.offer(["z" * 10_000] * 9)
    # 90 kB behind: a burst from one poll is taken whole, the client was keeping up.
    assert small.offer(["z" * 10_000] * 20)
    assert not small.offer(["z"])  # 290 kB behind when the next batch comes
    assert await small.next() == "z" * 10_000


def test_an_event_object_carries_the_old_values_of_an_update_and_null_otherwise() -> None:
    update = Event(7, "Order", "update", '{"id": 2, "status": "F"}', '["id", "status"]', "2024-01-01T00:00:00.000Z",
                   '{"id": 1, "status": "O"}')  # fmt: skip
    assert json.loads(protocol.event_json(update)) == {
        "id": 7,
        "entity": "Order",
        "event_type": "update",
        "data": {"id": 2, "status": "F"},
        "changed": ["id", "status"],
        "old": {"id": 1, "status": "O"},
        "timestamp": "2024-01-01T00:00:00.000Z",
    }
    assert json.loads(protocol.event_json(_event(8)))["old"] is None
