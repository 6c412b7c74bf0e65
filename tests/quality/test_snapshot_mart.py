"""The watch against the mart built from the bundled snapshot: one colour rule, one set of flags.

The snapshot is landed and the dbt project built by Dagster into a temporary DuckDB (no audit, no
publication); then the watch is asked the questions where it used to disagree with the mart.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pytest
from dagster import DagsterInstance, materialize

from pipelines.assets.agencies import raw_scb, raw_skolverket_school_results
from pipelines.assets.dbt import kkik_dbt_models
from pipelines.assets.inbox import raw_inbox
from pipelines.assets.kolada import raw_kolada
from pipelines.jobs import range_tags
from pipelines.quality.audit import watch_and_validate
from pipelines.quality.mart_inputs import read_watch_inputs
from pipelines.quality.values_file import watch_values
from pipelines.quality.warehouse import colours
from tests.job_resources import job_resources

pytestmark = pytest.mark.slow
YEARS = [2018, 2019, 2020, 2021, 2022]
TODAY = date(2023, 6, 1)
FLAG_KEY = ["kpi_id", "municipality_id", "year", "gender", "rule_id"]


@pytest.fixture(scope="module")
def mart(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("snapshot_mart")
    resources = job_resources(tmp)
    result = materialize([raw_kolada, raw_scb, raw_skolverket_school_results, raw_inbox, kkik_dbt_models],
                         resources=resources, instance=DagsterInstance.ephemeral(), tags=range_tags(YEARS))
    assert result.success
    con = duckdb.connect(str(tmp / "warehouse.duckdb"), read_only=True)
    yield con, tmp
    con.close()


def test_the_watch_colours_every_cell_of_the_mart_as_the_mart(mart):
    con, _ = mart
    result = con.execute("select kpi_id, municipality_id, year, gender, direction, value, colour "
                         "from kkik_audit.kkik_result").df()
    stored = con.execute("select * from kkik_audit.watch_cell where is_kommun and value is not null").df()
    assert len(result) > 60_000
    watch = colours(result, stored)
    disagree = result[watch.to_numpy() != result["colour"].to_numpy()]
    assert disagree.empty, disagree.head()


def test_kkik_result_changes_against_the_watchs_previous_value(mart):
    con, _ = mart
    differ = con.execute("""
        select count(*) from kkik_audit.kkik_result as r
        inner join kkik_audit.watch_cell as c using (kpi_id, municipality_id, year, gender)
        where r.previous_value is distinct from c.prev_value""").fetchone()[0]
    assert differ == 0


def test_values_file_and_yearly_audit_give_the_same_flags(mart):
    """``kkik watch --values`` (bundled metadata, the watch models run on the file) and the audit (the
    models dbt built beside the mart) on the same values: the same flags, messages and impact."""
    con, tmp = mart
    inputs = read_watch_inputs(con)
    audit, _ = watch_and_validate(inputs.values, inputs.kpis, inputs.municipalities, years=[2022],
                                  similar_groups=inputs.similar_groups, tables=inputs.tables, today=TODAY,
                                  results_dir=tmp / "gx")
    submitted = inputs.values[["kpi_id", "municipality_id", "year", "gender", "value", "status"]]
    from_file = watch_values(submitted, years=[2022], today=TODAY)
    assert len(audit) > 100
    columns = FLAG_KEY + ["severity", "observed_value", "expected_value", "message", "impact_score"]
    key = FLAG_KEY
    pd.testing.assert_frame_equal(audit[columns].sort_values(key).reset_index(drop=True),
                                  from_file[columns].sort_values(key).reset_index(drop=True))


def test_the_watchs_similar_kommuner_are_kkik_results(mart):
    """One definition of similar kommuner: for every kommun cell of the mart, the peers the watch compares
    with (watch_similar_peer, by the figure's area kind) give kkik_result's similar-kommuner mean and count,
    and the area groups differ from the overall ones for some figures."""
    con, _ = mart
    compared, differ, kinds = con.execute("""
        with watch_means as (
            select c.kpi_id, c.municipality_id, c.year, c.gender, avg(peer.value) as mean, count(peer.value) as n
            from kkik_audit.watch_cell as c
            inner join kkik_audit.watch_similar_peer as p
                on p.municipality_id = c.municipality_id and p.similar_group_kind = c.similar_group_kind
                and p.year = c.year
            inner join kkik_audit.watch_cell as peer
                on peer.municipality_id = p.peer_id and peer.kpi_id = c.kpi_id and peer.year = c.year
                and peer.gender = c.gender and peer.value is not null
            where c.is_kommun and c.value is not null
            group by all
        )
        select
            count(*),
            count(*) filter (where r.similar_group_n is distinct from w.n
                             or abs(r.similar_group_mean - w.mean) > 1e-9 * greatest(1, abs(w.mean))),
            (select count(distinct similar_group_kind) from kkik_audit.watch_similar_peer)
        from kkik_audit.kkik_result as r
        inner join watch_means as w using (kpi_id, municipality_id, year, gender)
        where r.value is not null""").fetchone()
    assert compared > 50_000
    assert differ == 0
    assert kinds > 1
