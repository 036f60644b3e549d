"""A WebSocket client that records everything the backend streams to it."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed


@dataclass
class StreamClient:
    url: str
    events: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    hello: dict[str, Any] | None = None
    resume_after: int = 0
    close_code: int | None = None
    close_reason: str | None = None
    _task: asyncio.Task[None] | None = None
    _connection: ClientConnection | None = None
    _connected: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self, after: int | None = None) -> StreamClient:
        url = self.url if after is None else f"{self.url}?after={after}"
        self._connected = asyncio.Event()
        self._task = asyncio.create_task(self._run(url))
        await asyncio.wait_for(self._connected.wait(), timeout=15)
        return self

    async def _run(self, url: str) -> None:
        try:
            async with connect(url, max_size=None, open_timeout=10) as connection:
                self._connection = connection
                async for raw in connection:
                    message = json.loads(raw)
                    self.messages.append(message)
                    if message["type"] == "hello":
                        self.hello = message
                        self.resume_after = max(self.resume_after, message["resume_after"])
                        self._connected.set()
                    elif message["type"] == "events":
                        self.events.extend(message["events"])
                        self.resume_after = message["resume_after"]
                    elif message["type"] == "heartbeat":
                        self.resume_after = message["resume_after"]
        except ConnectionClosed as closed:
            if closed.rcvd is not None:
                self.close_code, self.close_reason = closed.rcvd.code, closed.rcvd.reason
        except OSError:
            pass
        finally:
            if self._connection is not None and self._connection.close_code is not None and self.close_code is None:
                self.close_code = self._connection.close_code
                self.close_reason = self._connection.close_reason
            self._connected.set()

    async def send(self, text: str | bytes) -> None:
        assert self._connection is not None
        await self._connection.send(text)

    async def stop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, timeout=10)

    async def wait_closed(self, timeout: float = 30) -> None:
        assert self._task is not None
        await asyncio.wait_for(asyncio.shield(self._task), timeout=timeout)

    @property
    def ids(self) -> list[int]:
        return [event["id"] for event in self.events]

    def order_keys(self) -> list[str]:
        return [e["data"]["order_key"] for e in self.events if e["entity"] == "Order" and e["event_type"] == "insert"]

    async def wait_for_keys(self, expected: set[str], timeout: float = 30) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not expected <= set(self.order_keys()):
            if asyncio.get_running_loop().time() > deadline:
                missing = expected - set(self.order_keys())
                raise AssertionError(f"{len(missing)} committed events never arrived, e.g. {sorted(missing)[:5]}")
            await asyncio.sleep(0.05)


def assert_exactly_once_in_writer_order(keys: list[str], committed: list[str], ids: list[int]) -> None:
    """Every committed insert once, nothing else, each writer's events in its commit order."""
    assert len(ids) == len(set(ids)), "an event id arrived twice"
    assert len(keys) == len(set(keys)), "a row arrived twice"
    assert set(keys) == set(committed)
    by_writer: dict[str, list[str]] = {}
    for key in keys:
        by_writer.setdefault(key.split("-")[0], []).append(key)
    for writer, received in by_writer.items():
        assert received == sorted(received), f"writer {writer}'s events arrived out of commit order"
