"""SCB and Skolverket raw tables as Dagster assets: the agencies' own figures beside Kolada's."""

# No `from __future__ import annotations` here: Dagster reads the `context` annotation at definition time.

from dagster import AssetExecutionContext, AssetSpec, MaterializeResult, asset, multi_asset

from pipelines.landing.scb import land_scb
from pipelines.landing.skolverket import land_skolverket
from pipelines.partitions import single_run, yearly_partitions, years_of
from pipelines.resources import ScbResource, SkolverketResource, WarehouseResource

SCB_TABLES = {
    "population": "Population per region, sex and year (SCB BE0101N1), the denominator table.",
    "employment_share": "Förvärvsarbetande 20–64 år, share per region, sex and year (SCB; KKiK's N00914).",
}


@multi_asset(
    specs=[AssetSpec(key=["raw", f"scb__{name}"], group_name="scb", kinds={"duckdb", "python"},
                     partitions_def=yearly_partitions, description=description)
           for name, description in SCB_TABLES.items()],
    partitions_def=yearly_partitions,
    backfill_policy=single_run,
    can_subset=False,
)
def raw_scb(context: AssetExecutionContext, scb: ScbResource, warehouse: WarehouseResource):
    with scb.open_client() as client:
        summary = land_scb(client, years=years_of(context), raw_dir=warehouse.raw_path, duckdb_path=warehouse.path,
                           progress=context.log.info)
    for name in SCB_TABLES:
        yield MaterializeResult(asset_key=["raw", f"scb__{name}"], metadata={
            "load_id": summary.load_id, "rows": summary.rows_per_table.get(name, 0),
            "http_requests": summary.requests, "raw_folder": str(summary.raw_folder)})


@asset(
    key=["raw", "skolverket__school_results"],
    group_name="skolverket",
    kinds={"duckdb", "python"},
    partitions_def=yearly_partitions,
    backfill_policy=single_run,
    description="School results per kommun, huvudman and kön from Skolverket's Sök statistik exports.",
)
def raw_skolverket_school_results(
    context: AssetExecutionContext, skolverket: SkolverketResource, warehouse: WarehouseResource
):
    with skolverket.open_client() as client:
        summary = land_skolverket(client, years=years_of(context), raw_dir=warehouse.raw_path,
                                  duckdb_path=warehouse.path, progress=context.log.info)
    return MaterializeResult(metadata={"load_id": summary.load_id, "rows": summary.rows,
                                       "http_requests": summary.requests, "raw_folder": str(summary.raw_folder)})
