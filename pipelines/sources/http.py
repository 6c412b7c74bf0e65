"""What every source client shares: one retrying session, a polite rate limit and strict response parsing.

Retries are urllib3's ``Retry`` (backoff, ``Retry-After`` on 429 and 503), not a loop of our own, so
connection errors, read timeouts, 429 and 5xx are retried the same way for every source. What urllib3 cannot
do is added here, once for every source:

* **Redirects stay on the host.** The session follows a redirect only to the origin (scheme, host, port) of
  the request that got it; a ``Location`` on another host raises ``SourceResponseError`` naming both, and
  nothing is fetched from that host.
* **``Retry-After`` is bounded and tolerated.** An unparsable value counts as no header (normal backoff); a
  wait above ``max_retry_after`` ends the retries at once, and the error names the wait the server asked.
* **Budgets.** ``HttpClient`` reads every body as a stream with a byte counter: at most ``max_response_bytes``
  after decompression (a gzip bomb stops at the budget, it is never decompressed whole), within
  ``request_budget`` seconds per call (a body trickling in below the per-read timeout still ends) and within
  ``load_budget`` seconds for the client's whole life (one landing).
* **A body cut off mid-transfer is retried.** urllib3 retries until the headers arrive; a connection reset
  while the body streams is retried here, with the same ``Retry`` backoff, ``max_retries`` times.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Self
from urllib.parse import urljoin

import orjson
import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import DecodeError, InvalidHeader, MaxRetryError, ProtocolError, ReadTimeoutError
from urllib3.util import parse_url
from urllib3.util.retry import Retry

log = logging.getLogger(__name__)

USER_AGENT = "kkik-pipeline/0.1 (+https://github.com/; KKiK yearly load)"
RETRY_STATUSES = (429, 500, 502, 503, 504)
#: The longest a ``Retry-After`` may make us wait; a longer one fails the call rather than hang the load.
MAX_RETRY_AFTER_SECONDS = 120.0
#: Redirects followed per call (all on the same origin); Kolada and the exports need none or one.
MAX_REDIRECTS = 5
#: Production budgets (constructor settings, so tests can make them small).
MAX_RESPONSE_BYTES = 256 * 2**20  # decompressed bytes of one response; a Kolada page of 5000 values is ~1 MB
REQUEST_BUDGET_SECONDS = 300.0  # one call, retries of a cut-off body included
LOAD_BUDGET_SECONDS = 2 * 3600.0  # every call of one client (one landing)
#: Bytes asked of the socket per read; a bounded decompression step (urllib3 2.x ``max_length``).
READ_CHUNK_BYTES = 64 * 1024
DEFAULT_PORTS = {"http": 80, "https": 443}


class SourceResponseError(RuntimeError):
    """A source answered with something that is not the response its API documents.

    The message names the URL and what was wrong, so a data engineer can open the URL and see it.
    """

    def __init__(self, url: str, problem: str):
        super().__init__(f"{url}: {problem}")
        self.url = url
        self.problem = problem


def origin(url: str) -> str:
    """``scheme://host:port`` of a URL (default port filled in, lower case): what "the same host" means."""
    parts = parse_url(url)
    scheme = (parts.scheme or "").lower()
    return f"{scheme}://{(parts.host or '').lower()}:{parts.port or DEFAULT_PORTS.get(scheme)}"


