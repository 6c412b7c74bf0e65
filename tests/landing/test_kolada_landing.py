"""The Kolada landing: pages on disk, DuckDB reading them into raw, the merge by key, metadata per version.

Two ways in: through ``land_kolada`` with the real client against a local HTTP server (the whole path),
and through ``write_raw_tables`` on pages written to a raw folder (the DuckDB side alone).

The client checks a data page's envelope only; every check of a data record is the landing's, shown here
through the client with the records it yields as sent: a record outside the query or unreadable is
quarantined with its reason and the load goes on; the same value twice, or a page DuckDB cannot read as
records, fails the load naming the pages and leaves raw as it was.
"""

from __future__ import annotations

import copy
import json
import math
import re
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from pipelines.landing.kolada import (
    KoladaLandingError,
    LandingSummary,
    land_kolada,
    merge_values,
    write_raw_tables,
)
from pipelines.landing.raw_files import SUCCESS_MARKER, RawLoadFolder
from pipelines.landing.tables import MergeCounts
from pipelines.sources.http import SourceResponseError
from pipelines.sources.kolada import KoladaClient
from pipelines.warehouse import transaction
from tests.dbt_runner import run_dbt

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kolada"
KPIS = ["N15428", "U07451"]
METADATA_FIXTURES = {"kpi": "kpi.json", "kpi_groups": "kpi_groups.json", "municipality": "municipality.json",
                     "municipality_groups": "municipality_groups.json"}
DATA_COLUMNS = ("load_id, fetched_at, page_url, kpi, municipality, period, gender, count, status, value, "
                "isdeleted, synthetic")


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def envelope(records: list, count: int | None = None, next_url: str | None = None) -> str:
    count = len(records) if count is None else count
    return json.dumps({"count": count, "values": records, "next_url": next_url}, ensure_ascii=False)


def without(record: dict, key: str) -> dict:
    return {k: v for k, v in record.items() if k != key}


# --------------------------------------------------------------------------- through the client


def serve_kolada(httpserver, data_records: list[dict] | None = None, data_body: str | None = None,
                 as_sent: list | None = None) -> None:
    """Answer the four metadata endpoints and the data endpoint like Kolada v3 (metadata one page each; data
    the records of the query asked, one page). ``as_sent``: every data query gets these records, whatever
    they are, in pages of the client's ``per_page``."""
    for entity, name in METADATA_FIXTURES.items():
        httpserver.expect_request(f"/v3/{entity}").respond_with_data(envelope(fixture(name)),
                                                                    content_type="application/json")
    records = fixture("data_records.json") if data_records is None else data_records

    def data_handler(request):
        from werkzeug.wrappers import Response

        if data_body is not None:
            return Response(data_body, content_type="text/html")
        if as_sent is not None:
            per_page, page = int(request.args["per_page"]), int(request.args.get("page", 1))
            more = page * per_page < len(as_sent)
            link = f"{request.base_url}?per_page={per_page}&page={page + 1}" if more else None
            part = as_sent[(page - 1) * per_page : page * per_page]
            return Response(envelope(part, len(as_sent), link), content_type="application/json")
        kpis, years = request.path.split("/")[-3], request.path.rsplit("/", 1)[1]
        wanted = [r for r in records if r["kpi"] in kpis.split(",") and str(r["period"]) in years.split(",")]
        return Response(envelope(wanted), content_type="application/json")

    httpserver.expect_request(re.compile(r"^/v3/data/kpi/[^/]+/year/[^/]+$")).respond_with_handler(data_handler)


def land(httpserver, tmp_path: Path, years: list[int], kpis: list[str] = KPIS, load_id: str | None = None,
         per_page: int = 5000):
    with KoladaClient(httpserver.url_for("/v3"), backoff_factor=0, calls_per_second=1000, per_page=per_page) as client:
        return land_kolada(client, kpi_ids=kpis, years=years, raw_dir=tmp_path / "raw",
                           duckdb_path=tmp_path / "warehouse.duckdb", load_id=load_id)


def query(tmp_path: Path, sql: str):
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def data_rows(tmp_path: Path):
    return query(tmp_path, f"select {DATA_COLUMNS} from raw.kolada__data order by kpi, municipality, period, gender")


