"""The resources of the yearly job for a test: a warehouse under ``tmp``, the sources on the bundled snapshot."""

from __future__ import annotations

from pathlib import Path

from pipelines.assets.dbt import KkikDbtCliResource
from pipelines.dbt_project import kkik_dbt_project
from pipelines.resources import KoladaResource, ScbResource, SkolverketResource, WarehouseResource


def job_resources(tmp: Path, *, kolada_url: str = "snapshot") -> dict:
    """Every resource the job's assets take; ``kolada_url`` points Kolada at another (e.g. faulty) server."""
    warehouse = WarehouseResource(duckdb_path=str(tmp / "warehouse.duckdb"), raw_dir=str(tmp / "raw"),
                                  quality_dir=str(tmp / "quality"))
    return {
        "warehouse": warehouse,
        "kolada": KoladaResource(base_url=kolada_url, api_version="v3"),
        "scb": ScbResource(base_url="snapshot"),
        "skolverket": SkolverketResource(base_url="snapshot"),
        "dbt": KkikDbtCliResource(project_dir=kkik_dbt_project, warehouse=warehouse),
    }
