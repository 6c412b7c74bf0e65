"""The fault suite: a Kolada that lies, stalls or floods, and what the client does about it.

Each test serves real-shaped Kolada pages (built from ``tests/fixtures/kolada/data_records.json``) from a
local server on 127.0.0.1 that misbehaves in one way, and asserts the exception type, that the message names
the URL and the problem, and which pages (if any) were yielded before it. pytest-httpserver answers what
werkzeug can express; ``ScriptedServer`` (raw sockets) cuts, resets and trickles bodies.

What a data record says is not the client's to check: it checks a data page's envelope (count, next link,
page bound, loops, empty pages, the total at the end) and yields the records as sent; a record outside the
query, unreadable or sent twice is the landing's (``tests/landing/test_kolada_landing.py`` lands the same
records through this client and shows each quarantined or the load refused, naming the page).

Budgets are made small through the constructor (the production defaults are 256 MiB, 300 s per request and
2 h per load), so the whole file runs in a few seconds.
"""

from __future__ import annotations

import gzip
import json
import re
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from pipelines.refresh import RefreshPlan, changed_values
from pipelines.sources.http import SourceResponseError
from pipelines.sources.kolada import KoladaClient, KoladaPage
from tests.sources.scripted_server import ScriptedServer, http_response, reset_mid_body, trickle

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kolada"
#: 12 real records: N15428 and U07451 x Riket, Stockholm, Helsingborg x 2019-2020.
RECORDS: list[dict] = json.loads((FIXTURES / "data_records.json").read_text(encoding="utf-8"))
KPIS, YEARS = ["N15428", "U07451"], [2019, 2020]
DATA_PATH = "/v3/data/kpi/N15428,U07451/year/2019,2020"
PER_PAGE = 4  # 12 records: three full pages
FAST = {"max_retries": 2, "backoff_factor": 0, "calls_per_second": 1000, "timeout": (2, 2), "per_page": PER_PAGE}
JSON = "application/json; charset=utf-8"


def envelope(values: list, count: int | None, next_url: str | None = None) -> bytes:
    """A v3 page as Kolada sends it: ``count`` is the query's total (None: no total), ``next_url`` if more."""
    body: dict = {"values": values}
    if count is not None:
        body["count"] = count
    if next_url is not None:
        body["next_url"] = next_url
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def kolada_pages(
    records: list[dict], *, drop_next: bool = False, empty_page: int | None = None
) -> Callable[[Request], Response]:
    """A handler that pages ``records`` as Kolada does (``per_page``, 1-based ``page``, absolute links),
    optionally without any ``next_url`` or with one page answered by an empty ``values`` list."""

    def handler(request: Request) -> Response:
        per_page, page = int(request.args["per_page"]), int(request.args.get("page", 1))
        start = (page - 1) * per_page
        values = [] if page == empty_page else records[start : start + per_page]
        more = start + per_page < len(records)
        link = f"{request.base_url}?per_page={per_page}&page={page + 1}" if more and not drop_next else None
        return Response(envelope(values, len(records), link), content_type=JSON)

    return handler


def serve(httpserver: HTTPServer, handler: Callable[[Request], Response], path: str = DATA_PATH) -> None:
    httpserver.expect_request(path).respond_with_handler(handler)


def client_for(server_url: str, **overrides) -> KoladaClient:
    return KoladaClient(server_url, "v3", **{**FAST, **overrides})


def root(server: HTTPServer) -> str:
    return f"http://localhost:{server.port}"


def first_url(root_url: str) -> str:
    return f"{root_url}{DATA_PATH}?per_page={PER_PAGE}"


def drain(pages: Iterator[KoladaPage]) -> tuple[list[KoladaPage], SourceResponseError]:
    """The pages yielded before the client raised, and what it raised (it must raise)."""
    got: list[KoladaPage] = []
    with pytest.raises(SourceResponseError) as err:
        for page in pages:
            got.append(page)  # noqa: PERF402 (a loop keeps the pages yielded before the error)
    return got, err.value


def records_of(pages: list[KoladaPage]) -> list[dict]:
    return [record for page in pages for record in page.records]


def queries(httpserver: HTTPServer) -> list[str]:
    return [request.query_string.decode() for request, _ in httpserver.log]


