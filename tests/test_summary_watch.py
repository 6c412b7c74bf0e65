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


def test_kkik_watch_lists_ten_rules_and_names_the_rest_on_one_line(capsys):
    """Twelve rules fired: ten on a line each, by count, and the two with fewest flags named together with
    their sum, so no rule of the report is left unsaid on the terminal."""
    from pipelines.watch_commands import _print_summary

    by_rule = {f"rule.{i:02d}": 100 - i for i in range(12)}
    _print_summary({"flags": sum(by_rule.values()), "open_errors": 0, "accepted_errors": 0, "warnings": 1134,
                    "by_rule": by_rule, "html": "r.html", "csv": "r.csv"}, "year 2022")
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[-1] for line in lines[1:11]] == [f"rule.{i:02d}" for i in range(10)]
    assert lines[11] == "     179  of 2 more rules: rule.10, rule.11"
