"""A loopback HTTP server that receives Apprise `json://` notifications, for tests."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """Collects every JSON body POSTed to it; `url(path)` is the Apprise URL to give."""

    def __init__(self):
        self.messages: list[dict] = []
        self.paths: list[str] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.messages.append(json.loads(body))
                    receiver.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "hook", userinfo: str = "") -> str:
        """The Apprise URL that sends here."""
        at = f"{userinfo}@" if userinfo else ""
        return f"json://{at}127.0.0.1:{self.port}/{path}"

    def titles(self) -> list[str]:
        """The titles received so far."""
        with self._lock:
            return [m.get("title", "") for m in self.messages]

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
