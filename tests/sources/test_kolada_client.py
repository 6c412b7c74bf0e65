"""KoladaClient against local HTTP servers answering in Kolada's exact format, with real records.

Fixtures are small extracts of real Kolada data (see ``tests/fixtures/kolada/README.md``). Retry tests run
with ``backoff_factor=0`` and a high rate limit so the file stays fast; the only real wait is one
``Retry-After: 1``, which proves the header is honoured.
"""

from __future__ import annotations

import json
import math
import re
import time
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import requests
from werkzeug.wrappers import Response

from pipelines.sources.http import SourceResponseError
from pipelines.sources.kolada import (
    KoladaClient,
    KoladaPage,
    compare_with_catalogue,
    group_member_ids,
    kkik_groups,
)
from tests.sources.scripted_server import ScriptedServer, http_response

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kolada"
DATA_RECORDS = json.loads((FIXTURES / "data_records.json").read_text(encoding="utf-8"))
KPI_GROUPS = json.loads((FIXTURES / "kpi_groups.json").read_text(encoding="utf-8"))
# The 41 ids of "KKiK - ordinarie mått" (2015): more than one chunk of 25.
KKIK_2015_IDS = [m["member_id"] for m in KPI_GROUPS[0]["members"]]
# The one record of N15428 for Riket in 2020: what a query for N15428 and 2020 may return.
RIKET_N15428_2020 = [DATA_RECORDS[1]]

FAST = {"max_retries": 2, "backoff_factor": 0, "calls_per_second": 1000, "timeout": (2, 2)}


def fixture(name: str) -> list[dict]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def envelope(
    values: list,
    next_link: str | None = None,
    version: str = "v3",
    next_key: str | None = None,
    count: int | None = None,
) -> bytes:
    """A page exactly as Kolada sends it: ``count`` is the query's total (default: this page is all of it),
    v3 ``next_url``, v2 ``next_page`` + ``previous_page``."""
    key = next_key or ("next_url" if version == "v3" else "next_page")
    body: dict = {"count": len(values) if count is None else count, "values": values}
    if version == "v2":
        body["previous_page"] = None
    if next_link is not None:
        body[key] = next_link
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def distinct_kpis(n: int) -> list[dict]:
    """``n`` KPI records shaped like the real ones, each with its own id (a catalogue has no id twice)."""
    kpis = fixture("kpi.json")
    return [{**kpis[i % len(kpis)], "id": f"N{90000 + i:05d}"} for i in range(n)]


def client_for(httpserver, version: str = "v3", **overrides) -> KoladaClient:
    return KoladaClient(httpserver.url_for(f"/{version}"), version, **{**FAST, **overrides})


def served_queries(httpserver) -> list[dict[str, list[str]]]:
    return [parse_qs(request.query_string.decode()) for request, _ in httpserver.log]


def serve_three_pages(httpserver, path: str, records: list[dict], version: str, next_key: str | None = None):
    """Serve ``records`` over three pages at ``/{version}{path}``, linked by absolute next links."""
    full = f"/{version}{path}"
    parts = [records[:5], records[5:10], records[10:]]
    links = [httpserver.url_for(full) + f"?per_page=5000&page={n}" for n in (2, 3)] + [None]
    for number, (part, link) in enumerate(zip(parts, links), start=1):
        query = {"per_page": "5000"} if number == 1 else {"per_page": "5000", "page": str(number)}
        body = envelope(part, link, version, next_key, count=len(records))
        httpserver.expect_request(full, method="GET", query_string=query).respond_with_data(
            body, content_type="application/json; charset=utf-8"
        )


# --------------------------------------------------------------------------- pagination


@pytest.mark.parametrize(
    ("version", "next_key"),
    [("v3", "next_url"), ("v2", "next_page"), ("v3", "next_page"), ("v2", "next_url")],
)
def test_data_pages_follow_next_links_over_three_pages(httpserver, version, next_key):
    path = "/data/kpi/N15428,U07451/year/2019,2020"
    serve_three_pages(httpserver, path, DATA_RECORDS, version, next_key)

    with client_for(httpserver, version) as client:
        pages = list(client.data_pages(["N15428", "U07451"], [2019, 2020]))

    assert [len(p.records) for p in pages] == [5, 5, 2]
    assert [r for p in pages for r in p.records] == DATA_RECORDS
    assert all(isinstance(p, KoladaPage) and p.entity == "data" for p in pages)
    assert pages[0].url == httpserver.url_for(f"/{version}{path}") + "?per_page=5000"
    assert pages[2].url.endswith("page=3")
    assert [p.body for p in pages] == [response.get_data() for _, response in httpserver.log]
    assert client.request_count == 3
    assert all(q["per_page"] == ["5000"] for q in served_queries(httpserver))


