"""The whole yearly job materialised by Dagster into a temporary DuckDB, on the bundled snapshot."""

from __future__ import annotations

import json
import re

import duckdb
import pytest
from dagster import DagsterInstance, materialize

from pipelines.assets.agencies import raw_scb, raw_skolverket_school_results
from pipelines.assets.dbt import kkik_dbt_models
from pipelines.assets.inbox import raw_inbox
from pipelines.assets.kolada import raw_kolada
from pipelines.assets.quality import kkik_flag, published_mart, rule_group_checks
from pipelines.catalogue import kkik_kpi_ids
from pipelines.jobs import range_tags
from tests.job_resources import job_resources

pytestmark = pytest.mark.slow
YEARS = [2021, 2022]


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("job")
    resources = job_resources(tmp)
    result = materialize(
        [raw_kolada, raw_scb, raw_skolverket_school_results, raw_inbox, kkik_dbt_models, kkik_flag,
         published_mart, rule_group_checks],
        resources=resources,
        instance=DagsterInstance.ephemeral(),
        tags=range_tags(YEARS),
    )
    assert result.success
    return {"path": tmp / "warehouse.duckdb", "result": result}


@pytest.fixture(scope="module")
def warehouse(job):
    con = duckdb.connect(str(job["path"]), read_only=True)
    yield con, job["result"]
    con.close()


def test_every_dbt_check_passed_and_each_rule_group_is_a_check(warehouse):
    _, result = warehouse
    evaluations = result.get_asset_check_evaluations()
    dbt_checks = [e for e in evaluations if not e.check_name.startswith("watch_")]
    assert dbt_checks, "dbt tests should appear as asset checks"
    assert [e.check_name for e in dbt_checks if not e.passed] == []
    watch = {e.check_name: e for e in evaluations if e.check_name.startswith("watch_")}
    assert set(watch) == {"watch_range", "watch_gender", "watch_year_over_year", "watch_identical", "watch_outlier",
                          "watch_missing", "watch_integrity", "watch_definition", "watch_great_expectations",
                          "watch_completeness"}
    # the real snapshot's error flags are all accepted (expectations/accepted_flags.csv): no group has an
    # open error, but the watch does have warnings for reviewers, with the flags as metadata
    assert all(e.metadata["open_errors"].value == 0 for e in watch.values())
    assert watch["watch_year_over_year"].metadata["warnings"].value > 0


def test_the_dbt_step_ran_in_the_dbt_process_started_with_the_run(job):
    target = job["path"].parent / "dbt_target"
    status = json.loads((target / "dbt_worker.json").read_text(encoding="utf-8"))
    assert status["parse"] in ("reused", "full")  # parsed before the step, while the sources landed
    built = json.loads((target / "run_results.json").read_text(encoding="utf-8"))
    assert {r["status"] for r in built["results"]} <= {"success", "pass"}
    materialized = {m.asset_key for m in job["result"].get_asset_materialization_events()}
    assert set(kkik_dbt_models.keys) <= materialized  # every model and seed reached Dagster as an event


def test_the_audited_mart_was_published(warehouse):
    con, result = warehouse
    assert result.success
    for table in ("dim_kpi", "dim_municipality", "fct_kpi_value", "kkik_result", "kkik_flag"):
        audited = con.execute(f"select count(*) from kkik_audit.{table}").fetchall()
        assert con.execute(f"select count(*) from kkik.{table}").fetchall() == audited
    accepted = con.execute("select count(*) from kkik.kkik_flag_acceptance").fetchall()[0][0]
    # every error on a KKiK figure was accepted; errors on other figures (survey-fed Kolada ids outside the
    # catalogue) are listed but do not block (acceptance.blocking_mask)
    assert accepted == con.execute(
        "select count(*) from kkik.kkik_flag where severity = 'error' and coalesce(is_kkik, true)").fetchall()[0][0] > 0


