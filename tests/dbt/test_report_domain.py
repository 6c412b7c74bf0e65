"""The domain rules behind the report, on the real dbt project: the area's similar kommuner, the
report-year fallback, grey rows for figure-years without values, and bit-identical means across builds.
"""

from __future__ import annotations

import json
import random

import duckdb
import pytest

from pipelines.landing.schema import ensure_raw_tables
from tests.dbt_runner import run_dbt

pytestmark = pytest.mark.slow

KOMMUNER = {"0114": "Upplands Väsby", "0115": "Vallentuna", "0117": "Österåker", "0120": "Värmdö",
            "0123": "Järfälla", "0125": "Ekerö", "0126": "Huddinge"}
# values chosen so that a float sum depends on its order: (0.1 + 0.2) + 0.3 != 0.1 + (0.2 + 0.3)
U23401 = {"0114": 10.0, "0115": 0.1, "0117": 0.2, "0120": 0.3, "0123": 0.7, "0125": 1e16, "0126": -1e16}


def _insert_json(con, table, records):
    for record in records:
        con.execute(f"insert into raw.{table} values ('L1', now(), 'http://test', ?::json)", [json.dumps(record)])


def _build(tmp, name: str, order_seed: int):
    path = tmp / f"{name}.duckdb"
    con = duckdb.connect(str(path))
    ensure_raw_tables(con)
    _insert_json(con, "kolada__kpi", [
        # äldreomsorg (Kolada's operating area), with publication metadata: offset 0
        {"id": "U23401", "title": "Väntetid särskilt boende", "is_divided_by_gender": False,
         "operating_area": "Äldre och funktionshinder", "publication_date": "2022-10-04", "publ_period": "2022"},
        # Insikt without publ_period: the KKiK year falls back to period + 1
        {"id": "U07451", "title": "Företagsklimat Insikt", "is_divided_by_gender": False,
         "operating_area": "Kommunen, övergripande", "publ_period": None},
        # U21468 is in the catalogue but has no value in 2021 at all
        {"id": "U21468", "title": "Brukarbedömning hemtjänst", "is_divided_by_gender": True,
         "operating_area": "Äldre och funktionshinder", "publication_date": "2022-10-04", "publ_period": "2022"},
    ])
    _insert_json(con, "kolada__municipality",
                 [{"id": k, "title": v, "type": "K"} for k, v in KOMMUNER.items()]
                 + [{"id": "0000", "title": "Riket", "type": "L"}, {"id": "0001", "title": "Region Stockholm", "type": "L"}])
    member = lambda *ids: [{"member_id": i, "member_title": KOMMUNER[i]} for i in ids]
    _insert_json(con, "kolada__municipality_groups", [
        {"id": "G1", "title": "Liknande kommuner, övergripande, Upplands Väsby, 2025", "members": member("0114", "0115")},
        {"id": "G2", "title": "Liknande kommuner äldreomsorg, Upplands Väsby, 2024",
         "members": member("0114", "0117", "0120", "0123")},
        {"id": "G3", "title": "Liknande kommuner äldreomsorg, Region Stockholm, 2024", "members": member("0126")},
    ])
    rows = []
    for municipality, value in U23401.items():
        rows.append(("U23401", municipality, 2022, "T", value))
        rows.append(("U07451", municipality, 2022, "T", 70.0))
        rows.append(("U21468", municipality, 2022, "T", 80.0))
    rows.append(("U21468", "0114", 2021, "T", None))
    random.Random(order_seed).shuffle(rows)
    for row in rows:
        con.execute("insert into raw.kolada__data values ('L1', now(), 'http://test', ?, ?, ?, ?, 1, null, ?, false, false)",
                    list(row))
    con.close()
    result = run_dbt(path, "build", target_path=tmp / f"target_{name}")
    assert result.returncode == 0, result.stdout[-4000:]
    con = duckdb.connect(str(path), read_only=True)
    frame = con.execute("""select kpi_id, municipality_id, year, gender, value, colour, kkik_year,
                                  similar_group_mean, similar_group_n, county_mean
                           from kkik_audit.kkik_result order by all""").fetchall()
    kinds = dict(con.execute("select kpi_id, similar_group_kind from kkik_audit.dim_kpi").fetchall())
    con.close()
    return frame, kinds


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("domain")
    return _build(tmp, "first", 1), _build(tmp, "second", 2)


def _row(frame, kpi, municipality, year, gender="T"):
    return next(r for r in frame if r[:4] == (kpi, municipality, year, gender))


def test_similar_kommuner_are_the_areas_group(builds):
    (frame, kinds), _ = builds
    assert kinds["U23401"] == "äldreomsorg" and kinds["U07451"] == "övergripande"
    row = _row(frame, "U23401", "0114", 2022)
    # äldreomsorg group: 0117, 0120, 0123 (itself excluded) — not the overall group's 0115 (0.1)
    assert row[8] == 3 and row[7] == pytest.approx((0.2 + 0.3 + 0.7) / 3)
    assert _row(frame, "U07451", "0114", 2022)[8] == 1  # overall group: 0115 only


def test_report_year_defaults_to_the_next_year_without_publication_metadata(builds):
    (frame, _), _ = builds
    assert _row(frame, "U07451", "0114", 2022)[6] == 2023
    assert _row(frame, "U23401", "0114", 2022)[6] == 2022


def test_a_figure_year_without_any_value_has_grey_rows(builds):
    (frame, _), _ = builds
    rows_2021 = [r for r in frame if r[0] == "U21468" and r[2] == 2021]
    assert {r[1] for r in rows_2021} == set(KOMMUNER)
    assert {r[3] for r in rows_2021} == {"T", "K", "M"}  # divided by gender: K and M expected too
    assert {r[5] for r in rows_2021} == {"grey"} and all(r[4] is None for r in rows_2021)


def test_two_builds_give_bit_identical_means(builds):
    (first, _), (second, _) = builds
    assert len(first) == len(second)
    for a, b in zip(first, second):
        assert a[:4] == b[:4]
        for x, y in zip(a[7:], b[7:]):
            assert (x is None and y is None) or (float(x).hex() == float(y).hex()), (a, b)
