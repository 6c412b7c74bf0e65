"""A loopback TCP server that answers each connection with the next step of a script.

For the network faults an HTTP framework cannot produce: a dropped connection, a stalled handler, a body cut
off or reset mid-transfer, a body trickling in byte by byte. The answers are raw HTTP/1.1, so what the client
receives is exactly what the step sends.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import Self

#: A step that writes the answer itself: it gets the connection and an event set when the test ends.
Step = str | bytes | Callable[[socket.socket, threading.Event], None]


class ScriptedServer:
    """Answers the n-th connection with ``script[n]`` (the last step repeats).

    Steps: ``"drop"`` reads the request and closes without a byte of answer (what a crashed proxy does);
    ``"stall"`` reads the request and answers nothing until the test ends (a slow handler); bytes are sent
    as the raw HTTP response, then the socket is closed; a callable writes the answer itself.
    """

    def __init__(self, script: list[Step]):
        self.script = list(script)
        self.requests: list[str] = []
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            step = self.script[min(len(self.requests), len(self.script) - 1)]
            threading.Thread(target=self._answer, args=(conn, step), daemon=True).start()

    def _answer(self, conn: socket.socket, step: Step) -> None:
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                request += chunk
            self.requests.append(request.split(b"\r\n", 1)[0].decode())
            try:
                if step == "stall":
                    self._stop.wait(5)
                elif isinstance(step, bytes):
                    conn.sendall(step)
                elif callable(step):
                    step(conn, self._stop)
            except OSError:
                pass  # the client gave up and closed its end: that is what the test provoked


def http_head(content_length: int, status: str = "200 OK", extra: str = "") -> bytes:
    """The status line and headers of a JSON answer of ``content_length`` bytes."""
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {content_length}\r\n{extra}Connection: close\r\n\r\n"
    ).encode()


def http_response(body: bytes, status: str = "200 OK", content_length: int | None = None) -> bytes:
    """A whole raw answer; a ``content_length`` above ``len(body)`` makes it a body cut off."""
    return http_head(len(body) if content_length is None else content_length, status) + body


def reset_mid_body(body: bytes) -> Step:
    """Send the headers and half the body, then reset the connection (RST: SO_LINGER 0), as a crashing proxy."""

    def step(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(http_head(len(body)) + body[: len(body) // 2])
        time.sleep(0.05)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    return step


def trickle(body: bytes, bytes_per_second: int = 64, piece: int = 8) -> Step:
    """Send the headers, then the body ``piece`` bytes at a time at ``bytes_per_second`` (a slow loris):
    every read gets bytes well within any per-read timeout, yet the body takes minutes."""

    def step(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(http_head(len(body)))
        for start in range(0, len(body), piece):
            if stop.wait(piece / bytes_per_second):
                return
            conn.sendall(body[start : start + piece])

    return step