def test_result_covers_kommuner_key_figures_years_and_genders(warehouse):
    con, _ = warehouse
    kommuner, kpis, years = con.execute(
        "select count(distinct municipality_id), count(distinct kpi_id), list(distinct year order by year) "
        "from kkik.kkik_result"
    ).fetchall()[0]
    assert kommuner == 290
    # every catalogue figure but Servicemätningen's two telephone indices, for which the snapshot has
    # no published per-kommun values (snapshot/inbox/README.md), and U07453 (Insikt's new definition), whose
    # first KKiK year 2026 lies after the loaded years
    assert kpis == len(set(kkik_kpi_ids()) - {"N00671", "N00672", "U07453"}) == 29
    assert years == YEARS
    # figures that Kolada divides by gender have K and M rows too
    genders = dict(con.execute(
        "select k.kpi_id, list(distinct r.gender order by r.gender) from kkik.kkik_result r "
        "join kkik.dim_kpi k using (kpi_id) where k.is_divided_by_gender group by k.kpi_id"
    ).fetchall())
    assert genders and all(g == ["K", "M", "T"] for g in genders.values())
    # Riket and regions are never ranked
    assert con.execute("select count(*) from kkik.kkik_result where municipality_id = '0000' "
                       "or municipality_id like '00%'").fetchall() == [(0,)]


def test_about_a_quarter_green_and_a_quarter_red(warehouse):
    con, _ = warehouse
    shares = con.execute(
        """select kpi_id, year, gender, count(*) filter (where colour = 'green') / count(*) as green,
                  count(*) filter (where colour = 'red') / count(*) as red, count(*) as n
           from kkik.kkik_result where colour in ('green', 'yellow', 'red') group by all"""
    ).fetchall()
    assert len(shares) > 40
    for kpi_id, year, gender, green, red, n in shares:
        # exactly a quarter up to ties at the boundary, which take the better colour
        assert 0.25 - 1 / n <= green <= 0.45, (kpi_id, year, gender, green)
        assert 0.12 <= red <= 0.25 + 1 / n, (kpi_id, year, gender, red)
    mean_green = sum(s[3] for s in shares) / len(shares)
    mean_red = sum(s[4] for s in shares) / len(shares)
    assert 0.24 <= mean_green <= 0.30 and 0.20 <= mean_red <= 0.26


def test_values_trace_to_the_load_and_synthetic_values_are_marked(warehouse):
    con, _ = warehouse
    load_ids = con.execute("select list(distinct load_id) from kkik.fct_kpi_value where source = 'kolada'").fetchall()
    assert len(load_ids[0][0]) == 1
    real, synthetic = con.execute(
        "select count(*) filter (where not is_synthetic), count(*) filter (where is_synthetic) from kkik.fct_kpi_value"
    ).fetchall()[0]
    assert real > 0 and synthetic > 0
    # N15428 is real Kolada data: Stockholm 2022, T, as in the Kolada snapshot (values.parquet)
    assert con.execute("select is_synthetic from kkik.fct_kpi_value where kpi_id = 'N15428' "
                       "and municipality_id = '0180' and year = 2022 and gender = 'T'").fetchall() == [(False,)]


def test_population_from_scb_is_joined_to_municipalities(warehouse):
    con, _ = warehouse
    # SCB BE0101N1 as re-published by Kolada (N01951): Stockholm 2022 = 984,748 (K 496,463, M 488,285)
    assert con.execute("select gender, population from kkik.fct_population where municipality_id = '0180' "
                       "and year = 2022 order by gender").fetchall() == [("K", 496463.0), ("M", 488285.0),
                                                                        ("T", 984748.0)]
    assert con.execute("select population, population_year from kkik.dim_municipality "
                       "where municipality_id = '0180'").fetchall() == [(984748.0, 2022)]
    # T = K + M everywhere, and Riket is kept apart as 0000
    assert con.execute("""select count(*) from (select municipality_id, year, sum(population) filter (where gender <> 'T')
                          - sum(population) filter (where gender = 'T') as gap from kkik.fct_population group by all)
                          where gap <> 0""").fetchall() == [(0,)]
    assert con.execute("select count(*) from kkik.fct_population where municipality_id = '0000'").fetchall()[0][0] > 0


