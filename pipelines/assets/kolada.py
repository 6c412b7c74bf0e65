"""The Kolada raw tables as Dagster assets, landed together in one transaction per run."""

# No `from __future__ import annotations` here: Dagster reads the `context` annotation at definition time.


from dagster import AssetExecutionContext, AssetSpec, Config, Failure, MaterializeResult, multi_asset

from pipelines.catalogue import kkik_kpi_ids
from pipelines.landing.kolada import land_kolada
from pipelines.landing.schema import METADATA_ENTITIES
from pipelines.partitions import single_run, yearly_partitions, years_of
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


class KoladaFetch(Config):
    """How the run asks Kolada: every value of its years (the yearly load), or only what changed."""

    #: a refresh (``kkik refresh``, the Kolada sensor): only the values changed since the warehouse last landed
    #: these figures and years (``from_date``), merged by key with Kolada's deletions applied
    changes_only: bool = False
    #: the figures besides the KKiK catalogue (``kkik load --kpis``): ``kkik`` (none), ``all`` (every figure
    #: in Kolada's KPI list) or a comma list of KPI ids and KPI group ids (pipelines/kpi_selection.py)
    kpis: str = "kkik"


@multi_asset(
    specs=kolada_raw_specs,
    partitions_def=yearly_partitions,
    backfill_policy=single_run,
    can_subset=False,
)
def raw_kolada(context: AssetExecutionContext, config: KoladaFetch, kolada: KoladaResource,
               warehouse: WarehouseResource):
    """Fetch the values of the KKiK figures (and of ``config.kpis``) for the run's years and Kolada's metadata, and land them (or, as a refresh, only
    the values changed since the warehouse last landed them)."""
    from pipelines.kpi_selection import KpiSelectionError, parse_kpis

    years = years_of(context)
    try:
        selection = parse_kpis(config.kpis)
    except KpiSelectionError as problem:
        raise Failure(str(problem)) from None
    from_date = None
    if config.changes_only:
        from pipelines.refresh import RefreshNotPossible, plan_from_warehouse

        try:
            from_date = plan_from_warehouse(warehouse.path, kkik_kpi_ids(), years).from_date
        except RefreshNotPossible as problem:
            raise Failure(str(problem)) from None
        context.log.info(f"kolada refresh: asking for the values changed on or after {from_date}")
    with kolada.open_client() as client:
        try:
            summary = land_kolada(
                client,
                kpi_ids=kkik_kpi_ids(),
                years=years,
                raw_dir=warehouse.raw_path,
                duckdb_path=warehouse.path,
                progress=context.log.info,
                from_date=from_date,
                selection=selection,
            )
        except KpiSelectionError as problem:
            raise Failure(f"{problem}; nothing was landed") from None
    common = {"load_id": summary.load_id, "raw_folder": str(summary.raw_folder), "http_requests": summary.requests}
    for entity in KOLADA_ENTITIES:
        rows = summary.value_rows if entity == "data" else summary.metadata_rows[entity]
        extra = {"quarantined": summary.quarantined, "years": str(years)} if entity == "data" else {}
        if entity == "data" and from_date is not None:
            extra.update(from_date=from_date, inserted=summary.inserted, updated=summary.updated,
                         deleted=summary.deleted)
        if entity == "kpi_groups" and summary.kkik_group_diff is not None:
            extra["kkik_group_vs_catalogue"] = summary.kkik_group_diff
        yield MaterializeResult(asset_key=["raw", f"kolada__{entity}"], metadata={**common, "rows": rows, **extra})
