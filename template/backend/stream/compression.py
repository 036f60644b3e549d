"""Opt-in compression of ``events`` messages: ``/ws?compression=deflate``.

At a thousand clients the backend's cost is the bytes it writes, one copy per
client (docs/benchmarks.md). WebSocket's own per-message deflate compresses
each client's copy again; here a batch is compressed once per group of clients
that get the same messages (hub.py) and the same bytes go to all of them.

With it, an ``events`` message of at least ``MIN_COMPRESSED_CHARS`` goes as a
binary frame holding the zlib stream (RFC 1950, what a browser's
``DecompressionStream("deflate")`` reads) of the UTF-8 text it would have been;
smaller ones and every other message stay text frames. A client that does not
ask gets text only, as before.
"""

from __future__ import annotations

import zlib

DEFLATE = "deflate"
COMPRESSIONS = (DEFLATE,)

MIN_COMPRESSED_CHARS = 1024
"""Below this a message stays text: the saving is a few hundred bytes, and the client would decode it
asynchronously for nothing."""

LIVE_LEVEL = 6
"""Live batches are compressed once for many clients: the smaller output (8-10x on order rows, against
6-8x at level 1) saves a copy per client for about 1-3 ms once per batch."""
REPLAY_LEVEL = 1
"""A replay is compressed for one client: the fastest level, as a reconnecting crowd replays at once."""

Message = str | bytes
"""A text frame (str) or a compressed binary frame (bytes)."""


class BadCompression(ValueError):
    """A ``compression`` value that is not supported; the message names it."""


def parse_compression(raw: str | None) -> bool:
    """Whether ``compression=`` asks for compressed ``events`` messages (absent: no)."""
    if raw is None:
        return False
    if raw not in COMPRESSIONS:
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        raise BadCompression(f"unknown compression {shown!r} in compression= (supported: {', '.join(COMPRESSIONS)})")
    return True


def compressed(message: str, level: int) -> Message:
    """``message`` as its client gets it with compression on."""
    if len(message) < MIN_COMPRESSED_CHARS:
        return message
    return zlib.compress(message.encode(), level)
