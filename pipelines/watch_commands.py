"""What ``kkik watch`` and ``kkik accept`` do; the argument parsing stays in ``pipelines/cli.py``.

Exit codes of ``kkik watch``: 0 no open error flag, 1 at least one (publication would be blocked),
2 bad input (a file or a warehouse that cannot be checked).
"""

from __future__ import annotations

import csv
import sys
from datetime import date
from pathlib import Path

from pipelines.console import count_of

#: the rules `kkik watch` lists one per line, by their flag count; the rest share a line
RULES_SHOWN = 10
#: the accepted flags `kkik accept` lists (the file has them all)
ACCEPTED_SHOWN = 10

EXIT_CLEAN, EXIT_OPEN_ERRORS, EXIT_BAD_INPUT = 0, 1, 2


def watch_mart(year: int, out_dir: Path) -> int:
    """Re-run the audit of the warehouse's audit mart for ``year`` and write the ranked report."""
    from pipelines.config import Settings
    from pipelines.preflight import refuses_without_audit_mart
    from pipelines.publishing.revision import CHANGE_COLUMN, cells_changed_for_review, change_notes
    from pipelines.quality.audit import audit_mart
    from pipelines.quality.mart_inputs import read_values_of, read_watch_inputs
    from pipelines.quality.report import charted_kpis, write_report
    from pipelines.warehouse import connect

    settings = Settings.from_env()
    if refuses_without_audit_mart("watch", settings):
        return EXIT_BAD_INPUT
    with connect(settings.duckdb_path, read_only=True) as con:
        inputs = read_watch_inputs(con, years=[year])  # the checked year and later: the models hold the history
        changes = cells_changed_for_review(con)
    summary, flags = audit_mart(settings.duckdb_path, years=[year], load_id=f"watch-{year}-{date.today()}",
                                quality_dir=settings.quality_dir, inputs=inputs)
    flags = change_notes(flags, changes)  # the report marks the flags on cells changed since the last publication
    with connect(settings.duckdb_path, read_only=True) as con:  # every year of the charted figures only
        history = read_values_of(con, charted_kpis(flags))
    report = write_report(flags, history, inputs.kpis, inputs.municipalities,
                          csv_path=out_dir / f"kkik_watch_{year}.csv", html_path=out_dir / f"kkik_watch_{year}.html",
                          title=f"KKiK data-error watch {year}", peers=inputs.tables.peers)
    _print_summary(report, f"year {year}")
    changed = flags.loc[flags[CHANGE_COLUMN] != "", ["kpi_id", "municipality_id", "year", "gender"]].drop_duplicates()
    print(f"  {len(changed):,} flagged cells changed from the previous publication (marked \"changed\" in the report)")
    return EXIT_OPEN_ERRORS if summary.open_errors else EXIT_CLEAN