def test_landing_keeps_pages_and_fills_raw_tables(httpserver, tmp_path):
    serve_kolada(httpserver)
    summary = land(httpserver, tmp_path, [2019, 2020])
    # 12 records × T/K/M for N15428; U07451 is not divided by gender (T only): 6×3 + 6×1 = 24 values
    assert summary.value_rows == query(tmp_path, "select count(*) from raw.kolada__data")[0][0] == 24
    assert (summary.inserted, summary.updated, summary.deleted, summary.unchanged) == (24, 0, 0, 0)
    assert summary.metadata_rows == {"kpi": 4, "kpi_groups": 3, "municipality": 4, "municipality_groups": 2}
    assert summary.metadata_landed == summary.metadata_rows
    assert query(tmp_path, "select value from raw.kolada__data where kpi='N15428' and municipality='0000' "
                           "and period=2019 and gender='K'") == [(86.2,)]
    folder = summary.raw_folder
    assert (folder / SUCCESS_MARKER).exists()
    manifest = [json.loads(line) for line in (folder / "manifest.jsonl").read_text().splitlines()]
    assert {entry["entity"] for entry in manifest} == {"kpi", "kpi_groups", "municipality", "municipality_groups", "data"}
    first_data_page = folder / next(e["file"] for e in manifest if e["entity"] == "data")
    assert json.loads(first_data_page.read_bytes())["values"]  # the page is kept as received
    # every row names the page it came from and when it was fetched
    data_entry = next(e for e in manifest if e["entity"] == "data")
    assert query(tmp_path, "select distinct page_url, epoch(fetched_at) from raw.kolada__data") == [
        (data_entry["url"], pytest.approx(data_entry["fetched_at"], abs=1e-3))]
    assert query(tmp_path, "select count(*) from raw.load_log") == [(1,)]


def test_a_second_landing_of_the_same_answers_changes_nothing(httpserver, tmp_path):
    serve_kolada(httpserver)
    first = land(httpserver, tmp_path, [2019, 2020], load_id="20260101T000000Z-aaaaaa")
    before = data_rows(tmp_path)
    second = land(httpserver, tmp_path, [2019, 2020], load_id="20260102T000000Z-bbbbbb")
    assert data_rows(tmp_path) == before  # same rows, same load ids, fetch times and pages
    assert {row[0] for row in before} == {first.load_id}
    assert (second.inserted, second.updated, second.deleted, second.unchanged) == (0, 0, 0, 24)
    # the catalogue did not change, so no second version of it
    assert second.metadata_landed == {"kpi": 0, "kpi_groups": 0, "municipality": 0, "municipality_groups": 0}
    for entity in METADATA_FIXTURES:
        assert query(tmp_path, f"select count(*), min(load_id) from raw.kolada__{entity}") == [
            (first.metadata_rows[entity], first.load_id)]
    assert query(tmp_path, "select count(*) from raw.load_log") == [(2,)]


def test_loading_one_year_leaves_the_others(httpserver, tmp_path):
    serve_kolada(httpserver)
    land(httpserver, tmp_path, [2019, 2020])
    revised = copy.deepcopy(fixture("data_records.json"))
    for record in revised:
        for entry in record["values"]:
            entry["value"] = 1.0
    httpserver.clear()
    serve_kolada(httpserver, data_records=revised)
    summary = land(httpserver, tmp_path, [2020])
    assert query(tmp_path, "select period, min(value) = 1.0 and max(value) = 1.0 from raw.kolada__data "
                           "where value is not null group by period order by period") == [(2019, False), (2020, True)]
    assert (summary.updated, summary.deleted, summary.inserted) == (12, 0, 0)


def test_a_kpi_not_in_the_load_keeps_its_rows(httpserver, tmp_path):
    serve_kolada(httpserver)
    first = land(httpserver, tmp_path, [2019, 2020], load_id="20260101T000000Z-aaaaaa")
    untouched = [row for row in data_rows(tmp_path) if row[3] == "U07451"]
    revised = copy.deepcopy(fixture("data_records.json"))
    for record in revised:
        record["values"][0]["value"] = 50.0
    httpserver.clear()
    serve_kolada(httpserver, data_records=revised)
    second = land(httpserver, tmp_path, [2019, 2020], kpis=["N15428"], load_id="20260102T000000Z-bbbbbb")
    assert [row for row in data_rows(tmp_path) if row[3] == "U07451"] == untouched
    assert {row[0] for row in untouched} == {first.load_id}
    assert (second.updated, second.unchanged, second.deleted) == (6, 12, 0)  # N15428's T values changed


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