def check_same_origin(url: str, link: str, what: str) -> None:
    """Raise ``SourceResponseError`` if ``link`` (found in the answer from ``url``) leaves ``url``'s origin."""
    if origin(link) != origin(url):
        raise SourceResponseError(
            url, f"{what} points at another host: {link} (host {origin(link)}); only {origin(url)} is followed"
        )


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` value in seconds (delta-seconds or an HTTP date, urllib3's parser); None when the
    header is absent or unparsable, so a garbled header means "no advice", not a crash."""
    if value is None:
        return None
    try:
        return Retry(0).parse_retry_after(value)
    except InvalidHeader:
        return None


class PoliteRetry(Retry):
    """urllib3's ``Retry`` with ``Retry-After`` tolerated and bounded.

    Unparsable: ignored (the normal backoff applies). Above ``max_retry_after``: no retry; the 429/503 answer
    is returned and ``check_status`` reports the wait the server asked for.
    """

    def __init__(self, *args, max_retry_after: float = MAX_RETRY_AFTER_SECONDS, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_retry_after = max_retry_after

    def new(self, **kw) -> Self:
        retry = super().new(**kw)
        retry.max_retry_after = self.max_retry_after
        return retry

    def get_retry_after(self, response) -> float | None:
        value = response.headers.get("Retry-After")
        seconds = retry_after_seconds(value)
        if value is not None and seconds is None:
            log.warning("ignoring an unparsable Retry-After header %r: normal backoff instead", value)
        return seconds

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        if response is not None and self.respect_retry_after_header:
            wait = self.get_retry_after(response)
            if wait is not None and wait > self.max_retry_after:
                # With raise_on_status=False urllib3 hands this answer back instead of sleeping.
                raise MaxRetryError(_pool, url or "", reason=None)
        return super().increment(method, url, response, error, _pool, _stacktrace)


class SameOriginSession(requests.Session):
    """A ``requests.Session`` that follows a redirect only to the origin of the request that got it."""

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        target = super().get_redirect_target(resp)
        if target is not None:
            try:
                check_same_origin(resp.url, urljoin(resp.url, target), f"a redirect (HTTP {resp.status_code})")
            except SourceResponseError:
                resp.close()
                raise
        return target


def make_session(
    *,
    total_retries: int = 5,
    backoff_factor: float = 0.5,
    backoff_max: float = 60.0,
    max_retry_after: float = MAX_RETRY_AFTER_SECONDS,
    allowed_methods: frozenset[str] = frozenset({"GET", "POST"}),
) -> requests.Session:
    """A ``SameOriginSession`` that retries connection errors, read errors, 429 and 5xx with backoff.

    ``Retry-After`` is honoured on 429 and 503 up to ``max_retry_after`` seconds. POST is retried too: every
    POST we send (PxWeb queries) is a read, so repeating it is safe.
    """
    retry = PoliteRetry(
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
        max_retry_after=max_retry_after,
    )
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=4)
    session = SameOriginSession()
    session.max_redirects = MAX_REDIRECTS
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
    refuse_html(url, response)
    return decode_json(url, response.content)


def refuse_html(url: str, response: requests.Response) -> None:
    """An HTML page (a proxy's or a maintenance page) where JSON was asked for raises, naming the URL."""
    content_type = response.headers.get("Content-Type", "")
    body = response.content
    if "html" in content_type.lower() or body.lstrip()[:1] == b"<":
        snippet = body[:80].decode("utf-8", "replace").replace("\n", " ")
        raise SourceResponseError(url, f"expected JSON, got an HTML page (status {response.status_code}): {snippet!r}")


def decode_json(url: str, body: bytes) -> object:
    """A JSON body as Python objects (orjson; json for NaN and Infinity), or ``SourceResponseError``."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass  # orjson refuses NaN and Infinity, which json reads (the landing quarantines such a value)
    try:
        return json.loads(body)
    except ValueError as exc:
        raise SourceResponseError(
            url, f"response is not valid JSON ({exc}; {len(body)} bytes, truncated or malformed)"
        ) from exc


def check_status(
    url: str, response: requests.Response, max_retry_after: float = MAX_RETRY_AFTER_SECONDS
) -> None:
    """Raise ``SourceResponseError`` for a status that retries did not cure (4xx, or 5xx after the last retry).

    A ``Retry-After`` longer than this client waits is named, so the message says when to try again.
    """
    if response.status_code < 400:
        return
    wait = retry_after_seconds(response.headers.get("Retry-After"))
    if wait is not None and wait > max_retry_after:
        raise SourceResponseError(
            url,
            f"HTTP {response.status_code}: the server asks to wait {wait:g} s (Retry-After: "
            f"{response.headers['Retry-After']!r}), longer than the {max_retry_after:g} s this client waits; "
            "load again later",
        )
    snippet = response.content[:200].decode("utf-8", "replace").replace("\n", " ")
    raise SourceResponseError(url, f"HTTP {response.status_code} after retries: {snippet!r}")


def retries_used(response: requests.Response) -> int:
    """How many times urllib3 retried before this answer (its ``Retry.history``), 0 if unknown."""
    retries = getattr(response.raw, "retries", None)
    return len(getattr(retries, "history", ()) or ())


class BodyCutOff(Exception):
    """The connection broke while the body streamed (reset, fewer bytes than Content-Length, read timeout)."""


def read_body(url: str, response: requests.Response, *, max_bytes: int, deadline: float, budget: str) -> bytes:
    """The whole decoded body of a streamed ``response``, read chunk by chunk within the budgets.

    ``read1`` returns as soon as any bytes arrive and decompresses at most ``READ_CHUNK_BYTES`` per step, so
    both the byte counter and the clock are looked at while a slow or huge body arrives. Over a budget:
    ``SourceResponseError`` (not retried: the same server would send the same). Connection broken:
    ``BodyCutOff`` (the caller retries).
    """
    body = bytearray()
    started = time.monotonic()
    try:
        while chunk := response.raw.read1(READ_CHUNK_BYTES, decode_content=True):
            body += chunk
            if len(body) > max_bytes:
                encoding = response.headers.get("Content-Encoding", "none")
                raise SourceResponseError(
                    url,
                    f"the body exceeds the budget of {max_bytes:,} bytes per response after decompression "
                    f"(Content-Encoding: {encoding}); reading stopped at {len(body):,} bytes",
                )
            if time.monotonic() > deadline:
                raise SourceResponseError(
                    url,
                    f"the answer did not complete within {budget}: {len(body):,} bytes in "
                    f"{time.monotonic() - started:.1f} s, still arriving",
                )
    except (ProtocolError, ReadTimeoutError) as exc:
        raise BodyCutOff(f"{type(exc).__name__}: {exc} after {len(body):,} bytes") from exc
    except DecodeError as exc:
        raise SourceResponseError(url, f"the body cannot be decompressed ({exc})") from exc
    return bytes(body)


class HttpClient:
    """What a source client needs around ``requests``: one retrying session, a minimum interval between
    calls, a timeout on every call, budgets of size and time, counts of calls and retries, and strict errors
    naming the URL.

    ``timeout`` is ``(connect, read)`` seconds per socket operation; ``request_budget`` bounds a whole call
    and ``load_budget`` every call of this client from its creation on. A ``session`` passed in is used as it
    is (its own retry and redirect rules apply) and is not closed by ``close()``; the budgets apply anyway.
    """

    def __init__(self, *, timeout: tuple[float, float], max_retries: int, backoff_factor: float,
                 calls_per_second: float, session: requests.Session | None,
                 max_response_bytes: int = MAX_RESPONSE_BYTES,
                 request_budget: float = REQUEST_BUDGET_SECONDS,
                 load_budget: float = LOAD_BUDGET_SECONDS,
                 max_retry_after: float = MAX_RETRY_AFTER_SECONDS):
        if len(timeout) != 2 or min(timeout) <= 0:
            raise ValueError(f"timeout must be (connect, read) seconds > 0, not {timeout!r}")
        if calls_per_second <= 0:
            raise ValueError(f"calls_per_second must be > 0, not {calls_per_second!r}")
        for name, value in (("max_response_bytes", max_response_bytes), ("request_budget", request_budget),
                            ("load_budget", load_budget)):
            if value <= 0:
                raise ValueError(f"{name} must be > 0, not {value!r}")
        if max_retry_after < 0:
            raise ValueError(f"max_retry_after must be >= 0, not {max_retry_after!r}")
        self.timeout = (float(timeout[0]), float(timeout[1]))
        self.max_retries = max_retries
        self.max_response_bytes = max_response_bytes
        self.request_budget = float(request_budget)
        self.load_budget = float(load_budget)
        self.max_retry_after = float(max_retry_after)
        self._owns_session = session is None
        self._session = session or make_session(
            total_retries=max_retries, backoff_factor=backoff_factor, max_retry_after=max_retry_after
        )
        # Retries of a body cut off mid-transfer, with the same backoff as urllib3's retries of the session.
        self._body_retry = Retry(total=max_retries, backoff_factor=backoff_factor)
        # One call at a time, at least 1/calls_per_second apart: a minimum interval, not a burst allowance.
        self._limiter = RateLimiter(1, 1.0 / calls_per_second)
        self._load_deadline = time.monotonic() + self.load_budget
        self._request_count = 0
        self._retry_count = 0

    @property
    def request_count(self) -> int:
        """Calls made (urllib3's retries of a call are counted in ``retry_count``)."""
        return self._request_count

    @property
    def retry_count(self) -> int:
        """Retries made on calls that finally got an answer (429, 5xx, dropped connections, timeouts, bodies
        cut off mid-transfer)."""
        return self._retry_count

    def close(self) -> None:
        """Close the session if this client made it."""
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _deadline(self, url: str) -> tuple[float, str]:
        """When the call to ``url`` must be done, and which budget says so (the request's or the load's)."""
        now = time.monotonic()
        if now >= self._load_deadline:
            raise SourceResponseError(
                url, f"the {self.load_budget:g} s time budget of the load is spent: not requested"
            )
        if now + self.request_budget <= self._load_deadline:
            return now + self.request_budget, f"the {self.request_budget:g} s budget per request"
        return self._load_deadline, f"the {self.load_budget:g} s budget of the load"

    def _get(self, url: str, **kwargs) -> requests.Response:
        """One rate-limited GET with the timeout and the budgets, its body read in full (``.content``).

        Whatever retries did not cure becomes ``SourceResponseError`` naming the URL.
        """
        deadline, budget = self._deadline(url)
        retry = self._body_retry
        self._request_count += 1
        while True:
            self._limiter.wait()
            try:
                response = self._session.get(url, timeout=self.timeout, stream=True, **kwargs)
            except requests.RequestException as exc:
                # Connection refused/dropped or read timeouts after the last retry, or too many redirects.
                raise SourceResponseError(url, f"no complete answer ({type(exc).__name__}: {exc})") from exc
            self._retry_count += retries_used(response)
            try:
                if time.monotonic() > deadline:
                    raise SourceResponseError(url, f"no answer within {budget} (retries and waits included)")
                body = read_body(url, response, max_bytes=self.max_response_bytes, deadline=deadline,
                                 budget=budget)
            except BodyCutOff as exc:
                response.close()
                try:
                    retry = retry.increment("GET", url, error=ProtocolError(str(exc)))
                except MaxRetryError:
                    attempts = len(retry.history) + 1
                    raise SourceResponseError(
                        url, f"no complete answer: the body was cut off mid-transfer on each of {attempts} "
                        f"attempts (last: {exc})"
                    ) from exc
                log.warning("%s: body cut off mid-transfer (%s), retrying", url, exc)
                self._retry_count += 1
                retry.sleep()
                continue
            except BaseException:
                response.close()
                raise
            # The body is read: hand it over as requests would have (.content), connection back to the pool.
            response._content = body
            response._content_consumed = True
            response.close()
            check_status(url, response, self.max_retry_after)
            return response