def watch_file(values_path: Path, out: Path, year: int | None, html: Path | None) -> int:
    """Check a values file against the bundled catalogue; write the flags to ``out`` (.csv/.parquet)."""
    from pipelines.quality.acceptance import flag_counts
    from pipelines.quality.rules import load_rules
    from pipelines.quality.values_file import (
        ValuesFileError,
        check_output_path,
        check_writable,
        check_year_in_file,
        default_year,
        read_values_file,
        watch_values_with_tables,
        write_flags,
    )

    try:
        check_output_path(out)  # before any work: a directory, an unwritable folder, an unknown type
        if html is not None:
            check_writable(html)
        values = read_values_file(values_path)
        if year is not None:
            check_year_in_file(values, year, values_path)
        checked = year or default_year(values, date.today(), load_rules())
        flags, tables = watch_values_with_tables(values, years=[checked])
        write_flags(flags, out)
    except ValuesFileError as problem:
        print(f"kkik watch: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if html is not None:
        from pipelines.quality.bundled import bundled_kpis, bundled_municipalities
        from pipelines.quality.report import write_report

        write_report(flags, values, bundled_kpis(), bundled_municipalities(), csv_path=None, html_path=html,
                     title=f"KKiK data-error watch: {values_path.name}", peers=tables.peers)
    counts = flag_counts(flags)
    n_open = counts["open_errors"]
    print(f"kkik watch: {values_path} ({checked}): {count_of(counts['flags'], 'flag')}, "
          f"{count_of(n_open, 'open error')}, {count_of(counts['warnings'], 'warning')} → {out}")
    # the errors first (they decide the exit code), then the highest-ranked warnings
    shown = flags.sort_values("severity", key=lambda severity: severity != "error", kind="stable").head(5)
    for _, flag in shown.iterrows():
        print(f"  [{flag['severity']}] {flag['message']}")
    if len(flags) > len(shown):
        print(f"  … {len(flags) - len(shown)} more in {out}")
    return EXIT_OPEN_ERRORS if n_open else EXIT_CLEAN


def accept_filters(**filters) -> str:
    """``kkik accept``'s filter options for the given values (``--rule R --kpi K …``), the absent ones left out."""
    return " ".join(f"--{name} {value}" for name, value in filters.items() if value is not None)


def accept_open_errors(*, by: str, reason: str, rule: str | None, kpi: str | None, municipality: str | None,
                       year: int | None, path: Path | None) -> int:
    """Append the open error flags that match the filters to the accepted-flags file, with a reason."""
    from pipelines.config import Settings
    from pipelines.preflight import refuses_without_audit_mart
    from pipelines.quality.acceptance import ACCEPTANCE_COLUMNS, ACCEPTED_FLAGS_PATH, FLAG_KEY
    from pipelines.quality.audit import FLAG_TABLE
    from pipelines.warehouse import connect

    if not by.strip() or not reason.strip():
        print("kkik accept: --by and --reason are required: an acceptance needs a name and a reason", file=sys.stderr)
        return EXIT_BAD_INPUT
    path = path or ACCEPTED_FLAGS_PATH
    settings = Settings.from_env()
    if refuses_without_audit_mart("accept", settings):
        return EXIT_BAD_INPUT
    conditions, params = ["severity = 'error'", "not accepted"], []
    for column, value in [("rule_id", rule), ("kpi_id", kpi), ("municipality_id", municipality), ("year", year)]:
        if value is not None:
            conditions.append(f"{column} = ?")
            params.append(value)
    with connect(settings.duckdb_path, read_only=True) as con:
        rows = con.execute(f"select distinct {', '.join(FLAG_KEY)} from {FLAG_TABLE} where {' and '.join(conditions)} "
                           "order by all", params).fetchall()
    if not rows:
        print(f"kkik accept: no open error flag matches these filters; {path} is unchanged "
              "(`kkik watch --year Y` lists the open flags with their rule, figure, kommun and year)")
        return EXIT_CLEAN
    new_file = not path.exists()
    with open(path, "a", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        if new_file:
            writer.writerow(ACCEPTANCE_COLUMNS)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row] + [by, reason, date.today().isoformat()])
    filters = accept_filters(rule=rule, kpi=kpi, municipality=municipality, year=year)
    print(f"kkik accept: {count_of(len(rows), 'open error flag')} accepted in {path} "
          f"({filters or 'no filter: every open error flag'}); next: `kkik publish` audits "
          "the built mart again with them and publishes it (no reload)")
    for row in rows[:ACCEPTED_SHOWN]:
        print("  " + " ".join(str(v) for v in row if v is not None))
    if len(rows) > ACCEPTED_SHOWN:
        print(f"  … {len(rows) - ACCEPTED_SHOWN:,} more in {path}")
    return EXIT_CLEAN


def _print_summary(report: dict, what: str) -> None:
    outside = report.get("open_errors_outside_kkik", 0)
    print(f"kkik watch ({what}): {count_of(report['flags'], 'flag')} — {count_of(report['open_errors'], 'open error')} "
          f"(block publication), {count_of(outside, 'open error')} outside the KKiK set (not blocking), "
          f"{count_of(report['accepted_errors'], 'accepted error')}, "
          f"{count_of(report['warnings'], 'warning')}")
    by_rule = sorted(report["by_rule"].items(), key=lambda item: -item[1])
    for rule_id, n in by_rule[:RULES_SHOWN]:
        print(f"  {n:>6}  {rule_id}")
    if len(by_rule) > RULES_SHOWN:
        rest = by_rule[RULES_SHOWN:]
        print(f"  {sum(n for _, n in rest):>6}  of {len(rest)} more rules: "
              + ", ".join(rule_id for rule_id, _ in rest))
    print(f"  report: {report['html']}\n  flags:  {report['csv']}")
