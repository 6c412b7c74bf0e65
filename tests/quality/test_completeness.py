"""The publication gate on hand-made coverage: shares lost, short years, holes, unknown codes, its rule file.

Sizes are chosen so that a rule off by one kommun or by a rounding of the share shows: 29 and 290 kommuner
(not multiples of 4 or 10), thresholds met exactly and missed by one.
"""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.quality.completeness import GateRules, gate_flags, load_gate_rules

RULES = load_gate_rules()
YEARS = [2019, 2020, 2021, 2022]
NO_CODES = pd.DataFrame(columns=["source", "code_kind", "code", "year", "value_count", "origin"])


def coverage(rows: list[tuple[str, int, str, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["kpi_id", "year", "gender", "kommuner_with_value"])


def kpis(*ids: str, first: int | None = None, last: int | None = None) -> pd.DataFrame:
    return pd.DataFrame({"kpi_id": list(ids), "first_kkik_year": first, "last_kkik_year": last,
                         "kkik_year_offset": 1})


def flags(now, before=None, codes=NO_CODES, catalogue=None, years=YEARS) -> pd.DataFrame:
    catalogue = catalogue if catalogue is not None else kpis(*sorted(set(now["kpi_id"])))
    return gate_flags(now, before, codes, catalogue, years=years, rules=RULES)


def steady(kpi: str, n: int, years=YEARS, gender="T") -> list[tuple]:
    return [(kpi, y, gender, n) for y in years]


def test_a_clean_load_against_the_same_publication_has_no_flags():
    now = coverage(steady("N15428", 290) + steady("U21468", 29))
    assert flags(now, now).empty


@pytest.mark.parametrize(("before", "after", "flagged"), [
    (290, 276, False),  # 14 of 290 lost = 4.8 %: revisions
    (290, 275, True),   # 15 of 290 = 5.2 % > 5 %
    (29, 28, False),    # 1 of 29 = 3.4 %
    (29, 27, True),     # 2 of 29 = 6.9 %
    (7, 6, True),       # 1 of 7 = 14 %
])
def test_kommuner_lost_against_the_previous_publication(before, after, flagged):
    old = coverage(steady("N15428", 290)[:-1] + [("N15428", 2022, "T", before)])
    new = coverage(steady("N15428", 290)[:-1] + [("N15428", 2022, "T", after)])
    got = flags(new, old)
    lost = got[got["rule_id"] == "completeness.lost_vs_published"]
    assert len(lost) == int(flagged)
    if flagged:
        row = lost.iloc[0]
        assert (row["kpi_id"], row["year"], row["gender"], row["severity"]) == ("N15428", 2022, "T", "error")
        assert row["observed_value"] == after and row["expected_value"] == before
        assert f"{after} kommuner have a value, the previous publication had {before}" in row["message"]


def test_a_figure_year_that_disappears_is_lost_with_no_kommuner():
    old = coverage(steady("N15428", 290) + steady("U21468", 290, gender="K"))
    new = coverage(steady("N15428", 290) + steady("U21468", 290, gender="K")[:2])  # 2021, 2022 gone
    got = flags(new, old)
    lost = got[got["rule_id"] == "completeness.lost_vs_published"]
    assert sorted(zip(lost["kpi_id"], lost["year"], lost["gender"])) == [("U21468", 2021, "K"), ("U21468", 2022, "K")]
    assert (lost["observed_value"] == 0).all()


def test_a_year_far_below_the_figures_other_years_is_short():
    # median of the other years = 289; the floor is 0.75 × 289 = 216.75
    base = [("N15428", 2019, "T", 288), ("N15428", 2020, "T", 289), ("N15428", 2021, "T", 290)]
    assert flags(coverage(base + [("N15428", 2022, "T", 217)])).empty
    got = flags(coverage(base + [("N15428", 2022, "T", 216)]))
    assert list(got["rule_id"]) == ["completeness.short_vs_other_years"]
    assert got.iloc[0]["year"] == 2022 and got.iloc[0]["expected_value"] == 289


def test_holes_are_errors_and_a_missing_latest_year_a_warning():
    now = coverage([("U21468", 2019, "T", 290), ("U21468", 2020, "T", 286), ("U21468", 2022, "T", 287),
                    ("N00914", 2019, "T", 290), ("N00914", 2020, "T", 290), ("N00914", 2021, "T", 290)])
    got = flags(now).set_index("rule_id")
    assert got.loc["completeness.figure_year_missing", ["kpi_id", "year", "severity"]].tolist() == ["U21468", 2021,
                                                                                                   "error"]
    assert got.loc["completeness.not_yet_published", ["kpi_id", "year", "severity"]].tolist() == ["N00914", 2022,
                                                                                                 "warning"]


def test_a_catalogue_figure_with_no_value_in_any_year_is_missing_unless_retired():
    now = coverage(steady("N15428", 290))
    catalogue = pd.concat([kpis("N15428"), kpis("U07451"), kpis("U07514", last=2019)], ignore_index=True)
    got = flags(now, catalogue=catalogue)
    assert list(zip(got["rule_id"], got["kpi_id"])) == [("completeness.figure_missing", "U07451")]
    assert pd.isna(got.iloc[0]["year"]) and "2019–2022" in got.iloc[0]["message"]
    # a figure with values only in years before the load is not missing (the year rules speak for it)
    older = coverage(steady("N15428", 290) + [("U07451", 2017, "T", 250)])
    got = flags(older, catalogue=catalogue[catalogue["kpi_id"] != "U07514"])
    assert list(zip(got["rule_id"], got["kpi_id"], got["year"])) == [("completeness.not_yet_published", "U07451", 2022)]


def test_unknown_codes_from_any_source_are_blocking_flags_for_the_load_years():
    codes = pd.DataFrame([("kolada", "municipality", "9999", 2022, 3, None),
                          ("inbox", "municipality", "0999", 2018, 1, "insikt/a.csv row 4"),
                          ("inbox", "municipality", "9998", 2022, 2, "insikt/b.csv row 7, insikt/b.csv row 9"),
                          ("kolada", "kpi", "N99999", 2021, 290, None)],
                         columns=["source", "code_kind", "code", "year", "value_count", "origin"])
    got = flags(coverage(steady("N15428", 290)), codes=codes)
    assert sorted(zip(got["source"], got["municipality_id"].fillna("-"), got["kpi_id"].fillna("-"))) == [
        ("inbox", "9998", "-"), ("kolada", "-", "N99999"), ("kolada", "9999", "-")]
    # an inbox file's code names the file and rows to correct
    assert "2 value(s) from inbox (insikt/b.csv row 7, insikt/b.csv row 9) for 2022 name the municipality code " \
           "'9998'" in " ".join(got["message"])
    assert set(got["rule_id"]) == {"integrity.unknown_code"} and set(got["severity"]) == {"error"}
    assert "3 value(s) from kolada for 2022 name the municipality code '9999'" in " ".join(got["message"])


def test_a_misspelt_gate_parameter_is_refused_naming_the_key(tmp_path):
    text = (load_gate_rules.__defaults__[0]).read_text(encoding="utf-8").replace("max_share_lost", "max_share_los")
    path = tmp_path / "publication_gate.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=r"publication_gate.yml.*max_share_los"):
        load_gate_rules(path)
    with pytest.raises(ValueError, match="less than 1"):
        GateRules.model_validate({**RULES.model_dump(), "lost_vs_published": {"max_share_lost": 1.5}})
