"""The hub's watchdog: one sweep over every client instead of a timer per message."""

from __future__ import annotations

import asyncio
import time

from backend.stream.hub import Hub, ReplaySlots


def test_a_send_waiting_longer_than_the_timeout_is_flagged_and_only_that_one() -> None:
    hub = Hub(queue_bytes=1 << 20, send_timeout_s=10, heartbeat_s=15)
    stuck, busy, waiting = hub.new_client(), hub.new_client(), hub.new_client()  # waiting: not yet registered
    for client in (stuck, busy):
        hub.register(client)
    now = time.monotonic()
    stuck.sending_since, busy.sending_since, waiting.sending_since = now - 10.5, now - 9.5, now - 11
    hub.sweep(lambda: None, now)
    assert stuck.stalled.is_set() and waiting.stalled.is_set()  # a send before registration is watched too
    assert not busy.stalled.is_set()
    busy.sent()
    hub.sweep(lambda: None, now + 100)
    assert not busy.stalled.is_set()  # between sends nothing is waiting


def test_heartbeats_go_to_idle_clients_with_nothing_queued_one_reading_per_sweep() -> None:
    hub = Hub(queue_bytes=1 << 20, send_timeout_s=10, heartbeat_s=15)
    idle, recent, queued, sending, unregistered = (hub.new_client() for _ in range(5))
    for client in (idle, recent, queued, sending):
        hub.register(client)
    now = time.monotonic()
    for client in (idle, queued, sending, unregistered):
        client.idle_since = now - 16
    recent.idle_since = now - 5
    queued.offer(["an event"])
    sending.sending()
    readings: list[int] = []

    def heartbeat() -> str:
        readings.append(1)
        return "beat"

    hub.sweep(heartbeat, now)
    assert list(idle.messages) == ["beat"] and idle.idle_since == now
    assert list(recent.messages) == [] and list(queued.messages) == ["an event"] and list(sending.messages) == []
    assert list(unregistered.messages) == []  # not streaming yet: its own loop says "starting"
    assert readings == [1]
    # Before the poller has read the head there is no resume point to give: no heartbeat.
    hub.sweep(lambda: None, now + 100)
    assert list(recent.messages) == []


def test_connections_past_the_limit_are_refused_until_one_leaves() -> None:
    hub = Hub(queue_bytes=1 << 20, max_connections=2)
    first, second = hub.admit(), hub.admit()
    assert first is not None and second is not None
    assert hub.admit() is None and hub.refused_full == 1
    hub.register(first)
    hub.leave(first)
    assert first not in hub.clients
    assert hub.admit() is not None  # the place it left


async def test_replay_slots_let_that_many_pages_in_at_once_and_count_the_others() -> None:
    slots = ReplaySlots(2)
    inside, most = 0, 0
    release = asyncio.Event()

    async def page() -> None:
        nonlocal inside, most
        async with slots.slot():
            inside += 1
            most = max(most, inside)
            await release.wait()
            inside -= 1

    tasks = [asyncio.create_task(page()) for _ in range(5)]
    await asyncio.sleep(0.05)
    assert (inside, slots.waiting) == (2, 3)
    release.set()
    await asyncio.gather(*tasks)
    assert most == 2 and slots.waiting == 0
