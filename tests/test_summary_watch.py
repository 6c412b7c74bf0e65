"""The summary's error-watch line splits the errors as the publication gate does."""

import duckdb

from pipelines.summary import watch_lines


def test_watch_line_counts_open_outside_and_accepted_errors_apart():
    con = duckdb.connect()
    con.execute("create schema kkik_audit")
    con.execute("create table kkik_audit.kkik_flag (severity varchar, accepted boolean, is_kkik boolean)")
    con.execute("""insert into kkik_audit.kkik_flag values
        ('error', false, true), ('error', false, null),          -- blocking (a flag without a figure counts as KKiK)
        ('error', false, false), ('error', false, false), ('error', false, false),  -- outside the KKiK set
        ('error', true, true), ('error', true, false),           -- accepted
        ('warning', false, true), ('warning', false, false)""")
    [line] = watch_lines(con)
    assert line.startswith("error watch: 2 open errors (blocking), 3 open errors outside the KKiK set (not blocking), "
                           "2 accepted errors, 2 warnings")