def test_last_page_with_empty_or_null_next_link_ends(httpserver):
    httpserver.expect_request("/v3/kpi").respond_with_data(
        json.dumps({"count": 1, "values": fixture("kpi.json")[:1], "next_url": "", "next_page": None}),
        content_type="application/json",
    )
    with client_for(httpserver) as client:
        assert len(list(client.kpi_pages())) == 1


@pytest.mark.parametrize(
    ("method", "entity", "fixture_name"),
    [
        ("kpi_pages", "kpi", "kpi.json"),
        ("kpi_group_pages", "kpi_groups", "kpi_groups.json"),
        ("municipality_pages", "municipality", "municipality.json"),
        ("municipality_group_pages", "municipality_groups", "municipality_groups.json"),
    ],
)
def test_metadata_endpoints(httpserver, method, entity, fixture_name):
    records = fixture(fixture_name)
    httpserver.expect_request(f"/v3/{entity}", query_string={"per_page": "5000"}).respond_with_data(
        envelope(records), content_type="application/json"
    )
    with client_for(httpserver) as client:
        pages = list(getattr(client, method)())
    assert len(pages) == 1 and pages[0].entity == entity and pages[0].records == records


def test_pagination_loop_is_refused(httpserver):
    first = httpserver.url_for("/v3/kpi") + "?per_page=5000"
    second = httpserver.url_for("/v3/kpi") + "?per_page=5000&page=2"
    kpis = fixture("kpi.json")
    httpserver.expect_request("/v3/kpi", query_string={"per_page": "5000"}).respond_with_data(
        envelope(kpis[:2], second, count=len(kpis)), content_type="application/json"
    )
    httpserver.expect_request("/v3/kpi", query_string={"per_page": "5000", "page": "2"}).respond_with_data(
        envelope(kpis[2:], first, count=len(kpis)), content_type="application/json"
    )
    with client_for(httpserver) as client, pytest.raises(SourceResponseError, match="pagination loop") as err:
        list(client.kpi_pages())
    assert err.value.url == first
    assert client.request_count == 2


# --------------------------------------------------------------------------- chunking and arguments


def _echo_data_handler(request):
    """Answer any data query with one real-shaped record per requested KPI id (first year)."""
    segments = request.path.split("/")
    ids, years = segments[4].split(","), segments[6].split(",")
    template = DATA_RECORDS[0]
    values = [{**template, "kpi": kpi_id, "period": int(years[0])} for kpi_id in ids]
    return Response(envelope(values), content_type="application/json")


def test_more_than_25_ids_and_years_are_split_into_chunks(httpserver):
    httpserver.expect_request(re.compile(r"^/v3/data/kpi/[^/]+/year/[^/]+$")).respond_with_handler(
        _echo_data_handler
    )
    years = list(range(1994, 2023))  # 29 years: two chunks

    with client_for(httpserver) as client:
        pages = list(client.data_pages(KKIK_2015_IDS, years))

    paths = [request.path for request, _ in httpserver.log]
    id_chunks = [p.split("/")[4].split(",") for p in paths]
    year_chunks = [p.split("/")[6].split(",") for p in paths]
    assert len(paths) == client.request_count == 4  # (25 + 16 ids) x (25 + 4 years)
    assert [len(c) for c in id_chunks] == [25, 25, 16, 16]
    assert [len(c) for c in year_chunks] == [25, 4, 25, 4]
    assert id_chunks[0] + id_chunks[2] == KKIK_2015_IDS
    assert year_chunks[0] + year_chunks[1] == [str(y) for y in years]
    assert all(q == {"per_page": ["5000"]} for q in served_queries(httpserver))
    assert sum(len(p.records) for p in pages) == 2 * len(KKIK_2015_IDS)


