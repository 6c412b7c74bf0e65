"""The dbt models as Dagster assets; dbt tests show up as asset checks.

One ``dbt build`` per run, whatever the number of years (models rebuild every landed year from raw), and
its parse is reused from the run before: the command line carries no ``--vars`` (they are part of dbt's
partial-parse state check), and each warehouse has one dbt target folder of its own beside it
(``<warehouse dir>/dbt_target/``), so ``partial_parse.msgpack`` written by one run is read by the next.
The state check also hashes the profile's rendered ``path``: dbt is given it relative to the dbt project,
so for the default warehouse it is the profile's own default, the one ``dagster-dbt project
prepare-and-package`` parsed with, and even the first run after set-up reuses that parse.

dbt's process is started with the run, not with the dbt step (``pipelines.dbt_worker``): its interpreter,
imports and parse (≈ 3 s) happen while the sources land, and the step hands it the build. A step that
builds only some models (a subset chosen in ``dagster dev``) starts dbt as dagster-dbt does.
"""

# No `from __future__ import annotations` here: Dagster reads the `context` annotation at definition time.

import json
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey, InitResourceContext
from dagster_dbt import DagsterDbtTranslator, DbtCliInvocation, DbtCliResource, dbt_assets
from dagster_dbt.asset_utils import get_manifest_and_translator_from_dbt_assets
from pydantic import PrivateAttr

from pipelines import dbt_worker
from pipelines.config import DBT_PROJECT_DIR
from pipelines.dbt_project import kkik_dbt_project
from pipelines.landing.schema import ensure_raw_tables
from pipelines.quality.gx_suites import import_gx_in_background
from pipelines.resources import WarehouseResource
from pipelines.warehouse import connect, warehouse_lock