@pytest.fixture
def other_host():
    """A second server on another origin (127.0.0.1, its own port) that would answer with plausible data."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    server.expect_request(re.compile(".*")).respond_with_data(envelope(RECORDS, len(RECORDS)), content_type=JSON)
    yield server
    server.clear()
    server.stop()


# --------------------------------------------------------------------------- the happy path


def test_happy_path_yields_exactly_the_records_served(httpserver):
    serve(httpserver, kolada_pages(RECORDS))
    with client_for(root(httpserver)) as client:
        pages = list(client.data_pages(KPIS, YEARS))
    assert records_of(pages) == RECORDS
    assert [len(p.records) for p in pages] == [4, 4, 4]
    assert queries(httpserver) == ["per_page=4", "per_page=4&page=2", "per_page=4&page=3"]
    assert (client.request_count, client.retry_count) == (3, 0)


def test_gzip_encoded_pages_are_decoded(httpserver):
    body = envelope(RECORDS, len(RECORDS))
    httpserver.expect_request(DATA_PATH).respond_with_data(
        gzip.compress(body), content_type=JSON, headers={"Content-Encoding": "gzip"}
    )
    with client_for(root(httpserver), per_page=5000) as client:
        pages = list(client.data_pages(KPIS, YEARS))
    assert records_of(pages) == RECORDS and pages[0].body == body


# --------------------------------------------------------------------------- pagination


def test_full_page_without_next_url_asks_for_the_next_page(httpserver):
    serve(httpserver, kolada_pages(RECORDS, drop_next=True))
    with client_for(root(httpserver)) as client:
        pages = list(client.data_pages(KPIS, YEARS))
    assert records_of(pages) == RECORDS  # nothing lost although no page links on
    assert queries(httpserver) == ["per_page=4", "per_page=4&page=2", "per_page=4&page=3"]


def test_short_page_without_next_url_while_count_says_more_raises(httpserver):
    # 6 of 12 records on a page that is not full and has no link: the truncated pagination of issue 9.
    httpserver.expect_request(DATA_PATH).respond_with_data(envelope(RECORDS[:6], 12), content_type=JSON)
    with client_for(root(httpserver), per_page=5000) as client:
        pages, err = drain(client.data_pages(KPIS, YEARS))
    assert pages == []  # the last page is yielded only once the query adds up
    assert err.url.startswith(httpserver.url_for(DATA_PATH))
    assert "add up to 6 records, but count says 12: 6 missing" in str(err)


def test_empty_page_in_the_middle_raises(httpserver):
    serve(httpserver, kolada_pages(RECORDS, empty_page=2))
    with client_for(root(httpserver)) as client:
        pages, err = drain(client.data_pages(KPIS, YEARS))
    assert records_of(pages) == RECORDS[:4]
    assert err.url == first_url(root(httpserver)) + "&page=2"
    assert "page 2 has no values, but the query is not complete: count 12, 4 received" in str(err)


def test_empty_page_after_a_dropped_link_raises(httpserver):
    serve(httpserver, kolada_pages(RECORDS, drop_next=True, empty_page=2))
    with client_for(root(httpserver)) as client:
        pages, err = drain(client.data_pages(KPIS, YEARS))
    assert records_of(pages) == RECORDS[:4]
    assert err.url.endswith("per_page=4&page=2") and "page 2 has no values" in str(err)


def _endless_cursor(with_count: bool) -> Callable[[Request], Response]:
    """Every page: four new real-shaped records (distinct municipalities) and a new cursor."""
    calls = []

    def handler(request: Request) -> Response:
        calls.append(1)
        n = len(calls)
        values = [{**RECORDS[0], "municipality": f"{n:02d}{i:02d}"} for i in range(PER_PAGE)]
        link = f"{request.base_url}?per_page={PER_PAGE}&cursor=c{n}x{time.monotonic_ns()}"
        return Response(envelope(values, 12 if with_count else None, link), content_type=JSON)

    return handler


def test_cursor_that_never_ends_is_cut_at_max_pages_without_a_total(httpserver):
    serve(httpserver, _endless_cursor(with_count=False))
    with client_for(root(httpserver), max_pages_per_query=5) as client:
        pages, err = drain(client.data_pages(KPIS, YEARS))
    assert len(pages) == 5 and len(httpserver.log) == 5
    assert "cursor=c5" in err.url
    assert "pagination does not end: 5 pages fetched for the query" in str(err)
    assert first_url(root(httpserver)) in str(err) and "(no total)" in str(err)


def test_cursor_that_never_ends_is_cut_at_the_total(httpserver):
    serve(httpserver, _endless_cursor(with_count=True))
    with client_for(root(httpserver)) as client:
        pages, err = drain(client.data_pages(KPIS, YEARS))
    assert len(pages) == 3 and len(httpserver.log) == 4  # count 12 / 4 per page, and one page past it
    assert "cursor=c3" in err.url
    assert "pagination does not end: page 4 brings the records of the query to 16, more than its total (count 12)" in str(
        err
    )


def test_same_record_on_two_pages_is_yielded_when_the_count_adds_up(httpserver):
    # RECORDS[3] again on page 2, RECORDS[4] lost for it: every page is well formed and the total is right, so
    # the client yields them; the landing refuses the load naming both pages (test_kolada_landing.py)
    doubled = [*RECORDS[:4], RECORDS[3], *RECORDS[5:]]
    serve(httpserver, kolada_pages(doubled))
    with client_for(root(httpserver)) as client:
        pages = list(client.data_pages(KPIS, YEARS))
    assert records_of(pages) == doubled and [len(p.records) for p in pages] == [4, 4, 4]


def test_page_that_changed_between_two_requests_raises(httpserver):
    # Page 1 is served from the data as it was; then three values are deleted, so page 2 of the new data
    # starts three records later: RECORDS[4:7] would be lost without a trace but for the total.
    changed = RECORDS[:1] + RECORDS[4:]
    second = first_url(root(httpserver)) + "&page=2"
    httpserver.expect_request(DATA_PATH, query_string="per_page=4").respond_with_data(
        envelope(RECORDS[:4], len(RECORDS), second), content_type=JSON
    )
    httpserver.expect_request(DATA_PATH, query_string="per_page=4&page=2").respond_with_data(
        envelope(changed[4:8], len(changed), first_url(root(httpserver)) + "&page=3"), content_type=JSON
    )
    with client_for(root(httpserver)) as client:
        pages, err = drain(client.data_pages(KPIS, YEARS))
    assert records_of(pages) == RECORDS[:4]
    assert err.url == second
    assert "the total changed between two pages of one query: count 9 on page 2, 12 on page 1" in str(err)


@pytest.mark.parametrize(
    "record",
    [
        {**RECORDS[0], "period": 2018},
        {**RECORDS[0], "kpi": "N00914"},
        {**RECORDS[0], "period": "2019"},
        {**RECORDS[0], "municipality": ["0180"]},
        {k: v for k, v in RECORDS[0].items() if k != "values"},
        {**RECORDS[0], "values": 84.7},
        "N15428",
    ],
    ids=["another-year", "another-kpi", "period-as-text", "municipality-as-list", "no-values", "values-not-list",
         "not-an-object"],
)
def test_data_records_are_yielded_as_sent_for_the_landing_to_check(httpserver, record):
    """Records outside the query or of the wrong shape used to be refused here, at ~25 ms a page of 5,000;
    the landing's SQL quarantines them (or refuses the page, naming it) instead."""
    httpserver.expect_request(DATA_PATH).respond_with_data(
        envelope([RECORDS[1], record], 2), content_type=JSON
    )
    with client_for(root(httpserver)) as client:
        pages = list(client.data_pages(KPIS, YEARS))
    assert [page.records for page in pages] == [[RECORDS[1], record]]
    assert pages[0].body == envelope([RECORDS[1], record], 2)  # what the landing writes to disk and reads


