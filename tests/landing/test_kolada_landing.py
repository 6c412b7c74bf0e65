"""The Kolada landing against a local HTTP server: pages on disk, raw tables, replacement, failures."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import duckdb
import pytest

from pipelines.landing.kolada import land_kolada
from pipelines.landing.raw_files import SUCCESS_MARKER
from pipelines.sources.http import SourceResponseError
from pipelines.sources.kolada import KoladaClient

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kolada"
KPIS = ["N15428", "U07451"]


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def envelope(records: list) -> str:
    return json.dumps({"count": len(records), "values": records, "next_url": None})


def serve_kolada(httpserver, data_records: list[dict] | None = None, data_body: str | None = None) -> None:
    """Answer the four metadata endpoints and the data endpoint like Kolada v3 (one page each)."""
    for entity, name in [("kpi", "kpi.json"), ("kpi_groups", "kpi_groups.json"), ("municipality", "municipality.json"),
                         ("municipality_groups", "municipality_groups.json")]:
        httpserver.expect_request(f"/v3/{entity}").respond_with_data(envelope(fixture(name)),
                                                                    content_type="application/json")
    records = fixture("data_records.json") if data_records is None else data_records

    def data_handler(request):
        from werkzeug.wrappers import Response

        if data_body is not None:
            return Response(data_body, content_type="text/html")
        years = {int(y) for y in request.path.rsplit("/", 1)[1].split(",")}
        return Response(envelope([r for r in records if r["period"] in years]), content_type="application/json")

    httpserver.expect_request(re.compile(r"^/v3/data/kpi/[^/]+/year/[^/]+$")).respond_with_handler(data_handler)


def land(httpserver, tmp_path: Path, years: list[int]):
    with KoladaClient(httpserver.url_for("/v3"), backoff_factor=0, calls_per_second=1000) as client:
        return land_kolada(client, kpi_ids=KPIS, years=years, raw_dir=tmp_path / "raw",
                           duckdb_path=tmp_path / "warehouse.duckdb")


def query(tmp_path: Path, sql: str):
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_landing_keeps_pages_and_fills_raw_tables(httpserver, tmp_path):
    serve_kolada(httpserver)
    summary = land(httpserver, tmp_path, [2019, 2020])
    # 12 records × T/K/M for N15428; U07451 is not divided by gender (T only): 6×3 + 6×1 = 24 values
    assert summary.value_rows == query(tmp_path, "select count(*) from raw.kolada__data")[0][0] == 24
    assert summary.metadata_rows == {"kpi": 4, "kpi_groups": 3, "municipality": 4, "municipality_groups": 2}
    assert query(tmp_path, "select value from raw.kolada__data where kpi='N15428' and municipality='0000' "
                           "and period=2019 and gender='K'") == [(86.2,)]
    folder = summary.raw_folder
    assert (folder / SUCCESS_MARKER).exists()
    manifest = [json.loads(line) for line in (folder / "manifest.jsonl").read_text().splitlines()]
    assert {entry["entity"] for entry in manifest} == {"kpi", "kpi_groups", "municipality", "municipality_groups", "data"}
    first_data_page = folder / next(e["file"] for e in manifest if e["entity"] == "data")
    assert json.loads(first_data_page.read_bytes())["values"]  # the page is kept as received
    assert query(tmp_path, "select count(*) from raw.load_log") == [(1,)]


def test_reloading_a_year_replaces_it_without_duplicates(httpserver, tmp_path):
    serve_kolada(httpserver)
    land(httpserver, tmp_path, [2019, 2020])
    land(httpserver, tmp_path, [2019, 2020])
    assert query(tmp_path, "select count(*), count(distinct load_id) from raw.kolada__data") == [(24, 1)]
    # metadata is kept per load, so definitions can be compared between loads
    assert query(tmp_path, "select count(distinct load_id) from raw.kolada__kpi") == [(2,)]


def test_loading_one_year_leaves_the_others(httpserver, tmp_path):
    serve_kolada(httpserver)
    land(httpserver, tmp_path, [2019, 2020])
    revised = copy.deepcopy(fixture("data_records.json"))
    for record in revised:
        for entry in record["values"]:
            entry["value"] = 1.0
    httpserver.clear()
    serve_kolada(httpserver, data_records=revised)
    land(httpserver, tmp_path, [2020])
    assert query(tmp_path, "select period, min(value) = 1.0 and max(value) = 1.0 from raw.kolada__data "
                           "where value is not null group by period order by period") == [(2019, False), (2020, True)]


def test_a_bad_page_lands_nothing_and_keeps_what_was_fetched(httpserver, tmp_path):
    serve_kolada(httpserver)
    land(httpserver, tmp_path, [2019])
    httpserver.clear()
    serve_kolada(httpserver, data_body="<html><body>502 Bad Gateway</body></html>")
    with pytest.raises(SourceResponseError, match=r"/v3/data/kpi/N15428,U07451/year/2020.*HTML"):
        land(httpserver, tmp_path, [2020])
    # the earlier load is untouched and nothing of the failed one reached DuckDB
    assert query(tmp_path, "select count(*), count(distinct load_id) from raw.kolada__data") == [(12, 1)]
    assert query(tmp_path, "select count(distinct load_id) from raw.kolada__kpi") == [(1,)]
    folders = sorted((tmp_path / "raw" / "kolada").iterdir())
    assert len(folders) == 2
    failed = [f for f in folders if not (f / SUCCESS_MARKER).exists()]
    assert len(failed) == 1 and (failed[0] / "kpi" / "page-0001.json").exists()


def test_unreadable_values_go_to_quarantine(httpserver, tmp_path):
    records = copy.deepcopy(fixture("data_records.json"))
    records[0]["values"][0]["value"] = "84,7"  # a decimal comma: text, not a number
    records[1]["values"][1]["gender"] = "X"
    serve_kolada(httpserver, data_records=records)
    summary = land(httpserver, tmp_path, [2019, 2020])
    assert summary.quarantined == 2
    reasons = [r[0] for r in query(tmp_path, "select reason from raw.kolada__data_quarantine order by reason")]
    assert reasons == ["gender 'X' is not one of T, K, M", "value '84,7' for gender T is not a number"]
    assert summary.value_rows == 24 - 6
