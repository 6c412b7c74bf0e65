"""``kkik refresh`` against the snapshot server: a load of the bundled state, then Kolada moves to its later state.

The real ``kkik`` runs in a subprocess (as tests/test_cli.py does) against one ``SnapshotServer`` in this
process, whose Kolada app is swapped for ``KoladaApp(state="later")`` between the load and the refresh; the
server counts the requests. The later state's changes are ``snapshot/kolada/later/changes.synthetic.json``.
"""

from __future__ import annotations

import json
import math
import re
import shutil

import duckdb
import pandas as pd
import pytest

from pipelines.catalogue import kkik_kpi_ids
from pipelines.quality.acceptance import ACCEPTED_FLAGS_PATH
from pipelines.snapshot.kolada_app import DEFAULT_SNAPSHOT_DIR, STATES, KoladaApp
from pipelines.snapshot.scb_app import ScbApp
from pipelines.snapshot.server import SnapshotServer
from pipelines.snapshot.skolverket_app import SkolverketApp
from tests.test_cli import isolated_env, run_kkik

pytestmark = pytest.mark.slow
YEARS = ["--year", "2021", "--year", "2022"]
CHANGES = json.loads((DEFAULT_SNAPSHOT_DIR / STATES["later"]).read_text(encoding="utf-8"))["changes"]
KEY = ("kpi", "municipality", "period", "gender")


def key(change: dict) -> tuple:
    return tuple(change[k] for k in KEY)


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory):
    """Load 2021–2022 from the bundled state, move Kolada to the later state and refresh; accept what blocks the
    publication and publish (no reload); then refresh again, with nothing new."""
    tmp = tmp_path_factory.mktemp("refresh")
    accepted = tmp / "accepted_flags.csv"
    shutil.copy(ACCEPTED_FLAGS_PATH, accepted)
    with SnapshotServer([KoladaApp(), ScbApp(), SkolverketApp()]) as server:
        env = isolated_env(tmp, KKIK_KOLADA_URL=server.source_url("kolada"))
        load = run_kkik(["load", *YEARS, "--allow-mixed-sources"], env)
        assert load.returncode == 0, load.stdout + load.stderr
        with duckdb.connect(str(tmp / "warehouse.duckdb"), read_only=True) as con:
            before = raw_values(con)
            published_before = fct_values(con, "kkik")
        server.apps["kolada"] = KoladaApp(state="later")
        refresh = run_kkik(["refresh", *YEARS], env)
        waiting = run_kkik(["refresh", *YEARS], env)  # nothing new in Kolada, but the blocked refresh waits
        pending = run_kkik(["changes", "--pending", "--out", str(tmp / "pending.csv")], env)
        accept = run_kkik(["accept", "--by", "test", "--reason", "generated later state", "--kpi", "N00914",
                           "--rule", "gender.total_between", "--file", str(accepted)], env)
        assert accept.returncode == 0, accept.stdout + accept.stderr
        requests_before_publish = server.request_count
        publish = run_kkik(["publish", "--file", str(accepted)], env)
        assert publish.returncode == 0, publish.stdout + publish.stderr
        assert server.request_count == requests_before_publish
        requests_before_second = server.request_count
        again = run_kkik(["refresh", *YEARS], env)
        second_requests = server.request_count - requests_before_second
    return {"tmp": tmp, "before": before, "published_before": published_before, "refresh": refresh,
            "again": again, "second_requests": second_requests, "waiting": waiting, "pending": pending}


def raw_values(con) -> dict[tuple, tuple]:
    rows = con.execute("select kpi, municipality, period, gender, value, load_id from raw.kolada__data").fetchall()
    return {tuple(row[:4]): (row[4], row[5]) for row in rows}


def fct_values(con, schema: str) -> dict[tuple, float]:
    return {tuple(r[:4]): r[4] for r in con.execute(
        f"select kpi_id, municipality_id, year, gender, value from {schema}.fct_kpi_value").fetchall()}


def test_the_refresh_lands_exactly_the_added_revised_and_deleted_values(refreshed):
    with duckdb.connect(str(refreshed["tmp"] / "warehouse.duckdb"), read_only=True) as con:
        after = raw_values(con)
        load_id, from_date, records = con.execute(
            "select c.load_id, c.from_date::varchar, l.records from raw.kolada__coverage as c "
            "join raw.load_log as l using (load_id) where c.from_date is not null group by all").fetchall()[0]
        published = fct_values(con, "kkik")
    before = refreshed["before"]
    assert from_date == "2024-08-31" and records == len(CHANGES) == 945
    deleted = {key(c) for c in CHANGES if c["change"] == "deleted"}
    landed = {key(c): c["value"] for c in CHANGES if c["change"] != "deleted"}
    # the refresh's rows are exactly the added and revised values, with Kolada's later value
    assert {k: v for k, (v, load) in after.items() if load == load_id} == pytest.approx(landed)
    assert not deleted & set(after) and deleted <= set(before)
    # every other value is as the load left it, load id included
    assert {k: v for k, v in after.items() if k not in landed} == {
        k: v for k, v in before.items() if k not in landed and k not in deleted}
    assert len(after) == len(before) + 936 - 3
    # the published mart (after the acceptance below): the refreshed values, no deleted one, the rest as before
    kommun_changes = {k: v for k, v in landed.items() if k[1] in {m for _, m, _, _ in published}}
    assert len(kommun_changes) > 800 and {k: published.get(k) for k in kommun_changes} == pytest.approx(kommun_changes)
    published_before = refreshed["published_before"]
    gone = deleted & set(published_before)
    assert gone and not gone & set(published)
    assert {k: v for k, v in published.items() if k not in landed} == {
        k: v for k, v in published_before.items() if k not in landed and k not in gone}


