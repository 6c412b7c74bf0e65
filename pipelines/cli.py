"""The ``kkik`` command: run the yearly load (the same Dagster job as the schedule) from a shell.

Heavy imports (Dagster, dbt, Great Expectations) happen inside the subcommand that needs them,
so ``kkik --help`` answers at once.
"""

from __future__ import annotations

import argparse
import sys
import time


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
    return 2


if __name__ == "__main__":
    sys.exit(main())
