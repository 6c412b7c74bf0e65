"""``kkik refresh``: land only what Kolada changed since the warehouse last landed the figures, then rebuild.

First the cheap question (``from_date`` since the warehouse's watermark, pipelines/refresh.py): one request per
25 figures × 25 years when nothing changed, and then nothing is landed, built or published. When something
changed, the ``kolada_refresh`` job runs with the console of ``kkik load`` (pipelines/load_command.py): its
Kolada step asks the same question and merges the answer by key, deletions applied; dbt, the audit and the
publication are the yearly job's own steps.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from pipelines.config import Settings

EXIT_DONE, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def rerun_command(years: Sequence[int], explicit: bool) -> str:
    return " ".join(["kkik refresh", *(f"--year {y}" for y in years if explicit)])


def run_refresh(years: list[int], settings: Settings, *, explicit_years: bool) -> int:
    """Check Kolada for changes since the warehouse's watermark; refresh the mart when there are any."""
    from pipelines.catalogue import kkik_kpi_ids
    from pipelines.refresh import RefreshNotPossible, changed_values, plan_from_warehouse
    from pipelines.resources import KoladaResource
    from pipelines.sources.http import SourceResponseError

    kpi_ids = kkik_kpi_ids()
    try:
        plan = plan_from_warehouse(settings.duckdb_path, kpi_ids, years)
    except RefreshNotPossible as problem:
        print(f"kkik refresh: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    kolada = KoladaResource(base_url=settings.kolada_url, api_version=settings.kolada_api_version)
    rerun = rerun_command(years, explicit_years)
    try:
        with kolada.open_client() as client:
            check = changed_values(client, plan)
    except (SourceResponseError, OSError) as problem:
        print(f"kkik refresh FAILED: Kolada did not answer what changed since {plan.from_date}; nothing was "
              "landed and the published mart was left as it was.")
        print(f"  cause: Kolada: {problem}")
        print(f"  next:  check the service or KKIK_KOLADA_URL (now {settings.kolada_url}), then re-run: {rerun}")
        return EXIT_FAILED
    asked = f"{check.requests} request(s) for {len(kpi_ids)} figures × {len(plan.years)} years"
    if not check.changed:
        print(f"kkik refresh: nothing changed in Kolada since {plan.from_date} ({asked}); nothing landed or "
              "rebuilt, the published mart is as it was.")
        from pipelines.quality.publish import unpublished_build
        from pipelines.warehouse import connect

        with connect(settings.duckdb_path, read_only=True) as con:
            waiting = unpublished_build(con)
        if waiting:  # an earlier load or refresh landed changes that are not published
            print(f"  but {waiting}: its changes wait for review (`kkik changes --pending` lists them). next: "
                  "`kkik watch --year Y`, then correct or `kkik accept …`, then `kkik publish` (or re-run the load "
                  "after an interruption)")
            return EXIT_FAILED
        return EXIT_DONE
    print(f"kkik refresh: {check.values:,} values changed in Kolada since {plan.from_date} ({asked})")
    from pipelines.load_command import run_load

    return run_load(years, settings, rerun=rerun, command="refresh")
