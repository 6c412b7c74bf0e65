"""The Kolada raw tables as Dagster assets, landed together in one transaction per run."""

# No `from __future__ import annotations` here: Dagster reads the `context` annotation at definition time.


from dagster import AssetExecutionContext, AssetSpec, MaterializeResult, multi_asset

from pipelines.catalogue import kkik_kpi_ids
from pipelines.landing.kolada import land_kolada
from pipelines.landing.schema import METADATA_ENTITIES
from pipelines.partitions import single_run, years_of, yearly_partitions
from pipelines.resources import KoladaResource, WarehouseResource

KOLADA_ENTITIES = (*METADATA_ENTITIES, "data")

kolada_raw_specs = [
    AssetSpec(
        key=["raw", f"kolada__{entity}"],
        group_name="kolada",
        description=f"Kolada's `{entity}` responses as landed: pages on disk, rows in raw.kolada__{entity}.",
        kinds={"duckdb", "python"},
        partitions_def=yearly_partitions,
    )
    for entity in KOLADA_ENTITIES
]


@multi_asset(
    specs=kolada_raw_specs,
    partitions_def=yearly_partitions,
    backfill_policy=single_run,
    can_subset=False,
)
def raw_kolada(context: AssetExecutionContext, kolada: KoladaResource, warehouse: WarehouseResource):
    """Fetch KKiK values for the run's years and Kolada's metadata, and land them."""
    years = years_of(context)
    with kolada.open_client() as client:
        summary = land_kolada(
            client,
            kpi_ids=kkik_kpi_ids(),
            years=years,
            raw_dir=warehouse.raw_path,
            duckdb_path=warehouse.path,
            progress=context.log.info,
        )
    common = {"load_id": summary.load_id, "raw_folder": str(summary.raw_folder), "http_requests": summary.requests}
    for entity in KOLADA_ENTITIES:
        rows = summary.value_rows if entity == "data" else summary.metadata_rows[entity]
        extra = {"quarantined": summary.quarantined, "years": str(years)} if entity == "data" else {}
        if entity == "kpi_groups" and summary.kkik_group_diff is not None:
            extra["kkik_group_vs_catalogue"] = summary.kkik_group_diff
        yield MaterializeResult(asset_key=["raw", f"kolada__{entity}"], metadata={**common, "rows": rows, **extra})