def test_from_date_is_sent(httpserver):
    httpserver.expect_request(
        "/v3/data/kpi/N15428/year/2020", query_string={"per_page": "5000", "from_date": "2024-08-30"}
    ).respond_with_data(envelope(RIKET_N15428_2020), content_type="application/json")
    with client_for(httpserver) as client:
        pages = list(client.data_pages(["N15428"], [2020], from_date="2024-08-30"))
    assert pages[0].url.endswith("?per_page=5000&from_date=2024-08-30")


@pytest.mark.parametrize(
    ("ids", "years", "from_date", "named"),
    [
        (["N15428", "n15428"], [2020], None, "n15428"),
        (["N15428", "N1542"], [2020], None, "N1542"),
        (["N15428,U07451"], [2020], None, "N15428,U07451"),
        ([], [2020], None, "no KPI ids"),
        (["N15428"], [20], None, "20"),
        (["N15428"], [True], None, "True"),
        (["N15428"], ["20x2"], None, "20x2"),
        (["N15428"], [], None, "no years"),
        (["N15428"], [2020], "2024-02-30", "2024-02-30"),
        (["N15428"], [2020], "30/08/2024", "30/08/2024"),
    ],
)
def test_bad_arguments_raise_before_any_call(httpserver, ids, years, from_date, named):
    with client_for(httpserver) as client, pytest.raises(ValueError, match=re.escape(named)):
        client.data_pages(ids, years, from_date=from_date)
    assert client.request_count == 0 and httpserver.log == []


@pytest.mark.parametrize(
    ("base", "version", "expected"),
    [
        ("https://api.kolada.se/v3", "v3", "https://api.kolada.se/v3"),
        ("https://api.kolada.se/v2/", "v2", "https://api.kolada.se/v2"),
        ("http://127.0.0.1:8123/kolada", "v3", "http://127.0.0.1:8123/kolada/v3"),
        ("http://127.0.0.1:8123/kolada", "v2", "http://127.0.0.1:8123/kolada/v2"),
    ],
)
def test_base_url_and_version(base, version, expected):
    with KoladaClient(base, version) as client:
        assert client.base_url == expected


@pytest.mark.parametrize(
    ("base", "version"),
    [("https://api.kolada.se/v3", "v2"), ("https://api.kolada.se/v3", "v4"), ("api.kolada.se/v3", "v3")],
)
def test_base_url_mismatch_is_refused(base, version):
    with pytest.raises(ValueError):
        KoladaClient(base, version)


# --------------------------------------------------------------------------- retries, timeouts, politeness


def test_429_with_retry_after_is_honoured_then_succeeds(httpserver):
    path = "/v3/data/kpi/N15428/year/2020"
    httpserver.expect_oneshot_request(path).respond_with_data(
        '{"error": "too many requests"}',
        status=429,
        headers={"Retry-After": "1"},
        content_type="application/json",
    )
    httpserver.expect_request(path).respond_with_data(
        envelope(RIKET_N15428_2020), content_type="application/json"
    )

    started = time.monotonic()
    with client_for(httpserver) as client:
        pages = list(client.data_pages(["N15428"], [2020]))
    elapsed = time.monotonic() - started

    assert pages[0].records == RIKET_N15428_2020
    assert [response.status_code for _, response in httpserver.log] == [429, 200]
    assert elapsed >= 0.9  # waited for Retry-After, although backoff_factor is 0
    assert (client.request_count, client.retry_count) == (1, 1)


def test_500_then_success(httpserver):
    httpserver.expect_oneshot_request("/v3/municipality").respond_with_data(
        "Internal Server Error", status=500
    )
    httpserver.expect_request("/v3/municipality").respond_with_data(
        envelope(fixture("municipality.json")), content_type="application/json"
    )
    with client_for(httpserver) as client:
        pages = list(client.municipality_pages())
    assert pages[0].records == fixture("municipality.json")
    assert [response.status_code for _, response in httpserver.log] == [500, 200]
    assert client.retry_count == 1


def test_persistent_500_raises_naming_the_url(httpserver):
    httpserver.expect_request("/v3/kpi_groups").respond_with_data("Internal Server Error", status=500)
    with client_for(httpserver, max_retries=2) as client, pytest.raises(SourceResponseError) as err:
        list(client.kpi_group_pages())
    url = httpserver.url_for("/v3/kpi_groups") + "?per_page=5000"
    assert err.value.url == url and url in str(err.value) and "HTTP 500" in str(err.value)
    assert len(httpserver.log) == 3  # the first try and max_retries=2 retries


