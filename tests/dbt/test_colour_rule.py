"""The colour rule and the comparison columns of kkik_result, on a small case computed by hand.

Raw tables are filled directly (as the landing would) and the real dbt project is built on them.
"""

from __future__ import annotations

import json

import duckdb
import pytest

from pipelines.landing.schema import ensure_raw_tables
from tests.dbt_runner import run_dbt

pytestmark = pytest.mark.slow

KOMMUNER = {
    "0114": "Upplands Väsby", "0115": "Vallentuna", "0117": "Österåker", "0180": "Stockholm",
    "1280": "Malmö", "1480": "Göteborg", "1489": "Alingsås", "2580": "Luleå",
}
REGIONS = {"0000": "Riket", "0001": "Region Stockholm", "0012": "Region Skåne", "0014": "Västra Götalandsregionen",
           "0025": "Region Norrbotten"}
# 2022 values in kommun order; None = no value (grey)
VALUES_2022 = [90.0, 80.0, 80.0, 70.0, 60.0, 50.0, 40.0, None]


def _insert_json(con, table: str, records: list[dict]) -> None:
    for record in records:
        con.execute(
            f"insert into raw.{table} values ('L1', now(), 'http://test', ?::json)", [json.dumps(record)]
        )


def _insert_value(con, kpi: str, municipality: str, year: int, gender: str, value) -> None:
    con.execute(
        "insert into raw.kolada__data values ('L1', now(), 'http://test', ?, ?, ?, ?, 1, null, ?, false, false)",
        [kpi, municipality, year, gender, value],
    )


@pytest.fixture(scope="module")
def warehouse_path(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("colour")
    path = tmp / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    ensure_raw_tables(con)
    _insert_json(con, "kolada__kpi", [
        {"id": "U21468", "title": "Brukarbedömning hemtjänst", "is_divided_by_gender": True,
         "publication_date": "2022-10-04", "publ_period": "2022"},
        {"id": "U23401", "title": "Väntetid särskilt boende", "is_divided_by_gender": True,
         "publication_date": "2023-03-01", "publ_period": "2022"},
        {"id": "N11008", "title": "Kostnad förskola", "is_divided_by_gender": False,
         "publication_date": "2023-04-01", "publ_period": "2022"},
    ])
    _insert_json(con, "kolada__municipality",
                 [{"id": k, "title": v, "type": "K"} for k, v in KOMMUNER.items()]
                 + [{"id": k, "title": v, "type": "L"} for k, v in REGIONS.items()])
    _insert_json(con, "kolada__municipality_groups", [
        {"id": "G1", "title": "Liknande kommuner, övergripande, Upplands Väsby, 2025",
         "members": [{"id": "0115", "title": "Vallentuna"}, {"id": "0117", "title": "Österåker"},
                     {"id": "0180", "title": "Stockholm"}, {"id": "0114", "title": "Upplands Väsby"}]},
        {"id": "G92787", "title": "Storstäder (ovägt medel)", "members": [{"id": "0180", "title": "Stockholm"}]},
    ])
    for kpi in ("U21468", "U23401", "N11008"):
        for municipality, value in zip(KOMMUNER, VALUES_2022):
            _insert_value(con, kpi, municipality, 2022, "T", value)
        _insert_value(con, kpi, "0000", 2022, "T", 66.0)
    _insert_value(con, "U21468", "0114", 2021, "T", 85.0)
    _insert_value(con, "U23401", "0114", 2020, "T", 30.0)  # no U23401 values in 2021: 2020 is the previous period
    _insert_value(con, "N11008", "0114", 2017, "T", 50.0)  # 5 years back: no previous period
    con.close()
    result = run_dbt(path, "build", target_path=tmp / "target")
    assert result.returncode == 0, result.stdout[-4000:]
    return path


@pytest.fixture(scope="module")
def built(warehouse_path):
    con = duckdb.connect(str(warehouse_path), read_only=True)
    rows = con.execute(
        "select kpi_id, municipality_id, colour, national_rank, percentile, riket_value, county_mean, "
        "similar_group_mean, previous_value, change_from_previous_year, kkik_year "
        "from kkik_audit.kkik_result where year = 2022 and gender = 'T' order by kpi_id, municipality_id"
    ).fetchall()
    con.close()
    return {(r[0], r[1]): r[2:] for r in rows}


def colours(built, kpi):
    return [built[(kpi, m)][0] for m in KOMMUNER]


def test_higher_is_better_quartiles_and_grey(built):
    # n = 7 with a value: green rank <= 1.75, red rank > 5.25; ties (80, 80) share rank 2
    assert colours(built, "U21468") == ["green", "yellow", "yellow", "yellow", "yellow", "red", "red", "grey"]
    assert [built[("U21468", m)][1] for m in KOMMUNER] == [1, 2, 2, 4, 5, 6, 7, None]


def test_lower_is_better_and_ties_take_the_better_colour(built):
    # ascending: 40→1, 50→2, 60→3, 70→4, 80→5, 80→5, 90→7; the tied 80s share rank 5 (yellow), 90 is red
    assert colours(built, "U23401") == ["red", "yellow", "yellow", "yellow", "yellow", "yellow", "green", "grey"]


def test_no_direction_is_uncoloured(built):
    assert colours(built, "N11008") == ["white"] * 7 + ["grey"]


def test_percentile_and_comparisons(built):
    rank_1 = built[("U21468", "0114")]
    assert rank_1[2] == 100.0  # percentile of the best
    assert built[("U21468", "2580")][2] is None  # no value, no percentile
    assert built[("U21468", "1489")][2] == 0.0  # the worst of 7
    assert rank_1[3] == 66.0  # Riket shown beside, not ranked
    assert rank_1[4] == pytest.approx((90 + 80 + 80 + 70) / 4)  # county 01: 0114, 0115, 0117, 0180
    assert rank_1[5] == pytest.approx((80 + 80 + 70) / 3)  # similar kommuner, itself excluded
    assert rank_1[6] == 85.0 and rank_1[7] == pytest.approx(5.0)


def test_kkik_year_follows_publication(built):
    assert built[("U21468", "0114")][8] == 2022  # published the same year as its period
    assert built[("N11008", "0114")][8] == 2023  # published the year after
    assert built[("U23401", "0114")][8] == 2022  # own reporting: the catalogue pins offset 0


def test_change_compares_with_the_figures_previous_period(built):
    # U23401 has no kommun value in 2021, so its previous period is 2020 (watch_kpi_period), not year - 1
    assert built[("U23401", "0114")][6] == 30.0 and built[("U23401", "0114")][7] == pytest.approx(90.0 - 30.0)
    assert built[("N11008", "0114")][6] is None  # 2017 is more than 4 years back


def test_the_watch_colours_every_cell_as_the_mart(warehouse_path):
    from pipelines.quality.warehouse import colours

    con = duckdb.connect(str(warehouse_path), read_only=True)
    result = con.execute("select kpi_id, municipality_id, year, gender, direction, value, colour "
                         "from kkik_audit.kkik_result").df()
    stored = con.execute("select * from kkik_audit.watch_cell where is_kommun and value is not null").df()
    con.close()
    assert colours(result, stored).tolist() == result["colour"].tolist()