R = fixture("data_records.json")


@pytest.mark.parametrize(
    ("record", "reason_code", "reason"),
    [
        ({**R[0], "period": 2018}, "not_requested", "period 2018 was not asked for"),
        ({**R[0], "kpi": "N00914"}, "not_requested", "kpi N00914 was not asked for"),
        ({**R[0], "period": "2019"}, "bad_period", 'period "2019" is not a year'),
        ({**R[0], "municipality": ["0180"]}, "bad_municipality", 'municipality ["0180"] is not a code'),
        (without(R[0], "kpi"), "bad_kpi", "kpi missing is not a KPI id"),
        (without(R[0], "municipality"), "bad_municipality", "municipality missing is not a code"),
        (without(R[0], "period"), "bad_period", "period missing is not a year"),
        (without(R[0], "values"), "bad_values", "values missing is not a list of objects"),
        ({**R[0], "values": None}, "bad_values", "values missing is not a list of objects"),
        ({**R[0], "values": [None, *R[0]["values"][1:]]}, "bad_values", "values [null,"),
        ({**R[0], "values": [{**R[0]["values"][0], "count": 3_000_000_000}, *R[0]["values"][1:]]}, "bad_count",
         "count 3000000000 for gender T is not a whole number within ±2147483647"),
        ({**R[0], "synthetic": "x"}, "bad_flag", 'synthetic "x" is not true or false'),
        ({**R[0], "values": [{**R[0]["values"][0], "isdeleted": "x"}, *R[0]["values"][1:]]}, "bad_flag",
         'isdeleted "x" for gender T is not true or false'),
        ("N15428", "bad_record", 'record "N15428" is not an object'),
        (5, "bad_record", "record 5 is not an object"),
        ({**R[1], "values": 84.7}, "bad_values", "values 84.7 is not a list of objects"),
        ({**R[1], "values": [84.7]}, "bad_values", "values [84.7] is not a list of objects"),
    ],
    ids=["another-year", "another-kpi", "period-as-text", "municipality-as-list", "no-kpi", "no-municipality",
         "no-period", "no-values", "values-null", "a-value-null", "count-beyond-32-bits", "synthetic-a-text",
         "isdeleted-a-text", "record-a-text",
         "record-a-number", "values-a-number", "values-of-numbers"],
)
def test_a_record_the_client_yields_unchecked_is_quarantined_and_the_rest_lands(httpserver, tmp_path, record,
                                                                                 reason_code, reason):
    """What the client used to refuse (a record outside the query, without its keys, with a text year …) is
    quarantined with its reason, page and record as sent; the load goes on with every other value."""
    serve_kolada(httpserver, as_sent=[*R, record])
    summary = land(httpserver, tmp_path, [2019, 2020])
    assert (summary.value_rows, summary.inserted, summary.quarantined) == (24, 24, 1)
    [(code, text, page_url, kept)] = query(tmp_path, "select reason_code, reason, page_url, record "
                                                     "from raw.kolada__data_quarantine")
    assert code == reason_code and text.startswith(reason)
    assert page_url == httpserver.url_for("/v3/data/kpi/N15428,U07451/year/2019,2020") + "?per_page=5000"
    assert json.loads(kept) == record  # as sent, not as read


