"""run_watch as a whole: output contract, ranking by impact, contact, messages."""

import numpy as np
import pandas as pd
import pytest

from pipelines.quality import FLAG_COLUMNS, run_watch
from tests.quality.conftest import TODAY, kommun_ids, kpis_frame, municipalities_frame, values_frame

IDS = kommun_ids(12)


def _world():
    """Two years of P1 and D1 for 12 kommuner, with one slip of each kind in 2022."""
    rows = []
    for year in (2020, 2021, 2022):
        for i, mid in enumerate(IDS):
            rows.append(("P1", mid, year, "T", 60.0 + 2 * i + 0.3 * (year - 2020)))
            rows.append(("D1", mid, year, "T", 20.0 + i + 0.5 * (year - 2020)))
    out = values_frame(rows)
    out.loc[(out.kpi_id == "P1") & (out.municipality_id == IDS[0]) & (out.year == 2022), "value"] = 101.0
    out.loc[(out.kpi_id == "P1") & (out.municipality_id == IDS[11]) & (out.year == 2022), "value"] = 300.0
    out.loc[(out.kpi_id == "D1") & (out.municipality_id == IDS[5]) & (out.year == 2022), "value"] = 255.0
    return out


def test_output_contract(rules):
    flags = run_watch(_world(), kpis_frame(), municipalities_frame(12), rules, today=TODAY)
    assert list(flags.columns) == FLAG_COLUMNS
    assert set(flags["severity"]) <= {"error", "warning"}
    assert flags["year"].dropna().eq(2022).all()  # default: the latest year
    assert flags["would_change_colour"].dtype == bool
    assert not flags["message"].str.contains(r"\{").any()
    assert flags["impact_score"].is_monotonic_decreasing


def test_colour_changing_flag_ranks_first(rules):
    # range.share_bounds on two kommuner: IDS[0] was worst (60.6 %) and reports 101 % → green now, its
    # expected value (last year's 60.6) makes it red: the colour would change. IDS[11] was best (82.6 %)
    # and reports 300 %: a much larger deviation, but green either way.
    flags = run_watch(_world(), kpis_frame(), municipalities_frame(12), rules.only("range.share_bounds"),
                      today=TODAY)
    assert flags["municipality_id"].tolist() == [IDS[0], IDS[11]]
    assert flags["would_change_colour"].tolist() == [True, False]
    first, second = flags.iloc[0], flags.iloc[1]
    # impact = 10 * C + 3 * S + D, D = min(3, log10(1 + deviation / scale)) in [0, 3]
    assert 13 <= first.impact_score <= 16 and 3 <= second.impact_score <= 6
    assert first.impact_score > second.impact_score


def test_contact_is_the_kommun_for_self_reported_figures(rules):
    flags = run_watch(_world(), kpis_frame(), municipalities_frame(12), rules, today=TODAY)
    d1 = flags[flags["kpi_id"] == "D1"].iloc[0]
    p1 = flags[flags["kpi_id"] == "P1"].iloc[0]
    assert d1.contact == f"kommunen {IDS[5]} Kommun6"
    assert p1.contact == "RKA / SCB"
    assert "reported by the municipality" in d1.source


def test_riket_and_regions_are_not_coloured(rules):
    rows = [("P1", "0000", 2021, "T", 50.0), ("P1", "0000", 2022, "T", 500.0)]
    rows += [("P1", mid, 2022, "T", 50.0 + i) for i, mid in enumerate(IDS)]
    flags = run_watch(values_frame(rows), kpis_frame(), municipalities_frame(12), rules.only("range.share_bounds"),
                      today=TODAY)
    assert flags["municipality_id"].tolist() == ["0000"]
    assert not flags.iloc[0].would_change_colour


def test_empty_input_gives_empty_flags(rules):
    empty = values_frame([])
    flags = run_watch(empty, kpis_frame(), municipalities_frame(3), rules, today=TODAY)
    assert list(flags.columns) == FLAG_COLUMNS and flags.empty


