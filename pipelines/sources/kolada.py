"""Client for the Kolada REST API (v3, v2 one setting away): metadata, data and pagination.

Why it looks like this:

* A KKiK load is a few wide calls, not thousands of narrow ones: the data endpoint takes many KPI ids and
  many years per call and returns every municipality, so ~40 key figures x 4 years is ~10 requests.
  Kolada refuses more than 25 ids in one path segment, so id and year lists are cut into chunks of 25.
* Every list is paginated (at most 5000 values a page): ``per_page=5000`` keeps the page count low, and the
  client follows ``next_url`` (v3) or ``next_page`` (v2) - both names are accepted in either version, because
  snapshots taken with v2 are replayed against the v3 code path.
* Pages come back as received (``KoladaPage.body``) so the raw landing can write the exact bytes to disk;
  every page is checked against the documented envelope (``{count, values, next_…}``), and anything else
  raises ``SourceResponseError`` naming the URL, instead of landing a half-understood answer.
* The client does not believe what the pages say: each paginated query is accounted for by a
  ``QueryAccount`` (next links only on the configured host, the envelope's ``count`` the same on every page
  and against the records received, a full page without a next link followed by an explicit ``page=N+1``, a
  page bound derived from ``count``). Any mismatch raises ``SourceResponseError`` naming the URL, so a landing
  never publishes a short or endless query.
* Records are checked where they are read. Metadata records (a few thousand) here: each an object with its
  entity's keys, each id once. Data records (up to millions) are not looked at one by one in Python: the
  landing's SQL reads them and quarantines a record outside the KPIs and years asked for, or one it cannot
  read, and refuses a load with a value twice (``pipelines/landing/kolada.py``), so the same checks are not
  paid twice per record.
* Retries, backoff, ``Retry-After``, same-host redirects and the size and time budgets live in the shared
  layer (``http.HttpClient``, ``http.make_session``); this module only adds the Kolada specifics. It never
  reads the environment and never writes anywhere.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from functools import cached_property
from urllib.parse import urljoin

import msgspec
import requests

from pipelines.sources.http import (
    LOAD_BUDGET_SECONDS,
    MAX_RESPONSE_BYTES,
    MAX_RETRY_AFTER_SECONDS,
    REQUEST_BUDGET_SECONDS,
    FetchedPage,
    HttpClient,
    SourceResponseError,
    check_same_origin,
    decode_json,
    parse_json,
    refuse_html,
)

log = logging.getLogger(__name__)

API_VERSIONS = ("v2", "v3")
#: Kolada answers an error for more ids than this in one path segment (rKolada NEWS.md).
MAX_IDS_PER_SEGMENT = 25
#: The largest page the API serves; also its default in v2, but we always send it explicitly.
MAX_PER_PAGE = 5000
#: Where the link to the next page is: ``next_url`` in v3, ``next_page`` in v2.
NEXT_PAGE_KEYS = ("next_url", "next_page")
#: Pages one query may take when the envelope states no total (with a total: ceil(count / per_page) + 1).
MAX_PAGES_PER_QUERY = 1000

KPI_ID_PATTERN = re.compile(r"[A-Z]\d{5}")  # N00914, U07451
KKIK_TITLE_PATTERN = re.compile(r"kommunens\s+kvalitet\s+i\s+korthet|\bkkik\b", re.IGNORECASE)

ENTITY_PATHS = {
    "kpi": "/kpi",
    "kpi_groups": "/kpi_groups",
    "municipality": "/municipality",
    "municipality_groups": "/municipality_groups",
}
#: Keys a metadata record of each entity must have; a record without them is not something we can land.
#: (Data records are checked by the landing's SQL: ``pipelines/landing/kolada.py`` ``RECORD_CHECKS``.)
REQUIRED_KEYS = {
    "kpi": ("id", "title"),
    "kpi_groups": ("id", "title", "members"),
    "municipality": ("id", "title"),
    "municipality_groups": ("id", "title", "members"),
}


@dataclass(frozen=True)
class KoladaPage:
    """One page as received: the landing writes ``body`` unchanged, the rest is for accounting and logging."""

    entity: str  # "kpi", "kpi_groups", "municipality", "municipality_groups", "data"
    url: str  # the exact URL fetched, with its query string
    fetched_at: float  # Unix time the answer arrived
    body: bytes  # raw bytes as received
    record_count: int  # len(payload["values"])
    #: a data page: the KPIs and years its query asked for (what the landing holds its records to)
    kpis: tuple[str, ...] = ()
    years: tuple[int, ...] = ()
    #: the records as Python objects when the client parsed them (metadata); None for a data page
    parsed: list | None = field(default=None, repr=False, compare=False)

    @cached_property
    def records(self) -> list:
        """payload["values"]: metadata records checked (objects with their keys, each id once); data records
        as sent, unchecked (the landing checks them in SQL), so a record may be any JSON value. A data page's
        records are parsed from ``body`` here, on first use: the landing does not need them (DuckDB reads the
        page on disk), ``kkik refresh``'s question does."""
        if self.parsed is not None:
            return self.parsed
        return envelope_records(self.url, decode_json(self.url, self.body))


