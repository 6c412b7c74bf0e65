"""Audit and publish as Dagster assets, and one asset check per rule group on the asset it checks."""

# No `from __future__ import annotations` here: Dagster reads the `context` annotation at definition time.

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
    multi_asset_check,
)

from pipelines.assets.dbt import dbt_asset_key
from pipelines.partitions import single_run, yearly_partitions, years_of
from pipelines.publishing.tables import AUDITED_MODELS
from pipelines.quality.acceptance import flag_counts
from pipelines.quality.audit import FLAG_TABLE, audit_mart
from pipelines.quality.publish import PublicationBlocked, ReadersCopyFailed, publish_mart
from pipelines.resources import WarehouseResource
from pipelines.warehouse import connect

FLAG_KEY = ["kkik_audit", "kkik_flag"]
#: Each rule group is a check on the mart table whose content it judges.
RULE_GROUP_TARGETS = {
    "range": "fct_kpi_value",
    "gender": "fct_kpi_value",
    "year_over_year": "fct_kpi_value",
    "identical": "fct_kpi_value",
    "outlier": "fct_kpi_value",
    "missing": "fct_kpi_value",
    "integrity": "fct_kpi_value",
    "completeness": "kkik_coverage",
    "definition": "dim_kpi",
    "great_expectations": "kkik_result",
}


@asset(
    key=FLAG_KEY,
    group_name="quality",
    kinds={"duckdb", "python"},
    deps=[dbt_asset_key(model) for model in AUDITED_MODELS],
    partitions_def=yearly_partitions,
    backfill_policy=single_run,
    description="The error watch: every likely error in the audit mart, ranked by impact (rules in "
                "expectations/rules.yml, GX suites in expectations/gx_suites/).",
)
def kkik_flag(context: AssetExecutionContext, warehouse: WarehouseResource):
    summary, flags = audit_mart(warehouse.path, years=years_of(context), load_id=context.run.run_id,
                                quality_dir=warehouse.quality_path)
    top = flags.head(15)[["flag_rank", "kpi_id", "municipality_id", "year", "gender", "rule_id", "severity",
                          "accepted", "message"]]
    return MaterializeResult(metadata={
        "flags": summary.flags, "errors": summary.errors, "open_errors": summary.open_errors,
        "open_errors_outside_kkik": summary.open_errors_outside_kkik,
        "open_errors_other_years": summary.open_errors_other_years,
        "other_years": ", ".join(map(str, summary.other_years)),
        "accepted_errors": summary.accepted_errors, "warnings": summary.warnings,
        "publishable": summary.publishable,
        "years_checked": f"{summary.watched_years[0]}–{summary.watched_years[-1]}",
        "history_years": len(summary.years) - len(summary.watched_years),
        "gx": MetadataValue.json(summary.gx),
        "top_flags": MetadataValue.md(top.to_markdown(index=False) if len(top) else "no flags"),
    })


@asset(
    key=["kkik", "published_mart"],
    group_name="quality",
    kinds={"duckdb", "parquet"},
    deps=[FLAG_KEY],
    partitions_def=yearly_partitions,
    backfill_policy=single_run,
    description="The published mart: schema `kkik` in the warehouse (the pipeline's own last publication), "
                "replaced by the audited mart only when no error flag is open (write-audit-publish), then "
                "exported for BI tools to the readers' copy (data/published/mart.duckdb, parquet/<table>.parquet, "
                "publication.json), which loads never open for writing.",
)
def published_mart(context: AssetExecutionContext, warehouse: WarehouseResource):
    try:
        summary = publish_mart(warehouse.path, load_id=context.run.run_id, published_dir=warehouse.published_path)
    except (PublicationBlocked, ReadersCopyFailed) as failed:
        raise Failure(description=str(failed)) from failed
    counts = "\n".join(["| table | rows: previous publication → this one |", "|---|---:|"]
                       + [f"| {table} | {n} |" for table, n in summary.row_counts.items()])
    return MaterializeResult(metadata={
        "tables": ", ".join(summary.tables),
        "accepted_errors_let_through": summary.accepted_errors,
        "published_at": summary.published_at.isoformat(),
        "previous_load_id": summary.previous_load_id or "",
        "row_counts": MetadataValue.md(counts),
        "readers_copy": MetadataValue.path(str(summary.published_dir)),
        "readers_copy_bytes": sum(summary.file_sizes.values()),
        "export_seconds": round(summary.export_seconds, 2),
    })


@multi_asset_check(
    specs=[
        AssetCheckSpec(name=f"watch_{group}", asset=dbt_asset_key(model), additional_deps=[FLAG_KEY],
                       description=f"Error-watch rule group `{group}` (flags in {FLAG_TABLE}).")
        for group, model in RULE_GROUP_TARGETS.items()
    ],
    can_subset=True,
)
def rule_group_checks(context: AssetCheckExecutionContext, warehouse: WarehouseResource):
    """Passes when the group has no open error flag; warnings show as a WARN-severity failure."""
    with connect(warehouse.path, read_only=True) as con:
        flags = con.execute(
            f"select rule_group, severity, coalesce(accepted, false) as accepted, is_kkik from {FLAG_TABLE} "
            "where load_id = ?",
            [context.run.run_id],
        ).df()
        examples = {group: con.execute(
            f"""select kpi_id, municipality_id, year, gender, rule_id, severity, message from {FLAG_TABLE}
                where load_id = ? and rule_group = ? order by flag_rank limit 10""",
            [context.run.run_id, group]).df() for group in RULE_GROUP_TARGETS}
    for check_key in context.selected_asset_check_keys:
        group = check_key.name.removeprefix("watch_")
        counts = flag_counts(flags[flags["rule_group"] == group])
        open_errors, warnings = counts["open_errors"], counts["warnings"]
        frame = examples[group]
        yield AssetCheckResult(
            check_name=check_key.name,
            asset_key=check_key.asset_key,
            passed=open_errors == 0 and warnings == 0,
            severity=AssetCheckSeverity.ERROR if open_errors else AssetCheckSeverity.WARN,
            metadata={
                "open_errors": open_errors,
                "open_errors_outside_kkik": counts["open_errors_outside_kkik"],
                "accepted_errors": counts["accepted_errors"],
                "warnings": warnings,
                "flags": MetadataValue.md(frame.to_markdown(index=False) if len(frame) else "no flags"),
            },
        )
