"""The ``kkik`` command: the yearly load (the same Dagster job as the schedule), the watch and acceptances.

One ``add_<command>`` function builds each subcommand's arguments and names the function that runs it
(``cmd_<command>``), so a new subcommand is two functions and one line in ``build_parser``. Heavy imports
(Dagster, dbt, Great Expectations) happen inside the command that needs them, so ``kkik --help`` answers
at once. Arguments are checked before anything runs (pipelines/preflight.py): a refused command exits 2
and writes nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

EXIT_BAD_ARGUMENTS = 2


def fail(command: str, message: str) -> int:
    print(f"kkik {command}: {message}", file=sys.stderr)
    return EXIT_BAD_ARGUMENTS


# -- load ---------------------------------------------------------------------------------------------


def add_load(commands) -> None:
    load = commands.add_parser(
        "load", help="land the sources and rebuild the KKiK mart for some years",
        description="Land every source for a range of years, build the mart in kkik_audit, audit it and publish "
                    "it to kkik when no error flag is open. Sources: KKIK_SOURCES=snapshot for the bundled "
                    "snapshot (make run), else the live services (KKIK_KOLADA_URL, KKIK_SCB_URL, "
                    "KKIK_SKOLVERKET_URL, KKIK_INBOX_DIR). Exit 0 published, 1 failed or blocked, 2 bad arguments.")
    load.add_argument("--year", type=int, action="append",
                      help="a year (period) to load; repeat for several. Default: the four latest years and the year before")
    add_run_arguments(load)
    load.set_defaults(run=cmd_load)


def add_run_arguments(parser) -> None:
    """``--kpis`` and ``--allow-mixed-sources``: the options every command that runs the yearly job takes."""
    parser.add_argument("--allow-mixed-sources", action="store_true",
                        help="run even though some sources are live and others the bundled snapshot")
    parser.add_argument("--kpis", metavar="all|ID,ID,…|G<group>", action="append",
                        help="Kolada figures to land besides the KKiK catalogue (always landed): all (every figure "
                             "in Kolada's KPI list), a comma list of KPI ids, or a Kolada KPI group id; given twice, "
                             "the ids of both. They reach fct_kpi_value, dim_kpi and the watch; kkik_result and the "
                             "report stay the KKiK set")


def kpis_asked(given: list[str] | None, settings) -> str | None:
    """``--kpis`` parsed (and, when Kolada is the bundled snapshot, resolved against its metadata) before
    anything runs; its text for the run config, None for the default (the KKiK catalogue only). A repeated
    ``--kpis`` is one comma list (not the last one alone)."""
    text = ",".join(given) if given else None
    from pipelines.config import SNAPSHOT, SNAPSHOT_DIR
    from pipelines.kpi_selection import KpiSelectionError, check_against_bundled, parse_kpis
    from pipelines.preflight import BadArguments

    try:
        selection = parse_kpis(text)
        if selection.is_kkik_only:
            return None
        if settings.kolada_url == SNAPSHOT:
            check_against_bundled(selection, SNAPSHOT_DIR / "kolada")
    except KpiSelectionError as problem:
        raise BadArguments(str(problem)) from None
    return selection.spec


def years_asked(years: list[int] | None, settings) -> list[int]:
    """The years given with --year, sorted and once each; else the years the yearly load takes by default."""
    if years:
        return sorted(set(years))
    from pipelines.jobs import default_years, latest_year

    return default_years(latest_year(settings))


def cmd_load(args) -> int:
    return run_yearly_job("load", args, lambda settings: years_asked(args.year, settings),
                          lambda years, options: rerun_of_load(years, bool(args.year), options))


def rerun_of_load(years: list[int], years_given: bool, options: list[str]) -> str:
    from pipelines.load_command import rerun_command

    return rerun_command(years, years_given, options)


def run_yearly_job(command: str, args, years_of, rerun_of) -> int:
    """The checks before anything is written (years, sources, ``--kpis``), then the yearly job: ``kkik load``
    and ``kkik backfill`` differ only in how they name the years (``years_of(settings)``) and in the command
    to run again (``rerun_of(years, options)``)."""
    from pipelines.config import Settings, SettingsError
    from pipelines.preflight import BadArguments, check_sources, check_warehouse_writable, check_years

    try:
        settings = Settings.from_env()
        years = years_of(settings)
        check_years(years, settings)
        check_sources(settings, allow_mixed=args.allow_mixed_sources)
        check_warehouse_writable(settings)
        kpis = kpis_asked(args.kpis, settings)
    except (BadArguments, SettingsError) as problem:
        return fail(command, str(problem))
    from pipelines.load_command import run_load

    options = ([f"--kpis {kpis}"] if kpis else []) + ["--allow-mixed-sources"] * args.allow_mixed_sources
    return run_load(years, settings, rerun=rerun_of(years, options), kpis=kpis, command=command)


# -- backfill -----------------------------------------------------------------------------------------


def add_backfill(commands) -> None:
    backfill = commands.add_parser(
        "backfill", help="load a range of years in one run (a new installation: --from 1994 --to 2022)",
        description="Land every source for the years FROM..TO in one Dagster run over the partition range (one "
                    "Kolada query per 25 figures × 25 years, pages streamed to disk, one dbt build, one audit, "
                    "one publication), as `kkik load --year FROM … --year TO` does. Exit 0 published, 1 failed "
                    "or blocked, 2 bad arguments.")
    backfill.add_argument("--from", dest="first", type=int, required=True, help="the first year (period)")
    backfill.add_argument("--to", dest="last", type=int, required=True, help="the last year (period)")
    add_run_arguments(backfill)
    backfill.set_defaults(run=cmd_backfill)


def cmd_backfill(args) -> int:
    if args.first > args.last:
        return fail("backfill", f"--from {args.first} is after --to {args.last}")
    return run_yearly_job("backfill", args, lambda _settings: list(range(args.first, args.last + 1)),
                          lambda _years, options: " ".join(["kkik backfill", f"--from {args.first} --to {args.last}",
                                                            *options]))


# -- watch --------------------------------------------------------------------------------------------


def add_watch(commands) -> None:
    watch = commands.add_parser(
        "watch",
        help="the data-error watch: ranked flags as CSV and HTML (exit 0 clean, 1 open errors, 2 bad input)",
        description="With --year: re-audit the warehouse's audit mart for that year and write "
                    "reports/kkik_watch_YYYY.{csv,html}. With --values FILE --out FILE: check a values file "
                    "(kpi_id, municipality_id, year, gender, value[, status]; Parquet or CSV, with the earlier "
                    "years as history) against the bundled catalogue, without touching the mart. Exit codes: "
                    "0 no open error, 1 at least one open error (publication would be blocked), 2 bad input.",
    )
    watch.add_argument("--year", type=int, help="the year (period) to check; with --values the default is the "
                                                "file's newest year")
    watch.add_argument("--values", type=Path, help="a values file to check instead of the mart")
    watch.add_argument("--out", type=Path, help="with --values (required): where to write the flags (.csv or "
                                                ".parquet)")
    watch.add_argument("--html", type=Path, help="with --values: also write the HTML report here")
    watch.add_argument("--out-dir", type=Path, default=Path("reports"), help="with --year: the report folder")
    watch.set_defaults(run=cmd_watch)


def cmd_watch(args) -> int:
    from pipelines import watch_commands

    if args.values:
        if not args.out:
            return fail("watch", "--values needs --out FILE (.csv or .parquet)")
        return watch_commands.watch_file(args.values, args.out, args.year, args.html)
    if not args.year:
        return fail("watch", "give --year YYYY (the mart) or --values FILE --out FILE (a file)")
    from pipelines.config import Settings
    from pipelines.preflight import BadArguments, check_years_loaded

    try:
        check_years_loaded([args.year], Settings.from_env())
    except BadArguments as problem:
        return fail("watch", str(problem))
    return watch_commands.watch_mart(args.year, args.out_dir)


# -- accept -------------------------------------------------------------------------------------------


def add_accept(commands) -> None:
    accept = commands.add_parser(
        "accept",
        help="accept open error flags (with a name and a reason) so the audited mart can be published",
        description="Append the open error flags of kkik_audit.kkik_flag that match the filters (all of them "
                    "without a filter) to the accepted-flags file, with a name, a reason and today's date, and list "
                    "them; `kkik publish` then audits the built mart with them. Exit 0 (also when nothing "
                    "matches), 2 without a warehouse or without --by/--reason.",
    )
    accept.add_argument("--by", required=True, help="who accepts (recorded with the publication)")
    accept.add_argument("--reason", required=True, help="why the flagged value is right or may be published")
    accept.add_argument("--rule", help="only flags of this rule id")
    accept.add_argument("--kpi", help="only flags of this key figure")
    accept.add_argument("--municipality", help="only flags of this municipality code")
    accept.add_argument("--year", type=int, help="only flags of this year")
    accept.add_argument("--file", type=Path, help="the accepted-flags file (default expectations/accepted_flags.csv)")
    accept.set_defaults(run=cmd_accept)


def cmd_accept(args) -> int:
    from pipelines import watch_commands

    return watch_commands.accept_open_errors(by=args.by, reason=args.reason, rule=args.rule, kpi=args.kpi,
                                             municipality=args.municipality, year=args.year, path=args.file)


def add_report(commands) -> None:
    report = commands.add_parser(
        "report",
        help="the KKiK report (HTML and PDF) of a kommun, a county network or every kommun, from the published mart",
        description="Write the KKiK report from the published mart only (never kkik_audit). Exit 0 written, 2 an "
                    "unknown kommun or county, a year without published values, no published mart, or an --out "
                    "that cannot be written.",
    )
    which = report.add_mutually_exclusive_group(required=True)
    which.add_argument("--kommun", help="a kommun code, e.g. 1441 → kkik_1441_YYYY.html/.pdf (180 is read as 0180)")
    which.add_argument("--county", help="a county code, e.g. 23: its kommuner side by side → kkik_lan_23_YYYY.*")
    which.add_argument("--all", action="store_true", help="every kommun (with a progress bar)")
    report.add_argument("--year", type=int, help="the KKiK report year (default: the newest published year, "
                        "the newest with kommun values for at least half of its key figures)")
    report.add_argument("--out", type=Path, default=Path("reports"), help="the folder to write to (default reports/)")
    report.add_argument("--mart", type=Path,
                        help="the published DuckDB file (default data/published/mart.duckdb, else the warehouse)")
    report.add_argument("--no-pdf", action="store_true", help="write HTML only")
    report.set_defaults(run=cmd_report)


def cmd_report(args) -> int:
    from pipelines.report.command import run_report

    return run_report(args.kommun, args.county, args.year, args.out, args.mart, pdf=not args.no_pdf)


def add_publish(commands) -> None:
    publish = commands.add_parser(
        "publish", help="audit the built kkik_audit mart again with the current acceptances and publish it "
                        "if nothing blocks (no reload)",
        description="Audit kkik_audit as built by the last load (rules, GX, the publication gate, the current "
                    "acceptances) and publish it to kkik and the readers' copy when no error flag is open. No "
                    "source is fetched and dbt does not run. Exit 0 published, 1 blocked (open errors, a build "
                    "that was interrupted or failed, or another load running), 2 bad arguments (no warehouse, a "
                    "year the mart holds no values for).")
    publish.add_argument("--year", type=int, action="append",
                         help="a year to audit (repeat; default: the years of the last load)")
    publish.add_argument("--file", type=Path, help="the accepted-flags file (default expectations/accepted_flags.csv)")
    publish.set_defaults(run=cmd_publish)


def cmd_publish(args) -> int:
    from pipelines.publish_command import publish_built_mart

    return publish_built_mart(sorted(set(args.year)) if args.year else None, args.file)


def add_refresh(commands) -> None:
    refresh = commands.add_parser(
        "refresh", help="land only the Kolada values changed since the last load, then rebuild, audit and publish",
        description="Ask Kolada what changed (from_date) since the warehouse last landed the catalogue's figures "
                    "for these years; when nothing changed say so and stop (one request per 25 figures), else "
                    "merge the changes (deletions included) and run dbt, the audit and the publication. "
                    "Exit 0 done, 1 failed or blocked, 2 bad arguments or years never loaded.")
    refresh.add_argument("--year", type=int, action="append",
                         help="a year (period) to refresh; repeat for several. Default: the years `kkik load` loads")
    refresh.set_defaults(run=cmd_refresh)


def cmd_refresh(args) -> int:
    from pipelines.config import Settings, SettingsError
    from pipelines.preflight import BadArguments, check_warehouse_writable, check_years

    try:
        settings = Settings.from_env()
        years = years_asked(args.year, settings)
        check_years(years, settings)
        check_warehouse_writable(settings)
    except (BadArguments, SettingsError) as problem:
        return fail("refresh", str(problem))
    from pipelines.refresh_command import run_refresh

    return run_refresh(years, settings, explicit_years=bool(args.year))


def add_changes(commands) -> None:
    changes = commands.add_parser(
        "changes", help="what changed in the published KKiK result: one row per changed value or colour",
        description="Print and write (CSV) the cells of kkik.kkik_result whose value or colour changed at a "
                    "publication (kkik.kkik_revision), or (--pending) that the last load changed and that is not "
                    "published yet. Default: the newest publication's changes. Exit 0, "
                    "2 when nothing is published or --since is neither a date nor a publication's load id.")
    which = changes.add_mutually_exclusive_group()
    which.add_argument("--since", metavar="DATE|LOAD",
                       help="every change published on or after DATE (YYYY-MM-DD), or after the load LOAD")
    which.add_argument("--pending", action="store_true",
                       help="what the last load changed that is not published yet (a load the audit blocked: the "
                            "changes waiting for review, against the published mart)")
    changes.add_argument("--out", type=Path, default=None,
                         help="the file to write, CSV or (ending .parquet) Parquet (default "
                              "reports/kkik_changes.csv; with --pending reports/kkik_changes_pending.csv)")
    changes.set_defaults(run=cmd_changes)


def cmd_changes(args) -> int:
    from pipelines.changes_command import show_changes

    return show_changes(args.since, args.out, pending=args.pending)


# -- the command ----------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kkik", description="The KKiK pipeline: yearly load and data-error watch.")
    commands = parser.add_subparsers(dest="command", required=True)
    for add in (add_load, add_backfill, add_watch, add_accept, add_report, add_publish, add_refresh, add_changes):
        add(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a subcommand; a reader that closes the pipe early (``kkik … | head -1``) ends it quietly.

    Without ``argv`` this is the ``kkik`` command itself, and the process ends here (``end_process``);
    called with arguments (the tests) it returns the exit code."""
    code = _run(argv)
    if argv is None:
        end_process(code)
    return code


def end_process(code: int) -> None:
    """End the process as Python's own exit does (other threads joined, exit handlers run, output flushed)
    but without its teardown of every loaded module, which after a load (dagster, dbt, pandas and the mart's
    frames freed object by object) kept the operator waiting ≈ 1.5 s after the summary."""
    import atexit
    import threading

    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # the reader is gone, or the stream is closed: nothing to flush
            pass
    os._exit(code)


def _run(argv: list[str] | None) -> int:
    try:
        try:
            args = build_parser().parse_args(argv)
            code = args.run(args)
        except SystemExit as exit_:  # --help, or argparse's own usage errors (exit 2)
            code = exit_.code if isinstance(exit_.code, int) else EXIT_BAD_ARGUMENTS
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # the reader is gone: send what is still buffered to /dev/null so the exit flush cannot raise
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 141  # 128 + SIGPIPE, as a shell reports a command stopped by a closed pipe


if __name__ == "__main__":
    sys.exit(main())
