"""The whole job, twice: a clean load publishes; a load whose Kolada answers lack a figure and carry an unknown
municipality code, and whose inbox has a row with an unknown code, is audited, blocked by the publication gate,
and leaves the published mart as it was."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance, materialize

from pipelines.assets.agencies import raw_scb, raw_skolverket_school_results
from pipelines.assets.dbt import kkik_dbt_models
from pipelines.assets.inbox import raw_inbox
from pipelines.assets.kolada import raw_kolada
from pipelines.assets.quality import kkik_flag, published_mart, rule_group_checks
from pipelines.config import SNAPSHOT_DIR
from pipelines.jobs import range_tags
from pipelines.snapshot.kolada_app import KoladaApp
from pipelines.snapshot.server import SnapshotServer
from tests.job_resources import job_resources

pytestmark = pytest.mark.slow
BAD_INBOX_FILE = (Path(__file__).parents[1] / "fixtures" / "surveys" / "bad" / "brukarundersokning_ifo"
                  / "ifo_unknown_municipality_code.xlsx")
YEARS = [2021, 2022]
DROPPED_KPI = "N15428"  # a real Kolada figure with values for all kommuner in both years
ASSETS = [raw_kolada, raw_scb, raw_skolverket_school_results, raw_inbox, kkik_dbt_models, kkik_flag, published_mart,
          rule_group_checks]


class ShrunkenKolada(KoladaApp):
    """The bundled snapshot, except that one figure's values never come and one record names kommun 9999.

    Counts and pages stay consistent (the server simply has less), as when Kolada itself answers an empty
    segment: the client has nothing to refuse, only the gate can see that the mart shrank."""

    def data_records(self, kpis, municipalities, years):
        records = [r for r in super().data_records(kpis, municipalities, years) if r["kpi"] != DROPPED_KPI]
        if records:
            first = dict(records[0])
            records.append({**first, "municipality": "9999"})
        return records


def run(tmp, kolada_url: str, *, raise_on_error: bool = True):
    resources = job_resources(tmp, kolada_url=kolada_url)
    return materialize(ASSETS, resources=resources, instance=DagsterInstance.ephemeral(), tags=range_tags(YEARS),
                       raise_on_error=raise_on_error)


def published(path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {table: con.execute(f"select count(*) from kkik.{table}").fetchall()[0][0]
                for table in ("fct_kpi_value", "kkik_result", "kkik_coverage")}
    finally:
        con.close()


@pytest.fixture(scope="module")
def two_loads(tmp_path_factory):
    """A clean load, then one whose Kolada lacks a figure and has kommun 9999, and whose inbox gets a file with
    an unknown kommun code (a real IFO row with its code changed to 9999)."""
    tmp = tmp_path_factory.mktemp("gate")
    inbox = tmp / "inbox"
    shutil.copytree(SNAPSHOT_DIR / "inbox", inbox)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KKIK_INBOX_DIR", str(inbox))
        assert run(tmp, "snapshot").success
        before = published(tmp / "warehouse.duckdb")
        shutil.copy(BAD_INBOX_FILE, inbox / "brukarundersokning_ifo")
        with SnapshotServer([ShrunkenKolada()]) as server:
            blocked = run(tmp, server.source_url("kolada"), raise_on_error=False)
    return tmp / "warehouse.duckdb", before, blocked


def test_the_shrunken_load_is_not_published(two_loads):
    path, before, blocked = two_loads
    assert not blocked.success
    assert published(path) == before
    con = duckdb.connect(str(path), read_only=True)
    try:
        in_published = con.execute(f"select count(*) from kkik.fct_kpi_value where kpi_id = '{DROPPED_KPI}'"
                                   ).fetchall()[0][0]
        in_audit = con.execute(f"select count(*) from kkik_audit.fct_kpi_value where kpi_id = '{DROPPED_KPI}'"
                               ).fetchall()[0][0]
    finally:
        con.close()
    assert in_published > 0 and in_audit == 0


def test_the_gate_names_the_lost_figure_and_the_unknown_code(two_loads):
    path, _, _ = two_loads
    con = duckdb.connect(str(path), read_only=True)
    try:
        lost = con.execute(
            """select kpi_id, year, gender, observed_value, expected_value from kkik_audit.kkik_flag
               where rule_id = 'completeness.lost_vs_published' and not accepted order by year, gender""").fetchall()
        unknown = con.execute(
            """select source, municipality_id, severity, message from kkik_audit.kkik_flag
               where rule_id = 'integrity.unknown_code'""").fetchall()
    finally:
        con.close()
    assert {(kpi, year, gender) for kpi, year, gender, *_ in lost} == {
        (DROPPED_KPI, year, gender) for year in YEARS for gender in ("T", "K", "M")}
    assert all(observed == 0 and expected > 250 for *_, observed, expected in lost)
    assert unknown and {(s, m, sev) for s, m, sev, _ in unknown} == {("kolada", "9999", "error"),
                                                                     ("inbox", "9999", "error")}
    assert all("name the municipality code '9999'" in message for *_, message in unknown)
