"""A tiny DNS server on a loopback UDP port: names answered with fixed A records.

It plays Docker's embedded DNS server (127.0.0.11) for nginx's ``resolver``:
the service name resolves to one address per replica. Only what nginx asks is
understood: one question, type A, class IN; other names get NXDOMAIN, other
types an empty answer.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Mapping, Sequence

_TTL_S = 1


def answer(query: bytes, records: Mapping[str, Sequence[str]]) -> bytes:
    """The response to ``query`` (a DNS message) from ``records`` (name -> IPv4 addresses)."""
    labels: list[str] = []
    position = 12
    while query[position]:
        length = query[position]
        labels.append(query[position + 1 : position + 1 + length].decode("ascii").lower())
        position += 1 + length
    qtype, _qclass = struct.unpack("!HH", query[position + 1 : position + 5])
    question = query[12 : position + 5]
    name = ".".join(labels)
    known = name in records
    addresses = records.get(name, ()) if qtype == 1 else ()
    flags = 0x8180 | (0 if known else 3)  # response, recursion desired and available; NXDOMAIN if unknown
    header = query[:2] + struct.pack("!HHHHH", flags, 1, len(addresses), 0, 0)
    answers = b"".join(
        struct.pack("!HHHIH", 0xC00C, 1, 1, _TTL_S, 4) + socket.inet_aton(address) for address in addresses
    )
    return header + question + answers


class DnsServer:
    """Serves ``records`` on 127.0.0.1 (a free UDP port) from a thread until stopped."""

    def __init__(self, records: Mapping[str, Sequence[str]]):
        self.records = records
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self.port = int(self._socket.getsockname()[1])
        self.queries = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                query, client = self._socket.recvfrom(512)
            except TimeoutError:
                continue
            self.queries += 1
            self._socket.sendto(answer(query, self.records), client)

    def __enter__(self) -> DnsServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._socket.close()