def test_the_refresh_question_counts_records_the_client_yields_unchecked(httpserver):
    """``kkik refresh`` first asks what changed (``changed_values`` reads ``page.records``): a malformed record
    is one change to land (the landing then quarantines or refuses it), not a crash; the rest count their values."""
    served = [RECORDS[1], {**RECORDS[0], "values": 84.7}, "N15428", {"kpi": "N15428"}]
    httpserver.expect_request(DATA_PATH).respond_with_data(envelope(served, len(served)), content_type=JSON)
    with client_for(root(httpserver)) as client:
        check = changed_values(client, RefreshPlan(KPIS, YEARS, "2024-08-31"))
    assert (check.values, check.requests, check.changed) == (len(RECORDS[1]["values"]) + 3, 1, True)
    assert queries(httpserver) == ["per_page=4&from_date=2024-08-31"]


# --------------------------------------------------------------------------- other hosts


def test_next_url_to_another_host_is_not_followed(httpserver, other_host):
    stranger = other_host.url_for(DATA_PATH) + "?per_page=4&page=2"
    httpserver.expect_request(DATA_PATH).respond_with_data(envelope(RECORDS[:4], 12, stranger), content_type=JSON)
    with client_for(root(httpserver)) as client:
        pages, err = drain(client.data_pages(KPIS, YEARS))
    assert pages == [] and other_host.log == []
    ours, theirs = f"http://localhost:{httpserver.port}", f"http://127.0.0.1:{other_host.port}"
    assert err.url == first_url(root(httpserver))
    assert f"the next-page link 'next_url' points at another host: {stranger} (host {theirs})" in str(err)
    assert f"only {ours} is followed" in str(err)


