"""The yearly KKiK load: one job over a range of years, and the schedule that starts it."""

from __future__ import annotations

from datetime import datetime

from dagster import (
    AssetSelection,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    define_asset_job,
    in_process_executor,
    schedule,
)
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from pipelines.config import LOAD_YEARS
from pipelines.partitions import yearly_partitions

#: New survey or own-reporting files: land the inbox and rebuild the mart (Kolada, SCB, Skolverket untouched).
inbox_load = define_asset_job(
    "inbox_load",
    selection=AssetSelection.groups("inbox").downstream(),
    partitions_def=yearly_partitions,
    description="Land new inbox files and rebuild the KKiK mart.",
)

kkik_yearly_load = define_asset_job(
    "kkik_yearly_load",
    selection=AssetSelection.all(),
    partitions_def=yearly_partitions,
    description="Land every source for a range of years and rebuild the KKiK mart.",
    # one process, steps back to back: a process per step would import the definitions again (≈ 5 s each)
    # and on 2 cores the overlap of the source steps saved less than that; DuckDB has one writer anyway
    executor_def=in_process_executor,
)

#: A refresh's Kolada step: only what changed since the warehouse last landed the figures and years.
REFRESH_RUN_CONFIG = {"ops": {"raw_kolada": {"config": {"changes_only": True}}}}

#: The refresh during the collection period (``kkik refresh``, ``kolada_changes_sensor``): the yearly job's
#: Kolada step asking only for changes, and everything downstream of it (dbt, audit, publish, reports);
#: SCB, Skolverket and the inbox are not fetched again.
kolada_refresh = define_asset_job(
    "kolada_refresh",
    # the inbox hangs off Kolada's municipality list, but a refresh does not land metadata or files
    selection=AssetSelection.groups("kolada").downstream() - AssetSelection.groups("inbox"),
    partitions_def=yearly_partitions,
    config=REFRESH_RUN_CONFIG,
    description="Land the Kolada values changed since the last load (from_date) and rebuild the KKiK mart.",
)


def range_tags(years: list[int]) -> dict[str, str]:
    """Run tags that make one run cover ``years`` (all assets have a single-run backfill policy)."""
    return {ASSET_PARTITION_RANGE_START_TAG: str(min(years)), ASSET_PARTITION_RANGE_END_TAG: str(max(years))}


def latest_year(settings) -> int:
    """The newest period to load: the setting, else the snapshot's newest year, else last year."""
    from datetime import date

    if settings.latest_year:
        return settings.latest_year
    if settings.uses_snapshot:
        from pipelines.snapshot.kolada_app import snapshot_latest_year

        return snapshot_latest_year()
    return date.today().year - 1


def default_years(latest_year: int) -> list[int]:
    """The four KKiK years ending at ``latest_year``, plus the year before them that the changes need."""
    return list(range(latest_year - LOAD_YEARS + 1, latest_year + 1))


@schedule(job=kkik_yearly_load, cron_schedule="0 5 1 3 *", execution_timezone="Europe/Stockholm")
def yearly_load_schedule(context: ScheduleEvaluationContext):
    """On 1 March, after Kolada's spring publications: reload the four latest periods (plus one for change).

    Kolada revises published values, so earlier years are reloaded too; each run replaces their values.
    """
    from pipelines.sensors import scheduled_run_refusal

    refusal = scheduled_run_refusal()
    if refusal is not None:
        return SkipReason(refusal)
    scheduled = context.scheduled_execution_time or datetime.now()
    years = default_years(scheduled.year - 1)
    return RunRequest(run_key=f"kkik-{scheduled.year}", tags=range_tags(years))
