"""Inbox rows that were not loaded (text where a number belongs, a value out of range) are flags in the watch,
not only a count in the load's line: kkik_inbox_quarantine lists them per file × year × reason, and the
publication gate turns each into an ``integrity.quarantined_rows`` warning; a corrected file under the same
name clears them, and unknown municipality codes stay with kkik_unknown_code (an error of their own).

One real Insikt excerpt (tests/fixtures/surveys/good/insikt, Kolada's 2022 values), broken in the test:
Stockholm's total NKI written as text, two of Upplands Väsby's NKI values above 100, and one of Stockholm's
codes mistyped (an unknown code, not this table's business)."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from pipelines.inbox import land_inbox
from pipelines.landing.schema import ensure_raw_tables
from pipelines.quality.completeness import gate_flags, load_gate_rules
from pipelines.quality.flags import W_GREY
from pipelines.quality.report import prepare_flags, review_by_cell
from tests.inbox.conftest import FIXTURES

pytestmark = pytest.mark.slow
EXCERPT = FIXTURES / "good" / "insikt" / "insikt_2022_excerpt_windows1252.csv"
NAME = "insikt/Insikt_NKI_2022.csv"


def _broken(text: str) -> str:
    return (text.replace("0180;Stockholm;2022;Totalt;75,50292909;", "0180;Stockholm;2022;Totalt;ej redovisat;")
            .replace("Brandskydd;83,7773446;", "Brandskydd;837,773446;")
            .replace("Livsmedelskontroll;87,41213554;", "Livsmedelskontroll;874,1213554;")
            .replace("0180;Stockholm;2022;Bygglov;", "9180;Stockholm;2022;Bygglov;"))


@pytest.fixture(scope="module")
def world(tmp_path_factory, municipality_ids):
    from tests.dbt_runner import run_dbt

    tmp = tmp_path_factory.mktemp("quarantine_flags")
    db, inbox = tmp / "warehouse.duckdb", tmp / "inbox"
    with duckdb.connect(str(db)) as con:
        ensure_raw_tables(con)
    result = run_dbt(db, "build", "--select", "+kkik_inbox_quarantine", "+int_survey_kpi_values", target_path=tmp / "target")
    assert result.returncode == 0, result.stdout[-3000:]
    compiled = next((tmp / "target" / "compiled").rglob("kkik_inbox_quarantine.sql")).read_text(encoding="utf-8")

    def drop_and_land(text: str, load_id: str):
        (inbox / "insikt").mkdir(parents=True, exist_ok=True)
        (inbox / NAME).write_bytes(text.encode("cp1252"))
        return land_inbox(inbox, db, municipality_ids=municipality_ids, load_id=load_id)

    def quarantined() -> pd.DataFrame:
        with duckdb.connect(str(db), read_only=True) as con:
            return con.execute(f"select * from ({compiled}) order by reason_code").df()

    return {"land": drop_and_land, "quarantined": quarantined}


def _gate(quarantined: pd.DataFrame, years=(2021, 2022)) -> pd.DataFrame:
    empty = pd.DataFrame(columns=["kpi_id", "year", "gender", "kommuner_with_value"])
    codes = pd.DataFrame(columns=["source", "code_kind", "code", "year", "value_count", "origin"])
    kpis = pd.DataFrame(columns=["kpi_id", "first_kkik_year", "last_kkik_year", "kkik_year_offset"])
    return gate_flags(empty, None, codes, kpis, years=list(years), rules=load_gate_rules(), quarantined=quarantined)


def test_quarantined_rows_are_warnings_naming_the_file_rows_and_reason(world):
    outcome = world["land"](_broken(EXCERPT.read_bytes().decode("cp1252")), "v1")
    assert [f.status for f in outcome.files] == ["accepted"]
    rows = world["quarantined"]()
    # the unknown code (9180) is kkik_unknown_code's; the file's other rows landed
    assert rows[["file_name", "year", "reason_code", "row_count", "first_rows"]].values.tolist() == [
        [NAME, 2022, "not_a_number", 1, "11"], [NAME, 2022, "out_of_range", 2, "7, 9"]]
    flags = _gate(rows)
    assert flags["rule_id"].unique().tolist() == ["integrity.quarantined_rows"]
    assert flags["severity"].unique().tolist() == ["warning"]  # publication_gate.yml: the rest of the file landed
    assert flags["observed_value"].tolist() == [1.0, 2.0] and flags["source"].unique().tolist() == ["inbox"]
    out_of_range = flags["message"].iloc[1]
    assert out_of_range.startswith(f"{NAME}: 2 rows of 2022 not loaded (out_of_range; rows 7, 9; the first: row 7, "
                                   "column 'NKI': 837.773 is outside 0–100). They are not in the mart.")
    assert flags["message"].iloc[0].startswith(f"{NAME}: 1 row of 2022 not loaded (not_a_number: row 11, column "
                                               "'NKI': 'ej redovisat' is not a number). They are not in the mart.")
    # the rows' cells are empty or keep another source's value: a value gone grey, not a figure's colours moved
    assert not flags["would_change_colour"].any() and flags["impact_score"].eq(W_GREY).all()
    assert _gate(rows, years=[2020]).empty  # another year's load does not repeat them
    # the review list: a row per file's reason, not one "cell" of 2022 for every flag without figure and kommun
    empty = pd.DataFrame(columns=["kpi_id", "title", "unit"])
    kommuner = pd.DataFrame(columns=["municipality_id", "municipality_name"])
    review = review_by_cell(prepare_flags(flags.assign(accepted=False), empty, kommuner))
    assert len(review) == 2 and review["n_flags"].tolist() == [1, 1]


def test_a_corrected_file_under_the_same_name_clears_them(world):
    world["land"](EXCERPT.read_bytes().decode("cp1252"), "v2")
    assert world["quarantined"]().empty
    assert _gate(world["quarantined"]()).empty


def test_the_load_summary_counts_the_quarantined_rows_of_current_versions(tmp_path):
    """Every quarantined row stays in raw (replaced versions too); the summary counts what still counts."""
    from pipelines.summary import quarantine_lines

    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("create schema raw; create schema kkik_audit")
        con.execute("create table raw.kolada__data_quarantine as select 1 as x where false")
        con.execute("create table raw.inbox_quarantine as select * from range(7)")  # 7 rows ever
        con.execute("create table kkik_audit.kkik_inbox_quarantine as select 2 as row_count")
        con.execute("create table kkik_audit.kkik_unknown_code as select * from (values ('inbox', 1), ('kolada', 4)) "
                    "t(source, value_count)")
        assert quarantine_lines(con) == [("quarantined: 0 Kolada records, 3 inbox rows of current file versions "
                                         "(7 ever) (raw.kolada__data_quarantine, raw.inbox_quarantine)")]
