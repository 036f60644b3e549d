"""``ALERT_WEBHOOK_URL``: every alert state change POSTed as JSON, without ever holding up the stream.

Changes wait in a bounded queue (the oldest is dropped when it is full, and
counted); one task sends them in order, each retried with exponential backoff,
the HTTP call itself in a worker thread, so a slow or dead receiver costs the
stream nothing.

With several backends on one database, only the one holding the sender role
(sender_role.py) queues changes; the others count theirs as ``skipped``. A
change once queued is delivered even if the role is lost meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from .evaluator import AlertChange

log = logging.getLogger("dashboard.alerts.webhook")

QUEUE_LENGTH = 1000
ATTEMPTS = 6
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0
TIMEOUT_S = 10.0


def webhook_body(change: AlertChange) -> dict[str, Any]:
    """What the receiver gets: ``status`` is ``firing`` or ``resolved`` (Alertmanager's words)."""
    return {
        "alert": change.name,
        "status": "firing" if change.state == "firing" else "resolved",
        **change.as_json(),
    }


class Webhook:
    def __init__(self, url: str, *, sends: Callable[[], bool] = lambda: True, first_backoff_s: float = FIRST_BACKOFF_S):
        self.url = url
        self.sends = sends
        """Whether this backend sends the webhooks now (holds the sender role)."""
        self.first_backoff_s = first_backoff_s
        self.queue: asyncio.Queue[AlertChange] = asyncio.Queue(maxsize=QUEUE_LENGTH)
        self.sent = 0
        self.failed = 0
        """Changes given up after every attempt failed."""
        self.dropped = 0
        """Changes dropped because the queue was full."""
        self.skipped = 0
        """Changes left to the backend holding the sender role."""

    def offer(self, change: AlertChange) -> None:
        """Queue ``change`` (an evaluator listener: never waits)."""
        if not self.sends():
            self.skipped += 1
            return
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(change)

    async def run(self) -> None:
        while True:
            change = await self.queue.get()
            await self._deliver(change)

    async def _deliver(self, change: AlertChange) -> None:
        body = json.dumps(webhook_body(change), allow_nan=False).encode()
        backoff = self.first_backoff_s
        for attempt in range(1, ATTEMPTS + 1):
            try:
                await asyncio.to_thread(self._post, body)
            except (OSError, ValueError) as error:  # URLError and HTTPError are OSErrors
                if attempt == ATTEMPTS:
                    self.failed += 1
                    log.warning(
                        "alert webhook: gave up on %s %s after %d attempts: %s",
                        change.name,
                        change.state,
                        attempt,
                        error,
                    )
                    return
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
            else:
                self.sent += 1
                return

    def _post(self, body: bytes) -> None:
        request = urllib.request.Request(  # noqa: S310 - the URL's scheme is checked in settings.py
            self.url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
            response.read()