def test_kolada_lined_up_against_skolverket(warehouse):
    con, _ = warehouse
    rows = con.execute("select year, count(*), count(agency_value), count(*) filter (where agrees) "
                       "from kkik.kkik_source_comparison where kpi_id = 'N15428' group by year order by year").fetchall()
    assert [r[0] for r in rows] == YEARS and all(r[1] == 290 for r in rows)
    # hemkommun (Kolada) and lägeskommun (Skolverket) count different pupils: most kommuner differ
    assert all(r[3] < 0.5 * r[2] for r in rows)


def test_kolada_lined_up_against_scb_agrees_where_the_figure_is_the_same(warehouse):
    con, _ = warehouse
    # N00914 is SCB's employment share as Kolada re-publishes it (the series ends in 2021)
    assert con.execute("select year, count(*), count(*) filter (where agrees), bool_and(is_same_population) "
                       "from kkik.kkik_source_comparison where kpi_id = 'N00914' group by year").fetchall() == \
        [(2021, 870, 870, True)]


def test_inbox_files_feed_the_mart_where_kolada_has_no_value(warehouse):
    con, _ = warehouse
    sources = dict(con.execute("select source, count(distinct kpi_id) from kkik.fct_kpi_value group by source").fetchall())
    # 24 figures served in full, and Kolada's own Riket of the e-mail indices N00673/N00674 (snapshot: riket_only)
    assert sources["kolada"] == 26
    assert con.execute("select list(distinct municipality_id) from kkik.fct_kpi_value "
                       "where kpi_id = 'N00673' and source = 'kolada'").fetchall() == [(["0000"],)]
    assert con.execute("select riket_value from kkik.kkik_result where kpi_id = 'N00673' and year = 2022 "
                       "and municipality_id = '1441' and gender = 'T'").fetchall() == [(81.60861939,)]
    # U11401 (own reporting, a made-up sample file) and Servicemätningen's e-mail indices come from the inbox
    assert con.execute("select source, bool_and(is_synthetic) from kkik.fct_kpi_value where kpi_id = 'U11401' "
                       "group by source").fetchall() == [("egen_rapportering", True)]
    assert sources["servicematningen"] == 2
    # U31402 is in Kolada and in the own-reporting file: Kolada's value is kept, once
    assert con.execute("select list(distinct source) from kkik.fct_kpi_value where kpi_id = 'U31402'").fetchall() == \
        [(["kolada"],)]


def test_an_open_error_blocks_publication_until_a_reviewer_accepts_it(job, tmp_path):
    """Plant a 0–1 share in a 0–100 figure in a copy of the audited mart: the audit flags it, publication
    is refused and kkik stays as it was; after an acceptance with a reason it is published and recorded."""
    import shutil

    from pipelines.quality.acceptance import ACCEPTED_FLAGS_PATH
    from pipelines.quality.audit import audit_mart
    from pipelines.quality.publish import PublicationBlocked, publish_mart

    path = tmp_path / "copy.duckdb"
    shutil.copy(job["path"], path)
    with duckdb.connect(str(path)) as con:
        con.execute("update kkik_audit.fct_kpi_value set value = 150 where kpi_id = 'N15428' "
                    "and municipality_id = '0180' and year = 2022 and gender = 'T'")
    accepted = tmp_path / "accepted_flags.csv"
    shutil.copy(ACCEPTED_FLAGS_PATH, accepted)
    summary, flags = audit_mart(path, years=YEARS, load_id="test-1", quality_dir=tmp_path / "q",
                                accepted_flags_path=accepted)
    planted = flags[(flags["municipality_id"] == "0180") & (flags["kpi_id"] == "N15428") & (flags["year"] == 2022)
                    & (flags["gender"] == "T") & (flags["severity"] == "error")]
    assert "range.share_bounds" in set(planted["rule_id"])
    assert summary.open_errors == len(planted) > 0
    with pytest.raises(PublicationBlocked, match="open error flag"):
        publish_mart(path, load_id="test-1")
    with duckdb.connect(str(path), read_only=True) as con:  # the published value is still the real one
        assert con.execute("select value from kkik.fct_kpi_value where kpi_id = 'N15428' and municipality_id = '0180' "
                           "and year = 2022 and gender = 'T'").fetchall()[0][0] < 100

    with open(accepted, "a", encoding="utf-8") as handle:
        handle.writelines(f"{rule_id},N15428,0180,2022,T,Test Reviewer,confirmed with the kommun (test),2026-11-23\n" for rule_id in planted["rule_id"])
    summary, _ = audit_mart(path, years=YEARS, load_id="test-2", quality_dir=tmp_path / "q",
                            accepted_flags_path=accepted)
    assert summary.open_errors == 0
    publish_mart(path, load_id="test-2")
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("select value from kkik.fct_kpi_value where kpi_id = 'N15428' and municipality_id = '0180' "
                           "and year = 2022 and gender = 'T'").fetchall() == [(150.0,)]
        assert con.execute("select accepted_by, acceptance_reason from kkik.kkik_flag_acceptance where load_id = 'test-2' "
                           "and municipality_id = '0180' and kpi_id = 'N15428'").fetchall()[0] == \
            ("Test Reviewer", "confirmed with the kommun (test)")
    # GX validation results are kept per load
    assert (tmp_path / "q" / "test-2" / "gx" / "fct_kpi_value.json").exists()