@pytest.mark.parametrize("status", [301, 302, 307])
def test_redirect_to_another_host_is_not_followed(httpserver, other_host, status):
    stranger = other_host.url_for(DATA_PATH) + "?per_page=4"
    httpserver.expect_request(DATA_PATH).respond_with_data("", status=status, headers={"Location": stranger})
    with client_for(root(httpserver)) as client:
        pages, err = drain(client.data_pages(KPIS, YEARS))
    assert pages == [] and other_host.log == []
    assert err.url == first_url(root(httpserver))
    assert f"a redirect (HTTP {status}) points at another host: {stranger} (host http://127.0.0.1:{other_host.port})" in str(err)
    assert f"only http://localhost:{httpserver.port} is followed" in str(err)


def test_redirect_on_the_same_host_is_followed(httpserver):
    httpserver.expect_request(DATA_PATH).respond_with_data("", status=302, headers={"Location": "/moved?per_page=4"})
    httpserver.expect_request("/moved").respond_with_data(envelope(RECORDS[:3], 3), content_type=JSON)
    with client_for(root(httpserver)) as client:
        pages = list(client.data_pages(KPIS, YEARS))
    assert records_of(pages) == RECORDS[:3] and len(httpserver.log) == 2


# --------------------------------------------------------------------------- budgets


def test_gzip_bomb_stops_at_the_size_budget_without_being_decompressed(httpserver):
    # A valid envelope padded with 64 MiB of spaces: 64 KiB on the wire.
    bomb = gzip.compress(b'{"count": 0, "values": [' + b" " * (64 * 2**20) + b"]}", compresslevel=9)
    assert len(bomb) < 2**20
    httpserver.expect_request(DATA_PATH).respond_with_data(
        bomb, content_type=JSON, headers={"Content-Encoding": "gzip"}
    )
    tracemalloc.start()
    try:
        with client_for(root(httpserver), max_response_bytes=2**20) as client:
            pages, err = drain(client.data_pages(KPIS, YEARS))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert pages == [] and len(httpserver.log) == 1  # not retried: the same bomb would come again
    assert err.url == first_url(root(httpserver))
    assert "the body exceeds the budget of 1,048,576 bytes per response after decompression" in str(err)
    assert "(Content-Encoding: gzip)" in str(err)
    assert peak < 16 * 2**20  # read in bounded steps: nowhere near the 64 MiB the bomb expands to


def test_trickling_body_fails_after_the_request_budget():
    body = envelope(RECORDS, len(RECORDS))  # ~3 kB: 50 s at 64 B/s
    with ScriptedServer([trickle(body, bytes_per_second=64)]) as server:
        started = time.monotonic()
        with client_for(server.url, request_budget=1.0, timeout=(2, 2)) as client:
            pages, err = drain(client.data_pages(KPIS, YEARS))
        elapsed = time.monotonic() - started
    assert pages == [] and len(server.requests) == 1
    assert err.url == first_url(server.url)
    assert re.search(r"the answer did not complete within the 1 s budget per request: \d+ bytes in 1\.\d s", str(err))
    assert elapsed < 2.5  # each read got bytes well within the 2 s read timeout, yet the call ended


