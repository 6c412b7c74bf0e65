"""kkik_source_comparison on a hand-made case: one kommun where Kolada and Skolverket agree, one where not."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest

from pipelines.landing.schema import ensure_raw_tables
from tests.dbt_runner import run_dbt

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("comparison")
    path = tmp / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    ensure_raw_tables(con)
    for table, record in [
        ("kolada__kpi", {"id": "N15428", "title": "Behöriga till yrkesprogram, hemkommun", "is_divided_by_gender": True}),
        ("kolada__municipality", {"id": "0180", "title": "Stockholm", "type": "K"}),
        ("kolada__municipality", {"id": "1480", "title": "Göteborg", "type": "K"}),
        ("kolada__municipality", {"id": "0000", "title": "Riket", "type": "L"}),
    ]:
        con.execute(f"insert into raw.{table} values ('L1', now(), 'http://test', ?::json)", [json.dumps(record)])
    for municipality, value in [("0180", 89.5084), ("1480", 81.9315)]:
        con.execute("insert into raw.kolada__data values ('L1', now(), 'u', 'N15428', ?, 2020, 'T', 1, null, ?, "
                    "false, false)", [municipality, value])
    school = pd.DataFrame({  # noqa: F841 - DuckDB reads the frame by its name
        "load_id": "S1", "fetched_at": pd.Timestamp.now(tz="UTC"), "export": "betygsresultat_over_tid_ak9",
        "municipality_id": ["0180", "1480"], "municipality_name": ["Stockholm", "Göteborg"], "school_year": "2019/20",
        "year": 2020, "measure": "andel_behoriga_yrkesprogram", "gender": "T", "huvudman": "samtliga",
        "population": "lageskommun", "value": [89.5, 81.1], "status": pd.array([None, None], dtype="string"),
        "unit": "procent", "source_label": "Andel (%) behöriga till yrkesprogram",
    })
    con.execute("insert into raw.skolverket__school_results by name select * from school")
    population = pd.DataFrame({"load_id": "P1",  # noqa: F841 - DuckDB reads the frame by its name
                                "fetched_at": pd.Timestamp.now(tz="UTC"), "municipality_id": "0180",
                               "region_level": "kommun", "year": 2020, "gender": "T", "population": 975551.0,
                               "status": pd.array([None], dtype="string")})
    con.execute("insert into raw.scb__population by name select * from population")
    con.close()
    result = run_dbt(path, "build", target_path=tmp / "target")
    assert result.returncode == 0, result.stdout[-4000:]
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute("select municipality_id, kolada_value, agency_value, difference, agrees, population_definition "
                           "from kkik_audit.kkik_source_comparison order by municipality_id").fetchall()
    return {row[0]: row[1:] for row in rows}


def test_figures_that_agree_up_to_rounding(comparison):
    kolada, agency, difference, agrees, _ = comparison["0180"]
    assert (kolada, agency) == (89.5084, 89.5)
    assert difference == pytest.approx(0.0084) and agrees is True


def test_figures_that_differ_name_the_populations(comparison):
    _kolada, _agency, difference, agrees, population = comparison["1480"]
    assert difference == pytest.approx(0.8315) and agrees is False
    assert "hemkommun" in population and "lägeskommun" in population
