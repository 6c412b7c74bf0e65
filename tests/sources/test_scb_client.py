"""ScbClient: json-stat2 decoding on real SCB responses, retries, cell-limit splits, v1, and the snapshot.

Fixtures are real SCB responses (``tests/fixtures/scb/README.md``). Retry tests run with ``backoff_factor=0``;
the only real wait is one ``Retry-After: 1``, which proves the header is honoured.
"""

from __future__ import annotations

import copy
import json
import re
import time
from pathlib import Path
from urllib.parse import unquote

import pandas as pd
import pytest
from werkzeug.wrappers import Request, Response

from pipelines.snapshot.scb_app import ScbApp
from pipelines.snapshot.server import SnapshotServer
from pipelines.sources.http import RateLimiter, SourceResponseError
from pipelines.sources.scb import (
    POPULATION,
    ScbClient,
    ScbRow,
    cell_count,
    decode_jsonstat2,
    fetch_live_births,
    fetch_population,
    kolada_region_id,
    region_level,
    resolve_value_codes,
    rows_to_frame,
    split_selection,
    split_value_list,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "scb"
TAB638_BYTES = (FIXTURES / "v2_TAB638_data_POST_riket_OG_0_men_2024.json").read_bytes()
TAB638 = json.loads(TAB638_BYTES)
TAB6471 = json.loads((FIXTURES / "TAB6471_data.json").read_text(encoding="utf-8"))
CONFIG_BYTES = (FIXTURES / "v2_config.json").read_bytes()

FAST = {"backoff_factor": 0, "total_retries": 3, "timeout": 5, "rate_limiter": RateLimiter(1000, 1)}
ONE_CELL = {"Region": ["00"], "Civilstand": ["OG"], "Alder": ["0"], "Kon": ["1"], "ContentsCode": ["BE0101N1"], "Tid": ["2024"]}


def with_categories(doc: dict, **codes: list[str]) -> dict:
    """The real TAB638 response with other category lists (labels = codes), values cleared."""
    out = copy.deepcopy(doc)
    for dim, values in codes.items():
        out["dimension"][dim]["category"]["index"] = {c: i for i, c in enumerate(values)}
        out["dimension"][dim]["category"]["label"] = {c: c for c in values}
    out["size"] = [len(out["dimension"][d]["category"]["index"]) for d in out["id"]]
    out["value"] = []
    return out


METADATA_638 = with_categories(TAB638, Region=["00", "01", "0114", "0180"], Tid=["2023", "2024"])


class FakePxWeb:
    """A PxWeb v2 host: real ``/config``, a metadata document, and a script of data replies."""

    def __init__(self, data_replies: list[Response], metadata: dict = METADATA_638):
        self.metadata = metadata
        self.data_replies = data_replies
        self.requests: list[tuple[str, str]] = []

    def __call__(self, request: Request) -> Response:
        self.requests.append((request.method, unquote(request.full_path)))
        if request.path.endswith("/config"):
            return Response(CONFIG_BYTES, content_type="application/json")
        if request.path.endswith("/metadata"):
            return Response(json.dumps(self.metadata), content_type="application/json")
        if request.path.endswith("/data"):
            reply = self.data_replies.pop(0) if len(self.data_replies) > 1 else self.data_replies[0]
            return reply
        return Response("not found", status=404)

    def data_calls(self) -> int:
        return sum(1 for _, path in self.requests if "/data" in path)


def serve(httpserver, fake: FakePxWeb) -> ScbClient:
    httpserver.expect_request(re.compile(".*")).respond_with_handler(fake)
    return ScbClient(httpserver.url_for("/api/v2"), **FAST)


def ok(body: bytes = TAB638_BYTES) -> Response:
    return Response(body, content_type="application/json; charset=utf-8")


# --------------------------------------------------------------------------------------------------
# json-stat2 decoding on real responses
# --------------------------------------------------------------------------------------------------


def test_decodes_a_real_tab638_response():
    rows = decode_jsonstat2(TAB638, table_id="TAB638")
    assert rows == [
        ScbRow("TAB638", "00", "2024", "BE0101N1", {"Civilstand": "OG", "Alder": "0", "Kon": "1"}, 50937.0, None)
    ]
    assert rows[0].region_level == "riket"


def test_decodes_a_real_tab6471_response_row_major():
    rows = decode_jsonstat2(TAB6471, table_id="TAB6471")
    assert len(rows) == 21 * 11 * 3 * 1 * 4 == len(TAB6471["value"])
    # the last dimension (Tid) varies fastest, then ContentsCode, Kon, Alder, Region
    assert [(r.region, r.dims["Alder"], r.dims["Kon"], r.time) for r in rows[:5]] == [
        ("01", "0-9", "TotSa", "2026M01"),
        ("01", "0-9", "TotSa", "2026M02"),
        ("01", "0-9", "TotSa", "2026M03"),
        ("01", "0-9", "TotSa", "2026M04"),
        ("01", "0-9", "1", "2026M01"),
    ]
    assert [r.value for r in rows] == [float(v) for v in TAB6471["value"]]
    assert rows[-1].region == "25" and rows[-1].time == "2026M04" and rows[-1].value == 54.0
    assert {r.region_level for r in rows} == {"lan"}  # 21 län, no Riket in this response
    assert {r.contents_code for r in rows} == {"000007SF"}
    frame = rows_to_frame(rows)
    assert list(frame.columns) == [
        "table_id", "region", "region_level", "time", "contents_code", "Alder", "Kon", "value", "status"
    ]
    # CKM noise aside, TotSa is the sum of men and women
    one = frame[(frame.region == "01") & (frame.Alder == "0-9") & (frame.time == "2026M01")].set_index("Kon").value
    assert abs(one["TotSa"] - one["1"] - one["2"]) <= 5


def special_values_doc(values, status) -> dict:
    doc = with_categories(TAB638, Region=["0114", "0115", "0117", "0120"])
    doc["value"], doc["status"] = values, status
    return doc


def test_special_values_never_become_zero_except_dash():
    doc = special_values_doc([None, None, None, 12], {"0": "..", "1": ".", "2": "-"})
    rows = decode_jsonstat2(doc, table_id="TAB638")
    assert [(r.region, r.value, r.status) for r in rows] == [
        ("0114", None, ".."),
        ("0115", None, "."),
        ("0117", 0.0, "-"),  # "-": nothing to report, i.e. zero, and the symbol is kept
        ("0120", 12.0, None),
    ]
    # the list form of status, and symbols sent as strings in value, decode the same way
    listed = decode_jsonstat2(special_values_doc(["..", ".", "-", 12], [None, None, None, None]), table_id="T")
    assert [(r.value, r.status) for r in listed] == [(None, ".."), (None, "."), (0.0, "-"), (12.0, None)]
    # a number flagged ".." is still not available
    flagged = decode_jsonstat2(special_values_doc([5, 5, 5, 5], {"3": ".."}), table_id="T")
    assert flagged[3].value is None and flagged[3].status == ".."


@pytest.mark.parametrize(
    "payload, message",
    [
        ({"columns": [], "data": []}, "not json-stat2"),  # v1's "json" format
        ({**TAB638, "class": "collection"}, "not json-stat2"),
        ({**TAB638, "value": []}, "truncated or wrong shape"),
        ({**TAB638, "size": [1, 1, 1, 1, 1]}, "id has 6 entries"),
        ({**TAB638, "status": {"x": ".."}}, "not an index"),
    ],
)
def test_wrong_shapes_raise_source_response_error(payload, message):
    with pytest.raises(SourceResponseError, match=message) as info:
        decode_jsonstat2(payload, table_id="TAB638", url="https://example/api/v2/tables/TAB638/data")
    assert info.value.url == "https://example/api/v2/tables/TAB638/data"


def test_region_levels_keep_riket_apart():
    assert [region_level(c) for c in ("00", "0000", "01", "25", "0114", "2584", "FA01", None)] == [
        "riket", "riket", "lan", "lan", "kommun", "kommun", "other", None
    ]
    assert [kolada_region_id(c) for c in ("00", "01", "0180")] == ["0000", "0001", "0180"]


def test_selection_expressions_and_splitting():
    years = [str(y) for y in range(2015, 2023)]
    assert resolve_value_codes(["top(2)"], years, is_time=True) == ["2021", "2022"]
    assert resolve_value_codes(["bottom(2)"], years, is_time=True) == ["2015", "2016"]
    assert resolve_value_codes(["range(2017,2019)", "2022"], years) == ["2017", "2018", "2019", "2022"]
    assert resolve_value_codes(["01*"], ["00", "01", "0114", "0180", "03"]) == ["01", "0114", "0180"]
    assert resolve_value_codes(["??"], ["00", "01", "0114"]) == ["00", "01"]
    assert split_value_list("0114,[a,b],range(2017,2019)") == ["0114", "[a,b]", "range(2017,2019)"]
    with pytest.raises(ValueError, match="Non-existent"):
        resolve_value_codes(["1999"], years)
    selection = {"Region": [f"{i:04d}" for i in range(30)], "Kon": ["1", "2"], "Tid": ["2021", "2022", "2023"]}
    parts = split_selection(selection, 100, prefer=["Region", "Tid"])
    assert [len(p["Region"]) for p in parts] == [16, 14]  # 16 regions x 6 = 96 cells per part at most
    assert all(cell_count(p) <= 100 for p in parts)
    assert sorted(r for p in parts for r in p["Region"]) == selection["Region"]


# --------------------------------------------------------------------------------------------------
# HTTP: errors, retries, v1
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply, message",
    [
        (Response("<html><body>Service Unavailable</body></html>", content_type="text/html"), "HTML page"),
        (Response(TAB638_BYTES[:900], content_type="application/json"), "not valid JSON"),
        (Response(b'{"columns": [], "data": []}', content_type="application/json"), "json-stat2"),
    ],
)
def test_html_truncated_and_foreign_json_name_the_url(httpserver, reply, message):
    client = serve(httpserver, FakePxWeb([reply]))
    with pytest.raises(SourceResponseError, match=message) as info:
        client.fetch_rows("TAB638", ONE_CELL)
    assert "/api/v2/tables/TAB638/data" in info.value.url