def test_a_record_for_another_query_of_the_load_is_quarantined_where_it_was_not_asked_for(httpserver, tmp_path):
    """26 figures are two queries (25 ids a query); a server answering both with every record: the query of
    N15428 and U07451 lands them, the other query's copies are quarantined naming what it asked for, instead of
    landing in another query's place (or being counted twice)."""
    serve_kolada(httpserver, as_sent=copy.deepcopy(R))
    others = [f"N{90000 + i}" for i in range(24)]
    summary = land(httpserver, tmp_path, [2019, 2020], kpis=[*KPIS, *others])
    assert (summary.value_rows, summary.quarantined) == (24, 12)
    assert query(tmp_path, "select distinct reason_code, reason, page_url from raw.kolada__data_quarantine "
                           "where record ->> '$.kpi' = 'N15428' and record ->> '$.period' = '2019'") == [
        ("not_requested", "kpi N15428 was not asked for by its query (N90023)",
         httpserver.url_for("/v3/data/kpi/N90023/year/2019,2020") + "?per_page=5000")]
    assert query(tmp_path, "select distinct page_url from raw.kolada__data") == [
        (httpserver.url_for(f"/v3/data/kpi/{','.join([*KPIS, *others[:23]])}/year/2019,2020") + "?per_page=5000",)]


def test_the_same_value_on_two_pages_of_a_query_fails_naming_the_pages(httpserver, tmp_path):
    """A record sent again on the next page (another one lost for it, so the query's count adds up): the
    client cannot tell, the landing refuses the load, naming both pages, and raw stays as it was."""
    serve_kolada(httpserver)
    land(httpserver, tmp_path, [2019, 2020])
    before = data_rows(tmp_path)
    httpserver.clear()
    serve_kolada(httpserver, as_sent=[*R[:4], R[3], *R[5:]])  # R[3]: N15428 0180 2020, on pages 1 and 2
    with pytest.raises(KoladaLandingError,
                       match=r"N15428 0180 2020 K 2 times \(pages \S+\?per_page=4 and \S+\?per_page=4&page=2\)"):
        land(httpserver, tmp_path, [2019, 2020], per_page=4)
    assert data_rows(tmp_path) == before


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('{"values": [{"kpi": "N15428", "municipality": "0180"', "Malformed JSON"),
        ('{"values": {"kpi": "N15428"}}', "holds no list of records"),
        (None, "more than the 16 MiB a Kolada page can be"),
    ],
    ids=["not-json", "values-an-object", "page-of-17-mib"],
)
def test_a_page_that_is_no_page_of_records_fails_naming_it_and_leaves_raw_as_it_was(tmp_path, body, problem):
    """A page on disk that is not JSON, holds no list of records, or is larger than any Kolada answer fails
    the landing's read; the landing raises it naming the page file, and writes nothing. (A record of the
    wrong shape on a good page is quarantined instead: the test above.)"""
    land_pages(tmp_path, [R], load_id="20260101T000000Z-aaaaaa")
    before = data_rows(tmp_path)
    big = envelope([{**R[1], "values": [{**R[1]["values"][0], "status": "x" * (17 * 1024 * 1024)}]}])
    folder = RawLoadFolder.create(tmp_path / "raw", "kolada", "20260102T000000Z-bbbbbb")
    for entity, name in METADATA_FIXTURES.items():
        folder.write_page(entity, f"http://kolada.test/v3/{entity}", 1.0, envelope(fixture(name)).encode())
    page = folder.write_page("data", "http://kolada.test/v3/data/kpi/x/year/y", 2.0,
                             (big if body is None else body).encode())
    summary = LandingSummary(load_id="20260102T000000Z-bbbbbb", years=[2019, 2020], raw_folder=folder.root,
                             pages=folder.pages_written)
    with pytest.raises(KoladaLandingError) as err:
        write_raw_tables(tmp_path / "warehouse.duckdb", folder, summary, list(KPIS), datetime.now(UTC))
    assert f"{page}" in str(err.value)
    assert problem in str(err.value) and "nothing was landed" in str(err.value)
    assert data_rows(tmp_path) == before


# --------------------------------------------------------------------------- pages on disk, DuckDB alone


