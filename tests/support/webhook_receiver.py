"""A local HTTP server that records the JSON bodies POSTed to it: an alert webhook's receiving end."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookReceiver:
    """Records every POSTed body (answered 204), duplicates included; with ``refuse_first``, the first
    request gets 503 and is not recorded (the sender must retry it)."""

    def __init__(self, *, refuse_first: bool = False) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.refused = 0
        receiver, refusals = self, 1 if refuse_first else 0

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.refused < refusals:
                    receiver.refused += 1
                    self.send_response(503)
                else:
                    receiver.bodies.append(json.loads(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def statuses(self, name: str) -> list[str]:
        """The ``status`` of each POST for the alert ``name``, in arrival order."""
        return [body["status"] for body in self.bodies if body["alert"] == name]

    def posts(self) -> list[tuple[str, float]]:
        """(status, value) of each POST, in arrival order."""
        return [(body["status"], body["value"]) for body in self.bodies]

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()