def test_404_is_not_retried(httpserver):
    httpserver.expect_request("/v3/data/kpi/N15428/year/2020").respond_with_data(
        '{"error": "not found"}', status=404, content_type="application/json"
    )
    with client_for(httpserver) as client, pytest.raises(SourceResponseError, match="HTTP 404"):
        list(client.data_pages(["N15428"], [2020]))
    assert len(httpserver.log) == 1


def test_timeout_is_sent_on_every_call(httpserver):
    class RecordingSession(requests.Session):
        def __init__(self):
            super().__init__()
            self.timeouts = []

        def request(self, method, url, **kwargs):
            self.timeouts.append(kwargs.get("timeout"))
            return super().request(method, url, **kwargs)

    serve_three_pages(httpserver, "/kpi", distinct_kpis(12), "v3")
    session = RecordingSession()
    with client_for(httpserver, timeout=(3, 7), session=session) as client:
        list(client.kpi_pages())
    assert session.timeouts == [(3.0, 7.0)] * 3


def test_rate_limit_spaces_calls(httpserver):
    serve_three_pages(httpserver, "/kpi", distinct_kpis(12), "v3")
    started = time.monotonic()
    with client_for(httpserver, calls_per_second=20) as client:
        list(client.kpi_pages())
    assert time.monotonic() - started >= 0.09  # three calls, at least 1/20 s apart


def test_a_string_of_ids_is_refused(httpserver):
    with client_for(httpserver) as client, pytest.raises(TypeError, match="N15428"):
        client.data_pages("N15428", [2020])


def test_a_session_passed_in_is_not_closed(httpserver):
    session = requests.Session()
    closed = []
    session.close = lambda: closed.append(True)
    with client_for(httpserver, session=session):
        pass
    assert closed == []


# --------------------------------------------------------------------------- a raw server for network faults


def test_dropped_connection_is_retried_then_succeeds():
    body = envelope(DATA_RECORDS[:3])
    with ScriptedServer(["drop", http_response(body)]) as server, KoladaClient(server.url, **FAST) as client:
        pages = list(client.data_pages(["N15428"], [2019, 2020]))
    assert pages[0].records == DATA_RECORDS[:3] and pages[0].body == body
    assert len(server.requests) == 2
    assert server.requests[0] == "GET /v3/data/kpi/N15428/year/2019,2020?per_page=5000 HTTP/1.1"
    assert (client.request_count, client.retry_count) == (1, 1)


def test_read_timeout_is_honoured_retried_then_raises():
    with ScriptedServer(["stall"]) as server:
        started = time.monotonic()
        client = KoladaClient(server.url, **{**FAST, "timeout": (1, 0.2), "max_retries": 2})
        with client, pytest.raises(SourceResponseError, match="no complete answer") as err:
            list(client.kpi_pages())
        elapsed = time.monotonic() - started
        assert len(server.requests) == 3  # the first try and two retries, each cut off by the read timeout
    assert err.value.url == f"{server.url}/v3/kpi?per_page=5000"
    assert 0.5 <= elapsed < 3  # three reads of ~0.2 s, not the server's 5 s stall


def test_body_cut_off_mid_transfer_raises():
    body = envelope(DATA_RECORDS)
    server = ScriptedServer([http_response(body[:300], content_length=len(body))])
    with server, KoladaClient(server.url, **FAST) as client, pytest.raises(SourceResponseError) as err:
        list(client.data_pages(["N15428", "U07451"], [2019, 2020]))
    assert "IncompleteRead(300 bytes read" in str(err.value)
    assert err.value.url.startswith(f"{server.url}/v3/data/kpi/N15428,U07451/year/2019,2020")


# --------------------------------------------------------------------------- answers that are not Kolada's envelope


