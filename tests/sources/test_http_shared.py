"""The rules of the shared HTTP layer hold for every source, not only Kolada.

Skolverket's client is an ``HttpClient``; SCB's uses ``make_session``. Both must refuse a redirect to
another host (nothing fetched there), stream within the size budget, and survive a garbled ``Retry-After``.
"""

from __future__ import annotations

import re

import pytest
from pytest_httpserver import HTTPServer

from pipelines.sources.http import SourceResponseError, make_session, origin
from pipelines.sources.skolverket import EXPORTS, SkolverketClient

EXPORT = "behorighet_gymnasiet_ak9"
FAST = {"max_retries": 1, "backoff_factor": 0, "calls_per_second": 1000, "timeout": (2, 2)}


@pytest.fixture
def other_host():
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    server.expect_request(re.compile(".*")).respond_with_data("Kommun;x\n", content_type="text/csv")
    yield server
    server.clear()
    server.stop()


def test_skolverket_refuses_a_redirect_to_another_host(httpserver, other_host):
    path = "/" + EXPORTS[EXPORT].path
    stranger = other_host.url_for(path)
    httpserver.expect_request(path).respond_with_data("", status=302, headers={"Location": stranger})
    with SkolverketClient(httpserver.url_for("/"), **FAST) as client, pytest.raises(SourceResponseError) as err:
        client.fetch(EXPORT)
    assert other_host.log == []
    assert err.value.url == httpserver.url_for(path)
    assert f"points at another host: {stranger} (host http://127.0.0.1:{other_host.port})" in str(err.value)


def test_skolverket_body_is_held_to_the_size_budget(httpserver):
    path = "/" + EXPORTS[EXPORT].path
    httpserver.expect_request(path).respond_with_data(b"Kommun;" + b"x" * 200_000, content_type="text/csv")
    with SkolverketClient(httpserver.url_for("/"), **FAST) as client:
        client.max_response_bytes = 100_000
        with pytest.raises(SourceResponseError, match="exceeds the budget of 100,000 bytes per response"):
            client.fetch(EXPORT)
    assert len(httpserver.log) == 1


def test_make_session_refuses_a_redirect_to_another_host(httpserver, other_host):
    """What ScbClient gets: the rule lives in the session, so any caller of make_session has it."""
    httpserver.expect_request("/api/v2/config").respond_with_data(
        "", status=307, headers={"Location": other_host.url_for("/api/v2/config")}
    )
    with make_session(total_retries=0) as session, pytest.raises(SourceResponseError, match="another host"):
        session.get(httpserver.url_for("/api/v2/config"), timeout=2)
    assert other_host.log == []


def test_make_session_treats_an_unparsable_retry_after_as_none(httpserver):
    httpserver.expect_oneshot_request("/x").respond_with_data("busy", status=503, headers={"Retry-After": "soon"})
    httpserver.expect_request("/x").respond_with_data("{}", content_type="application/json")
    with make_session(total_retries=2, backoff_factor=0) as session:
        response = session.get(httpserver.url_for("/x"), timeout=2)
    assert response.status_code == 200 and len(httpserver.log) == 2


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("https://api.kolada.se/v3/kpi", "https://API.kolada.se:443/v3/data?page=2", True),
        ("http://127.0.0.1:8080/a", "http://127.0.0.1:8080/b", True),
        ("https://api.kolada.se/v3", "http://api.kolada.se/v3", False),
        ("http://127.0.0.1:8080/a", "http://127.0.0.1:8081/a", False),
        ("https://api.kolada.se/v3", "https://api.kolada.se.evil.example/v3", False),
    ],
)
def test_origin_is_scheme_host_and_port(a, b, same):
    assert (origin(a) == origin(b)) is same
