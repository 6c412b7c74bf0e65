"""The survey and own-reporting inbox as Dagster assets, and the sensor that loads new files."""

# No `from __future__ import annotations` here: Dagster reads the `context` annotation at definition time.

from dagster import (
    AssetExecutionContext,
    AssetSpec,
    MaterializeResult,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    multi_asset,
    sensor,
)

from pipelines.config import SNAPSHOT_DIR, Settings
from pipelines.inbox import (
    InboxSummary,
    find_new_files,
    land_inbox,
    load_schemas,
    municipality_ids_from_warehouse,
    read_municipality_ids,
)
from pipelines.partitions import single_run, yearly_partitions
from pipelines.resources import WarehouseResource

INBOX_FILE_TYPES = sorted(load_schemas())
QUARANTINE_KEY = ["raw", "inbox_quarantine"]
REGISTRY_KEY = ["raw", "inbox_files"]

inbox_specs = [
    AssetSpec(
        key=["raw", f"inbox__{file_type}"],
        group_name="inbox",
        description=f"Rows of the accepted `{file_type}` files dropped in the inbox (raw.inbox__{file_type}).",
        kinds={"duckdb", "python"},
        partitions_def=yearly_partitions,
        deps=[["raw", "kolada__municipality"]],  # codes are checked against Kolada's municipality list
    )
    for file_type in INBOX_FILE_TYPES
] + [
    AssetSpec(
        key=QUARANTINE_KEY,
        group_name="inbox",
        description="The inbox's bad rows with their reason and reason_code (raw.inbox_quarantine); unknown "
                    "municipality codes among them block publication (kkik_audit.kkik_unknown_code).",
        kinds={"duckdb", "python"},
        partitions_def=yearly_partitions,
        deps=[["raw", "kolada__municipality"]],
    ),
    AssetSpec(
        key=REGISTRY_KEY,
        group_name="inbox",
        description="The inbox's registry (raw.inbox_files): every file processed, accepted or rejected, with its "
                    "content hash, name and when it landed; a file put back as an earlier version of its name is "
                    "registered again (reinstated), which makes that version current (int_inbox_file_years).",
        kinds={"duckdb", "python"},
        partitions_def=yearly_partitions,
    ),
]


@multi_asset(specs=inbox_specs, partitions_def=yearly_partitions, backfill_policy=single_run, can_subset=False)
def raw_inbox(context: AssetExecutionContext, warehouse: WarehouseResource):
    """Validate and land every file in the inbox not landed before (files carry their own years)."""
    settings = Settings.from_env()
    municipality_ids = municipality_ids_from_warehouse(warehouse.path) or read_municipality_ids(
        SNAPSHOT_DIR / "kolada" / "municipality.json.gz"
    )
    summary = land_inbox(settings.inbox_dir, warehouse.path, municipality_ids=municipality_ids,
                         raw_dir=warehouse.raw_path, progress=context.log.info)
    for outcome in summary.files:
        if outcome.status == "rejected":
            context.log.warning(f"inbox: rejected {outcome.file_name}: {outcome.reason}")
    if summary.ignored():
        context.log.warning(f"inbox: not read: {summary.ignored()} (files go in a folder per file type: "
                            f"{', '.join(INBOX_FILE_TYPES)})")
    for file_type in INBOX_FILE_TYPES:
        files = [f for f in summary.files if f.file_type == file_type]
        yield MaterializeResult(
            asset_key=["raw", f"inbox__{file_type}"],
            metadata={
                "inbox": str(settings.inbox_dir),
                "files_accepted": sum(f.status == "accepted" for f in files),
                "files_rejected": sum(f.status == "rejected" for f in files),
                "rows_landed": sum(f.rows_landed for f in files),
                "rows_quarantined": sum(f.rows_quarantined for f in files),
                # one line per rejected file: each reason names its file (InboxFileRejected's location)
                "rejections": "\n".join(str(f.reason) for f in files if f.status == "rejected") or "none",
            },
        )
    yield MaterializeResult(asset_key=QUARANTINE_KEY, metadata={
        "rows_quarantined": sum(f.rows_quarantined for f in summary.files),
        "ignored": summary.ignored() or "none"})
    yield MaterializeResult(asset_key=REGISTRY_KEY, metadata=registry_metadata(summary))


def registry_metadata(summary: InboxSummary) -> dict:
    """What the registry asset says of a landing (the console's inbox line reads it): the accepted and
    rejected files are counted per file type (the console sums those), so here the files skipped, the
    earlier versions reinstated (one line each, and why) and the copies of a landed file under another
    name (``name<TAB>first name``: not landed, they count under the first name)."""
    return {
        "files_skipped": len(summary.skipped), "files_reinstated": len(summary.reinstated),
        "reinstated_files": "\n".join(f.file_name for f in summary.reinstated) or "none",
        "reinstatements": "\n".join(f"{f.file_name}: {f.reason}" for f in summary.reinstated) or "none",
        "copies": "\n".join(f"{f.file_name}\t{f.copy_of}" for f in summary.copies) or "none"}


@sensor(job_name="inbox_load", minimum_interval_seconds=60,
        description="Starts a load when a new survey or own-reporting file lands in the inbox.")
def inbox_sensor(context: SensorEvaluationContext):
    """One run per set of new files; the run key is their content hashes, so a file is loaded once
    even if the sensor sees it again before the run has landed it."""
    from pipelines.inbox.landing import sha256_of
    from pipelines.jobs import default_years, latest_year, range_tags
    from pipelines.sensors import scheduled_run_refusal

    settings = Settings.from_env()
    new_files = find_new_files(settings.inbox_dir, settings.duckdb_path)
    if not new_files:
        return SkipReason(f"no new files in {settings.inbox_dir}")
    refusal = scheduled_run_refusal(settings)
    if refusal:  # nobody is there to pass --allow-mixed-sources
        return SkipReason(refusal)
    hashes = sorted(sha256_of(path)[:16] for path in new_files)
    context.log.info(f"{len(new_files)} new inbox files: {', '.join(p.name for p in new_files)}")
    return RunRequest(run_key="inbox:" + ",".join(hashes), tags=range_tags(default_years(latest_year(settings))))
