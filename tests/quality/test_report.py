"""The reviewers' report: the ranked CSV and the self-contained HTML page."""

import re

import numpy as np
import pandas as pd

from pipelines.quality.report import write_report

YEARS = [2018, 2019, 2020, 2021, 2022]
IDS = ["0114", "0115", "0117"]


def _kpis() -> pd.DataFrame:
    return pd.DataFrame(
        [("N1", "Andel elever med behörighet, %", "percent", "higher"),
         ("N2", "Väntetid till särskilt boende, dagar", "days", "lower")],
        columns=["kpi_id", "title", "unit", "direction"],
    )


def _municipalities() -> pd.DataFrame:
    return pd.DataFrame(
        [("0000", "Riket", False), ("0114", "Upplands Väsby", True), ("0115", "Vallentuna", True),
         ("0117", "Österåker", True)],
        columns=["municipality_id", "name", "is_kommun"],
    )


def _values() -> pd.DataFrame:
    rows = []
    for i, mid in enumerate(IDS):
        for year in YEARS:
            rows.append(("N1", mid, year, "T", 70.0 + 3 * i + 0.5 * (year - 2018)))
            rows.append(("N2", mid, year, "T", 40.0 + 5 * i - (year - 2018)))
    values = pd.DataFrame(rows, columns=["kpi_id", "municipality_id", "year", "gender", "value"])
    slip = (values.kpi_id == "N1") & (values.municipality_id == "0115") & (values.year == 2022)
    values.loc[slip, "value"] = 730.0  # a ×10 slip
    return values


def _peers() -> pd.DataFrame:
    """watch_similar_peer's rows: every kommun's overall group (the figures here name no area) in 2022."""
    return pd.DataFrame([("övergripande", 2022, a, b) for a in IDS for b in IDS if a != b],
                        columns=["similar_group_kind", "year", "municipality_id", "peer_id"])


def _flags() -> pd.DataFrame:
    """Three flags, deliberately not in rank order: a warning, a KPI-wide flag, an accepted error."""
    columns = ["kpi_id", "municipality_id", "year", "gender", "rule_id", "severity", "observed_value",
               "expected_low", "expected_high", "expected_value", "message", "source", "contact",
               "impact_score",
               "would_change_colour", "accepted", "accepted_by", "acceptance_reason"]
    rows = [
        ("N2", "0117", 2022, "T", "year_over_year.hb", "warning", 46.0, 30.0, 45.0, np.nan,
         "N2 for 0117 Österåker rose more than expected", "egen undersökning", "kommunen 0117 Österåker",
         3.2, False, False, None, None),
        ("N1", "0115", 2022, "T", "range.share_bounds", "error", 730.0, 0.0, 100.0, 75.0,
         "Share <b>730 %</b> is outside 0–100 % (×10 slip?)", "SCB (read from source)", "RKA / SCB",
         15.9, True, True, "Anna Andersson", "Checked with SCB: the source is right"),
        ("N1", None, None, None, "definition.changed_title", "error", np.nan, np.nan, np.nan, np.nan,
         "N1 changed its title between loads", "Kolada", "RKA", 6.0, False, False, None, None),
    ]
    return pd.DataFrame(rows, columns=columns)


def _write(tmp_path, flags, **kwargs):
    return write_report(flags, _values(), _kpis(), _municipalities(), csv_path=tmp_path / "out" / "flags.csv",
                        html_path=tmp_path / "out" / "report.html", peers=_peers(), **kwargs)