def land_pages(tmp_path: Path, pages: list[list[dict]], *, load_id: str, years=(2019, 2020), kpis=KPIS,
               metadata: dict[str, list[dict]] | None = None, fetched_at: float = 1_767_225_600.0) -> LandingSummary:
    """Write ``pages`` (data records per page) and the metadata fixtures to a raw folder, as ``land_kolada``
    does, and land them; ``metadata`` replaces some entities' records."""
    folder = RawLoadFolder.create(tmp_path / "raw", "kolada", load_id)
    for entity, name in METADATA_FIXTURES.items():
        records = (metadata or {}).get(entity, fixture(name))
        folder.write_page(entity, f"http://kolada.test/v3/{entity}?per_page=5000", fetched_at,
                          envelope(records).encode())
    for number, records in enumerate(pages, start=1):
        folder.write_page("data", f"http://kolada.test/v3/data/kpi/x/year/y?per_page=5000&page={number}",
                          fetched_at + number, envelope(records).encode())
    summary = LandingSummary(load_id=load_id, years=sorted(years), raw_folder=folder.root, pages=folder.pages_written)
    write_raw_tables(tmp_path / "warehouse.duckdb", folder, summary, list(kpis), datetime.now(UTC))
    return summary


def edge_records() -> list[dict]:
    """The fixture's records plus what real answers hold besides plain values: a null value with a status,
    a deleted value, a record generated for the snapshot, and records that cannot be landed."""
    records = copy.deepcopy(fixture("data_records.json"))
    records[0]["values"][2].update(value=None, status="Saknas")  # no value, and the source says why
    records[1]["values"][1]["isdeleted"] = True
    records.append({"kpi": "U07451", "municipality": "1480", "period": 2020, "synthetic": True,
                    "values": [{"gender": "T", "count": 1, "status": "", "value": 62.5, "isdeleted": False}]})
    bad = copy.deepcopy(records[2])
    records[2] = {**bad, "values": [{**bad["values"][0], "gender": "X"}, *bad["values"][1:]]}
    records.append({**copy.deepcopy(records[3]), "period": "2020H1"})
    records[4]["values"][0]["value"] = "84,7"  # a decimal comma: text, not a number
    records[5]["values"][1]["value"] = math.nan
    records[6]["values"][0]["value"] = math.inf
    return records


def expected_rows(records: list[dict], load_id: str, page_url: str) -> list[tuple]:
    """What raw.kolada__data must hold for ``records``, flattened in plain Python (the test's own oracle)."""
    rows = []
    for r in records:
        entries = r["values"]
        if (not isinstance(r["period"], int) or any(e["gender"] not in "TKM" for e in entries)
                or any(isinstance(e["value"], str) or (e["value"] is not None and not math.isfinite(e["value"]))
                       for e in entries)):
            continue
        for e in entries:
            rows.append((load_id, page_url, r["kpi"], r["municipality"], r["period"], e["gender"], e["count"],
                         e["status"] or None, e["value"], e["isdeleted"], r.get("synthetic", False)))
    return sorted(rows, key=lambda row: (row[2], row[3], row[4], row[5]))


def test_the_raw_table_holds_exactly_what_the_pages_hold(tmp_path):
    records = edge_records()
    summary = land_pages(tmp_path, [records[:7], records[7:]], load_id="L1")
    got = query(tmp_path, "select load_id, page_url, kpi, municipality, period, gender, count, status, value, "
                          "isdeleted, synthetic from raw.kolada__data order by kpi, municipality, period, gender")
    pages = {n: f"http://kolada.test/v3/data/kpi/x/year/y?per_page=5000&page={n}" for n in (1, 2)}
    want = sorted(expected_rows(records[:7], "L1", pages[1]) + expected_rows(records[7:], "L1", pages[2]),
                  key=lambda row: (row[2], row[3], row[4], row[5]))
    assert got == want
    assert summary.value_rows == summary.inserted == len(want) == 24 - 3 - 3 - 3 - 1 + 1
    assert ("L1", pages[1], "N15428", "0000", 2019, "M", 1, "Saknas", None, False, False) in got
    assert [row for row in got if row[-1]] == [("L1", pages[2], "U07451", "1480", 2020, "T", 1, None, 62.5, False, True)]
    quarantined = query(tmp_path, "select reason_code, reason, record ->> '$.municipality', load_id "
                                  "from raw.kolada__data_quarantine order by reason_code, reason")
    assert quarantined == [
        ("bad_gender", 'gender "X" is not one of T, K, M', "0180", "L1"),
        ("bad_period", 'period "2020H1" is not a year', "0180", "L1"),
        ("bad_value", "value \"84,7\" for gender T is not a number", "1283", "L1"),
        ("bad_value", "value Infinity for gender T is not a number", "0000", "L1"),
        ("bad_value", "value NaN for gender K is not a number", "1283", "L1"),
    ]
    assert summary.quarantined == 5