def test_a_run_of_more_years_than_a_load_checks_its_newest_with_the_rest_as_history(job, tmp_path, monkeypatch):
    """A backfill's audit: the rules check the newest LOAD_YEARS of the run (here 1 of 2021–2022, as 5 of a
    backfill's 1994–2022), the earlier years are history; the run's old flags are replaced for every year."""
    import shutil

    from pipelines.quality import audit

    path = tmp_path / "copy.duckdb"
    shutil.copy(job["path"], path)
    with duckdb.connect(str(path)) as con:  # a 0-1 share planted in both years
        con.execute("update kkik_audit.fct_kpi_value set value = 150 where kpi_id = 'N15428' "
                    "and municipality_id = '0180' and year in (2021, 2022) and gender = 'T'")
    summary, flags = audit.audit_mart(path, years=YEARS, load_id="all-years", quality_dir=tmp_path / "q")
    planted = flags[(flags["municipality_id"] == "0180") & (flags["rule_id"] == "range.share_bounds")]
    assert sorted(planted["year"]) == [2021, 2022] and summary.watched_years == YEARS
    monkeypatch.setattr(audit, "LOAD_YEARS", 1)
    summary, flags = audit.audit_mart(path, years=YEARS, load_id="newest-year", quality_dir=tmp_path / "q")
    assert summary.years == YEARS and summary.watched_years == [2022]
    rule_flags = flags[flags["source"] != "great_expectations"].dropna(subset=["municipality_id"])
    assert set(rule_flags["year"]) == {2022}
    planted = flags[(flags["municipality_id"] == "0180") & (flags["rule_id"] == "range.share_bounds")]
    assert planted["year"].tolist() == [2022]
    with duckdb.connect(str(path), read_only=True) as con:  # 2021's flags of the first audit are gone
        assert con.execute("select count(*) from kkik_audit.kkik_flag where load_id = 'all-years'").fetchall() == [(0,)]


def test_watch_report_for_a_year(job, tmp_path, monkeypatch):
    import shutil

    from pipelines import watch_commands

    path = tmp_path / "copy.duckdb"  # the module's read-only connection holds the original open
    shutil.copy(job["path"], path)
    monkeypatch.setenv("KKIK_DUCKDB_PATH", str(path))
    monkeypatch.setenv("KKIK_QUALITY_DIR", str(tmp_path / "quality"))
    code = watch_commands.watch_mart(2022, tmp_path / "reports")
    assert code == 0  # the snapshot's real error flags are accepted
    html = (tmp_path / "reports" / "kkik_watch_2022.html").read_text(encoding="utf-8")
    csv_text = (tmp_path / "reports" / "kkik_watch_2022.csv").read_text(encoding="utf-8-sig")
    assert "<svg" in html and "Vänersborg" in html
    assert csv_text.splitlines()[0].count("rule_id") == 1 and len(csv_text.splitlines()) > 100
    # the audit read 2022 only; the charts still draw 2021 (read for the charted figures) and a peer line
    # (watch_similar_peer's pairs of the figure's area group)
    assert re.search(r"History of \w+ in \d{4} \([TKM]\): 2021–2022: ", html)
    assert html.count('<path class="peer"') > 10
