"""Assembles the Dagster code location: assets, resources, the yearly job and its schedule. Nothing else."""

from __future__ import annotations

from dagster import Definitions, in_process_executor

from pipelines.assets.agencies import raw_scb, raw_skolverket_school_results
from pipelines.assets.dbt import KkikDbtCliResource, kkik_dbt_models
from pipelines.assets.inbox import inbox_sensor, raw_inbox
from pipelines.assets.kolada import raw_kolada
from pipelines.assets.quality import kkik_flag, published_mart, rule_group_checks
from pipelines.assets.report import kkik_reports
from pipelines.dbt_project import kkik_dbt_project
from pipelines.jobs import inbox_load, kkik_yearly_load, kolada_refresh, yearly_load_schedule
from pipelines.resources import resources_from_env
from pipelines.sensors import kolada_changes_sensor

resources = resources_from_env()
defs = Definitions(
    assets=[raw_kolada, raw_scb, raw_skolverket_school_results, raw_inbox, kkik_dbt_models,
            kkik_flag, published_mart, kkik_reports],
    asset_checks=[rule_group_checks],
    jobs=[kkik_yearly_load, inbox_load, kolada_refresh],
    schedules=[yearly_load_schedule],
    sensors=[inbox_sensor, kolada_changes_sensor],
    resources={**resources,
               "dbt": KkikDbtCliResource(project_dir=kkik_dbt_project, warehouse=resources["warehouse"])},
    # one process: DuckDB has one writer per file, and a check beside the dbt step would hit its lock
    executor=in_process_executor,
)


def yearly_load_job():
    """The yearly job, resolved (``kkik load``)."""
    return defs.get_job_def("kkik_yearly_load")


def kolada_refresh_job():
    """The refresh job, resolved (``kkik refresh``)."""
    return defs.get_job_def("kolada_refresh")