def test_a_page_duckdb_cannot_read_fails_write_raw_tables_naming_it(tmp_path):
    """The same on pages on disk: ``write_raw_tables`` reads the pages in its transaction, which the error
    rolls back, metadata included; the page is named among several."""
    land_pages(tmp_path, [copy.deepcopy(R)], load_id="L1")
    before = {table: query(tmp_path, f"select * from raw.{table} order by all") for table in ("kolada__data", "kolada__kpi", "load_log")}
    kpis = fixture("kpi.json")
    kpis[1]["title"] += " (ny definition)"  # would land first inside the transaction
    with pytest.raises(KoladaLandingError, match=r"the data page \S+/L2/data/page-0002\.json cannot be read .*"
                                                 r"holds no list of records"):
        land_pages(tmp_path, [R[:6], {"kpi": "N15428", "values": R[6:]}], load_id="L2", metadata={"kpi": kpis})
    assert {table: query(tmp_path, f"select * from raw.{table} order by all") for table in before} == before


def test_records_that_were_not_asked_for_are_quarantined(tmp_path):
    records = copy.deepcopy(fixture("data_records.json"))
    summary = land_pages(tmp_path, [records], load_id="L1", years=[2020], kpis=["N15428"])
    assert query(tmp_path, "select distinct kpi, period from raw.kolada__data") == [("N15428", 2020)]
    assert summary.quarantined == 9 and summary.value_rows == 9
    assert query(tmp_path, "select reason_code, count(*) from raw.kolada__data_quarantine group by all") == [
        ("not_requested", 9)]


def test_a_rerun_of_the_same_pages_is_identical(tmp_path):
    records = edge_records()
    land_pages(tmp_path, [records], load_id="L1")
    before = data_rows(tmp_path)
    quarantine_before = query(tmp_path, "select * from raw.kolada__data_quarantine order by all")
    summary = land_pages(tmp_path, [records], load_id="L2", fetched_at=1_800_000_000.0)
    assert data_rows(tmp_path) == before
    assert query(tmp_path, "select * from raw.kolada__data_quarantine order by all") == quarantine_before
    assert (summary.inserted, summary.updated, summary.deleted, summary.unchanged) == (0, 0, 0, len(before))
    assert summary.quarantined == 5  # what this load could not land, though already kept from L1


def test_changed_removed_and_added_values_are_merged_and_counted(tmp_path):
    records = copy.deepcopy(fixture("data_records.json"))
    land_pages(tmp_path, [records], load_id="L1")
    revised = copy.deepcopy(records)
    revised[0]["values"][0]["value"] = 84.8  # N15428 0000 2019 T revised
    revised[1]["values"][2]["status"] = "Reviderad"  # a status alone is a change too
    removed = revised.pop(2)  # N15428 0180 2019: T, K, M no longer sent
    revised.append({"kpi": "U07451", "municipality": "1480", "period": 2019,
                    "values": [{"gender": "T", "count": 1, "status": None, "value": 55.0, "isdeleted": False}]})
    summary = land_pages(tmp_path, [revised], load_id="L2")
    assert (summary.inserted, summary.updated, summary.deleted, summary.unchanged) == (1, 2, 3, 24 - 2 - 3)
    rows = {(r[3], r[4], r[5], r[6]): r for r in data_rows(tmp_path)}
    assert len(rows) == 24 - 3 + 1
    assert rows[("N15428", "0000", 2019, "T")][0] == "L2" and rows[("N15428", "0000", 2019, "T")][9] == 84.8
    assert rows[("N15428", "0000", 2020, "M")][0] == "L2" and rows[("N15428", "0000", 2020, "M")][8] == "Reviderad"
    assert rows[("U07451", "1480", 2019, "T")][0] == "L2"
    assert not any(key[:3] == (removed["kpi"], removed["municipality"], removed["period"]) for key in rows)
    assert {r[0] for key, r in rows.items() if key not in {("N15428", "0000", 2019, "T"), ("N15428", "0000", 2020, "M"),
                                                           ("U07451", "1480", 2019, "T")}} == {"L1"}


