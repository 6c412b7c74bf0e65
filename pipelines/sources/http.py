"""What every source client shares: one retrying session, a polite rate limit and strict response parsing.

Retries are urllib3's ``Retry`` (backoff, ``Retry-After`` on 429 and 503), not a loop of our own, so
connection errors, read timeouts, 429 and 5xx are retried the same way for every source.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Self

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

USER_AGENT = "kkik-pipeline/0.1 (+https://github.com/; KKiK yearly load)"
RETRY_STATUSES = (429, 500, 502, 503, 504)
#: The longest a ``Retry-After`` may make us wait; a longer one fails the call rather than hang the load.
MAX_RETRY_AFTER_SECONDS = 120.0


class SourceResponseError(RuntimeError):
    """A source answered with something that is not the response its API documents.

    The message names the URL and what was wrong, so a data engineer can open the URL and see it.
    """

    def __init__(self, url: str, problem: str):
        super().__init__(f"{url}: {problem}")
        self.url = url
        self.problem = problem


class CappedRetry(Retry):
    """urllib3's ``Retry`` with ``Retry-After`` capped: a server asking for an hour gets two minutes."""

    def parse_retry_after(self, retry_after: str) -> float:
        return min(super().parse_retry_after(retry_after), MAX_RETRY_AFTER_SECONDS)


def make_session(
    *,
    total_retries: int = 5,
    backoff_factor: float = 0.5,
    backoff_max: float = 60.0,
    allowed_methods: frozenset[str] = frozenset({"GET", "POST"}),
) -> requests.Session:
    """A ``requests.Session`` that retries connection errors, read errors, 429 and 5xx with backoff.

    ``Retry-After`` is honoured on 429 and 503. POST is retried too: every POST we send (PxWeb queries)
    is a read, so repeating it is safe.
    """
    retry = CappedRetry(
        total=total_retries,
        connect=total_retries,
        read=total_retries,
        status=total_retries,
        other=0,
        backoff_factor=backoff_factor,
        backoff_max=backoff_max,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=allowed_methods,
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=4)
    session = requests.Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
    return session


class RateLimiter:
    """At most ``calls`` requests per ``period`` seconds (sliding window), shared by a client's threads."""

    def __init__(self, calls: int, period: float):
        if calls < 1 or period <= 0:
            raise ValueError("a rate limit needs calls >= 1 and period > 0")
        self.calls = calls
        self.period = period
        self._stamps: list[float] = []
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            self._stamps = [t for t in self._stamps if now - t < self.period]
            if len(self._stamps) >= self.calls:
                time.sleep(self.period - (now - self._stamps[0]))
                now = time.monotonic()
                self._stamps = [t for t in self._stamps if now - t < self.period]
            self._stamps.append(now)


@dataclass(frozen=True)
class FetchedPage:
    """One response as received: kept byte for byte by the raw landing, parsed for the client."""

    url: str
    status: int
    fetched_at: float  # Unix time
    body: bytes
    payload: object  # the parsed JSON


def parse_json(url: str, response: requests.Response) -> object:
    """Parse a JSON body or raise ``SourceResponseError`` naming the URL and what came instead."""
    content_type = response.headers.get("Content-Type", "")
    body = response.content
    if "html" in content_type.lower() or body.lstrip()[:1] == b"<":
        snippet = body[:80].decode("utf-8", "replace").replace("\n", " ")
        raise SourceResponseError(url, f"expected JSON, got an HTML page (status {response.status_code}): {snippet!r}")
    try:
        return json.loads(body)
    except ValueError as exc:
        raise SourceResponseError(
            url, f"response is not valid JSON ({exc}; {len(body)} bytes, truncated or malformed)"
        ) from exc


def check_status(url: str, response: requests.Response) -> None:
    """Raise ``SourceResponseError`` for a status that retries did not cure (4xx, or 5xx after the last retry)."""
    if response.status_code >= 400:
        snippet = response.content[:200].decode("utf-8", "replace").replace("\n", " ")
        raise SourceResponseError(url, f"HTTP {response.status_code} after retries: {snippet!r}")


def retries_used(response: requests.Response) -> int:
    """How many times urllib3 retried before this answer (its ``Retry.history``), 0 if unknown."""
    retries = getattr(response.raw, "retries", None)
    return len(getattr(retries, "history", ()) or ())


class HttpClient:
    """What a source client needs around ``requests``: one retrying session, a minimum interval between
    calls, a timeout on every call, counts of calls and retries, and strict errors naming the URL.

    A ``session`` passed in is used as it is and is not closed by ``close()``.
    """

    def __init__(self, *, timeout: tuple[float, float], max_retries: int, backoff_factor: float,
                 calls_per_second: float, session: requests.Session | None):
        if len(timeout) != 2 or min(timeout) <= 0:
            raise ValueError(f"timeout must be (connect, read) seconds > 0, not {timeout!r}")
        if calls_per_second <= 0:
            raise ValueError(f"calls_per_second must be > 0, not {calls_per_second!r}")
        self.timeout = (float(timeout[0]), float(timeout[1]))
        self.max_retries = max_retries
        self._owns_session = session is None
        self._session = session or make_session(total_retries=max_retries, backoff_factor=backoff_factor)
        # One call at a time, at least 1/calls_per_second apart: a minimum interval, not a burst allowance.
        self._limiter = RateLimiter(1, 1.0 / calls_per_second)
        self._request_count = 0
        self._retry_count = 0

    @property
    def request_count(self) -> int:
        """Calls made (urllib3's retries of a call are counted in ``retry_count``)."""
        return self._request_count

    @property
    def retry_count(self) -> int:
        """Retries urllib3 made on calls that finally got an answer (429, 5xx, dropped connections, timeouts)."""
        return self._retry_count

    def close(self) -> None:
        """Close the session if this client made it."""
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _get(self, url: str, **kwargs) -> requests.Response:
        """One rate-limited GET with the timeout; whatever retries did not cure becomes SourceResponseError."""
        self._limiter.wait()
        self._request_count += 1
        try:
            response = self._session.get(url, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            # Connection refused/dropped or read timeouts after the last retry, or a body cut off mid-transfer.
            raise SourceResponseError(url, f"no complete answer ({type(exc).__name__}: {exc})") from exc
        self._retry_count += retries_used(response)
        check_status(url, response)
        return response