class KkikDbtTranslator(DagsterDbtTranslator):
    """Groups by layer (staging, intermediate, kkik, reference) so the graph reads like the data flow."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        schema = dbt_resource_props.get("config", {}).get("schema")
        return schema or "dbt"


class KkikDbtCliResource(DbtCliResource):
    """dagster-dbt's CLI resource with dbt started with the run, without the work it does in the Dagster
    process before each command.

    ``setup_for_execution`` (at the start of a run whose steps include dbt) starts the dbt worker for
    ``warehouse``; :meth:`build` hands it the step's command, or runs dbt as dagster-dbt does when the worker
    cannot take it (a subset of the models, or a worker that died: its output goes to the step's log).

    dagster-dbt runs ``dbt --version`` in a subprocess to learn the version (≈ 2 s of dbt start-up per
    run), and opens a dbt adapter in the Dagster process (importing dbt's config machinery and loading
    profile and project, ≈ 2–3 s) only to fetch row counts or column metadata on request. The version
    is the installed dbt-core's (the ``dbt`` beside this interpreter, see pipelines/dbt_project.py) and
    the KKiK assets request no metadata, so neither is done.
    """

    warehouse: WarehouseResource
    _started: dbt_worker.StartedDbt | None = PrivateAttr(default=None)

    @property
    def _cli_version(self):  # dagster-dbt's private hook
        from importlib.metadata import version as installed_version

        from packaging import version

        return version.parse(installed_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):  # dagster-dbt's private hook
        return None

    @property
    def target_dir(self) -> Path:
        return dbt_target_dir(self.warehouse)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        super().setup_for_execution(context)
        self._started = dbt_worker.start(Path(self.project_dir), self.target_dir, self.worker_env())

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        if self._started is not None:
            self._started.stop()

    def worker_env(self) -> dict[str, str]:
        """The environment dagster-dbt gives the dbt CLI (structured log, target and log folder, no usage
        statistics), with the warehouse path as the profile's parse expects it (``dbt_process_env``)."""
        with dbt_process_env(self.warehouse):
            env = dict(os.environ)
        env.update({"DAGSTER_DBT_CLI": "true", "PYTHONUNBUFFERED": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
                    "DBT_LOG_FORMAT": "json", "DBT_TARGET_PATH": str(self.target_dir), "DBT_LOG_PATH": str(self.target_dir),
                    "DBT_PROJECT_DIR": str(self.project_dir)})
        if self.profiles_dir:
            env["DBT_PROFILES_DIR"] = str(self.profiles_dir)
        return env

    def worker_status(self) -> dict:
        """How the parse of the worker that ran this run's build went; {} when dbt ran as dagster-dbt runs it."""
        return self._started.status() if self._started is not None and self._started.ran else {}

    def build(self, args: list[str], context: AssetExecutionContext) -> DbtCliInvocation:
        """``dbt <args>`` of the whole project in the worker started with the run, else as dagster-dbt runs it."""
        started = self._started
        if started is None or context.is_subset or not started.waiting():
            if started is not None:
                output = started.stop()
                if not context.is_subset:
                    context.log.warning(f"the dbt process started with the run ended before the dbt step (exit code "
                                        f"{started.process.returncode}); dbt starts now. Its output:\n{output[-4000:]}")
            with dbt_process_env(self.warehouse):  # dagster-dbt copies the environment when it starts dbt
                return self.cli(args, context=context, target_path=self.target_dir)
        whole = [*args, "--select", "fqn:*"]  # what dagster-dbt selects when no subset is asked for
        manifest, translator, project = get_manifest_and_translator_from_dbt_assets([context.assets_def])
        context.log.info(f"Running dbt command: `dbt {' '.join(whole)}` (dbt started with the run)")
        return DbtCliInvocation(process=started.run(whole), manifest=manifest, dagster_dbt_translator=translator,
                                project_dir=Path(self.project_dir), target_path=self.target_dir, raise_on_error=True,
                                context=context, cli_version=self._cli_version, project=project)


#: The load's dbt command. dbt's unit tests check the models' logic on fixed fixture rows, not the loaded
#: data, so they run with the test suite (tests/dbt builds the whole project), not in every load.
BUILD_ARGS = ["build", "--exclude-resource-type", "unit_test"]


def dbt_target_dir(warehouse: WarehouseResource) -> Path:
    """The dbt target folder of this warehouse: artifacts of the last run, and the parse the next one reuses."""
    return warehouse.path.parent / "dbt_target"


#: dbt's log file (``dbt_target/dbt.log``) at info, not dbt's default debug: the debug lines (every SQL
#: statement, every adapter call) are written for every node; the snapshot's build took 5.0-7.4 s with them,
#: 5.0-6.1 s at info, 4.1-5.0 s with no log file (alternating on one warehouse). Errors, warnings and each
#: node's result stay; ``DBT_LOG_LEVEL_FILE=debug`` brings back the rest.
DBT_FILE_LOG_LEVEL = "info"


@contextmanager
def dbt_process_env(warehouse: WarehouseResource) -> Iterator[None]:
    """The environment dbt's process starts with: ``KKIK_DUCKDB_PATH`` relative to the dbt project (dbt's
    working directory), as the profile's parse expects it, and the log file's level (DBT_FILE_LOG_LEVEL,
    unless the user set ``DBT_LOG_LEVEL_FILE``).

    The rest of the run keeps its environment: ``Settings`` resolves a relative path against the repository.
    """
    changed = {"KKIK_DUCKDB_PATH": os.path.relpath(warehouse.path.resolve(), DBT_PROJECT_DIR.resolve()),
               "DBT_LOG_LEVEL_FILE": os.environ.get("DBT_LOG_LEVEL_FILE", DBT_FILE_LOG_LEVEL)}
    before = {name: os.environ.get(name) for name in changed}
    os.environ.update(changed)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# Not partitioned by year: every build rebuilds every landed year from raw, so a model is one asset
# materialised once per run, not once per year of the run's range (one event per model, not five).
@dbt_assets(
    manifest=kkik_dbt_project.manifest_path,
    dagster_dbt_translator=KkikDbtTranslator(),
)
def kkik_dbt_models(context: AssetExecutionContext, dbt: KkikDbtCliResource, warehouse: WarehouseResource):
    """``dbt build`` of the whole project: every model is rebuilt from raw (all years landed so far)."""
    warehouse.export_for_dbt()
    with connect(warehouse.path) as con:  # dbt's sources must exist even for a source never landed
        ensure_raw_tables(con)
    # the audit after this step validates with Great Expectations: import it while dbt works in its process
    import_gx_in_background()
    started = time.perf_counter()
    with warehouse_lock(warehouse.path):  # the source steps of the run may still be writing
        invocation = dbt.build(BUILD_ARGS, context=context)
        yield from invocation.stream()
    context.log.info(dbt_timings(dbt.target_dir, time.perf_counter() - started, dbt.worker_status()))


def dbt_timings(target: Path, seconds: float, worker: Mapping[str, Any] | None = None) -> str:
    """One line on where the dbt step's time went: start-up and parse (and whether the parse was reused),
    then the execution of models and tests, from the run's own ``run_results.json`` and ``dbt.log``; with
    ``worker`` (the status of the dbt process started with the run) its parse, done before the step."""
    try:
        results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))
    except OSError:
        return f"dbt timings: invocation {seconds:.2f} s (no run_results.json)"
    execute = float(results.get("elapsed_time") or 0.0)
    by_type: dict[str, float] = {}
    for result in results.get("results", []):
        kind = result["unique_id"].split(".")[0]
        by_type[kind] = by_type.get(kind, 0.0) + float(result.get("execution_time") or 0.0)
    threads = ", ".join(f"{kind} {total:.2f} s" for kind, total in sorted(by_type.items()))
    if worker:
        return (f"dbt timings: step {seconds:.2f} s, execute {execute:.2f} s (thread time: {threads}); dbt was "
                f"started with the run and parsed ({worker.get('parse')}) in {worker.get('parse_seconds', 0):.2f} s "
                f"before the step")
    # dbt started with the step: whether its parse was reused is in its own log, after its last start line
    log = (target / "dbt.log").read_text(encoding="utf-8", errors="replace") if (target / "dbt.log").exists() else ""
    run_log = log[log.rfind("Running with dbt="):]
    parse = "full" if "Unable to do partial parsing" in run_log or "Partial parsing not enabled" in run_log else "reused"
    return (f"dbt timings: invocation {seconds:.2f} s, parse {seconds - execute:.2f} s ({parse}), "
            f"execute {execute:.2f} s (thread time: {threads})")


def dbt_asset_key(model_name: str) -> AssetKey:
    """The Dagster key of a dbt model (keys carry the schema, e.g. kkik/kkik_result)."""
    from dagster_dbt import get_asset_key_for_model

    return get_asset_key_for_model([kkik_dbt_models], model_name)