def test_a_cell_the_source_no_longer_sends_is_emptied(tmp_path):
    records = copy.deepcopy(fixture("data_records.json"))
    land_pages(tmp_path, [records], load_id="L1")
    summary = land_pages(tmp_path, [[r for r in records if r["kpi"] != "U07451"]], load_id="L2")
    assert summary.deleted == 6
    assert query(tmp_path, "select distinct kpi from raw.kolada__data") == [("N15428",)]


def test_the_same_value_twice_fails_the_load_and_leaves_raw_as_it_was(tmp_path):
    records = copy.deepcopy(fixture("data_records.json"))
    land_pages(tmp_path, [records], load_id="L1")
    snapshot_sql = {table: f"select * from raw.{table} order by all" for table in
                    ("kolada__data", "kolada__kpi", "kolada__data_quarantine", "load_log")}
    before = {table: query(tmp_path, sql) for table, sql in snapshot_sql.items()}
    kpis = fixture("kpi.json")
    kpis[1]["title"] = kpis[1]["title"] + " (ny definition)"  # lands first inside the transaction
    revised = copy.deepcopy(records)
    revised[0]["values"][0]["value"] = 1.0
    revised[5]["values"][0]["value"] = "n/a"  # a quarantined record, also inside the transaction
    with pytest.raises(KoladaLandingError, match=r"N15428 0180 2019 T 2 times \(pages .*page=1 and .*page=2\)"):
        land_pages(tmp_path, [revised, revised[2:3]], load_id="L2", metadata={"kpi": kpis})
    assert {table: query(tmp_path, sql) for table, sql in snapshot_sql.items()} == before


def test_metadata_is_landed_once_per_version(tmp_path):
    records = copy.deepcopy(fixture("data_records.json"))
    land_pages(tmp_path, [records], load_id="L1")
    same_in_another_order = {"kpi": list(reversed(fixture("kpi.json")))}
    summary = land_pages(tmp_path, [records], load_id="L2", metadata=same_in_another_order)
    assert summary.metadata_landed["kpi"] == 0
    kpis = fixture("kpi.json")
    kpis[1]["title"] = kpis[1]["title"] + " (ny definition)"
    summary = land_pages(tmp_path, [records], load_id="L3", metadata={"kpi": kpis})
    assert summary.metadata_landed == {"kpi": 4, "kpi_groups": 0, "municipality": 0, "municipality_groups": 0}
    land_pages(tmp_path, [records], load_id="L4", metadata={"kpi": kpis})
    assert query(tmp_path, "select load_id, count(*) from raw.kolada__kpi group by all order by all") == [
        ("L1", 4), ("L3", 4)]
    assert query(tmp_path, "select load_id, count(*) from raw.kolada__municipality group by all") == [("L1", 4)]


@pytest.mark.slow
def test_staging_sees_the_current_and_the_previous_version(tmp_path):
    """The dbt models take the latest version of each entity; the definition watch the one before it."""
    records = copy.deepcopy(fixture("data_records.json"))
    land_pages(tmp_path, [records], load_id="L1")
    kpis = fixture("kpi.json")
    kpis[1]["title"] = "Ny titel"
    land_pages(tmp_path, [records], load_id="L2", metadata={"kpi": kpis})
    land_pages(tmp_path, [records], load_id="L3", metadata={"kpi": kpis})
    result = run_dbt(tmp_path / "warehouse.duckdb", "run", "--select", "stg_kolada__kpis", "int_kolada_kpis_latest",
                     "stg_kolada__municipalities", target_path=tmp_path / "target")
    assert result.returncode == 0, result.stdout[-2000:]
    assert query(tmp_path, f"select title from intermediate.int_kolada_kpis_latest where kpi_id = '{kpis[1]['id']}'"
                 ) == [("Ny titel",)]
    assert query(tmp_path, "select count(*) from intermediate.int_kolada_kpis_latest") == [(4,)]
    assert query(tmp_path, "select distinct load_id from staging.stg_kolada__kpis order by load_id desc limit 2") == [
        ("L2",), ("L1",)]
    assert query(tmp_path, "select count(*) from staging.stg_kolada__municipalities where is_latest_load") == [(4,)]


