"""The ``kkik`` command: run the yearly load (the same Dagster job as the schedule) from a shell.

Heavy imports (Dagster, dbt, Great Expectations) happen inside the subcommand that needs them,
so ``kkik --help`` answers at once.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time


def _latest_year() -> int:
    """The newest year the configured Kolada source has: the snapshot's manifest, else last year."""
    from datetime import date

    from pipelines.config import Settings

    settings = Settings.from_env()
    if settings.latest_year:
        return settings.latest_year
    if settings.uses_snapshot:
        from pipelines.snapshot.kolada_app import snapshot_latest_year

        return snapshot_latest_year()
    return date.today().year - 1


def run_load(years: list[int]) -> int:
    """Run ``kkik_yearly_load`` in this process for ``years``; print a summary. Returns an exit code."""
    from dagster import DagsterInstance

    from pipelines.config import Settings
    from pipelines.definitions import defs
    from pipelines.jobs import range_tags
    from pipelines.summary import mart_summary

    settings = Settings.from_env()
    print(f"kkik load: years {years[0]}–{years[-1]} → {settings.duckdb_path}")
    print(f"  Kolada: {'bundled snapshot (served on loopback)' if settings.uses_snapshot else settings.kolada_url}")
    started = time.perf_counter()
    job = defs.get_job_def("kkik_yearly_load")
    instance = DagsterInstance.get() if _has_dagster_home() else DagsterInstance.ephemeral()
    result = job.execute_in_process(
        instance=instance,
        tags=range_tags(years),
        run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        raise_on_error=False,
    )
    seconds = time.perf_counter() - started
    if not result.success:
        failures = [event for event in result.all_events if event.is_failure]
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
            from pipelines.jobs import default_years

            years = default_years(_latest_year())
        return run_load(years)
    return 2


if __name__ == "__main__":
    sys.exit(main())
