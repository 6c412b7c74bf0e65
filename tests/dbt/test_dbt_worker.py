"""The dbt process started with the run: it parses while the sources land, then runs the step's build."""

from __future__ import annotations

import json
import time

import duckdb
import pytest
from dagster import DagsterInstance, materialize

from pipelines import dbt_worker
from pipelines.assets.dbt import BUILD_ARGS, KkikDbtCliResource, dbt_asset_key, kkik_dbt_models
from pipelines.config import DBT_PROJECT_DIR
from pipelines.dbt_project import kkik_dbt_project
from pipelines.resources import WarehouseResource
from tests.job_resources import job_resources

pytestmark = pytest.mark.slow


def _resource(tmp_path) -> KkikDbtCliResource:
    warehouse = WarehouseResource(duckdb_path=str(tmp_path / "warehouse.duckdb"), raw_dir=str(tmp_path / "raw"),
                                  quality_dir=str(tmp_path / "quality"))
    return KkikDbtCliResource(project_dir=kkik_dbt_project, warehouse=warehouse)


def _events(output: bytes) -> list[dict]:
    lines = [line for line in output.decode().splitlines() if line.startswith("{")]
    return [json.loads(line) for line in lines]


def test_a_worker_never_given_a_command_parses_and_ends_without_building(tmp_path):
    dbt = _resource(tmp_path)
    started = dbt_worker.start(DBT_PROJECT_DIR, dbt.target_dir, dbt.worker_env())
    deadline = time.monotonic() + 120
    while not started.status() and time.monotonic() < deadline:  # the parse is done when it says so
        time.sleep(0.2)
    assert started.status()["parse"] in ("reused", "full")
    assert started.waiting()
    started.stop()
    assert started.process.returncode == 0
    assert not started.waiting()
    assert not (dbt.target_dir / "run_results.json").exists()  # nothing was built
    # the target folder had no saved parse: it got the one `prepare-and-package` wrote for the project
    assert (dbt.target_dir / dbt_worker.PARTIAL_PARSE_FILE).exists()


def test_a_failing_model_ends_the_worker_with_the_dbt_clis_exit_code_and_its_error_in_the_log(tmp_path):
    dbt = _resource(tmp_path)
    duckdb.connect(str(tmp_path / "warehouse.duckdb")).close()  # a warehouse without the raw tables
    started = dbt_worker.start(DBT_PROJECT_DIR, dbt.target_dir, dbt.worker_env())
    process = started.run([*BUILD_ARGS, "--select", "stg_kolada__kpis"])
    output = process.stdout.read()  # as dagster-dbt reads it: the log until dbt ends
    process.wait(timeout=300)
    assert process.returncode == 1  # a node failed (2 would be dbt itself failing)
    assert process.args == ["dbt", *BUILD_ARGS, "--select", "stg_kolada__kpis"]  # how dagster-dbt names it
    errors = [e["info"]["msg"] for e in _events(output) if e["info"]["level"] == "error"]
    assert any("stg_kolada__kpis" in message for message in errors), errors
    assert started.stop() == ""  # already used: nothing left to end
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:  # dbt's hooks say so
        assert con.execute("select status from kkik_audit.dbt_build_state").fetchall() == [("failed",)]


def test_the_worker_parses_again_when_the_command_changes_what_dbt_parses():
    assert dbt_worker.changes_the_parse(["build", "--vars", '{"years": [2022]}'])
    assert dbt_worker.changes_the_parse(["build", "--target=other"])
    assert not dbt_worker.changes_the_parse([*BUILD_ARGS, "--select", "fqn:*"])


def test_a_subset_of_the_models_is_built_by_dbt_started_as_dagster_dbt_starts_it(tmp_path):
    """`dagster dev`'s "materialise selected": the worker cannot take a subset and is ended unused."""
    resources = job_resources(tmp_path)
    wanted = dbt_asset_key("stg_kolada__kpis")
    result = materialize([kkik_dbt_models], selection=[wanted], resources=resources,
                         instance=DagsterInstance.ephemeral())
    assert result.success
    assert [m.asset_key for m in result.get_asset_materialization_events()] == [wanted]
    target = resources["dbt"].target_dir
    built = json.loads((target / "run_results.json").read_text(encoding="utf-8"))
    assert [r["unique_id"] for r in built["results"] if r["unique_id"].startswith("model.")] == [
        "model.kkik.stg_kolada__kpis"]