def test_429_with_retry_after_then_success(httpserver):
    problem = json.dumps({"title": "Too many requests", "status": 429}).encode()
    too_many = Response(problem, status=429, headers={"Retry-After": "1"}, content_type="application/problem+json")
    fake = FakePxWeb([too_many, ok()])
    client = serve(httpserver, fake)
    started = time.monotonic()
    rows = client.fetch_rows("TAB638", ONE_CELL)
    assert time.monotonic() - started >= 0.95  # Retry-After honoured by the session's Retry
    assert [r.value for r in rows] == [50937.0]
    assert fake.data_calls() == 2


def test_5xx_then_success_and_5xx_for_good(httpserver):
    fake = FakePxWeb([Response(b"", status=503), Response(b"", status=500), ok()])
    client = serve(httpserver, fake)
    assert [r.value for r in client.fetch_rows("TAB638", ONE_CELL)] == [50937.0]
    assert fake.data_calls() == 3
    fake.data_replies[:] = [Response(b"", status=502)]
    with pytest.raises(SourceResponseError, match="HTTP 502 after retries"):
        client.fetch_rows("TAB638", ONE_CELL)


def test_reads_config_and_sends_get_with_value_codes(httpserver):
    fake = FakePxWeb([ok()])
    client = serve(httpserver, fake)
    client.fetch_rows("TAB638", ONE_CELL)
    assert client.config().max_cells == 150_000 and client.config().max_calls == 30
    method, path = fake.requests[-1]
    assert method == "GET"
    assert "outputFormat=json-stat2" in path and "valueCodes[Region]=00" in path and "valueCodes[Tid]=2024" in path


