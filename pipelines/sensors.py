"""The Kolada sensor of the collection period, and the check every scheduled run makes before it starts.

During the collection period (pipelines/collection_period.py) Kolada publishes and corrects KKiK figures as
they are ready. The sensor asks Kolada the cheap question (``from_date`` since the warehouse last landed the
figures: one request per 25 figures when nothing changed) and requests the ``kolada_refresh`` run only when
something changed; the run key is the answer's digest, so one answer starts one run however often it is seen.
Outside the period it skips without asking anything.

A scheduled run has nobody to pass ``--allow-mixed-sources``: a configuration that mixes live services and
the bundled snapshot is refused with the message ``kkik load`` gives (``preflight.check_sources``).
"""

from __future__ import annotations

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SkipReason, sensor

#: How often the sensor may ask Kolada during the collection period.
KOLADA_POLL_SECONDS = 3600


def scheduled_run_refusal(settings=None) -> str | None:
    """Why a scheduled run must not start now (mixed or missing sources, or a ``kkik load``, ``refresh`` or
    ``publish`` holding the warehouse's run lock), or None."""
    from pipelines.config import Settings, SettingsError
    from pipelines.preflight import BadArguments, check_sources
    from pipelines.warehouse import run_lock, run_lock_refusal

    try:
        settings = settings or Settings.from_env()
        check_sources(settings, allow_mixed=False)
    except (BadArguments, SettingsError) as problem:
        return f"not started: {problem}"
    with run_lock(settings.duckdb_path) as free:
        if not free:
            return run_lock_refusal(settings.duckdb_path)
    return None


def refresh_in_progress(instance) -> str | None:
    """The id of a ``kolada_refresh`` run queued or running: a second one would land the same changes beside it."""
    from dagster import DagsterRunStatus, RunsFilter

    runs = instance.get_runs(filters=RunsFilter(job_name="kolada_refresh", statuses=[
        DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
        DagsterRunStatus.STARTED]), limit=1)
    return runs[0].run_id if runs else None


def evaluate_kolada_changes(log=None, instance=None) -> RunRequest | SkipReason:
    """The sensor's decision: skip (outside the period, refused sources, a refresh running, nothing changed)
    or request a refresh."""
    from pipelines.catalogue import kkik_kpi_ids
    from pipelines.collection_period import END_VARIABLE, START_VARIABLE, CollectionPeriod, today
    from pipelines.config import Settings
    from pipelines.jobs import REFRESH_RUN_CONFIG, default_years, latest_year, range_tags
    from pipelines.refresh import RefreshNotPossible, changed_values, plan_from_warehouse
    from pipelines.resources import KoladaResource

    period = CollectionPeriod.from_env()
    if period is None:
        return SkipReason(f"no collection period configured ({START_VARIABLE}, {END_VARIABLE}): the sensor is off")
    day = today()
    if not period.contains(day):
        return SkipReason(f"{day} is outside the collection period {period}: the sensor is off")
    settings = Settings.from_env()
    refusal = scheduled_run_refusal(settings)
    if refusal is not None:
        return SkipReason(refusal)
    running = refresh_in_progress(instance) if instance is not None else None
    if running is not None:
        return SkipReason(f"the refresh run {running} is still queued or running")
    years = default_years(latest_year(settings))
    try:
        plan = plan_from_warehouse(settings.duckdb_path, kkik_kpi_ids(), years)
    except RefreshNotPossible as problem:
        return SkipReason(str(problem))
    kolada = KoladaResource(base_url=settings.kolada_url, api_version=settings.kolada_api_version)
    with kolada.open_client() as client:
        check = changed_values(client, plan)
    if not check.changed:
        return SkipReason(f"nothing changed in Kolada since {check.from_date} ({check.requests} requests)")
    if log is not None:
        log.info(f"{check.values} Kolada values changed since {check.from_date}: requesting a refresh")
    return RunRequest(run_key=f"kolada-refresh:{check.from_date}:{check.digest}", run_config=REFRESH_RUN_CONFIG,
                      tags=range_tags(years))


@sensor(job_name="kolada_refresh", minimum_interval_seconds=KOLADA_POLL_SECONDS,
        default_status=DefaultSensorStatus.RUNNING,
        description="During the collection period: refresh the KKiK mart when Kolada's figures changed.")
def kolada_changes_sensor(context: SensorEvaluationContext):
    """Polls Kolada during the collection period; one refresh run per distinct set of changes."""
    return evaluate_kolada_changes(context.log, context.instance)