def test_years_parameter_restricts_flags(rules):
    world = _world()
    world.loc[(world.kpi_id == "P1") & (world.municipality_id == IDS[3]) & (world.year == 2021), "value"] = 150.0
    flags = run_watch(world, kpis_frame(), municipalities_frame(12), rules.only("range.share_bounds"),
                      years=[2021], today=TODAY)
    assert flags["year"].tolist() == [2021]


def test_input_types_are_normalised(rules):
    world = _world()
    world["municipality_id"] = world["municipality_id"].astype(int)  # lost leading zeros
    world["year"] = world["year"].astype(str)
    flags = run_watch(world, kpis_frame(), municipalities_frame(12), rules.only("range.share_bounds"), today=TODAY)
    assert set(flags["municipality_id"]) == {IDS[0], IDS[11]}


def test_missing_columns_fail_clearly(rules):
    from pipelines.quality.context import WatchInputError

    with pytest.raises(WatchInputError, match="values lacks columns"):
        run_watch(pd.DataFrame({"kpi_id": ["P1"]}), kpis_frame(), municipalities_frame(3), rules)


def test_each_rule_message_is_filled(rules):
    """Run every rule on a world where each fires at least once: no placeholder may stay unfilled."""
    world = _world()
    extra = values_frame([
        ("P1", IDS[1], 2022, "K", 10.0), ("P1", IDS[1], 2022, "M", 12.0),  # T outside K/M
        ("P1", IDS[2], 2022, "T", 0.64),  # 0–1 share
        ("D1", IDS[3], 2022, "T", -2.0),  # negative
        ("P1", IDS[4], 2022, "T", 1.0), ("X1", IDS[4], 2022, "T", 1.0), ("P1", "7777", 2022, "T", 1.0),
        ("P1", IDS[4], 2030, "T", 1.0), ("P1", IDS[4], 2022, "Q", 1.0),
        ("P1", IDS[6], 2022, "T", 62.0, "preliminary"),
    ])
    world = world[~((world.kpi_id == "P1") & world.municipality_id.isin([IDS[2], IDS[6]]) & (world.year == 2022))]
    world = world[~((world.kpi_id == "D1") & (world.municipality_id == IDS[3]) & (world.year == 2022))]
    world = world[~((world.kpi_id == "D1") & (world.municipality_id == IDS[7]) & (world.year == 2022))]  # missing
    world = pd.concat([world, extra], ignore_index=True)
    previous = pd.DataFrame({"kpi_id": ["P1"], "title": ["Andel"], "description": ["a"]})
    current = pd.DataFrame({"kpi_id": ["P1"], "title": ["Andel (%)"], "description": ["a"]})
    comparison = pd.DataFrame({"kpi_id": ["D1"], "municipality_id": [IDS[8]], "year": [2022], "gender": ["T"],
                               "kolada_value": [29.0], "agency_value": [31.0]})
    flags = run_watch(world, kpis_frame(), municipalities_frame(12), rules, years=[2022], today=TODAY,
                      kpi_metadata_previous=previous, kpi_metadata_current=current, source_comparison=comparison)
    fired = set(flags["rule_id"])
    for rule_id in ("range.share_scale", "range.negative", "range.magnitude_slip", "gender.total_between",
                    "missing.value", "missing.status", "definition.metadata_changed", "definition.source_mismatch",
                    "integrity.duplicate", "integrity.unknown_kpi", "integrity.unknown_municipality",
                    "integrity.future_year", "integrity.invalid_gender", "range.share_bounds"):
        assert rule_id in fired, rule_id
    assert not flags["message"].str.contains(r"\{|\bnan\b").any(), flags.loc[
        flags["message"].str.contains(r"\{|\bnan\b"), "message"].tolist()
    assert np.isfinite(flags["impact_score"]).all()
