"""The KKiK reports of the published year, after publication: the yearly job ends with them."""

# No `from __future__ import annotations` here: Dagster reads the `context` annotation at definition time.

import os
from pathlib import Path

from dagster import AssetExecutionContext, Config, MaterializeResult, asset

from pipelines.config import PROJECT_ROOT
from pipelines.partitions import single_run, yearly_partitions, years_of
from pipelines.resources import WarehouseResource


class ReportsConfig(Config):
    """HTML for every kommun and county by default (≈ 20 s); PDFs for all take minutes (`kkik report --all`)."""

    pdf: bool = False
    out_dir: str = ""


def reports_dir(config_dir: str) -> Path:
    path = Path(config_dir or os.environ.get("KKIK_REPORTS_DIR", "reports"))
    return path if path.is_absolute() else PROJECT_ROOT / path


@asset(
    key=["kkik", "reports"],
    group_name="report",
    kinds={"html", "pdf"},
    deps=[["kkik", "published_mart"]],
    partitions_def=yearly_partitions,
    backfill_policy=single_run,
    description="The KKiK report of every kommun and every county network for the run's newest year, read "
                "from the published mart only (never kkik_audit).",
)
def kkik_reports(context: AssetExecutionContext, config: ReportsConfig, warehouse: WarehouseResource):
    from pipelines.report import build

    year = max(years_of(context))
    out_dir = reports_dir(config.out_dir)
    data = build.load(None, year, warehouse=warehouse.path)
    kommuner, counties = build.write_every_report(data, out_dir, pdf=config.pdf)
    return MaterializeResult(metadata={"kkik_year": year, "kommun_files": len(kommuner),
                                       "county_files": len(counties), "folder": str(out_dir),
                                       "mart": str(data.frames.path)})
