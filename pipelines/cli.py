"""The ``kkik`` command: run the yearly load (the same Dagster job as the schedule) from a shell.

Heavy imports (Dagster, dbt, Great Expectations) happen inside the subcommand that needs them,
so ``kkik --help`` answers at once.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def run_load(years: list[int], parallel: bool = False) -> int:
    """Run ``kkik_yearly_load`` for ``years`` and print a summary; returns an exit code.

    By default every step runs in this process, one after the other (fastest when the sources answer
    quickly, as the bundled snapshot does). ``parallel`` uses the job's own executor, as the schedule
    does: the source steps run in parallel processes, which pays when the live services are slow.
    """
    from dagster import DagsterInstance, execute_job, reconstructable

    from pipelines.config import Settings
    from pipelines.dbt_project import ensure_manifest

    ensure_manifest()  # before the definitions import: they read the manifest
    from pipelines.definitions import yearly_load_job
    from pipelines.jobs import range_tags
    from pipelines.summary import mart_summary

    settings = Settings.from_env()
    print(f"kkik load: years {years[0]}–{years[-1]} → {settings.duckdb_path}")
    print(f"  Kolada: {'bundled snapshot (served on loopback)' if settings.uses_snapshot else settings.kolada_url}")
    started = time.perf_counter()
    run_config = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
    # an instance on disk: DAGSTER_HOME's, so the run shows in `dagster dev`, or a temporary one
    with (DagsterInstance.get() if _has_dagster_home() else DagsterInstance.local_temp()) as instance:
        if parallel:
            result = execute_job(reconstructable(yearly_load_job), instance=instance, tags=range_tags(years),
                                 run_config=run_config)
        else:
            result = yearly_load_job().execute_in_process(instance=instance, tags=range_tags(years),
                                                          run_config=run_config, raise_on_error=False)
        success = result.success
        failures = [event for event in result.all_events if event.is_failure]
    seconds = time.perf_counter() - started
    if not success:
        for event in failures[:5]:
            print(f"  FAILED: {event.step_key}: {event.message}", file=sys.stderr)
        print(f"kkik load failed after {seconds:.1f} s; the published mart was left as it was.", file=sys.stderr)
        return 1
    print(f"kkik load done in {seconds:.1f} s")
    for line in mart_summary(settings.duckdb_path):
        print(f"  {line}")
    return 0


def _has_dagster_home() -> bool:
    import os

    return bool(os.environ.get("DAGSTER_HOME"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kkik", description="The KKiK pipeline: yearly load and data-error watch.")
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("load", help="land the sources and rebuild the KKiK mart for some years")
    load.add_argument(
        "--year",
        type=int,
        action="append",
        help="a year (period) to load; repeat for several. Default: the four latest years and the year before",
    )
    load.add_argument("--parallel", action="store_true",
                      help="run the source steps in parallel processes (the job's executor, as scheduled runs do)")

    watch = commands.add_parser(
        "watch",
        help="the data-error watch: ranked flags as CSV and HTML (exit 0 clean, 1 open errors, 2 bad input)",
        description="With --year: re-audit the warehouse's audit mart for that year and write "
                    "reports/kkik_watch_YYYY.{csv,html}. With --values FILE --out FILE: check a values file "
                    "(kpi_id, municipality_id, year, gender, value[, status]; Parquet or CSV, with the earlier "
                    "years as history) against the bundled catalogue, without touching the mart.",
    )
    watch.add_argument("--year", type=int, help="the year (period) to check")
    watch.add_argument("--values", type=Path, help="a values file to check instead of the mart")
    watch.add_argument("--out", type=Path, help="with --values: where to write the flags (.csv or .parquet)")
    watch.add_argument("--html", type=Path, help="with --values: also write the HTML report here")
    watch.add_argument("--out-dir", type=Path, default=Path("reports"), help="with --year: the report folder")

    accept = commands.add_parser(
        "accept",
        help="accept open error flags (with a name and a reason) so the audited mart can be published",
    )
    accept.add_argument("--by", required=True, help="who accepts (recorded with the publication)")
    accept.add_argument("--reason", required=True, help="why the flagged value is right or may be published")
    accept.add_argument("--rule", help="only flags of this rule id")
    accept.add_argument("--kpi", help="only flags of this key figure")
    accept.add_argument("--municipality", help="only flags of this municipality code")
    accept.add_argument("--year", type=int, help="only flags of this year")
    accept.add_argument("--file", type=Path, help="the accepted-flags file (default expectations/accepted_flags.csv)")

    report = commands.add_parser(
        "report",
        help="the KKiK report (HTML and PDF) of a kommun, a county network or every kommun, from the published mart",
    )
    which = report.add_mutually_exclusive_group(required=True)
    which.add_argument("--kommun", help="a kommun code, e.g. 1441 → kkik_1441_YYYY.html/.pdf")
    which.add_argument("--county", help="a county code, e.g. 23: its kommuner side by side → kkik_lan_23_YYYY.*")
    which.add_argument("--all", action="store_true", help="every kommun (with a progress bar)")
    report.add_argument("--year", type=int, help="the KKiK report year (default: the newest published year)")
    report.add_argument("--out", type=Path, default=Path("reports"), help="the folder to write to (default reports/)")
    report.add_argument("--mart", type=Path,
                        help="the published DuckDB file (default data/published/mart.duckdb, else the warehouse)")
    report.add_argument("--no-pdf", action="store_true", help="write HTML only")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "load":
        if args.year:
            years = sorted(set(args.year))
            if years != list(range(years[0], years[-1] + 1)):
                print("kkik load: --year values must form a consecutive range (one run covers a range)", file=sys.stderr)
                return 2
        else:
            from pipelines.config import Settings
            from pipelines.jobs import default_years, latest_year

            years = default_years(latest_year(Settings.from_env()))
        return run_load(years, parallel=args.parallel)
    if args.command == "watch":
        from pipelines import watch_commands

        if args.values:
            if not args.out:
                print("kkik watch: --values needs --out FILE (.csv or .parquet)", file=sys.stderr)
                return 2
            return watch_commands.watch_file(args.values, args.out, args.year, args.html)
        if not args.year:
            print("kkik watch: give --year YYYY (the mart) or --values FILE --out FILE (a file)", file=sys.stderr)
            return 2
        return watch_commands.watch_mart(args.year, args.out_dir)
    if args.command == "accept":
        from pipelines import watch_commands

        return watch_commands.accept_open_errors(by=args.by, reason=args.reason, rule=args.rule, kpi=args.kpi,
                                                 municipality=args.municipality, year=args.year, path=args.file)
    if args.command == "report":
        from pipelines.report.command import run_report

        return run_report(args.kommun, args.county, args.year, args.out, args.mart, pdf=not args.no_pdf)
    return 2


if __name__ == "__main__":
    sys.exit(main())
