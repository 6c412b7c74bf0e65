"""The dbt models as Dagster assets; dbt tests show up as asset checks."""

# No `from __future__ import annotations` here: Dagster reads the `context` annotation at definition time.


import json
import shutil
from typing import Any, Mapping

from dagster import AssetExecutionContext, AssetKey
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from pipelines.dbt_project import kkik_dbt_project
from pipelines.partitions import single_run, years_of, yearly_partitions
from pipelines.resources import WarehouseResource
from pipelines.landing.schema import ensure_raw_tables
from pipelines.warehouse import connect, warehouse_lock


class KkikDbtTranslator(DagsterDbtTranslator):
    """Groups by layer (staging, intermediate, kkik, reference) so the graph reads like the data flow."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        schema = dbt_resource_props.get("config", {}).get("schema")
        return schema or "dbt"


@dbt_assets(
    manifest=kkik_dbt_project.manifest_path,
    partitions_def=yearly_partitions,
    backfill_policy=single_run,
    dagster_dbt_translator=KkikDbtTranslator(),
)
def kkik_dbt_models(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """``dbt build`` of the whole project: every model is rebuilt from raw (all years landed so far)."""
    warehouse.export_for_dbt()
    with connect(warehouse.path) as con:  # dbt's sources must exist even for a source never landed
        ensure_raw_tables(con)
    with warehouse_lock(warehouse.path):  # the source steps of the run may still be writing
        invocation = dbt.cli(["build", "--vars", json.dumps({"years": years_of(context)})], context=context)
        yield from invocation.stream()
    # ≈1.5 MB per run; a failed run keeps its folder: the error message points to the dbt.log in it
    shutil.rmtree(invocation.target_path, ignore_errors=True)


def dbt_asset_key(model_name: str) -> AssetKey:
    """The Dagster key of a dbt model (keys carry the schema, e.g. kkik/kkik_result)."""
    from dagster_dbt import get_asset_key_for_model

    return get_asset_key_for_model([kkik_dbt_models], model_name)