def test_trickling_body_fails_after_the_load_budget():
    body = envelope(RECORDS, len(RECORDS))
    with ScriptedServer([trickle(body)]) as server, client_for(server.url, load_budget=0.8) as client:
        pages, err = drain(client.data_pages(KPIS, YEARS))
    assert pages == [] and "did not complete within the 0.8 s budget of the load" in str(err)


def test_no_request_once_the_load_budget_is_spent(httpserver):
    serve(httpserver, kolada_pages(RECORDS))
    with client_for(root(httpserver), load_budget=0.2) as client:
        time.sleep(0.25)
        pages, err = drain(client.data_pages(KPIS, YEARS))
    assert pages == [] and httpserver.log == []
    assert err.url == first_url(root(httpserver))
    assert "the 0.2 s time budget of the load is spent: not requested" in str(err)


# --------------------------------------------------------------------------- retries


def test_connection_reset_mid_body_is_retried_then_succeeds():
    body = envelope(RECORDS, len(RECORDS))
    script = [reset_mid_body(body), reset_mid_body(body), http_response(body)]
    with ScriptedServer(script) as server, client_for(server.url, per_page=5000) as client:
        pages = list(client.data_pages(KPIS, YEARS))
    assert records_of(pages) == RECORDS and pages[0].body == body
    assert len(server.requests) == 3
    assert (client.request_count, client.retry_count) == (1, 2)


def test_connection_reset_mid_body_every_time_fails_with_a_clear_message():
    body = envelope(RECORDS, len(RECORDS))
    with ScriptedServer([reset_mid_body(body)]) as server, client_for(server.url, per_page=5000) as client:
        pages, err = drain(client.data_pages(KPIS, YEARS))
    assert pages == [] and len(server.requests) == 3  # the first try and max_retries=2 retries
    assert err.url == f"{server.url}{DATA_PATH}?per_page=5000"
    assert "no complete answer: the body was cut off mid-transfer on each of 3 attempts" in str(err)
    assert "Connection broken" in str(err) and f"after {len(body) // 2:,} bytes" in str(err)


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_an_hour_fails_fast_naming_the_wait(httpserver, status):
    httpserver.expect_request(DATA_PATH).respond_with_data(
        '{"error": "slow down"}', status=status, headers={"Retry-After": "3600"}, content_type=JSON
    )
    started = time.monotonic()
    with client_for(root(httpserver), max_retry_after=30) as client:
        pages, err = drain(client.data_pages(KPIS, YEARS))
    assert time.monotonic() - started < 1.0
    assert pages == [] and len(httpserver.log) == 1
    assert err.url == first_url(root(httpserver))
    assert (
        f"HTTP {status}: the server asks to wait 3600 s (Retry-After: '3600'), longer than the 30 s this "
        "client waits; load again later" in str(err)
    )


@pytest.mark.parametrize("value", ["soon", "-5", "Wed, 99 Foo 2025 25:61:00 GMT", ""])
def test_unparsable_retry_after_is_normal_backoff(httpserver, value):
    httpserver.expect_oneshot_request(DATA_PATH).respond_with_data(
        '{"error": "busy"}', status=503, headers={"Retry-After": value}, content_type=JSON
    )
    serve(httpserver, kolada_pages(RECORDS))
    started = time.monotonic()
    with client_for(root(httpserver)) as client:
        pages = list(client.data_pages(KPIS, YEARS))
    assert time.monotonic() - started < 1.0  # backoff_factor=0: no wait, no crash
    assert records_of(pages) == RECORDS
    assert [response.status_code for _, response in httpserver.log] == [503, 200, 200, 200]
    assert client.retry_count == 1


def test_unparsable_retry_after_every_time_fails_with_the_status(httpserver):
    httpserver.expect_request(DATA_PATH).respond_with_data(
        '{"error": "busy"}', status=429, headers={"Retry-After": "later"}, content_type=JSON
    )
    with client_for(root(httpserver)) as client:
        pages, err = drain(client.data_pages(KPIS, YEARS))
    assert pages == [] and len(httpserver.log) == 3
    assert err.url == first_url(root(httpserver)) and "HTTP 429 after retries" in str(err)