def test_a_load_of_changes_merges_only_its_keys_and_applies_deletions(tmp_path):
    """The same merge serves a load of changes since a date (``from_date``): only the keys sent are
    touched, and a value the source marks ``isdeleted`` removes the stored one."""
    land_pages(tmp_path, [copy.deepcopy(fixture("data_records.json"))], load_id="L1")
    before = {(r[3], r[4], r[5], r[6]): r for r in data_rows(tmp_path)}
    changes = [  # kpi, municipality, period, gender, value, isdeleted
        ("N15428", "0000", 2019, "T", 84.9, False),   # revised
        ("N15428", "0180", 2019, "K", None, True),    # deleted at the source
        ("N15428", "9999", 2019, "T", None, True),    # deleted, but never landed: nothing to do
        ("U07451", "1480", 2020, "T", 61.0, False),   # new
        ("U07451", "0000", 2019, "T", before[("U07451", "0000", 2019, "T")][9], False),  # sent again, same
    ]
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("create temp table changes as select * from raw.kolada__data limit 0")
        for kpi, municipality, period, gender, value, isdeleted in changes:
            con.execute("insert into changes values ('L2', now(), 'http://kolada.test/changes', ?, ?, ?, ?, 1, null, "
                        "?, ?, false)", [kpi, municipality, period, gender, value, isdeleted])
        with transaction(con):
            counts = merge_values(con, "changes", scope=None, apply_deletions=True)
    assert counts == MergeCounts(inserted=1, updated=1, deleted=1, unchanged=1)
    after = {(r[3], r[4], r[5], r[6]): r for r in data_rows(tmp_path)}
    assert set(after) == set(before) - {("N15428", "0180", 2019, "K")} | {("U07451", "1480", 2020, "T")}
    assert after[("N15428", "0000", 2019, "T")][0] == "L2" and after[("N15428", "0000", 2019, "T")][9] == 84.9
    untouched = set(before) - {("N15428", "0180", 2019, "K"), ("N15428", "0000", 2019, "T")}
    assert all(after[key] == before[key] for key in untouched)


def test_a_merge_with_nothing_stored_inserts_every_row_but_tombstones(tmp_path):
    """Nothing stored within the merge's reach (a first landing, a backfill) takes the merge's short way,
    a plain insert: the same rows and counts as the planned merge, rows outside the scope untouched, and a
    load of changes into an empty table does not store the values the source marks deleted."""
    land_pages(tmp_path, [copy.deepcopy(fixture("data_records.json"))], load_id="L1")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        stored = con.execute("select count(*) from raw.kolada__data").fetchall()[0][0]
        periods = [row[0] for row in con.execute("select distinct period from raw.kolada__data order by 1").fetchall()]
        con.execute("create temp table incoming as select * replace ('L2' as load_id, period + 10 as period) "
                    "from raw.kolada__data")
        con.execute("create temp table scope as select distinct kpi, period from incoming")
        with transaction(con):  # the cells of the scope (period + 10) hold nothing yet: the short way
            counts = merge_values(con, "incoming", scope="scope")
        assert counts == MergeCounts(inserted=stored)
        assert con.execute("select load_id, count(*) from raw.kolada__data group by all order by all").fetchall() == [
            ("L1", stored), ("L2", stored)]
        with transaction(con):  # the same again: now stored, the planned merge finds every row unchanged
            assert merge_values(con, "incoming", scope="scope") == MergeCounts(unchanged=stored)

        con.execute("delete from raw.kolada__data")
        con.execute("update incoming set isdeleted = true where period = ?", [periods[0] + 10])
        tombstones = con.execute("select count(*) from incoming where isdeleted").fetchall()[0][0]
        assert 0 < tombstones < stored
        with transaction(con):
            counts = merge_values(con, "incoming", scope=None, apply_deletions=True)
        assert counts == MergeCounts(inserted=stored - tombstones)
        assert con.execute("select count(*), count(*) filter (where isdeleted) from raw.kolada__data").fetchall() == [
            (stored - tombstones, 0)]