def test_a_long_get_url_becomes_a_post(httpserver):
    regions = [f"{i:04d}" for i in range(1, 400)]
    metadata = with_categories(TAB638, Region=["00", *regions], Tid=["2024"])
    fake = FakePxWeb([ok()], metadata=metadata)
    client = serve(httpserver, fake)
    client.fetch_pages("TAB638", {**ONE_CELL, "Region": regions})
    assert fake.requests[-1][0] == "POST"
    body = json.loads(httpserver.log[-1][0].get_data())
    assert {"variableCode": "Region", "valueCodes": regions} in body["selection"]
    # all values of a variable go as "*", which keeps the URL short: GET again
    client.fetch_pages("TAB638", {**ONE_CELL, "Region": ["00", *regions]})
    assert fake.requests[-1][0] == "GET" and "valueCodes[Region]=*" in fake.requests[-1][1]


def test_v1_posts_a_json_stat2_query_to_the_table_path(httpserver):
    variables = {
        "title": "Folkmängd efter region, civilstånd, ålder, kön och år",
        "variables": [
            {"code": "Region", "text": "region", "values": ["00", "0180"], "valueTexts": ["Riket", "Stockholm"],
             "elimination": True},
            {"code": "Civilstand", "text": "civilstånd", "values": ["OG", "G"], "valueTexts": ["ogifta", "gifta"]},
            {"code": "Alder", "text": "ålder", "values": ["0", "tot"], "valueTexts": ["0 år", "totalt ålder"]},
            {"code": "Kon", "text": "kön", "values": ["1", "2"], "valueTexts": ["män", "kvinnor"]},
            {"code": "ContentsCode", "text": "tabellinnehåll", "values": ["BE0101N1"], "valueTexts": ["Folkmängd"]},
            {"code": "Tid", "text": "år", "values": ["2023", "2024"], "valueTexts": ["2023", "2024"], "time": True},
        ],
    }
    path = "/OV0104/v1/doris/sv/ssd/BE/BE0101/BE0101A/BefolkningNy"
    httpserver.expect_request(path, method="GET").respond_with_json(variables)
    httpserver.expect_request(path, method="POST").respond_with_data(TAB638_BYTES, content_type="application/json")
    httpserver.expect_request("/OV0104/v1/doris/sv/ssd/").respond_with_json(
        {"maxValues": 150000, "maxCalls": 30, "timeWindow": 10, "CORS": True}
    )
    client = ScbClient(httpserver.url_for("/OV0104/v1/doris/sv/ssd"), api_version="v1", **FAST)
    rows = client.fetch_rows(POPULATION, ONE_CELL)
    assert rows[0].table_id == "TAB638" and rows[0].value == 50937.0
    post = next(req for req, _ in httpserver.log if req.method == "POST")
    assert post.path == path
    assert json.loads(post.get_data()) == {
        "query": [
            {"code": code, "selection": {"filter": "item", "values": values}} for code, values in ONE_CELL.items()
        ],
        "response": {"format": "json-stat2"},
    }


