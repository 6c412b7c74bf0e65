"""A small HTTP server on loopback that answers like the real source APIs, from the bundled snapshot.

The main job and the tests run the production clients against it, so HTTP, pagination and retries are
exercised everywhere. Each source is a ``SourceApp`` mounted under its own prefix
(``/kolada/v3/...``, ``/scb/api/v2/...``, ``/skolverket/...``); the server only dispatches.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol, Self
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)


@dataclass
class Reply:
    """What a source app answers: a status, a body and headers (Content-Type at least)."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json; charset=utf-8"})


class SourceApp(Protocol):
    """One emulated source API, mounted at ``/<name>``."""

    name: str

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: bytes, base_url: str) -> Reply:
        """Answer one request. ``path`` is what follows ``/<name>``; ``base_url`` is the app's absolute root."""
        ...


def not_found(path: str) -> Reply:
    return Reply(404, f'{{"error": "no route for {path}"}}'.encode(), {"Content-Type": "application/json"})


class SnapshotServer:
    """Serves a set of source apps on ``127.0.0.1`` at an ephemeral port; use as a context manager."""

    def __init__(self, apps: Sequence[SourceApp], host: str = "127.0.0.1", port: int = 0):
        self.apps = {app.name: app for app in apps}
        self._httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None
        self.request_count = 0
        self._count_lock = threading.Lock()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def source_url(self, name: str) -> str:
        """The base URL a client of source ``name`` is configured with (e.g. ``…/kolada/v3`` is added by it)."""
        return f"{self.url}/{name}"

    def start(self) -> SnapshotServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="snapshot-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _dispatch(self, method: str, raw_path: str, body: bytes) -> Reply:
        with self._count_lock:
            self.request_count += 1
        parts = urlsplit(raw_path)
        name, _, rest = parts.path.lstrip("/").partition("/")
        app = self.apps.get(name)
        if app is None:
            return not_found(parts.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        try:
            return app.handle(method, "/" + rest, query, body, f"{self.url}/{name}")
        except Exception as exc:  # an emulator bug must show as a 500, like a real server fault
            log.exception("snapshot app %s failed on %s", name, raw_path)
            return Reply(500, f'{{"error": "{type(exc).__name__}"}}'.encode())

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                reply = server._dispatch(method, self.path, body)
                if "Date" in reply.headers:  # the app's own clock (a snapshot answers as on its date)
                    self.log_request(reply.status)
                    self.send_response_only(reply.status)
                    self.send_header("Server", self.version_string())
                else:
                    self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def log_message(self, format: str, *args) -> None:  # keep test and CLI output clean
                log.debug("snapshot server: " + format, *args)

        return Handler
