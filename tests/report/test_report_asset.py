"""The Dagster asset writes the reports of the run's newest year from the published mart."""

from __future__ import annotations

from dagster import DagsterInstance, materialize

from pipelines.assets.report import kkik_reports
from pipelines.resources import WarehouseResource
from tests.report.conftest import KOMMUNER


def test_asset_writes_every_kommun_and_county(mart, tmp_path):
    out = tmp_path / "reports"
    result = materialize(
        [kkik_reports], partition_key="2022", instance=DagsterInstance.ephemeral(),
        resources={"warehouse": WarehouseResource(duckdb_path=str(mart), raw_dir=str(tmp_path / "raw"),
                                                quality_dir=str(tmp_path / "quality"))},
        run_config={"ops": {"kkik__reports": {"config": {"out_dir": str(out)}}}},
    )
    assert result.success
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([f"kkik_{code}_2022.html" for code in KOMMUNER]
                           + ["kkik_lan_01_2022.html", "kkik_lan_23_2022.html"])
