"""The real ``kkik load`` on the bundled snapshot, twice, while BI readers poll and hold the published copy.

Asserts that both loads succeed, that the readers never fail and only see whole publications, and that the
rerun publishes the same content. What differs between the two loads, by nature, is kept apart from the
data tables: ``kkik_publication`` (load_id, published_at) and ``publication.json`` (load ids, time, and the
hash of ``mart.duckdb``, which holds ``kkik_publication``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines.config import PROJECT_ROOT
from pipelines.publishing.tables import PUBLICATION_TABLE, PUBLISHED_TABLES
from tests.publish.test_bi_reader import PollingReader

pytestmark = pytest.mark.slow
DATA_TABLES = [t.name for t in PUBLISHED_TABLES]
#: Columns that still differ between two loads of the same input on this branch, each fixed elsewhere:
#: the comparison leaves them out (and checks the means to 1e-12). Remove an entry once its fix is merged.
NOT_YET_STABLE = {
    # Kolada values keep the load that first landed them (merge by key) and the means are ordered aggregates;
    # the SCB landing still replaces its rows, so the population's raw load id is new on every load
    ("fct_population", "load_id"): "the SCB landing's id, new on every load",
}


def kkik_load(work: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"} | {
        "KKIK_DUCKDB_PATH": str(work / "warehouse.duckdb"), "KKIK_RAW_DIR": str(work / "raw"),
        "KKIK_QUALITY_DIR": str(work / "quality"), "KKIK_PUBLISHED_DIR": str(work / "published"),
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    return subprocess.run([sys.executable, "-m", "pipelines.cli", "load", "--year", "2021", "--year", "2022"],
                          check=False, cwd=work, env=env, capture_output=True, text=True, timeout=900)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def two_loads(tmp_path_factory):
    work = tmp_path_factory.mktemp("loads")
    published = work / "published"
    poller, holder = PollingReader("poll", published, work), PollingReader("hold", published, work)
    try:
        first = kkik_load(work)
        if first.returncode == 0:
            shutil.copytree(published, work / "first")
        second = kkik_load(work)
    finally:
        seen, held = poller.stop(), holder.stop()
    return {"work": work, "first": first, "second": second, "seen": seen, "held": held}


def test_both_loads_publish_while_readers_poll_and_hold_the_file(two_loads):
    first, second = two_loads["first"], two_loads["second"]
    assert first.returncode == 0, first.stderr[-3000:]
    assert second.returncode == 0, second.stderr[-3000:]
    work = two_loads["work"]
    rows = json.loads((work / "published" / "publication.json").read_text())["tables"]["kkik_result"]["rows"]
    assert rows > 20_000
    # the load summary compares every table with the previous publication
    assert f"kkik_result: — → {rows:,}" in first.stdout
    assert f"kkik_result: {rows:,} → {rows:,}" in second.stdout
    for table in DATA_TABLES:
        assert re.search(rf"^\s+{table}: [\d,—]+ → [\d,]+$", second.stdout, re.MULTILINE), table

    seen, held = two_loads["seen"], two_loads["held"]
    assert seen["errors"] == [] and held["errors"] == []
    assert len(seen["polls"]) > 20 and len(held["polls"]) > 20
    assert {poll["kkik_result"] for poll in seen["polls"]} == {rows}  # never a partial mart
    assert {poll["kkik_result"] for poll in held["polls"]} == {rows}
    published = json.loads((work / "published" / "publication.json").read_text())["tables"]
    for poll in seen["polls"]:
        assert all(poll["parquet"][t] == published[t]["rows"] for t in DATA_TABLES if t in poll["parquet"])


def test_a_rerun_publishes_the_same_content(two_loads):
    work = two_loads["work"]
    before, after = work / "first", work / "published"
    old, new = (json.loads((folder / "publication.json").read_text()) for folder in (before, after))
    assert old["load_id"] != new["load_id"] and new["previous_load_id"] == old["load_id"]
    unstable = {table for table, _ in NOT_YET_STABLE}
    con = duckdb.connect()
    con.execute(f"attach '{before / 'mart.duckdb'}' as mart_before (read_only)")
    con.execute(f"attach '{after / 'mart.duckdb'}' as mart_after (read_only)")
    for table in DATA_TABLES:
        if table not in unstable:  # byte for byte
            assert sha256(before / "parquet" / f"{table}.parquet") == sha256(after / "parquet" / f"{table}.parquet")
        columns = [c for (c,) in con.execute(
            "select column_name from duckdb_columns() where database_name = 'mart_after' and table_name = ? "
            "order by column_index", [table]).fetchall() if (table, c) not in NOT_YET_STABLE]
        listed = ", ".join(f'"{c}"' for c in columns)
        for a, b in (("mart_before", "mart_after"), ("mart_after", "mart_before")):
            assert con.execute(f"select count(*) from (select {listed} from {a}.kkik.{table} except all "
                               f"select {listed} from {b}.kkik.{table})").fetchall() == [(0,)], (table, a)
    # the means that are not yet bit-identical agree to 1e-12
    assert con.execute(
        """select count(*) from mart_before.kkik.kkik_result a join mart_after.kkik.kkik_result b
               using (kpi_id, municipality_id, year, gender)
           where abs(a.county_mean - b.county_mean) > 1e-12 * abs(a.county_mean)
              or abs(a.similar_group_mean - b.similar_group_mean) > 1e-12 * abs(a.similar_group_mean)"""
    ).fetchall() == [(0,)]
    # the run's own table differs in its run columns only
    assert con.execute(f"select count(*) from (select table_name, row_count from mart_before.kkik.{PUBLICATION_TABLE} "
                       f"except all select table_name, row_count from mart_after.kkik.{PUBLICATION_TABLE})"
                       ).fetchall() == [(0,)]
    con.close()
