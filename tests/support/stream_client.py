"""A WebSocket client that records everything the backend streams to it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import zlib
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
    sizes: list[int] = field(default_factory=list)
    """Length of every message received as sent: characters of a text frame, bytes of a binary one."""
    binary: list[int] = field(default_factory=list)
    """Indices in ``messages`` of those that came compressed (binary frames; ``?compression=deflate``)."""
    carriers: list[int] = field(default_factory=list)
    """For each of ``events``, the index in ``messages`` of the message that brought it."""
    _task: asyncio.Task[None] | None = None
    _connection: ClientConnection | None = None
    _connected: asyncio.Event = field(default_factory=asyncio.Event)
    _opened: asyncio.Event = field(default_factory=asyncio.Event)
    _resuming: bool = False
    _resumed_from: int | None = None

    async def start(self, after: int | None = None, *, wait_for_hello: bool = True) -> StreamClient:
        """Connect; return once ``hello`` arrived (or, without ``wait_for_hello``, any first message)."""
        url = self.url if after is None else f"{self.url}{'&' if '?' in self.url else '?'}after={after}"
        if after is not None:
            self.resume_after = after  # until this connection's messages move it
        self._resuming = after is not None
        self._resumed_from = after
        self._connected = asyncio.Event()
        self._opened = asyncio.Event()
        self._task = asyncio.create_task(self._run(url))
        await asyncio.wait_for((self._connected if wait_for_hello else self._opened).wait(), timeout=15)
        return self

    async def wait_for_hello(self, timeout: float = 30) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout=timeout)
        assert self.hello is not None, f"closed before hello: {self.close_code} {self.close_reason}"

    @property
    def resets(self) -> list[dict[str, Any]]:
        return [message for message in self.messages if message["type"] == "reset"]

    async def _run(self, url: str) -> None:
        try:
            async with connect(url, max_size=None, open_timeout=10) as connection:
                self._connection = connection
                async for raw in connection:
                    self.sizes.append(len(raw))
                    if isinstance(raw, bytes):
                        self.binary.append(len(self.messages))
                        raw = zlib.decompress(raw).decode()
                    message = json.loads(raw)
                    self.messages.append(message)
                    self._opened.set()
                    if message["type"] == "hello":
                        self.hello = message
                        if not self._resuming:  # a resuming client keeps its own point until the replay moves it
                            self.resume_after = max(self.resume_after, message["resume_after"])
                        self._connected.set()
                    elif message["type"] == "events":
                        self.events.extend(message["events"])
                        self.carriers.extend([len(self.messages) - 1] * len(message["events"]))
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
            self._opened.set()

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


@dataclass
class ResumingClient:
    """Like the browser: whenever its connection ends, reconnects with ``?after=`` its latest ``resume_after``."""

    url: str
    connections: list[StreamClient] = field(default_factory=list)
    retry_s: float = 0.2
    _task: asyncio.Task[None] | None = None
    _stopping: bool = False

    async def start(self, after: int | None = None) -> ResumingClient:
        self.connections.append(await StreamClient(self.url).start(after))
        self._task = asyncio.create_task(self._reconnect_forever())
        return self

    @property
    def resume_after(self) -> int:
        return self.connections[-1].resume_after

    async def _reconnect_forever(self) -> None:
        while not self._stopping:
            current = self.connections[-1]
            assert current._task is not None
            await asyncio.shield(current._task)
            while not self._stopping:
                await asyncio.sleep(self.retry_s)
                with contextlib.suppress(TimeoutError, OSError):
                    following = await StreamClient(self.url).start(current.resume_after, wait_for_hello=False)
                    following.resume_after = max(following.resume_after, current.resume_after)
                    self.connections.append(following)
                    break

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        for connection in self.connections:
            await connection.stop()

    @property
    def events(self) -> list[dict[str, Any]]:
        return [event for connection in self.connections for event in connection.events]

    @property
    def resets(self) -> list[dict[str, Any]]:
        return [reset for connection in self.connections for reset in connection.resets]

    def order_keys(self) -> set[str]:
        return {e["data"]["order_key"] for e in self.events if e["entity"] == "Order" and e["event_type"] == "insert"}

    async def wait_for_keys(self, expected: set[str], timeout: float = 60) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not expected <= self.order_keys():
            if asyncio.get_running_loop().time() > deadline:
                missing = expected - self.order_keys()
                raise AssertionError(f"{len(missing)} committed events never arrived, e.g. {sorted(missing)[:5]}")
            await asyncio.sleep(0.05)

    def assert_duplicates_only_after_resume_points(self) -> None:
        """No id twice in one connection; across connections only ids above the point resumed from."""
        seen: set[int] = set()
        for connection in self.connections:
            ids = connection.ids
            assert len(ids) == len(set(ids)), "an event id arrived twice on one connection"
            start = connection._resumed_from
            repeated = [i for i in ids if i in seen]
            assert all(start is not None and i > start for i in repeated), (
                f"ids at or below the resume point {start} were sent again: {sorted(repeated)[:5]}"
            )
            seen.update(ids)


def assert_exactly_once_in_writer_order(client: StreamClient, committed: list[str]) -> None:
    """Every committed insert once, nothing else, each writer's events in its commit order."""
    keys, ids = client.order_keys(), client.ids
    assert len(ids) == len(set(ids)), "an event id arrived twice"
    assert len(keys) == len(set(keys)), "a row arrived twice"
    assert set(keys) == set(committed)
    by_writer: dict[str, list[Arrival]] = {}
    for event, carrier in zip(client.events, client.carriers, strict=True):
        if event["entity"] == "Order" and event["event_type"] == "insert":
            key = event["data"]["order_key"]
            by_writer.setdefault(key.split("-")[0], []).append(Arrival(key, event["id"], carrier))
    for writer, received in by_writer.items():
        late = next((n for n in range(1, len(received)) if received[n].key < received[n - 1].key), None)
        assert late is None, (
            f"writer {writer}'s events arrived out of commit order: "
            f"{_arrival(client, received[late - 1])} before {_arrival(client, received[late])}"
        )


@dataclass(frozen=True)
class Arrival:
    key: str
    id: int
    message: int
    """Index of the message that brought it, in ``StreamClient.messages``."""


def _arrival(client: StreamClient, arrival: Arrival) -> str:
    """Enough to tell a delivery out of id order (the backend) from ids out of commit order (the database)."""
    message = client.messages[arrival.message]
    ids = [event["id"] for event in message["events"]]
    return (
        f"{arrival.key} (id {arrival.id}, message {arrival.message} of ids {min(ids)}..{max(ids)}, "
        f"resume_after {message['resume_after']})"
    )


def stalled_websocket(port: int, path: str = "/ws") -> socket.socket:
    """A client that completes the handshake, then never reads, with a tiny receive window."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    sock.connect(("127.0.0.1", port))
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n".encode()
        + b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    assert b" 101 " in sock.recv(1024).split(b"\r\n")[0]
    return sock