def test_population_sums_civilstand_when_scb_does_not_let_it_be_eliminated(httpserver):
    """SCB's real TAB638: Civilstand and Alder are not eliminable; the client takes Alder=tot, sums civilstånd."""
    marital = ["OG", "G", "SK", "ÄNKL"]
    metadata = with_categories(TAB638, Region=["00", "0114"], Civilstand=marital, Alder=["0", "tot"], Kon=["1", "2"])
    data = with_categories(TAB638, Region=["0114"], Civilstand=marital, Alder=["tot"], Kon=["1", "2"])
    # id order Region, Civilstand, Alder, Kon, ContentsCode, Tid: Kon varies faster than Civilstand
    data["value"] = [10, 20, 30, 40, 1, 2, 3, None]  # (OG män, OG kvinnor), (G män, G kvinnor), …
    data["status"] = {"7": ".."}
    fake = FakePxWeb([ok(json.dumps(data).encode())], metadata=metadata)
    frame = fetch_population(serve(httpserver, fake), [2024], regions=["0114"]).set_index("gender")
    # män = 10 + 30 + 1 + 3, kvinnor = 20 + 40 + 2 + ".." → not available, and so is the total
    assert frame.loc["M", "population"] == 44.0 and pd.isna(frame.loc["M", "status"])
    assert pd.isna(frame.loc["K", "population"]) and frame.loc["K", "status"] == ".."
    assert pd.isna(frame.loc["T", "population"]) and frame.loc["T", "status"] == ".."
    sent = fake.requests[-1][1]
    assert "valueCodes[Civilstand]=*" in sent and "valueCodes[Alder]=tot" in sent


# --------------------------------------------------------------------------------------------------
# Against the emulator (SnapshotServer + ScbApp on the bundled snapshot)
# --------------------------------------------------------------------------------------------------


class Recording:
    """Wraps the SCB app and records each request's method and path."""

    name = "scb"

    def __init__(self, app: ScbApp):
        self.app, self.calls = app, []

    def handle(self, method, path, query, body, base_url):
        reply = self.app.handle(method, path, query, body, base_url)
        self.calls.append((method, path, reply.status))
        return reply


def data_calls(recording: Recording) -> list[tuple[str, str, int]]:
    return [c for c in recording.calls if c[1].endswith("/data") or "/v1/" in c[1] and c[0] == "POST"]


def test_population_from_the_snapshot_with_one_real_number():
    recording = Recording(ScbApp())
    with SnapshotServer([recording]) as server:
        client = ScbClient.for_root(server.source_url("scb"), **FAST)
        frame = fetch_population(client, [2021, 2022])
    assert list(frame.columns) == ["municipality_id", "region_level", "year", "gender", "population", "status"]
    assert len(frame) == 312 * 2 * 3
    stockholm = frame[(frame.municipality_id == "0180") & (frame.year == 2022)].set_index("gender").population
    # kolada/values.parquet: kpi N01951, municipality 0180, period 2022 → T 984748, K 496463, M 488285
    assert stockholm.to_dict() == {"T": 984748.0, "K": 496463.0, "M": 488285.0}
    assert frame.status.isna().all() and frame.population.notna().all()
    assert len(data_calls(recording)) == 1  # 312 x 2 x 2 cells: one query