# --------------------------------------------------------------------------- argument checks


def validate_kpi_ids(kpi_ids: Iterable[str]) -> list[str]:
    """Check KPI ids before they go into a URL: a typo would otherwise come back as an empty result or a 400.

    Duplicates are dropped (keeping the first), since they would only fetch the same values twice.
    """
    if isinstance(kpi_ids, str):
        raise TypeError(f"kpi_ids must be a sequence of ids, not the string {kpi_ids!r}")
    ids: list[str] = []
    for kpi_id in kpi_ids:
        if not isinstance(kpi_id, str) or not KPI_ID_PATTERN.fullmatch(kpi_id):
            raise ValueError(f"not a Kolada KPI id (like N00914 or U07451): {kpi_id!r}")
        if kpi_id not in ids:
            ids.append(kpi_id)
    if not ids:
        raise ValueError("no KPI ids given: the data endpoint needs at least one")
    return ids


def validate_years(years: Iterable[int]) -> list[int]:
    """Check years are four-digit integers (a string of four digits is accepted and converted)."""
    checked: list[int] = []
    for year in years:
        if isinstance(year, str) and re.fullmatch(r"\d{4}", year):
            year = int(year)
        if isinstance(year, bool) or not isinstance(year, int) or not 1000 <= year <= 9999:
            raise ValueError(f"not a four-digit year: {year!r}")
        if year not in checked:
            checked.append(year)
    if not checked:
        raise ValueError("no years given: the data endpoint needs at least one")
    return checked


