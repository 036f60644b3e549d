"""The poll pace: fast while events flow, idle otherwise, never faster than the last fan-out (no database needed)."""

from __future__ import annotations

import asyncio

from backend.stream.hub import Client, Hub
from backend.stream.poller import Pace, fanout_time


def test_the_pace_is_fast_while_events_flow_and_idle_after_empty_polls() -> None:
    pace = Pace(interval_s=0.1, fast_s=0.02, idle_after=2)
    assert pace.delay() == 0.1
    pace.after_poll(5, fanout_s=0.001)
    assert pace.delay() == 0.02
    pace.after_poll(0)
    pace.after_poll(0)
    assert pace.delay() == 0.1


def test_a_batch_is_followed_by_a_wait_at_least_as_long_as_its_fan_out() -> None:
    pace = Pace(interval_s=0.1, fast_s=0.02, idle_after=2)
    pace.after_poll(20, fanout_s=0.05)
    assert pace.delay() == 0.05
    assert pace.min_gap(0.01) == 0.05
    pace.after_poll(20, fanout_s=0.3)  # more than the idle interval: the fan-out still decides
    assert pace.delay() == 0.3
    pace.after_poll(0)  # nothing sent: no fan-out to wait for
    assert pace.delay() == 0.02
    assert pace.min_gap(0.01) == 0.01


async def test_the_fan_out_time_covers_every_waiting_clients_send() -> None:
    """What the pace waits for is the whole fan-out: when ``fanout_time`` returns, every client
    that was waiting has taken the batch. (With a task per wait, as ``asyncio.wait_for`` makes,
    the clients would wake a step later and the fan-out would look free.)"""
    hub = Hub(queue_bytes=1 << 20)
    sent: list[tuple[int, str | bytes]] = []

    async def sender(number: int, client: Client) -> None:
        while (message := await client.next()) != "stop":
            sent.append((number, message))

    clients = [hub.new_client() for _ in range(200)]
    tasks = [asyncio.create_task(sender(number, client)) for number, client in enumerate(clients)]
    for client in clients:
        hub.register(client)
    await asyncio.sleep(0)  # every sender now waits for a message
    try:
        for batch in ("first", "second"):
            sent.clear()
            hub.broadcast(batch)
            await fanout_time()
            assert sorted(sent) == [(number, batch) for number in range(len(clients))]
    finally:
        hub.broadcast("stop")  # a cancellation alone can be lost (asyncio.wait_for on Python 3.11)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