def test_riket_is_kept_apart_and_equals_the_sum_of_kommuner():
    with SnapshotServer([ScbApp()]) as server:
        frame = fetch_population(ScbClient.for_root(server.source_url("scb"), **FAST), [2022])
    assert frame[frame.region_level == "riket"].municipality_id.unique().tolist() == ["00"]
    assert frame[frame.region_level == "lan"].municipality_id.nunique() == 21
    kommuner = frame[frame.region_level == "kommun"]
    assert kommuner.municipality_id.nunique() == 290
    riket = frame[frame.region_level == "riket"].set_index("gender").population
    assert kommuner.groupby("gender").population.sum().to_dict() == riket.to_dict()  # real data adds up


def test_a_query_over_the_cell_limit_is_split_and_merged():
    recording = Recording(ScbApp(max_cells=1000))  # /config announces 1000
    with SnapshotServer([recording]) as server:
        client = ScbClient.for_root(server.source_url("scb"), **FAST)
        frame = fetch_population(client, range(2017, 2023))
    # 312 regions x 2 sexes x 6 years = 3744 cells; 83 regions (996 cells) per query → 4 queries
    assert [c[2] for c in data_calls(recording)] == [200, 200, 200, 200]
    assert client.max_cells == 1000
    assert len(frame) == 312 * 6 * 3 and not frame.duplicated(["municipality_id", "year", "gender"]).any()
    assert frame[(frame.municipality_id == "00") & (frame.year == 2017) & (frame.gender == "T")].population.item() == 10120242


def test_a_400_too_many_cells_splits_further():
    recording = Recording(ScbApp(max_cells=1000))
    with SnapshotServer([recording]) as server:  # the client does not read /config: it learns from the 400
        client = ScbClient.for_root(server.source_url("scb"), read_config=False, **FAST)
        frame = fetch_population(client, range(2017, 2023))
    statuses = [c[2] for c in data_calls(recording)]
    # 3744 cells refused → halves of 1872 → the first refused too → quarters of 936 cells
    assert statuses == [400, 400, 200, 200, 200, 200] and client.max_cells == 936
    assert len(frame) == 312 * 6 * 3


def test_the_client_keeps_to_the_announced_call_limit():
    app = ScbApp(max_calls=4, time_window=1.0)
    with SnapshotServer([app]) as server:
        client = ScbClient.for_root(server.source_url("scb"), backoff_factor=0, timeout=5)
        started = time.monotonic()
        for _ in range(3):
            client.fetch_rows("TAB005", {"REGION": ["0114"], "LANDUSECLASS": ["11"], "ContentsCode": "*", "TIME": "*"})
        assert time.monotonic() - started >= 0.9  # config + metadata + 3 data = 5 calls > 4 per second
    assert app.throttled == 0 and client.rate_limiter.calls == 4


def test_a_throttled_client_is_retried_after_retry_after():
    app = ScbApp(max_calls=3, time_window=1.0)
    with SnapshotServer([app]) as server:  # a client that ignores the limit gets 429s, and waits them out
        client = ScbClient.for_root(server.source_url("scb"), read_config=False, **FAST)
        for _ in range(3):
            rows = client.fetch_rows("TAB005", {"REGION": ["0114"], "LANDUSECLASS": ["11"], "ContentsCode": "*", "TIME": "*"})
    assert app.throttled >= 1 and [r.value for r in rows] == [1331.0, 1271.0]


def test_special_values_through_the_emulator_and_v1():
    with SnapshotServer([ScbApp()]) as server:
        client = ScbClient.for_root(server.source_url("scb"), **FAST)
        frame = client.fetch_frame("TAB005", {"REGION": "*", "LANDUSECLASS": "*", "ContentsCode": "*", "TIME": "*"})
        v1 = ScbClient.for_root(server.source_url("scb"), api_version="v1", **FAST)
        births = fetch_live_births(v1, [2002], regions=["00", "0180", "1917"])
    missing = frame[frame.status == ".."]
    assert len(missing) == 107 and missing.value.isna().all()  # the real '..' cells of TAB005
    assert (frame.value == 0).sum() == frame[frame.status.isna() & (frame.value == 0)].shape[0]
    assert frame[frame.region == "00"].region_level.unique().tolist() == ["riket"]
    t = births[(births.municipality_id == "00") & (births.gender == "T")].births.item()
    assert t == 95815  # the PX file: 49,187 boys + 46,628 girls born in Sweden in 2002
    assert births.municipality_id.unique().tolist() == ["00", "0180", "1917"]  # 2003 division: Heby 1917


def test_unknown_years_are_refused_clearly():
    with SnapshotServer([ScbApp()]) as server:
        client = ScbClient.for_root(server.source_url("scb"), **FAST)
        with pytest.raises(ValueError, match=r"no year\(s\) \['2023'\]; it has 2017–2022"):
            fetch_population(client, [2022, 2023])
