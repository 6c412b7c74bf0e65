"""The load's dbt build reuses the parse of the run before, and tests each property once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipelines.assets.dbt import BUILD_ARGS, dbt_process_env
from pipelines.config import DBT_PROJECT_DIR, PROJECT_ROOT
from pipelines.dbt_project import kkik_dbt_project
from pipelines.resources import WarehouseResource

FULL_PARSE = "Unable to do partial parsing"


def _parse(target: Path, warehouse: WarehouseResource, *extra: str) -> str:
    """``dbt parse`` as the load starts dbt (working directory, profile path); returns dbt's log text."""
    with dbt_process_env(warehouse):
        env = dict(os.environ)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "parse", *extra, "--target-path", str(target),
         "--log-path", str(target)],
        check=False, cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    return result.stdout


@pytest.mark.slow
def test_a_second_parse_of_the_same_warehouse_is_reused_and_vars_would_force_a_full_one(tmp_path):
    warehouse = WarehouseResource(duckdb_path=str(tmp_path / "warehouse.duckdb"), raw_dir=str(tmp_path / "raw"),
                                  quality_dir=str(tmp_path / "quality"))
    target = tmp_path / "dbt_target"
    _parse(target, warehouse)  # the first parse of this warehouse: a full one
    second = _parse(target, warehouse)
    assert FULL_PARSE not in second, second[-2000:]
    # what the load used to pass: changing --vars invalidates the saved parse
    with_vars = _parse(target, warehouse, "--vars", json.dumps({"years": [2021, 2022]}))
    assert FULL_PARSE in with_vars


def test_the_default_warehouse_reaches_dbt_as_the_profiles_own_default():
    """Then the parse `dagster-dbt project prepare-and-package` saved is reused by the first load too."""
    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text(encoding="utf-8"))
    rendered_default = profile["kkik"]["outputs"]["local"]["path"].split("'")[3]
    warehouse = WarehouseResource(duckdb_path=str(PROJECT_ROOT / "data" / "warehouse.duckdb"), raw_dir="raw",
                                  quality_dir="quality")
    before = os.environ.get("KKIK_DUCKDB_PATH")
    with dbt_process_env(warehouse):
        assert os.environ["KKIK_DUCKDB_PATH"] == rendered_default
    assert os.environ.get("KKIK_DUCKDB_PATH") == before  # the rest of the run keeps its own setting


def test_the_load_builds_without_vars_or_unit_tests():
    assert "--vars" not in BUILD_ARGS
    assert BUILD_ARGS[:1] == ["build"] and "unit_test" in BUILD_ARGS


def test_no_not_null_test_repeats_a_contract_constraint():
    """A not-null column of a contract is enforced as the table is written; a test query would check it again."""
    nodes = json.loads(kkik_dbt_project.manifest_path.read_text(encoding="utf-8"))["nodes"]
    constrained = {(node["name"], column["name"])
                   for node in nodes.values() if node["resource_type"] == "model"
                   for column in node["columns"].values()
                   if any(c["type"] == "not_null" for c in column.get("constraints", []))}
    assert ("fct_kpi_value", "kpi_id") in constrained
    tested = {(nodes[node["attached_node"]]["name"], node["column_name"])
              for node in nodes.values()
              if node["resource_type"] == "test" and (node.get("test_metadata") or {}).get("name") == "not_null"}
    assert tested & constrained == set()


def test_dbts_log_file_is_written_at_info_unless_the_user_asks_for_more(monkeypatch, tmp_path):
    """dbt's default file level, debug, writes every SQL statement: 1-2.5 s of the snapshot's build."""
    warehouse = WarehouseResource(duckdb_path=str(tmp_path / "w.duckdb"), raw_dir="raw", quality_dir="quality")
    monkeypatch.delenv("DBT_LOG_LEVEL_FILE", raising=False)
    with dbt_process_env(warehouse):
        assert os.environ["DBT_LOG_LEVEL_FILE"] == "info"
    assert "DBT_LOG_LEVEL_FILE" not in os.environ
    monkeypatch.setenv("DBT_LOG_LEVEL_FILE", "debug")
    with dbt_process_env(warehouse):
        assert os.environ["DBT_LOG_LEVEL_FILE"] == "debug"
