"""ScbApp: SCB's PxWeb v2/v1 answered from the bundled snapshot, shaped and limited as SCB does it.

Most tests call ``app.handle`` directly (no sockets); the rate-limit tests use a fake clock. Real recorded
responses in ``tests/fixtures/scb/`` are the yardstick for the shape of what the emulator builds.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests

from pipelines.config import SNAPSHOT_DIR
from pipelines.snapshot.scb_app import ScbApp
from pipelines.snapshot.server import SnapshotServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "scb"
REAL_638 = json.loads((FIXTURES / "v2_TAB638_data_POST_riket_OG_0_men_2024.json").read_text(encoding="utf-8"))
REAL_6471 = json.loads((FIXTURES / "TAB6471_data.json").read_text(encoding="utf-8"))
BASE = "http://127.0.0.1:1/scb"
V1 = "/OV0104/v1/doris/sv/ssd"


@pytest.fixture(scope="module")
def app() -> ScbApp:
    return ScbApp(max_calls=10_000)


def get(app: ScbApp, url: str):
    parts = urlsplit(url)
    reply = app.handle("GET", parts.path, parse_qs(parts.query, keep_blank_values=True), b"", BASE)
    return reply


def post(app: ScbApp, path: str, body: dict, query: str = ""):
    return app.handle("POST", path, parse_qs(query), json.dumps(body).encode(), BASE)


def payload(reply) -> dict:
    return json.loads(reply.body)


POP_2022 = "/api/v2/tables/TAB638/data?lang=sv&outputFormat=json-stat2&valueCodes[Region]=00,0180&valueCodes[Alder]=tot&valueCodes[Kon]=1,2&valueCodes[ContentsCode]=BE0101N1&valueCodes[Tid]=2022"


def test_config_tables_and_codelist_are_scbs_recorded_responses(app):
    reply = get(ScbApp(), "/api/v2/config")  # SCB's own limits: the recorded /config, byte for byte
    assert reply.status == 200 and reply.body == (FIXTURES / "v2_config.json").read_bytes()
    listing = get(app, "/api/v2/tables")
    assert payload(listing)["page"]["totalElements"] == 4246  # SCB's real first page, byte for byte
    assert listing.body == (SNAPSHOT_DIR / "scb" / "tables.json").read_bytes()
    found = payload(get(app, "/api/v2/tables?query=folkmängden"))
    assert [t["id"] for t in found["tables"]][:1] == ["TAB638"]
    entry = payload(get(app, "/api/v2/tables/TAB638"))
    assert entry["id"] == "TAB638" and entry["links"][2]["href"] == BASE + "/api/v2/tables/TAB638/metadata?lang=sv"
    assert payload(get(app, "/api/v2/tables/TAB4707"))["timeUnit"] == "Monthly"  # a recorded entry
    assert payload(get(app, "/api/v2/codelists/agg_Ålder10årJ"))["type"] == "Aggregation"
    missing = get(app, "/api/v2/tables/TAB999999/metadata")
    assert missing.status == 404 and missing.headers["Content-Type"].startswith("application/problem+json")


def test_tab638_metadata_says_where_the_figures_come_from(app):
    meta = payload(get(app, "/api/v2/tables/TAB638/metadata"))
    assert meta["value"] == [] and meta["id"] == ["Region", "Civilstand", "Alder", "Kon", "ContentsCode", "Tid"]
    assert meta["size"] == [312, 4, 102, 2, 1, 6]
    assert any("Kolada" in note and "N01951" in note for note in meta["note"])
    assert meta["dimension"]["Region"]["category"]["label"]["0180"] == "Stockholm"


def test_data_is_shaped_like_scbs_real_response(app):
    doc = payload(get(app, POP_2022))
    assert list(doc) == list(REAL_638)  # version, class, label, source, updated, note, role, id, size, …
    assert doc["id"] == ["Region", "Alder", "Kon", "ContentsCode", "Tid"]  # Civilstand eliminated: dropped
    assert doc["size"] == [2, 1, 2, 1, 1]
    for dim in ("Region", "Kon", "ContentsCode", "Tid"):
        assert list(doc["dimension"][dim]) == list(REAL_638["dimension"][dim])
        assert doc["dimension"][dim]["extension"].keys() == REAL_638["dimension"][dim]["extension"].keys()
    assert doc["dimension"]["ContentsCode"] == REAL_638["dimension"]["ContentsCode"]
    # Riket män, kvinnor; Stockholm män, kvinnor 2022 (kolada/values.parquet N01951, gender M and K)
    assert doc["value"] == [5298324, 5223232, 488285, 496463]
    assert "status" not in doc


def test_post_answers_like_get(app):
    body = {"selection": [
        {"variableCode": "Region", "valueCodes": ["00", "0180"]},
        {"variableCode": "Alder", "valueCodes": ["tot"]},
        {"variableCode": "Kon", "valueCodes": ["*"]},
        {"variableCode": "ContentsCode", "valueCodes": ["BE0101N1"]},
        {"variableCode": "Tid", "valueCodes": ["top(1)"]},
    ]}
    reply = post(app, "/api/v2/tables/TAB638/data", body, "outputFormat=json-stat2")
    assert reply.status == 200 and payload(reply) == payload(get(app, POP_2022))


def test_the_recorded_tab6471_selection_gives_the_recorded_response(app):
    url = (
        "/api/v2/tables/TAB6471/data?valueCodes[Region]=" + ",".join(REAL_6471["dimension"]["Region"]["category"]["index"])
        + "&codelist[Alder]=agg_Ålder10årJ&valueCodes[Alder]="
        + quote(",".join(REAL_6471["dimension"]["Alder"]["category"]["index"]), safe=",")  # "100+10": + is %2B
        + "&valueCodes[Kon]=*&valueCodes[ContentsCode]=*&valueCodes[Tid]=from(2026M01)"
    )
    doc = payload(get(app, url))
    assert doc["id"] == REAL_6471["id"] and doc["size"] == REAL_6471["size"]
    assert doc["value"] == REAL_6471["value"]
    assert doc["dimension"]["Alder"]["category"] == REAL_6471["dimension"]["Alder"]["category"]
    # the snapshot holds only the recorded months: others are refused, saying so
    earlier = get(app, url.replace("from(2026M01)", "2025M12"))
    assert earlier.status == 400 and "not in the bundled snapshot" in payload(earlier)["detail"]


def test_status_symbols_are_null_values_with_the_symbol(app):
    doc = payload(get(app, "/api/v2/tables/TAB005/data?valueCodes[REGION]=*&valueCodes[LANDUSECLASS]=*&valueCodes[ContentsCode]=*&valueCodes[TIME]=*"))
    assert len(doc["value"]) == 291 * 11 * 2
    assert set(doc["status"].values()) == {".."} and len(doc["status"]) == 107
    assert all(doc["value"][int(i)] is None for i in doc["status"])


def test_elimination_takes_the_elimination_value_or_sums(app):
    riket = payload(get(app, "/api/v2/tables/TAB638/data?valueCodes[Alder]=tot&valueCodes[Kon]=1&valueCodes[ContentsCode]=*&valueCodes[Tid]=2022"))
    assert riket["id"] == ["Alder", "Kon", "ContentsCode", "Tid"] and riket["value"] == [5298324]  # Region → 00
    births = payload(get(app, "/api/v2/tables/BE0101D1/data?valueCodes[Region]=00&valueCodes[ContentsCode]=*&valueCodes[Tid]=2002"))
    assert births["id"] == ["Region", "ContentsCode", "Tid"] and births["value"] == [95815]  # Kon summed, age → tot


@pytest.mark.parametrize(
    "query, status, detail",
    [
        ("valueCodes[Region]=00&valueCodes[Kon]=1&valueCodes[ContentsCode]=*&valueCodes[Tid]=2022", 400, "mandatory variable Alder"),
        ("valueCodes[Alder]=tot&valueCodes[Kon]=3&valueCodes[ContentsCode]=*&valueCodes[Tid]=2022", 400, "Non-existent value"),
        ("valueCodes[Alder]=tot&valueCodes[Kon]=1&valueCodes[ContentsCode]=*&valueCodes[Tid]=2022&valueCodes[Foo]=1", 400, "Non-existent variable"),
        ("valueCodes[Alder]=40&valueCodes[Kon]=1&valueCodes[ContentsCode]=*&valueCodes[Tid]=2022", 400, "holds only tot"),
        ("valueCodes[Civilstand]=OG&valueCodes[Alder]=tot&valueCodes[Kon]=1&valueCodes[ContentsCode]=*&valueCodes[Tid]=2022", 400, "leave it out"),
    ],
)
def test_bad_queries_get_problem_json(app, query, status, detail):
    reply = get(app, "/api/v2/tables/TAB638/data?" + query)
    assert reply.status == status and reply.headers["Content-Type"].startswith("application/problem+json")
    assert detail in payload(reply)["detail"]


def test_a_repeated_value_code_gives_an_empty_500(app):
    reply = get(app, "/api/v2/tables/TAB638/data?valueCodes[Alder]=tot&valueCodes[Kon]=1,1&valueCodes[ContentsCode]=*&valueCodes[Tid]=2022")
    assert reply.status == 500 and reply.body == b""


@pytest.mark.parametrize("status", [400, 403])
def test_too_many_cells(status):
    app = ScbApp(max_cells=1000, cell_limit_status=status, max_calls=10_000)
    assert json.loads(get(app, "/api/v2/config").body)["maxDataCells"] == 1000
    reply = get(app, "/api/v2/tables/TAB638/data?valueCodes[Region]=*&valueCodes[Alder]=tot&valueCodes[Kon]=*&valueCodes[ContentsCode]=*&valueCodes[Tid]=*")
    assert reply.status == status and reply.headers["Content-Type"].startswith("application/problem+json")
    problem = payload(reply)
    assert problem["title"] == "Too many cells selected" and "3744 cells" in problem["detail"]


def test_call_limit_answers_429_with_retry_after():
    now = [100.0]
    app = ScbApp(max_calls=3, time_window=10, clock=lambda: now[0])
    assert [get(app, "/api/v2/config").status for _ in range(3)] == [200, 200, 200]
    now[0] += 2.5
    reply = get(app, "/api/v2/config")
    assert reply.status == 429 and reply.headers["Retry-After"] == "8"
    assert reply.headers["Content-Type"].startswith("application/problem+json")
    assert payload(reply)["title"] == "Too many requests" and payload(reply)["status"] == 429
    now[0] += 7.5  # the first calls leave the window
    assert get(app, "/api/v2/config").status == 200 and app.throttled == 1


def test_v1_config_variables_and_json_stat2_post(app):
    assert payload(get(app, V1 + "/?config")) == {"maxValues": 150000, "maxCalls": 10000, "timeWindow": 10, "CORS": True}
    variables = payload(get(app, V1 + "/BE/BE0101/BE0101A/BefolkningNy"))["variables"]
    assert [v["code"] for v in variables] == ["Region", "Civilstand", "Alder", "Kon", "ContentsCode", "Tid"]
    assert variables[-1]["time"] is True and variables[0]["elimination"] is True
    query = {
        "query": [
            {"code": "Region", "selection": {"filter": "item", "values": ["0180"]}},
            {"code": "Alder", "selection": {"filter": "item", "values": ["tot"]}},
            {"code": "Kon", "selection": {"filter": "all", "values": ["*"]}},
            {"code": "Tid", "selection": {"filter": "item", "values": ["2021", "2022"]}},
            {"code": "ContentsCode", "selection": {"filter": "item", "values": ["BE0101N1"]}},
        ],
        "response": {"format": "json-stat2"},
    }
    doc = payload(post(app, V1 + "/START/BE/BE0101/BE0101A/BefolkningNy", query))
    assert doc["class"] == "dataset" and doc["size"] == [1, 1, 2, 1, 2]
    assert doc["value"] == [484722, 488285, 494048, 496463]  # 0180 män 2021, 2022; kvinnor 2021, 2022
    wrong = post(app, V1 + "/BE/BE0101/BE0101A/BefolkningNy", {**query, "response": {"format": "px"}})
    assert wrong.status == 400


def test_served_over_http_by_the_snapshot_server():
    with SnapshotServer([ScbApp()]) as server:
        response = requests.get(server.source_url("scb") + POP_2022, timeout=5)
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
        assert response.json()["value"] == [5298324, 5223232, 488285, 496463]
        assert requests.get(server.source_url("scb") + "/api/v2/nothing", timeout=5).status_code == 404


def test_snapshot_readme_says_the_population_is_kolada_republished():
    readme = (SNAPSHOT_DIR / "scb" / "README.md").read_text(encoding="utf-8")
    assert "re-published by Kolada" in readme and "N01951" in readme
    size = sum(p.stat().st_size for p in (SNAPSHOT_DIR / "scb").rglob("*") if p.is_file())
    assert size < 2_000_000