def test_csv_is_ranked_with_names(tmp_path):
    summary = _write(tmp_path, _flags())
    raw = (tmp_path / "out" / "flags.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens it as UTF-8
    csv = pd.read_csv(tmp_path / "out" / "flags.csv", encoding="utf-8-sig", dtype={"municipality_id": str})
    required = ["kpi_id", "municipality_id", "year", "gender", "rule_id", "severity", "message", "kpi_title",
                "municipality_name", "impact_score", "contact", "accepted_by", "acceptance_reason"]
    assert set(required) <= set(csv.columns)
    assert csv["flag_rank"].tolist() == [1, 2, 3]
    assert csv["rule_id"].tolist() == ["range.share_bounds", "definition.changed_title", "year_over_year.hb"]
    assert csv["impact_score"].is_monotonic_decreasing
    assert csv["municipality_name"].tolist()[0] == "Vallentuna"
    assert csv["municipality_name"].tolist()[2] == "Österåker"
    assert pd.isna(csv["municipality_id"][1]) and pd.isna(csv["municipality_name"][1])
    assert csv["kpi_title"].tolist()[:2] == ["Andel elever med behörighet, %"] * 2
    assert csv["year"].tolist()[0] == 2022 and "2022.0" not in raw.decode("utf-8-sig")
    assert summary["csv"] == str(tmp_path / "out" / "flags.csv")


def test_summary_counts(tmp_path):
    summary = _write(tmp_path, _flags())
    assert summary["flags"] == 3
    assert summary["errors"] == 2 and summary["warnings"] == 1
    assert summary["open_errors"] == 1 and summary["accepted_errors"] == 1
    assert summary["by_severity"] == {"error": 2, "warning": 1}
    assert summary["by_rule"] == {"range.share_bounds": 1, "definition.changed_title": 1,
                                  "year_over_year.hb": 1}
    assert summary["html"] == str(tmp_path / "out" / "report.html")


def test_html_is_escaped_self_contained_and_charted(tmp_path):
    _write(tmp_path, _flags())
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    # messages, escaped
    assert "Share &lt;b&gt;730 %&lt;/b&gt; is outside 0–100 %" in page
    assert "<b>730" not in page
    assert "N1 changed its title between loads" in page and "rose more than expected" in page
    # no external resources
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert "http://" not in page and "https://" not in page and "@import" not in page
    # a chart of the flagged series, with the kommun's history in its tooltip
    assert page.count("<svg") >= 2
    chart = re.search(r'<tr id="f1".*?</tr>', page, re.DOTALL).group(0)
    assert '<svg class="hist"' in chart
    assert "History of N1 in 0115 (T): 2018–2022: 73, 73.5, 74, 74.5, 730" in chart
    assert 'class="peer"' in chart and 'class="nat"' in chart and 'class="obs"' in chart
    # the KPI-wide flag has no chart
    assert "<svg" not in re.search(r'<tr id="f2".*?</tr>', page, re.DOTALL).group(0)
    # summary, acceptance, views, names
    assert "1 open error blocks publication" in page
    assert "Anna Andersson" in page and "Checked with SCB: the source is right" in page
    assert 'id="per-kommun"' in page and 'id="per-nyckeltal"' in page
    assert 'id="m-0115"' in page and 'id="k-N1"' in page and "Österåker" in page
    assert "(no kommun: KPI-wide or file-wide flags)" in page


def test_cap_on_flags_in_html(tmp_path):
    summary = _write(tmp_path, _flags(), max_flags_in_html=2)
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert summary["flags"] == 3
    assert 'id="f2"' in page and 'id="f3"' not in page
    assert "top 2 of 3 flags" in page and "1 lower-ranked flag is left out" in page
    assert len(pd.read_csv(tmp_path / "out" / "flags.csv", encoding="utf-8-sig")) == 3


def test_empty_flags_give_a_page_with_nothing_to_review(tmp_path):
    empty = _flags().iloc[0:0]
    summary = _write(tmp_path, empty)
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert summary["flags"] == summary["errors"] == summary["open_errors"] == 0
    assert summary["by_rule"] == {}
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "nothing to review" in page.lower()
    assert len(pd.read_csv(tmp_path / "out" / "flags.csv", encoding="utf-8-sig")) == 0


def test_paths_may_be_none(tmp_path):
    summary = write_report(_flags(), _values(), _kpis(), _municipalities(), csv_path=None, html_path=None)
    assert summary["csv"] is None and summary["html"] is None and summary["flags"] == 3
    assert not list(tmp_path.iterdir())


def _chart(page: str, rank: int) -> str:
    return re.search(rf'<tr id="f{rank}".*?</tr>', page, re.DOTALL).group(0)


def test_no_peer_line_without_the_pairs_of_the_figures_group_and_year(tmp_path):
    """municipalities.similar_group is no longer paired up in Python, and pairs of another kind of group or
    of another year than the flagged one draw no peer line."""
    municipalities = _municipalities().assign(similar_group=[None, "g", "g", "g"])
    other = {"kind": _peers().assign(similar_group_kind="grundskola"), "year": _peers().assign(year=2021)}
    for name, peers in [("none", None), *other.items()]:
        write_report(_flags(), _values(), _kpis(), municipalities, csv_path=None, html_path=tmp_path / f"{name}.html",
                     peers=peers)
        page = (tmp_path / f"{name}.html").read_text(encoding="utf-8")
        assert 'class="nat"' in _chart(page, 1) and 'class="peer"' not in _chart(page, 1), name
        assert "no line without one" in page  # the legend says why a chart may lack it
    _write(tmp_path, _flags())
    assert 'class="peer"' in _chart((tmp_path / "out" / "report.html").read_text(encoding="utf-8"), 1)


def test_the_peer_median_follows_the_figures_area_group(real_values):
    """Real N15428 values (a grundskola figure) and the bundled Kolada groups: Stockholm's grundskola group
    shares few members with its övergripande one, and the chart's peer line is the grundskola group's median
    in every year drawn (the pairs of watch_similar_peer as `kkik watch --values` gets them)."""
    from pipelines.quality.bundled import bundled_kpis, bundled_municipalities, bundled_similar_groups
    from pipelines.quality.report import histories
    from pipelines.quality.values_file import watch_values_with_tables

    values, _ = real_values
    kpis = bundled_kpis()
    assert kpis.set_index("kpi_id").loc["N15428", "similar_group_kind"] == "grundskola"
    _, tables = watch_values_with_tables(values, years=[2022])
    groups = bundled_similar_groups()
    own = groups[groups["owner_id"] == "0180"]

    def members(kind: str) -> set[str]:
        return set(own.loc[own["similar_group_kind"] == kind, "municipality_id"]) - {"0180"}

    area, overall = members("grundskola"), members("övergripande")
    assert area and overall and area != overall
    flag = {"kpi_id": "N15428", "municipality_id": "0180", "year": 2022, "gender": "T"}
    series = histories(values, kpis, bundled_municipalities(), tables.peers, [flag])[("N15428", "0180", "T", 2022)]
    totals = values[values["gender"] == "T"]

    def median(ids: set[str]) -> pd.Series:
        return totals[totals["municipality_id"].isin(ids)].groupby("year")["value"].median()

    years, peer = series["peer"]
    assert years.tolist() == [2018, 2019, 2020, 2021, 2022]
    assert np.allclose(peer, median(area).loc[years].to_numpy())
    assert not np.allclose(peer, median(overall).loc[years].to_numpy())


def test_review_list_has_one_row_per_cell_with_every_rule(tmp_path):
    from pipelines.quality.report import prepare_flags, review_by_cell

    second = _flags().iloc[[1]].assign(rule_id="outlier.national", severity="warning", impact_score=4.0,
                                       accepted=False, message="730 % lies far from all kommuner")
    flags = pd.concat([_flags(), second], ignore_index=True).assign(is_synthetic=[False, True, False, False])
    review = review_by_cell(prepare_flags(flags, _kpis(), _municipalities()))
    assert len(review) == 3  # the two flags on N1 0115 2022 T are one row
    cell = review[review["municipality_id"] == "0115"].iloc[0]
    assert cell["rule_id"] == "range.share_bounds; outlier.national" and cell["n_flags"] == 2
    assert "730 % lies far" in cell["message"] and cell["severity"] == "error"
    # its error is accepted; the warning beside it needs no acceptance: the cell is not open
    assert cell["accepted"] and cell["accepted_by"] == "Anna Andersson"
    assert cell["is_synthetic"]
    open_error = second.assign(rule_id="range.magnitude_slip", severity="error", impact_score=14.0)
    still_open = review_by_cell(prepare_flags(pd.concat([_flags(), open_error], ignore_index=True),
                                              _kpis(), _municipalities()))
    cell = still_open[still_open["municipality_id"] == "0115"].iloc[0]
    assert not cell["accepted"] and cell["accepted_by"] is None  # a second error on it is not accepted
    summary = _write(tmp_path, flags)
    csv = pd.read_csv(summary["csv"], encoding="utf-8-sig", dtype=str)
    assert summary["cells"] == 3 and summary["flags"] == 4
    assert {"is_synthetic", "cell_rules"} <= set(csv.columns)
    assert set(csv.loc[csv["municipality_id"] == "0115", "cell_rules"]) == {"range.share_bounds; outlier.national"}
    # the CSV's cell_rank is the row (#) of the flag's cell in the HTML review list
    assert csv.groupby("cell_rank")["municipality_id"].nunique(dropna=False).eq(1).all()
    assert sorted(csv["cell_rank"].astype(int).unique()) == [1, 2, 3]
    assert csv.loc[csv["municipality_id"] == "0115", "cell_rank"].astype(int).tolist() == \
        [int(review.loc[review["municipality_id"] == "0115", "flag_rank"].iloc[0])] * 2
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert ">synthetic</span>" in page  # the badge, in each view that lists the cell


def test_review_row_names_its_cell_once_in_the_messages():
    from pipelines.quality.report import prepare_flags, review_by_cell

    first = _flags().iloc[[1]].assign(message="N1 0115 Vallentuna 2022 (total): the share is 730 %")
    second = first.assign(rule_id="outlier.national", severity="warning", impact_score=4.0, accepted=False,
                          message="N1 0115 Vallentuna 2022 (total): 730 % lies far from all kommuner")
    other = first.assign(rule_id="identical.unchanged", severity="warning", impact_score=1.0, accepted=False,
                         message="The figure repeats: 730 % as last year")
    review = review_by_cell(prepare_flags(pd.concat([first, second, other], ignore_index=True), _kpis(),
                                          _municipalities()))
    assert review["message"].tolist() == [("N1 0115 Vallentuna 2022 (total): the share is 730 % | 730 % lies far "
                                           "from all kommuner | The figure repeats: 730 % as last year")]


def test_a_file_wide_flag_names_no_figure_and_no_kommun(tmp_path):
    """A KPI-wide flag is about all kommuner ("all" in the kommun column); an inbox file's quarantined rows are
    about neither a figure nor a kommun: a dash in both, not "all"."""
    file_wide = _flags().iloc[[2]].assign(kpi_id=None, rule_id="integrity.quarantined_rows", severity="warning",
                                          year=2022, message="insikt/a.csv: 2 rows of 2022 not loaded", source="inbox")
    _write(tmp_path, pd.concat([_flags().iloc[[2]], file_wide], ignore_index=True))
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    rows = re.findall(r"<tr[^>]*>.*?</tr>", page, flags=re.DOTALL)
    kpi_wide = next(r for r in rows if "definition.changed_title" in r and "badge" in r)  # the review list's
    file_row = next(r for r in rows if "integrity.quarantined_rows" in r and "badge" in r)
    assert '<span class="muted">all</span>' in kpi_wide
    assert "all</span>" not in file_row and file_row.count('title="a flag of a file, not of a figure or kommun"') == 2
