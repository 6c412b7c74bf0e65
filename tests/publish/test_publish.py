"""Publishing writes the warehouse's ``kkik`` and the readers' copy (DuckDB file, Parquet, publication.json)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pytest

from pipelines.publishing import export
from pipelines.publishing.descriptions import dbt_descriptions
from pipelines.publishing.tables import PUBLICATION_TABLE, PUBLISHED_TABLES
from pipelines.quality.publish import (
    MART_TABLES,
    MartNotBuilt,
    PublicationBlocked,
    ReadersCopyFailed,
    publish_mart,
)
from pipelines.summary import publication_summary
from tests.publish.conftest import make_audit_mart

DATA_TABLES = [t.name for t in PUBLISHED_TABLES]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot_of(folder: Path) -> dict[str, str]:
    """Every file of the readers' copy and its hash (hidden temporary files included, to see leftovers)."""
    return {str(p.relative_to(folder)): sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def test_publishing_writes_both_copies_with_the_tables_rows_and_comments(audit_mart):
    path, published = audit_mart
    summary = publish_mart(path, load_id="run-1")

    assert summary.published_dir == published
    assert sorted(snapshot_of(published)) == sorted(
        ["mart.duckdb", "publication.json", *[f"parquet/{t}.parquet" for t in [*DATA_TABLES, PUBLICATION_TABLE]]])
    with duckdb.connect(str(path), read_only=True) as con:
        audited = {t: con.execute(f"select count(*) from kkik_audit.{t}").fetchall()[0][0] for t in MART_TABLES}
        # the warehouse's own publication, with every column (the flags' load ids too)
        assert {t: con.execute(f"select count(*) from kkik.{t}").fetchall()[0][0] for t in MART_TABLES} == audited
        assert con.execute("select distinct load_id from kkik.kkik_flag").fetchall() == [("flag-load-1",)]
    audited["kkik_revision"] = 0  # kept in kkik, not copied from the audit: a first publication records no change
    assert {t: n.after for t, n in summary.row_counts.items()} == audited
    assert all(n.before is None for n in summary.row_counts.values())  # nothing was published before

    with duckdb.connect(str(published / "mart.duckdb"), read_only=True) as con:
        assert con.execute("select current_database()").fetchall() == [("mart",)]
        tables = con.execute("select schema_name, table_name, comment from duckdb_tables() order by all").fetchall()
        assert [(s, t) for s, t, _ in tables] == sorted(("kkik", t) for t in [*DATA_TABLES, PUBLICATION_TABLE])
        assert {t: con.execute(f"select count(*) from kkik.{t}").fetchall()[0][0] for t in DATA_TABLES} == audited
        # rows are stored in key order
        assert con.execute("select kpi_id, municipality_id, year, gender from kkik.kkik_result limit 3").fetchall() == \
            [("N00001", "0101", 2021, "K"), ("N00001", "0101", 2021, "M"), ("N00001", "0101", 2021, "T")]
        # the run's own facts are apart from the data: the flags have no load id or time
        flag_columns = [c for (c,) in con.execute(
            "select column_name from duckdb_columns() where table_name = 'kkik_flag'").fetchall()]
        assert "load_id" not in flag_columns and "flagged_at" not in flag_columns and "rule_id" in flag_columns
        assert con.execute(f"select distinct load_id from kkik.{PUBLICATION_TABLE}").fetchall() == [("run-1",)]
        assert dict(con.execute(f"select table_name, row_count from kkik.{PUBLICATION_TABLE}").fetchall()) == audited
        # dbt's descriptions as comments
        manifest = dbt_descriptions(DATA_TABLES)
        comments = {t: c for _, t, c in tables}
        assert comments["kkik_result"] == manifest["kkik_result"][""] and "Colour rule" in comments["kkik_result"]
        assert comments["kkik_flag"].startswith("The error watch")
        column_comment = con.execute("select comment from duckdb_columns() where table_name = 'fct_kpi_value' "
                                     "and column_name = 'load_id'").fetchall()[0][0]
        assert column_comment == manifest["fct_kpi_value"]["load_id"] == "The landing that brought the value."

        for table in [*DATA_TABLES, PUBLICATION_TABLE]:  # the Parquet files hold exactly the same rows
            parquet = published / "parquet" / f"{table}.parquet"
            assert con.execute(f"select count(*) from (select * from kkik.{table} except all "
                               f"select * from '{parquet}')").fetchall() == [(0,)]
            assert con.execute(f"select count(*) from '{parquet}'").fetchall() == \
                con.execute(f"select count(*) from kkik.{table}").fetchall()

    publication = json.loads((published / "publication.json").read_text())
    assert publication["load_id"] == "run-1" and publication["previous_load_id"] is None
    assert publication["duckdb"]["sha256"] == sha256(published / "mart.duckdb")
    assert {t: e["rows"] for t, e in publication["tables"].items()} == audited
    assert all(e["sha256"] == sha256(published / e["parquet"]) for e in publication["tables"].values())
    assert not list(published.glob("*.wal"))


def test_row_counts_are_compared_with_the_previous_publication(audit_mart):
    path, published = audit_mart
    publish_mart(path, load_id="run-1")
    make_audit_mart(path, kommuner=12)  # two more kommuner in the next load
    summary = publish_mart(path, load_id="run-2")
    assert summary.previous_load_id == "run-1"
    assert str(summary.row_counts["kkik_result"]) == "180 → 216"
    assert (summary.row_counts["dim_kpi"].before, summary.row_counts["dim_kpi"].after) == (3, 3)
    assert set(summary.row_counts) == set(DATA_TABLES)

    lines = publication_summary(published)  # the load summary's lines on the publication
    assert "  kkik_result: 180 → 216" in lines and "  dim_municipality: 10 → 12" in lines
    assert any(line.startswith(f"readers' copy: {published / 'mart.duckdb'}") and "load run-2" in line
               for line in lines)


def test_without_a_previous_publication_json_the_counts_come_from_the_warehouse(audit_mart):
    """A warehouse published before the readers' copy existed: ``kkik`` there is the previous publication."""
    path, published = audit_mart
    publish_mart(path, load_id="run-1")
    (published / "publication.json").unlink()
    make_audit_mart(path, kommuner=11)
    summary = publish_mart(path, load_id="run-2")
    assert str(summary.row_counts["fct_kpi_value"]) == "180 → 198"
    assert summary.previous_load_id is None


def test_a_failure_during_the_export_leaves_the_previous_publication_readable_and_unchanged(audit_mart, monkeypatch):
    path, published = audit_mart
    publish_mart(path, load_id="run-1")
    before = snapshot_of(published)

    written = []

    def fail_after_the_duckdb_file(con, database, *args):
        # the new DuckDB file is complete (a reader could open it) when the export fails
        with duckdb.connect(str(database), read_only=True) as new:
            written.append(new.execute("select count(*) from kkik.kkik_result").fetchall()[0][0])
        raise OSError("disk full (injected)")

    monkeypatch.setattr(export, "_write_parquet", fail_after_the_duckdb_file)
    make_audit_mart(path, kommuner=12)
    with pytest.raises(ReadersCopyFailed, match="readers still see the previous publication .load run-1.") as failed:
        publish_mart(path, load_id="run-2")
    assert "disk full (injected)" in str(failed.value)
    assert written == [216]
    assert snapshot_of(published) == before  # every file as it was, no temporary file left
    with duckdb.connect(str(published / "mart.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from kkik.kkik_result").fetchall() == [(180,)]
        assert con.execute(f"select distinct load_id from kkik.{PUBLICATION_TABLE}").fetchall() == [("run-1",)]
    with duckdb.connect(str(path), read_only=True) as con:  # the warehouse's own publication went ahead
        assert con.execute("select count(*) from kkik.kkik_result").fetchall() == [(216,)]

    monkeypatch.undo()
    summary = publish_mart(path, load_id="run-3")  # the next load exports again, compared with what readers saw
    assert summary.previous_load_id == "run-1" and str(summary.row_counts["kkik_result"]) == "180 → 216"


def test_an_open_error_changes_neither_copy(audit_mart):
    path, published = audit_mart
    publish_mart(path, load_id="run-1")
    before = snapshot_of(published)
    make_audit_mart(path, kommuner=12, open_error=True)
    with pytest.raises(PublicationBlocked, match="1 open error flag"):
        publish_mart(path, load_id="run-2")
    assert snapshot_of(published) == before


@pytest.mark.parametrize("status, why", [("building", "was interrupted before it ended"), ("failed", "failed")])
def test_a_mart_whose_last_dbt_build_did_not_end_whole_is_not_published(audit_mart, status, why):
    """dbt's hooks record each build in kkik_audit.dbt_build_state: an interrupted build (still "building")
    or a failed one leaves kkik_audit partly of that build and partly of the one before."""
    path, published = audit_mart
    publish_mart(path, load_id="run-1")
    before = snapshot_of(published)
    make_audit_mart(path, kommuner=12)
    with duckdb.connect(str(path)) as con:
        con.execute(f"create table kkik_audit.dbt_build_state as select 'inv-1' as invocation_id, "
                    f"timestamptz '2026-12-03 10:00:00+00' as started_at, null::timestamptz as finished_at, "
                    f"'{status}' as status")
    with pytest.raises(MartNotBuilt, match=f"dbt's last build \\(invocation inv-1, .*\\) {why}"):
        publish_mart(path, load_id="run-2")
    assert snapshot_of(published) == before
    with duckdb.connect(str(path)) as con:
        con.execute("update kkik_audit.dbt_build_state set status = 'built'")
    assert publish_mart(path, load_id="run-2").load_id == "run-2"


def test_two_publications_of_the_same_mart_write_byte_identical_parquet(tmp_path):
    """The same content inserted in another order, with flags of another load: the same bytes.

    What differs between the two publications, by nature: ``kkik_publication`` (its Parquet file and table:
    load id, published_at), ``publication.json`` (load ids, time, the DuckDB file's hash) and therefore the
    bytes of ``mart.duckdb``, whose data tables have equal content."""
    first, second = tmp_path / "a" / "warehouse.duckdb", tmp_path / "b" / "warehouse.duckdb"
    first.parent.mkdir()
    second.parent.mkdir()
    make_audit_mart(first, shuffle_seed=1, flag_load_id="flag-load-1")
    make_audit_mart(second, shuffle_seed=2, flag_load_id="flag-load-2")
    with duckdb.connect(str(second), read_only=True) as con:  # the physical order differs indeed
        assert con.execute("select municipality_id from kkik_audit.kkik_result limit 5").fetchall() != \
            duckdb.connect(str(first), read_only=True).execute(
                "select municipality_id from kkik_audit.kkik_result limit 5").fetchall()
    publish_mart(first, load_id="run-1")
    publish_mart(second, load_id="run-2")
    for table in DATA_TABLES:
        name = f"parquet/{table}.parquet"
        assert sha256(first.parent / "published" / name) == sha256(second.parent / "published" / name), table
    publication = f"parquet/{PUBLICATION_TABLE}.parquet"
    assert sha256(first.parent / "published" / publication) != sha256(second.parent / "published" / publication)

    publish_mart(first, load_id="run-3")  # a rerun on the same warehouse, into the same folder
    rerun = json.loads((first.parent / "published" / "publication.json").read_text())
    assert {t: e["sha256"] for t, e in rerun["tables"].items()} == \
        {t: sha256(second.parent / "published" / f"parquet/{t}.parquet") for t in DATA_TABLES}


def test_open_errors_an_earlier_audit_left_in_other_years_are_counted_as_blocking(tmp_path):
    """A blocked `kkik load --year 2017` leaves 2017's open flags (and its values in the mart); a later run
    of 2018–2022 replaces only its own years' flags, so the 2017 ones still block: the audit says so."""
    from pipelines.quality.audit import FLAG_TABLE, FLAG_TABLE_DDL, _blocking_in_other_years

    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema kkik_audit")
        con.execute(FLAG_TABLE_DDL)
        con.execute(f"""insert into {FLAG_TABLE} (kpi_id, year, rule_id, severity, message, accepted, is_kkik,
                            rule_group, load_id, flagged_at)
            select * from (values
                ('N1', 2017, 'range.negative', 'error', 'm', false, true),    -- open, blocks
                ('N1', 2017, 'range.negative', 'error', 'm', true, true),     -- accepted
                ('N2', 2017, 'range.negative', 'error', 'm', false, false),   -- outside the KKiK set
                ('N1', 2016, 'outlier.national', 'warning', 'm', false, true),
                ('N1', 2022, 'range.negative', 'error', 'm', false, true)     -- this run's own year
            ) t, (select 'range', 'load-0', now())""")
    blocking = _blocking_in_other_years(path, [2018, 2019, 2020, 2021, 2022])
    assert blocking["year"].tolist() == [2017] and blocking["kpi_id"].tolist() == ["N1"]