def validate_from_date(from_date: str) -> str:
    """``from_date`` must be a real date as ``YYYY-MM-DD``; the API would silently ignore anything else."""
    if not isinstance(from_date, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", from_date):
        raise ValueError(f"from_date must be YYYY-MM-DD, not {from_date!r}")
    try:
        dt.date.fromisoformat(from_date)
    except ValueError as exc:
        raise ValueError(f"from_date is not a real date: {from_date!r}") from exc
    return from_date


def chunks(items: Sequence, size: int = MAX_IDS_PER_SEGMENT) -> Iterator[list]:
    """Consecutive slices of at most ``size`` items, in order."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def versioned_base_url(base_url: str, api_version: str) -> str:
    """The API root ending in ``/v3`` or ``/v2``.

    A root without a version (e.g. the snapshot server's ``…/kolada``) gets ``api_version`` appended; a root
    that names the other version is refused, because mixing them would silently query the wrong API.
    """
    if api_version not in API_VERSIONS:
        raise ValueError(f"api_version must be one of {API_VERSIONS}, not {api_version!r}")
    base = base_url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ValueError(f"base_url must be an http(s) URL, not {base_url!r}")
    last = base.rsplit("/", 1)[-1]
    if last in API_VERSIONS:
        if last != api_version:
            raise ValueError(f"base_url {base_url!r} is for {last}, but api_version is {api_version!r}")
        return base
    return f"{base}/{api_version}"


def data_path(kpi_ids: Sequence[str], years: Sequence[int]) -> str:
    """``/data/kpi/{ids}/year/{years}``: every municipality, Riket and the regions for those ids and years."""
    return f"/data/kpi/{','.join(kpi_ids)}/year/{','.join(str(y) for y in years)}"


# --------------------------------------------------------------------------- response checks


def next_page_url(url: str, payload: dict) -> str | None:
    """The next page's absolute URL, or None on the last page (key absent, null or empty).

    A link to another host than the page's own is refused: what another host sends is not Kolada's data.
    """
    for key in NEXT_PAGE_KEYS:
        link = payload.get(key)
        if link is None or link == "":
            continue
        if not isinstance(link, str):
            raise SourceResponseError(url, f"{key!r} should be a URL string, got {type(link).__name__}")
        absolute = urljoin(url, link)
        check_same_origin(url, absolute, f"the next-page link {key!r}")
        return absolute
    return None


class DataEnvelope(msgspec.Struct):
    """A data page's documented envelope, decoded by msgspec with each record kept as raw JSON: the whole
    body is validated as JSON and the records counted without a Python object per record (~0.5 ms a page
    of 5,000 records, where a full parse takes 5–12 ms). Any other shape falls back to the full parse and
    ``envelope_records``, whose messages say what is wrong."""

    values: list[msgspec.Raw]
    count: int | None = None
    next_url: str | None = None
    next_page: str | None = None


_DATA_ENVELOPE = msgspec.json.Decoder(DataEnvelope)


def data_envelope(url: str, body: bytes) -> tuple[dict, list]:
    """A data page's envelope (``count`` and the next-page keys) and its records (raw JSON each), checked
    as ``envelope_records`` checks them; a page msgspec cannot decode so (NaN, a wrong type …) is parsed in
    full and checked by ``envelope_records`` (which names the problem, or accepts the page as json does)."""
    try:
        envelope = _DATA_ENVELOPE.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        payload = decode_json(url, body)
        return payload, envelope_records(url, payload)
    payload = {"count": envelope.count, "next_url": envelope.next_url, "next_page": envelope.next_page}
    return payload, envelope.values


def envelope_records(url: str, payload: object) -> list[dict]:
    """``payload["values"]`` after checking the envelope is the documented ``{count, values, next_…}``."""
    if not isinstance(payload, dict):
        raise SourceResponseError(
            url, f"expected a JSON object with 'values', got a JSON {type(payload).__name__}"
        )
    if "values" not in payload:
        keys = ", ".join(sorted(map(str, payload))) or "none"
        raise SourceResponseError(url, f"the response has no 'values' key (keys: {keys})")
    values = payload["values"]
    if not isinstance(values, list):
        raise SourceResponseError(url, f"'values' should be a list, got {type(values).__name__}")
    count = payload.get("count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
        raise SourceResponseError(url, f"'count' should be an integer, got {count!r}")
    return values


def check_records(url: str, entity: str, records: list) -> None:
    """Each metadata record must be an object with the keys its entity always has; the first bad one is
    named by its position on the page."""
    required = REQUIRED_KEYS[entity]
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise SourceResponseError(
                url, f"{entity} record {index} is a {type(record).__name__}, not an object"
            )
        missing = [key for key in required if key not in record]
        if missing:
            raise SourceResponseError(
                url, f"{entity} record {index} lacks {', '.join(missing)}: {_snippet(record)}"
            )


@dataclass
class QueryAccount:
    """What one paginated query must add up to, fed page by page; the one place for every pagination check.

    * every page within a bound: ``ceil(count / page size) + 1`` pages (one look past the last full page;
      the page size is the largest page received, as a server may serve fewer than ``per_page``), at most
      ``max_pages`` (the only bound when there is no total); a URL fetched twice is a loop; more records
      than the total means the cursor runs on;
    * ``count`` (the query's total, on every page) the same on every page: a total that changes means the
      data changed while it was paged, so values moved between pages;
    * no empty page while ``count`` says more, nor one that links on;
    * metadata records: each an object with its entity's keys (``check_records``), each id once;
    * at the end, the records received equal ``count``.

    Data records are counted, not looked at: the landing's SQL checks each (within the KPIs and years asked
    for, readable, each value key once in the load), so the client's cost per page is the envelope's decode
    (``data_envelope``: msgspec, records kept as raw JSON).
    Memory: the URLs fetched, and for a metadata query its ids.
    """

    first_url: str
    entity: str
    per_page: int
    max_pages: int = MAX_PAGES_PER_QUERY
    count: int | None = None
    received: int = 0
    largest_page: int = 0
    fetched: list[str] = field(default_factory=list)
    #: metadata queries: the ids received
    keys: set[tuple] = field(default_factory=set)

    def page_bound(self) -> int:
        if self.count is None:
            return self.max_pages
        return min(self.max_pages, math.ceil(self.count / max(self.largest_page, 1)) + 1)

    def before_fetch(self, url: str) -> None:
        """Refuse a page already fetched (a loop) or beyond the bound (a cursor that never ends)."""
        if url in self.fetched:
            raise SourceResponseError(url, "pagination loop: this page was already fetched for this query")
        if len(self.fetched) >= self.page_bound():
            total = "no total" if self.count is None else f"count {self.count} at {self.per_page} per page"
            raise SourceResponseError(
                url,
                f"pagination does not end: {len(self.fetched)} pages fetched for the query {self.first_url} "
                f"({total}) and the last still links to another; at most {self.page_bound()} are followed",
            )
        self.fetched.append(url)

    def add(self, url: str, payload: dict, records: list[dict]) -> None:
        """Account for one page (its envelope already checked by ``envelope_records``)."""
        count = payload.get("count")
        if len(self.fetched) == 1:
            self.count = count
        elif count != self.count:
            raise SourceResponseError(
                url,
                f"the total changed between two pages of one query: count {count!r} on page "
                f"{len(self.fetched)}, {self.count!r} on page 1 (the data changed while it was paged)",
            )
        if not records and (self.short() or next_page_url(url, payload) is not None):
            raise SourceResponseError(
                url,
                f"page {len(self.fetched)} has no values, but the query is not complete: count {self.count}, "
                f"{self.received} received",
            )
        if self.entity != "data":
            check_records(url, self.entity, records)
            self._add_metadata_records(url, records)
        self.received += len(records)
        self.largest_page = max(self.largest_page, len(records))
        if self.count is not None and self.received > self.count:
            raise SourceResponseError(
                url,
                f"pagination does not end: page {len(self.fetched)} brings the records of the query to "
                f"{self.received}, more than its total (count {self.count})",
            )

    def _add_metadata_records(self, url: str, records: list[dict]) -> None:
        """Each metadata record's ``id`` once in the query."""
        for index, record in enumerate(records):
            key = (record.get("id"),)
            try:
                seen = key in self.keys
            except TypeError:  # a list or object where Kolada sends a code
                raise SourceResponseError(
                    url, f"{self.entity} record {index} has a key that is not a plain value: {_snippet(record)}"
                ) from None
            if seen:
                raise SourceResponseError(
                    url,
                    f"{self.entity} record {index} repeats {key}, already received in this query "
                    f"(the same record twice): {_snippet(record)}",
                )
            self.keys.add(key)

    def short(self) -> bool:
        """The envelope's total says more records are to come."""
        return self.count is not None and self.received < self.count

    def wants_next_page(self, records: list[dict]) -> bool:
        """A full page without a next link is not proof of the end: unless the total is reached, ask on."""
        return len(records) == self.per_page and (self.count is None or self.short())

    def finish(self) -> None:
        """The records received must be the total: fewer means a page was cut short or values were lost."""
        if self.short():
            raise SourceResponseError(
                self.first_url,
                f"the query's pages add up to {self.received} records, but count says {self.count}: "
                f"{self.count - self.received} missing after {len(self.fetched)} pages (a lost next link "
                "or a page cut short)",
            )


def _snippet(record: object, limit: int = 120) -> str:
    text = repr(record)
    return text if len(text) <= limit else text[:limit] + "…"


# --------------------------------------------------------------------------- the client


class KoladaClient(HttpClient):
    """Reads Kolada's metadata and data endpoints page by page over one polite, retrying session.

    ``base_url`` is e.g. ``https://api.kolada.se/v3`` (or a root without version, which gets ``/v3`` or
    ``/v2`` appended). ``timeout`` is ``(connect, read)`` seconds, applied to every call. Retries (connection
    errors, read timeouts, 429 honouring ``Retry-After``, 5xx) are urllib3's, configured by ``max_retries`` and
    ``backoff_factor``; a ``session`` passed in is used as is (its own retry set-up applies) and is not
    closed by ``close()``.

    Budgets (``http.HttpClient``): ``max_response_bytes`` decompressed per response, ``request_budget``
    seconds per call, ``load_budget`` seconds for the client's life (one landing), ``max_retry_after`` the
    longest ``Retry-After`` waited for. ``max_pages_per_query`` bounds a query whose envelope gives no total.
    """

    def __init__(
        self,
        base_url: str,
        api_version: str = "v3",
        *,
        per_page: int = MAX_PER_PAGE,
        timeout: tuple[float, float] = (10, 60),
        max_retries: int = 5,
        backoff_factor: float = 0.5,
        calls_per_second: float = 5.0,
        session: requests.Session | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        request_budget: float = REQUEST_BUDGET_SECONDS,
        load_budget: float = LOAD_BUDGET_SECONDS,
        max_retry_after: float = MAX_RETRY_AFTER_SECONDS,
        max_pages_per_query: int = MAX_PAGES_PER_QUERY,
    ):
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be between 1 and {MAX_PER_PAGE}, not {per_page!r}")
        if max_pages_per_query < 1:
            raise ValueError(f"max_pages_per_query must be >= 1, not {max_pages_per_query!r}")
        super().__init__(timeout=timeout, max_retries=max_retries, backoff_factor=backoff_factor,
                         calls_per_second=calls_per_second, session=session,
                         max_response_bytes=max_response_bytes, request_budget=request_budget,
                         load_budget=load_budget, max_retry_after=max_retry_after)
        self.api_version = api_version
        self.base_url = versioned_base_url(base_url, api_version)
        self.per_page = per_page
        self.max_pages_per_query = max_pages_per_query
        #: Kolada's clock at the client's first answer (its ``Date`` header; this machine's clock without
        #: one): what a later ``from_date`` is compared with, since Kolada dates its changes by its own clock
        self.first_answer_at: dt.datetime | None = None

    # ---- endpoints

    def kpi_pages(self) -> Iterator[KoladaPage]:
        """The whole KPI catalogue (~6,100 KPIs: two pages)."""
        return self.pages("kpi", ENTITY_PATHS["kpi"])

    def kpi_group_pages(self) -> Iterator[KoladaPage]:
        """All KPI groups with their members; the KKiK groups are found among them with ``kkik_groups``."""
        return self.pages("kpi_groups", ENTITY_PATHS["kpi_groups"])

    def municipality_pages(self) -> Iterator[KoladaPage]:
        """The 290 kommuner, Riket and the regions."""
        return self.pages("municipality", ENTITY_PATHS["municipality"])

    def municipality_group_pages(self) -> Iterator[KoladaPage]:
        """All municipality groups with their members (among them "Liknande kommuner …")."""
        return self.pages("municipality_groups", ENTITY_PATHS["municipality_groups"])

    def data_pages(
        self, kpi_ids: Sequence[str], years: Sequence[int], from_date: str | None = None
    ) -> Iterator[KoladaPage]:
        """Values of ``kpi_ids`` for ``years`` for all municipalities, in as few calls as the API allows.

        Ids and years are checked now (a bad one raises ``ValueError`` naming it, before any call) and cut
        into chunks of 25; each (id chunk, year chunk) pair is one paginated query, whose pages carry its ids
        and years. Its records come as sent: the landing quarantines one that is not for the query's ids and
        years. ``from_date`` (``YYYY-MM-DD``)
        asks only for what changed since then, deletions included.
        """
        ids = validate_kpi_ids(kpi_ids)
        checked_years = validate_years(years)
        params = {"from_date": validate_from_date(from_date)} if from_date is not None else None
        queries = [(i, y) for i in chunks(ids) for y in chunks(checked_years)]
        return self._data_queries(queries, params)

    def _data_queries(self, queries: list[tuple[list[str], list[int]]], params: dict | None) -> Iterator[KoladaPage]:
        for id_chunk, year_chunk in queries:
            yield from self.pages("data", data_path(id_chunk, year_chunk), params, kpis=id_chunk, years=year_chunk)

    def pages(self, entity: str, path: str, params: dict | None = None, *, kpis: Sequence[str] = (),
              years: Sequence[int] = ()) -> Iterator[KoladaPage]:
        """GET ``path`` (relative to the versioned base URL) with ``per_page`` and follow the next-page links.

        Pages are yielded one at a time, so a caller can land each before the next is fetched; every page is
        first accounted for by a ``QueryAccount`` (metadata records checked; data records counted), and
        carries the ``kpis`` and ``years`` its query asked for (a data query's), for the landing. Any
        mismatch raises ``SourceResponseError``: pages already yielded then belong to an incomplete query,
        which the caller must not publish. The last page is yielded only once the query adds up.
        """
        first = self._first_url(path, params)
        account = QueryAccount(first, entity, self.per_page, self.max_pages_per_query)
        url: str | None = first
        while url is not None:
            account.before_fetch(url)
            fetched = self._fetch(url, parse=entity != "data")
            if entity == "data":
                payload, records = data_envelope(url, fetched.body)
            else:
                payload = fetched.payload
                records = envelope_records(url, payload)
            account.add(url, payload, records)
            next_url = next_page_url(url, payload)
            if next_url is None and account.wants_next_page(records):
                next_url = self._first_url(path, {**(params or {}), "page": len(account.fetched) + 1})
                log.info("kolada %s: full page without a next link at %s; asking for %s", entity, url, next_url)
            if next_url is None:
                account.finish()
            log.debug("kolada %s: %d records from %s", entity, len(records), url)
            yield KoladaPage(entity, url, fetched.fetched_at, fetched.body, len(records), tuple(kpis), tuple(years),
                             parsed=None if entity == "data" else records)
            url = next_url

    def _first_url(self, path: str, params: dict | None) -> str:
        """The exact URL of a query (query string included), so it can be named in errors and loop checks."""
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/', not {path!r}")
        query = {"per_page": self.per_page, **(params or {})}
        return requests.Request("GET", self.base_url + path, params=query).prepare().url

    def _fetch(self, url: str, parse: bool = True) -> FetchedPage:
        """One rate-limited GET with the timeout; whatever retries did not cure becomes SourceResponseError.
        The body is parsed into ``payload`` unless ``parse`` is false (a data page: ``data_envelope``); an
        HTML page is refused either way."""
        response = self._get(url)
        if parse:
            payload = parse_json(url, response)
        else:
            refuse_html(url, response)
            payload = None
        if self.first_answer_at is None:
            self.first_answer_at = server_time(response.headers.get("Date"))
        return FetchedPage(url, response.status_code, time.time(), response.content, payload)


def server_time(date_header: str | None) -> dt.datetime:
    """An answer's ``Date`` header as an aware time; this machine's clock when it is missing or unreadable."""
    try:
        parsed = parsedate_to_datetime(date_header) if date_header else None
    except (TypeError, ValueError):
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        return dt.datetime.now(dt.UTC)
    return parsed


# --------------------------------------------------------------------------- KKiK helpers


def kkik_groups(groups: list[dict]) -> list[dict]:
    """The KPI groups whose title names Kommunens kvalitet i korthet or KKiK (e.g. "KKiK - ordinarie mått").

    The KKiK set changes between years and Kolada names its groups by hand, so the title is the only stable
    handle; the result is compared with our catalogue rather than trusted blindly.
    """
    return [g for g in groups if isinstance(g.get("title"), str) and KKIK_TITLE_PATTERN.search(g["title"])]


def group_member_ids(groups: Iterable[dict]) -> set[str]:
    """The member ids of some groups; v3 names them ``member_id``, v2 (and rKolada's cache) ``id``."""
    ids: set[str] = set()
    for group in groups:
        for member in group.get("members") or ():
            member_id = member.get("member_id", member.get("id"))
            if member_id:
                ids.add(str(member_id))
    return ids


def compare_with_catalogue(group_members: set[str], catalogue_ids: set[str]) -> dict:
    """Where Kolada's KKiK groups and our KKiK catalogue disagree, so a reviewer can decide what changed."""
    return {
        "only_in_kolada": sorted(group_members - catalogue_ids),
        "only_in_catalogue": sorted(catalogue_ids - group_members),
        "in_both": len(group_members & catalogue_ids),
    }