def test_the_refresh_prints_what_changed_and_what_blocks_it(refreshed):
    """The generated later state has three N00914 totals outside women and men: the refresh is built and
    audited, and its publication blocked, like a load's; ``kkik accept`` and ``kkik publish`` then publish it."""
    refresh = refreshed["refresh"]
    assert refresh.returncode == 1, refresh.stdout + refresh.stderr
    lines = refresh.stdout.splitlines()
    assert lines[0] == "kkik refresh: 945 values changed in Kolada since 2024-08-31 (2 request(s) for 32 figures × 2 years)"
    assert lines[1].startswith("kkik refresh: years 2021–2022 → ") and lines[4].startswith("  sources ")
    assert not any(line.startswith(("  SCB:", "  Skolverket:", "  inbox:")) for line in lines)
    assert re.search(r"ok .* Kolada 945 values changed since 2024-08-31: 936 new, 6 revised, 3 deleted "
                     r"\(2 requests\)$", lines[4]), lines[4]
    assert "publication blocked by 3 open error flags" in refresh.stdout
    assert lines[-1] == "         then publish the built mart without a reload: kkik publish"


def test_a_refresh_with_nothing_new_asks_once_per_25_figures_and_lands_nothing(refreshed):
    again = refreshed["again"]
    assert again.returncode == 0, again.stdout + again.stderr
    figures = len(kkik_kpi_ids())
    assert refreshed["second_requests"] == math.ceil(figures / 25) == 2
    assert again.stdout.splitlines() == [
        (f"kkik refresh: nothing changed in Kolada since 2024-10-02 (2 request(s) for {figures} figures × 2 years); "
         "nothing landed or rebuilt, the published mart is as it was.")]
    with duckdb.connect(str(refreshed["tmp"] / "warehouse.duckdb"), read_only=True) as con:
        loads = con.execute("select count(*) from raw.load_log where source = 'kolada'").fetchall()[0][0]
    assert loads == 2  # the load and the first refresh; the second landed nothing
    assert len(list((refreshed["tmp"] / "raw" / "kolada").iterdir())) == 2


def test_a_refresh_after_a_blocked_one_says_its_changes_wait_for_review(refreshed):
    """Nothing new in Kolada is no "as it was" while the previous refresh's changes are built and blocked."""
    waiting = refreshed["waiting"]
    assert waiting.returncode == 1, waiting.stdout + waiting.stderr
    lines = waiting.stdout.splitlines()
    assert lines[0].startswith("kkik refresh: nothing changed in Kolada since 2024-10-02")
    assert re.match(r"  but the audit mart built .* is newer than the last publication \(.*\) and was not published "
                    r"\(blocked or failed after dbt\): its changes wait for review \(`kkik changes --pending` lists "
                    r"them\)\. next: `kkik watch --year Y`", lines[1])


def test_kkik_changes_pending_lists_the_blocked_refreshs_changes_as_its_publication_then_records_them(refreshed):
    """Before the publication, ``kkik changes --pending`` lists exactly the cells the publication then
    recorded in kkik.kkik_revision (one definition of a change)."""
    pending = refreshed["pending"]
    assert pending.returncode == 0, pending.stdout + pending.stderr
    assert ", not yet published: " in pending.stdout.splitlines()[0]
    listed = pd.read_csv(refreshed["tmp"] / "pending.csv", dtype={"municipality_id": str})
    assert set(listed["load_id_after"]) == {"pending"}
    with duckdb.connect(str(refreshed["tmp"] / "warehouse.duckdb"), read_only=True) as con:
        recorded = con.execute("select kpi_id, municipality_id, year, gender, value_before, value_after, colour_before, "
                               "colour_after from kkik.kkik_revision").df()
    key = ["kpi_id", "municipality_id", "year", "gender"]
    columns = [*key, "value_before", "value_after", "colour_before", "colour_after"]
    assert len(listed) == len(recorded) > 800
    pd.testing.assert_frame_equal(listed[columns].sort_values(key).reset_index(drop=True),
                                  recorded[columns].sort_values(key).reset_index(drop=True), check_dtype=False)


def test_a_refresh_of_years_never_loaded_exits_2_and_names_the_load(refreshed):
    env = isolated_env(refreshed["tmp"])
    result = run_kkik(["refresh", "--year", "2019", "--year", "2020"], env)
    assert result.returncode == 2
    message = result.stderr.strip()
    assert message.startswith(f"kkik refresh: {2 * len(kkik_kpi_ids())} figure-year(s) were never landed (")
    assert message.endswith("a refresh only asks for what changed, so land them in full first "
                            "(`kkik load --year 2019 --year 2020`)")
    assert result.stdout == ""
