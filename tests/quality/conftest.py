"""Small hand-made worlds for the error-watch tests: a few KPIs, a Riket, a region and N kommuner."""

from __future__ import annotations

import gzip
import json
from datetime import date

import pandas as pd
import pytest

from pipelines.config import SNAPSHOT_DIR
from pipelines.quality import load_rules, run_watch

TODAY = date(2023, 6, 1)


def kpis_frame() -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("P1", "Andel behöriga, %", "percent", "higher", True, "read_from_source", "SCB"),
            ("D1", "Väntetid i antal dagar", "days", "lower", True, "municipality_reported", "egen undersökning i kommunen"),
            ("C1", "Antal personer", "count", "lower", True, "read_from_source", "Socialstyrelsen"),
            ("K1", "Kostnad kr per barn", "kr", "none", False, "read_from_source", "SCB och Skolverket"),
        ],
        columns=["kpi_id", "title", "unit", "direction", "is_divided_by_gender", "collection_method", "source_agency"],
    )


def kommun_ids(n: int) -> list[str]:
    return [f"{101 + i:04d}" for i in range(n)]


def municipalities_frame(n: int = 12, groups: dict[str, str] | None = None,
                         non_participants: tuple[str, ...] = ()) -> pd.DataFrame:
    rows = [("0000", "Riket", None, False, None, False), ("0001", "Region Stockholm", "01", False, None, False)]
    for i, mid in enumerate(kommun_ids(n)):
        rows.append((mid, f"Kommun{i + 1}", "01", True, (groups or {}).get(mid), mid not in non_participants))
    return pd.DataFrame(rows, columns=["municipality_id", "name", "county_id", "is_kommun", "similar_group",
                                       "is_participant"])


def values_frame(rows) -> pd.DataFrame:
    """Rows as (kpi_id, municipality_id, year, gender, value[, status])."""
    rows = [tuple(r) + (None,) * (6 - len(r)) for r in rows]
    return pd.DataFrame(rows, columns=["kpi_id", "municipality_id", "year", "gender", "value", "status"])


def panel(kpi_id: str, by_year: dict[int, list[float]], gender: str = "T", ids: list[str] | None = None):
    """Rows for one KPI: ``by_year[year][i]`` is kommun i's value (None = no row)."""
    out = []
    for year, values in by_year.items():
        for mid, value in zip(ids or kommun_ids(len(values)), values):
            if value is not None:
                out.append((kpi_id, mid, year, gender, value))
    return out


@pytest.fixture(scope="session")
def rules():
    return load_rules()


@pytest.fixture
def watch(rules):
    """Run only the named rule (with parameter overrides) on a hand-made world."""

    def run(rule_id, rows, *, params=None, shared=None, n=12, groups=None, non_participants=(), years=None,
            municipalities=None, **kwargs):
        ruleset = rules.only(rule_id)
        if params:
            ruleset = ruleset.with_parameters(rule_id, **params)
        if shared:
            ruleset = ruleset.with_shared(**shared)
        muni = municipalities if municipalities is not None else municipalities_frame(n, groups, non_participants)
        return run_watch(values_frame(rows), kpis_frame(), muni, ruleset, years=years, today=TODAY, **kwargs)

    return run


@pytest.fixture(scope="session")
def real_values(tmp_path_factory):
    """N15428 (behöriga till yrkesprogram, real Kolada values) for every kommun, 2018–2022, T/K/M."""
    with gzip.open(SNAPSHOT_DIR / "kolada" / "data" / "real" / "N15428.json.gz") as handle:
        records = json.load(handle)
    rows = [{"kpi_id": r["kpi"], "municipality_id": r["municipality"], "year": r["period"], "gender": v["gender"],
             "value": v["value"]} for r in records if 2018 <= r["period"] <= 2022 for v in r["values"]]
    frame = pd.DataFrame(rows)
    path = tmp_path_factory.mktemp("values") / "n15428.csv"
    frame.to_csv(path, index=False)
    return frame, path