@pytest.mark.parametrize(
    ("body", "content_type", "problem"),
    [
        (
            b"<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head><body>Maintenance</body></html>",
            "text/html",
            "HTML page",
        ),
        (envelope(DATA_RECORDS)[:700], "application/json", "not valid JSON"),
        (json.dumps({"count": 1, "next_url": None}).encode(), "application/json", "no 'values' key"),
        (
            json.dumps({"count": 1, "values": {"kpi": "N15428"}}).encode(),
            "application/json",
            "'values' should be a list",
        ),
        (json.dumps(DATA_RECORDS).encode(), "application/json", "got a JSON list"),
        (envelope(DATA_RECORDS[:1]).replace(b'"count": 1', b'"count": "1"'), "application/json", "'count'"),
    ],
    ids=[
        "html",
        "truncated-json",
        "missing-values",
        "values-not-list",
        "not-an-object",
        "count-not-int",
    ],
)
def test_responses_that_are_not_kolada_envelopes_raise(httpserver, body, content_type, problem):
    path = "/v3/data/kpi/N15428/year/2019,2020"
    httpserver.expect_request(path).respond_with_data(body, content_type=content_type)
    with (
        client_for(httpserver) as client,
        pytest.raises(SourceResponseError, match=re.escape(problem)) as err,
    ):
        list(client.data_pages(["N15428"], [2019, 2020]))
    url = httpserver.url_for(path) + "?per_page=5000"
    assert err.value.url == url and str(err.value).startswith(url)


def test_a_data_page_with_nan_is_yielded_as_sent(httpserver):
    """NaN and Infinity are not JSON, but json (and so a Kolada client) reads them: the page is yielded (its
    envelope decoded the slow way) and the landing quarantines the value (bad_value)."""
    body = envelope(DATA_RECORDS[:2]).replace(b"84.7", b"NaN", 1).replace(b"86.2", b"-Infinity", 1)
    assert b"NaN" in body and b"-Infinity" in body
    httpserver.expect_request("/v3/data/kpi/N15428/year/2019,2020").respond_with_data(body, content_type="application/json")
    with client_for(httpserver) as client:
        pages = list(client.data_pages(["N15428"], [2019, 2020]))
    assert [p.record_count for p in pages] == [2] and pages[0].body == body
    values = pages[0].records[0]["values"]
    assert math.isnan(values[0]["value"]) and values[1]["value"] == -math.inf


def test_metadata_record_without_id_raises(httpserver):
    broken = [{k: v for k, v in record.items() if k != "id"} for record in fixture("municipality.json")]
    httpserver.expect_request("/v3/municipality").respond_with_data(
        envelope(broken), content_type="application/json"
    )
    with (
        client_for(httpserver) as client,
        pytest.raises(SourceResponseError, match="municipality record 0 lacks id"),
    ):
        list(client.municipality_pages())


@pytest.mark.parametrize(
    ("records", "problem"),
    [
        (["0180"], "municipality record 0 is a str, not an object"),
        (fixture("municipality.json")[:2] * 2, "municipality record 2 repeats ('0000',), already received"),
    ],
    ids=["not-an-object", "same-id-twice"],
)
def test_metadata_records_are_checked_by_the_client(httpserver, records, problem):
    """Metadata records (a few thousand) keep their checks in the client; data records are the landing's."""
    httpserver.expect_request("/v3/municipality").respond_with_data(envelope(records), content_type="application/json")
    with client_for(httpserver) as client, pytest.raises(SourceResponseError, match=re.escape(problem)) as err:
        list(client.municipality_pages())
    assert err.value.url == httpserver.url_for("/v3/municipality") + "?per_page=5000"


# --------------------------------------------------------------------------- KKiK helpers


def test_kkik_groups_are_found_by_title():
    found = kkik_groups(
        KPI_GROUPS + [{"id": "G1", "title": "Kommunens Kvalitet i Korthet 2024", "members": []}]
    )
    assert [g["title"] for g in found] == [
        "KKiK - ordinarie mått",
        "Kommunens kvalitet i korthet (KKiK)",
        "Kommunens Kvalitet i Korthet 2024",
    ]


def test_group_member_ids_accept_v3_and_v2_member_keys():
    v2_style = {"id": "G2", "title": "KKiK", "members": [{"id": "N00914", "title": "x"}]}
    assert group_member_ids([KPI_GROUPS[0], v2_style]) == set(KKIK_2015_IDS)
    assert len(KKIK_2015_IDS) == 41


def test_compare_with_catalogue():
    catalogue = {"N15428", "U07451", "N15543", "U21438"}  # two in the 2015 group, two added later
    result = compare_with_catalogue(group_member_ids(kkik_groups(KPI_GROUPS)), catalogue)
    assert result["only_in_catalogue"] == ["N15543", "U21438"]
    assert result["in_both"] == 2
    assert len(result["only_in_kolada"]) == 39 and result["only_in_kolada"] == sorted(
        result["only_in_kolada"]
    )
