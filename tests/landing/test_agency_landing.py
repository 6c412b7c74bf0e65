"""SCB and Skolverket landings against the snapshot server: rows kept per year, reloads replace them."""

from __future__ import annotations

import json

import duckdb
import pytest

from pipelines.landing.raw_files import SUCCESS_MARKER
from pipelines.landing.scb import land_scb
from pipelines.landing.skolverket import land_skolverket
from pipelines.snapshot.scb_app import ScbApp
from pipelines.snapshot.server import SnapshotServer
from pipelines.snapshot.skolverket_app import SkolverketApp
from pipelines.sources.scb import ScbClient
from pipelines.sources.skolverket import SkolverketClient


@pytest.fixture(scope="module")
def server():
    with SnapshotServer([ScbApp(), SkolverketApp()]) as running:
        yield running


def query(path, sql):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_scb_population_lands_and_reloads_without_duplicates(server, tmp_path):
    db = tmp_path / "w.duckdb"
    client = ScbClient.for_root(server.source_url("scb"))
    first = land_scb(client, years=[2021, 2022], raw_dir=tmp_path / "raw", duckdb_path=db)
    # 290 kommuner + 21 län + Riket, × T/K/M: population 2021–2022; the employment share ends in 2021
    assert first.rows_per_table == {"population": 312 * 2 * 3, "employment_share": 312 * 1 * 3}
    land_scb(client, years=[2022], raw_dir=tmp_path / "raw", duckdb_path=db)
    assert query(db, "select year, count(*), count(distinct load_id) from raw.scb__population "
                     "group by year order by year") == [(2021, 936, 1), (2022, 936, 1)]
    assert query(db, "select region_level, population from raw.scb__population where municipality_id = '00' "
                     "and year = 2022 and gender = 'T'") == [("riket", 10521556.0)]
    # every json-stat2 page is kept as received
    pages = [json.loads(line) for line in (first.raw_folder / "manifest.jsonl").read_text().splitlines()]
    assert {p["entity"] for p in pages} == {"population", "employment_share"}
    assert json.loads((first.raw_folder / pages[0]["file"]).read_bytes())["class"] == "dataset"
    assert (first.raw_folder / SUCCESS_MARKER).exists()


def test_skolverket_keeps_the_run_years_and_its_markers(server, tmp_path):
    db = tmp_path / "w.duckdb"
    with SkolverketClient(server.source_url("skolverket")) as client:
        summary = land_skolverket(client, years=[2021, 2022], raw_dir=tmp_path / "raw", duckdb_path=db)
        land_skolverket(client, years=[2022], raw_dir=tmp_path / "raw", duckdb_path=db)
    assert summary.requests == 3
    assert query(db, "select list(distinct year order by year) from raw.skolverket__school_results") == [([2021, 2022],)]
    assert query(db, "select count(*) from (select export, municipality_id, year, measure, gender, huvudman "
                     "from raw.skolverket__school_results group by all having count(*) > 1)") == [(0,)]
    # suppressed cells keep their marker and no number
    markers = dict(query(db, "select status, count(*) from raw.skolverket__school_results "
                             "where status is not null group by status"))
    assert markers and set(markers) <= {"..", ".", "~100"}
    assert query(db, "select count(*) from raw.skolverket__school_results "
                     "where status is not null and value is not null") == [(0,)]
