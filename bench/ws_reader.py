"""A minimal WebSocket reader for the benchmark harness: connect, then hand each message's bytes on.

The harness holds hundreds of connections per process that all get the same
messages. A full client library decodes every frame through several layers of
Python (frame objects, a message assembler, a queue, a task step per message):
at 1,000 clients that made the harness compete with the backend it measures for
the CPU. This reader does the least a client must: the upgrade handshake, frame
boundaries (server frames are unmasked), pong answers to pings (uvicorn closes a
client that does not answer) and the close. Messages are handed on as bytes,
text and binary alike; fragmented messages are joined.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time
from collections.abc import Callable
from urllib.parse import urlsplit

OnMessage = Callable[[bytes, float], None]
"""Called with each message's payload and the time its last bytes arrived (``time.time()``)."""

_CLOSE, _PING = 0x8, 0x9


class _Reader(asyncio.Protocol):
    def __init__(self, on_message: OnMessage, handshake: asyncio.Future[None]):
        self.on_message = on_message
        self.handshake = handshake
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.buffer = bytearray()
        self.fragments = bytearray()
        self.transport: asyncio.Transport | None = None
        self.upgraded = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        now = time.time()
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self.buffer[: self.buffer.find(b"\r\n")])
            if b" 101 " not in status:
                self.handshake.set_exception(ConnectionError(f"upgrade refused: {status!r}"))
                return
            del self.buffer[: end + 4]
            self.upgraded = True
            self.handshake.set_result(None)
        self._frames(now)

    def _frames(self, now: float) -> None:
        buffer = self.buffer
        while len(buffer) >= 2:
            first, second = buffer[0], buffer[1]
            length, start = second & 0x7F, 2
            if length == 126:
                if len(buffer) < 4:
                    return
                length, start = struct.unpack_from("!H", buffer, 2)[0], 4
            elif length == 127:
                if len(buffer) < 10:
                    return
                length, start = struct.unpack_from("!Q", buffer, 2)[0], 10
            if len(buffer) < start + length:
                return
            payload = bytes(buffer[start : start + length])
            del buffer[: start + length]
            opcode = first & 0x0F
            if opcode == _PING:
                self._send(0xA, payload)
            elif opcode == _CLOSE:
                self._send(_CLOSE, payload[:2])
                if self.transport is not None:
                    self.transport.close()
                return
            elif opcode < 0x8:  # continuation, text or binary
                if first & 0x80:  # FIN
                    if self.fragments:
                        payload, self.fragments = bytes(self.fragments + payload), bytearray()
                    self.on_message(payload, now)
                else:
                    self.fragments += payload

    def _send(self, opcode: int, payload: bytes) -> None:
        """A client frame: always masked (RFC 6455); only small control frames are sent."""
        if self.transport is None or self.transport.is_closing():
            return
        mask = os.urandom(4)
        masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
        self.transport.write(bytes((0x80 | opcode, 0x80 | len(payload))) + mask + masked)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.handshake.done():
            self.handshake.set_exception(exc or ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)


async def read_messages(url: str, on_message: OnMessage, timeout: float = 120) -> asyncio.Future[None]:
    """Connects to ``ws://host:port/path?query``; returns a future done when the connection ends."""
    parts = urlsplit(url)
    assert parts.scheme == "ws" and parts.hostname is not None, url
    loop = asyncio.get_running_loop()
    handshake: asyncio.Future[None] = loop.create_future()
    transport, reader = await asyncio.wait_for(
        loop.create_connection(lambda: _Reader(on_message, handshake), parts.hostname, parts.port or 80), timeout
    )
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    transport.write(request.encode())
    await asyncio.wait_for(handshake, timeout)
    return reader.closed
