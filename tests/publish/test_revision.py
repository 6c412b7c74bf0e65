"""``kkik.kkik_revision`` on a hand-made audit mart: what counts as a change, kept across publications,
written in the publish transaction or not at all, and published to the readers' copy."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.publishing.revision import changed_cells_sql
from pipelines.quality import publish
from pipelines.quality.publish import publish_mart


def revisions(path) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(
            "select kpi_id, municipality_id, year, gender, value_before, value_after, colour_before, colour_after, "
            "load_id_before, load_id_after from kkik.kkik_revision order by all").fetchall()


def edit_audit(path, *statements: str) -> None:
    with duckdb.connect(str(path)) as con:
        for statement in statements:
            con.execute(statement)


def cell(kpi: str, kommun: str, year: int, gender: str) -> str:
    return f"kpi_id = '{kpi}' and municipality_id = '{kommun}' and year = {year} and gender = '{gender}'"


@pytest.fixture
def published_once(audit_mart):
    path, published = audit_mart
    first = publish_mart(path, load_id="run-1")
    return path, published, first


def test_a_first_publication_records_no_change_but_the_publication(published_once):
    path, _, first = published_once
    assert first.revised_cells is None
    assert revisions(path) == []
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("select load_id from kkik.kkik_publication_log").fetchall() == [("run-1",)]


def test_each_changed_value_or_colour_is_one_row_with_both_sides(published_once):
    path, published, _ = published_once
    edit_audit(
        path,
        # a revised value (and its colour), a colour alone, a value gone (the row stays, grey), a row gone
        f"update kkik_audit.kkik_result set value = 99.5, colour = 'red' where {cell('N00001', '0101', 2022, 'T')}",
        f"update kkik_audit.kkik_result set colour = 'red' where {cell('N00002', '0103', 2021, 'K')}",
        f"update kkik_audit.kkik_result set value = null, colour = 'grey' where {cell('N00003', '0104', 2022, 'M')}",
        f"delete from kkik_audit.kkik_result where {cell('N00003', '0105', 2022, 'M')}",
        # a new cell with a value, and a new grey cell (no value: shows as before, no change)
        "insert into kkik_audit.kkik_result values ('N00004', '0101', 2022, 'T', 7.0, 'green', null), "
        "('N00004', '0102', 2022, 'T', null, 'grey', null)",
    )
    with duckdb.connect(str(path), read_only=True) as con:
        before = {(k, m, y, g): (v, c) for k, m, y, g, v, c in con.execute(
            "select kpi_id, municipality_id, year, gender, value, colour from kkik.kkik_result").fetchall()}
    second = publish_mart(path, load_id="run-2")
    assert second.revised_cells == 5
    assert str(second.row_counts["kkik_revision"]) == "0 → 5"
    v, c = before[("N00001", "0101", 2022, "T")]
    v2, c2 = before[("N00002", "0103", 2021, "K")]
    v3, c3 = before[("N00003", "0104", 2022, "M")]
    v4, c4 = before[("N00003", "0105", 2022, "M")]
    assert c2 != "red"
    assert revisions(path) == sorted([
        ("N00001", "0101", 2022, "T", v, 99.5, c, "red", "run-1", "run-2"),
        ("N00002", "0103", 2021, "K", v2, v2, c2, "red", "run-1", "run-2"),
        ("N00003", "0104", 2022, "M", v3, None, c3, "grey", "run-1", "run-2"),
        ("N00003", "0105", 2022, "M", v4, None, c4, None, "run-1", "run-2"),
        ("N00004", "0101", 2022, "T", None, 7.0, None, "green", "run-1", "run-2"),
    ])
    # the readers' copy has the history too, with its descriptions
    with duckdb.connect(str(published / "mart.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from kkik.kkik_revision").fetchall() == [(5,)]
        assert con.execute("select comment from duckdb_tables() where table_name = 'kkik_revision'"
                           ).fetchall()[0][0].startswith("What changed between publications")

    third = publish_mart(path, load_id="run-3")  # the same audited mart again: nothing changed
    assert third.revised_cells == 0
    assert len(revisions(path)) == 5
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("select load_id from kkik.kkik_publication_log order by published_at").fetchall() == \
            [("run-1",), ("run-2",), ("run-3",)]

    edit_audit(path, f"update kkik_audit.kkik_result set value = 100 where {cell('N00001', '0101', 2022, 'T')}")
    publish_mart(path, load_id="run-4")  # kept across loads: the next change names run-3 as the one replaced
    assert revisions(path)[1][4:] == (99.5, 100.0, "red", "red", "run-3", "run-4")
    assert len(revisions(path)) == 6


def test_a_publication_that_fails_writes_no_revision_rows(published_once, monkeypatch):
    path, _, _ = published_once
    edit_audit(path, f"update kkik_audit.kkik_result set value = 1 where {cell('N00001', '0101', 2022, 'T')}")
    real = publish.record_revision

    def then_fail(con, **kwargs):
        real(con, **kwargs)
        raise OSError("the copy failed (injected)")

    monkeypatch.setattr(publish, "record_revision", then_fail)
    with pytest.raises(OSError, match="injected"):
        publish_mart(path, load_id="run-2")
    assert revisions(path) == []
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("select load_id from kkik.kkik_publication_log").fetchall() == [("run-1",)]
        assert con.execute(f"select value from kkik.kkik_result where {cell('N00001', '0101', 2022, 'T')}"
                           ).fetchall() != [(1.0,)]


def test_the_change_rule_is_null_aware_and_counts_a_missing_row_as_grey():
    con = duckdb.connect()
    con.execute("create table b (kpi_id varchar, municipality_id varchar, year int, gender varchar, value double, "
                "colour varchar)")
    con.execute("create table a as select * from b")
    con.execute("insert into b values ('K', '1', 2022, 'T', null, 'grey'), ('K', '2', 2022, 'T', 1, 'red'), "
                "('K', '3', 2022, 'T', null, 'grey'), ('K', '4', 2022, 'T', 2, 'green')")
    con.execute("insert into a values ('K', '1', 2022, 'T', null, 'grey'), ('K', '2', 2022, 'T', 1, 'red'), "
                "('K', '4', 2022, 'T', 2, 'yellow'), ('K', '5', 2022, 'T', null, 'grey'), "
                "('K', '6', 2022, 'T', 0, 'red')")
    changed = con.execute(f"select municipality_id from ({changed_cells_sql('b', 'a')}) order by 1").fetchall()
    # 1, 2 unchanged; 3 gone and 5 new but both grey without a value; 4 a colour; 6 a new value
    assert changed == [("4",), ("6",)]


def test_kkik_changes_prints_and_writes_the_rows_of_a_publication_or_since_a_date_or_load(published_once, tmp_path,
                                                                                       monkeypatch, capsys):
    from pipelines.cli import main

    path, _, _ = published_once
    monkeypatch.setenv("KKIK_DUCKDB_PATH", str(path))
    out = tmp_path / "changes.csv"
    capsys.readouterr()
    assert main(["changes", "--out", str(out)]) == 0  # after the first publication: nothing to compare with
    assert "the last publication was the first: nothing to compare with" in capsys.readouterr().out
    edit_audit(path, f"update kkik_audit.kkik_result set value = 99.5, colour = 'red' "
                     f"where {cell('N00001', '0101', 2022, 'T')}")
    publish_mart(path, load_id="run-2")
    edit_audit(path, f"update kkik_audit.kkik_result set colour = 'red' where {cell('N00002', '0103', 2021, 'K')}")
    publish_mart(path, load_id="run-3")
    capsys.readouterr()

    out = tmp_path / "changes.csv"
    assert main(["changes", "--out", str(out)]) == 0  # the newest publication's changes
    printed = capsys.readouterr().out
    assert "since the last publication (load run-3" in printed and "1 cell (0 values, 1 colour)" in printed
    assert "N00002  0103 Kommun 0103  2021  K" in printed and "green → red" in printed
    assert [line.split(",")[:2] for line in out.read_text(encoding="utf-8-sig").splitlines()] == \
        [["kpi_id", "kpi_title"], ["N00002", "Figure N00002"]]

    assert main(["changes", "--since", "run-1", "--out", str(out)]) == 0  # everything published after run-1
    assert "2 cells (1 value, 2 colours)" in capsys.readouterr().out
    rows = out.read_text(encoding="utf-8-sig").splitlines()
    assert len(rows) == 3 and rows[1].startswith("N00001,Figure N00001,0101,Kommun 0101,2022,T,") and \
        ",99.5,green,red,run-1,run-2," in rows[1]
    assert main(["changes", "--since", "2000-01-01", "--out", str(out)]) == 0
    assert "2 cells" in capsys.readouterr().out
    assert main(["changes", "--since", "run-2", "--out", str(out)]) == 0
    assert "1 cell (" in capsys.readouterr().out


def test_kkik_changes_counts_changes_and_cells_apart_and_writes_parquet(published_once, tmp_path, monkeypatch,
                                                                       capsys):
    """A cell changed at two publications is two rows (the history) but one cell in the headline; an --out
    ending .parquet is Parquet, another suffix is refused before any work; a date after today says why
    nothing shows."""
    import pandas as pd

    from pipelines.cli import main

    path, _, _ = published_once
    monkeypatch.setenv("KKIK_DUCKDB_PATH", str(path))
    edit_audit(path, f"update kkik_audit.kkik_result set value = 99.5 where {cell('N00001', '0101', 2022, 'T')}")
    publish_mart(path, load_id="run-2")
    edit_audit(path, f"update kkik_audit.kkik_result set colour = 'red' where {cell('N00002', '0103', 2021, 'K')}",
               f"update kkik_audit.kkik_result set value = 42.25 where {cell('N00001', '0101', 2022, 'T')}")
    publish_mart(path, load_id="run-3")
    capsys.readouterr()
    out = tmp_path / "changes.parquet"
    assert main(["changes", "--since", "run-1", "--out", str(out)]) == 0
    assert "3 changes to 2 cells (2 values, 1 colour)" in capsys.readouterr().out
    written = pd.read_parquet(out)
    assert list(written.columns[:2]) == ["kpi_id", "kpi_title"]
    assert written.loc[written["kpi_id"] == "N00001", ["value_after", "load_id_after"]].values.tolist() == \
        [[99.5, "run-2"], [42.25, "run-3"]]

    assert main(["changes", "--out", str(tmp_path / "changes.xlsx")]) == 2
    assert "changes.xlsx: writes CSV or Parquet; name the file .csv or .parquet" in capsys.readouterr().err
    assert not (tmp_path / "changes.xlsx").exists()
    assert main(["changes", "--since", "2999-01-01", "--out", str(tmp_path / "c.csv")]) == 0
    assert "2999-01-01 is after today: nothing can have been published since" in capsys.readouterr().out


def test_kkik_changes_refuses_an_unknown_since_or_a_missing_warehouse(published_once, tmp_path, monkeypatch,
                                                                      capsys):
    from pipelines.cli import main

    path, _, _ = published_once
    out = tmp_path / "changes.csv"
    monkeypatch.setenv("KKIK_DUCKDB_PATH", str(path))
    assert main(["changes", "--since", "run-9", "--out", str(out)]) == 2
    assert "'run-9' is neither a date (YYYY-MM-DD) nor the load id of a publication" in capsys.readouterr().err
    monkeypatch.setenv("KKIK_DUCKDB_PATH", str(tmp_path / "none.duckdb"))
    assert main(["changes", "--out", str(out)]) == 2
    assert "none.duckdb does not exist: run `kkik load` first" in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "none.duckdb").exists()


def test_kkik_changes_refuses_an_out_it_cannot_write_before_reading(published_once, tmp_path, monkeypatch, capsys):
    """A folder as --out, or one below a file, is named in one line (exit 2), not an IsADirectoryError."""
    from pipelines.cli import main

    path, _, _ = published_once
    monkeypatch.setenv("KKIK_DUCKDB_PATH", str(path))
    assert main(["changes", "--out", str(tmp_path)]) == 2
    assert f"kkik changes: {tmp_path}: is a directory; give a file name" in capsys.readouterr().err
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    assert main(["changes", "--out", str(blocker / "changes.csv")]) == 2
    assert f"its folder cannot be created: {blocker} is a file, not a folder" in capsys.readouterr().err


def test_the_load_summary_says_how_many_values_and_colours_changed_and_which_figures_are_new(published_once):
    from pipelines.summary import publication_summary, revision_lines

    def mart_summary(path, published):  # the summary's lines on the change and on the readers' copy
        with duckdb.connect(str(path), read_only=True) as con:
            return revision_lines(con) + publication_summary(published)

    path, published, _ = published_once
    assert "changes: this is the first publication, nothing to compare with (later loads: `kkik changes`)" in \
        mart_summary(path, published)
    edit_audit(
        path,
        f"update kkik_audit.kkik_result set value = 99.5, colour = 'red' where {cell('N00001', '0101', 2022, 'T')}",
        # N00003 2022 had values; N00004 2022 and N00001 2023 had none: both are new figures
        "insert into kkik_audit.kkik_result values ('N00004', '0101', 2022, 'T', 7.0, 'green', null), "
        "('N00004', '0102', 2022, 'K', 8.0, 'red', null), ('N00001', '0101', 2023, 'T', 1.0, 'green', null), "
        "('N00001', '0102', 2023, 'T', null, 'grey', null)",
    )
    publish_mart(path, load_id="run-2")
    lines = mart_summary(path, published)
    assert "4 values and 4 colours changed since the previous publication (load run-1); new figures: " \
           "N00001 2023, N00004 2022 (`kkik changes` lists every cell)" in lines
    assert lines.index("  kkik_revision: 0 → 4") > 0
    publish_mart(path, load_id="run-3")
    assert "0 values and 0 colours changed since the previous publication (load run-2); new figures: none " \
           "(`kkik changes` lists every cell)" in mart_summary(path, published)
    # every value of N00004 2022 gone (its rows stay, grey): a figure gone
    edit_audit(path, "update kkik_audit.kkik_result set value = null, colour = 'grey' "
                     "where kpi_id = 'N00004' and year = 2022")
    publish_mart(path, load_id="run-4")
    assert "2 values and 2 colours changed since the previous publication (load run-3); new figures: none; figures " \
           "gone (values before, none now): N00004 2022 (`kkik changes` lists every cell)" in mart_summary(path, published)


def test_the_watch_report_marks_the_flags_on_cells_changed_from_the_previous_publication(published_once, tmp_path):
    import pandas as pd

    from pipelines.publishing.revision import CHANGE_COLUMN, cells_changed_for_review, change_notes
    from pipelines.quality.report import write_report

    path, _, _ = published_once
    # the hand-made mart's flags: a warning on N00001 0101 2022 T, an accepted error on N00002 0102 2022 T
    edit_audit(path, f"update kkik_audit.kkik_result set value = 99.5, colour = 'red' "
                     f"where {cell('N00001', '0101', 2022, 'T')}")

    def report(name: str) -> tuple[str, pd.DataFrame]:
        with duckdb.connect(str(path), read_only=True) as con:
            flags = con.execute("select * from kkik_audit.kkik_flag").df()
            kpis = con.execute("select * from kkik_audit.dim_kpi").df()
            kommuner = con.execute("select municipality_id, municipality_name as name, is_kommun "
                                   "from kkik_audit.dim_municipality").df()
            changes = cells_changed_for_review(con)
        write_report(change_notes(flags, changes), None, kpis, kommuner, csv_path=tmp_path / f"{name}.csv",
                     html_path=tmp_path / f"{name}.html")
        csv = pd.read_csv(tmp_path / f"{name}.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
        return (tmp_path / f"{name}.html").read_text(encoding="utf-8"), csv

    for name in ("pending", "published"):  # before publication: against kkik; after: the publication's changes
        page, csv = report(name)
        marked = csv.loc[csv[CHANGE_COLUMN] != "", ["kpi_id", "municipality_id", CHANGE_COLUMN]].to_numpy().tolist()
        assert marked == [["N00001", "0101", "value 16.5 → 99.5, colour green → red"]], name
        # the ranked table and both grouped views mark the one changed cell
        assert page.count('<span class="badge changed" title="changed from the previous publication: '
                          'value 16.5 → 99.5, colour green → red">changed</span>') == 3
        assert page.count("badge changed") == 3
        publish_mart(path, load_id=f"run-{name}")
    page, csv = report("unchanged")  # the last publication changed nothing
    assert "badge changed" not in page and set(csv[CHANGE_COLUMN]) == {""}


def test_kkik_changes_pending_lists_what_the_audited_mart_would_change_and_nothing_once_published(
        published_once, tmp_path, monkeypatch, capsys):
    """After a load the audit blocked, the changes that wait for review: the audited kkik_result against the
    published one, by the one definition of a change; once published, nothing waits."""
    from pipelines.cli import main

    path, _, _ = published_once
    monkeypatch.setenv("KKIK_DUCKDB_PATH", str(path))
    out = tmp_path / "pending.csv"
    edit_audit(path, f"update kkik_audit.kkik_result set value = 99.5, colour = 'red' "
                     f"where {cell('N00001', '0101', 2022, 'T')}",
               f"update kkik_audit.kkik_result set colour = 'red' where {cell('N00002', '0103', 2021, 'K')}")
    capsys.readouterr()
    assert main(["changes", "--pending", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "since the last publication (load run-1), not yet published: 2 cells (1 value, 2 colours)" in printed
    assert "not yet" in printed.splitlines()[-1]
    rows = out.read_text(encoding="utf-8-sig").splitlines()
    assert len(rows) == 3 and ",99.5,green,red,run-1,pending," in rows[1]
    assert revisions(path) == []  # nothing recorded: it is not published
    monkeypatch.chdir(tmp_path)  # without --out: a file of its own, not the published changes' CSV
    assert main(["changes", "--pending"]) == 0
    assert "→ reports/kkik_changes_pending.csv" in capsys.readouterr().out
    assert (tmp_path / "reports" / "kkik_changes_pending.csv").read_text(encoding="utf-8-sig").splitlines() == rows

    publish_mart(path, load_id="run-2")
    assert main(["changes", "--pending", "--out", str(out)]) == 0
    assert "nothing waits for publication" in capsys.readouterr().out
    assert main(["changes", "--pending", "--since", "run-1", "--out", str(out)]) == 2  # one or the other


def test_kkik_changes_pending_after_a_blocked_load_that_moved_nothing_says_its_flags_wait(published_once, tmp_path,
                                                                                        monkeypatch, capsys):
    """No cell differs, but dbt built the audit mart after the last publication and it was not published:
    not "nothing waits" (helper-30)."""
    from pipelines.cli import main
    from pipelines.quality.publish import BUILD_STATE

    path, _, _ = published_once
    monkeypatch.setenv("KKIK_DUCKDB_PATH", str(path))
    edit_audit(path, f"create table {BUILD_STATE} as select 'built' as status, now() + interval 1 minute as "
                     "started_at, 'x' as invocation_id")
    capsys.readouterr()
    assert main(["changes", "--pending", "--out", str(tmp_path / "p.csv")]) == 0
    printed = capsys.readouterr().out
    assert "0 cells" in printed and "nothing waits" not in printed
    assert "no value or colour of kkik_result differs, but the audit mart built" in printed
    assert "was not published (blocked or failed after dbt): its flags wait for review" in printed
