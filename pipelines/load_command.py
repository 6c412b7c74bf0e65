"""``kkik load``: the yearly Dagster job run from a shell, with a console that tells the operator what to do.

The terminal gets a banner (years, warehouse, where each source comes from, the log file), one line per
stage (sources, dbt, audit, publish), and then either the summary of what was published or the cause of
the failure and the next command, last. Everything else goes to the log file (pipelines/console.py).
The run is recorded in the persistent Dagster instance (``DAGSTER_HOME``, default ``data/dagster_home``),
the same one ``make dev`` opens, so ``dagster dev`` shows the CLI's runs and materialisations.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Self

from pipelines.config import PROJECT_ROOT, SNAPSHOT, Settings
from pipelines.console import Console, display_path, output_to_log, years_span
from pipelines.jobs import REFRESH_RUN_CONFIG
from pipelines.run_progress import RunTracker, Stage, stage_account

SOURCE_DESCRIPTIONS = {
    "Kolada": "the bundled snapshot, served on loopback (partly synthetic values)",
    "SCB": "the bundled snapshot, served on loopback",
    "Skolverket": "the bundled snapshot, served on loopback",
    "inbox": "snapshot/inbox, the bundled samples (one made-up file)",
}


def rerun_command(years: Sequence[int], explicit: bool, extra: Sequence[str] = ()) -> str:
    """The command that repeats this load."""
    parts = ["kkik load", *(f"--year {y}" for y in years if explicit), *extra]
    return " ".join(parts)


def banner(years: Sequence[int], settings: Settings, log_path, command: str = "load") -> list[str]:
    """Years, warehouse, log file, and where each source comes from (a refresh fetches only Kolada)."""
    lines = [f"kkik {command}: {years_span(years)} → {display_path(settings.duckdb_path, PROJECT_ROOT)}",
             f"  log:        {display_path(log_path, PROJECT_ROOT)} (dbt, Dagster, tracebacks)"]
    for name, origin in settings.source_origins().items():
        if command == "refresh" and name != "Kolada":
            continue
        where = SOURCE_DESCRIPTIONS[name] if origin == SNAPSHOT else origin
        if name == "inbox":
            where += _inbox_note(settings)
        lines.append(f"  {name + ':':<11} {where}")
    if settings.scb_url != SNAPSHOT and command != "refresh":
        unverified = _unverified_scb_tables()
        if unverified:
            lines.append(f"  {'':<11} SCB table ids not verified offline: {', '.join(unverified)}")
    return lines


def _inbox_note(settings: Settings) -> str:
    """What the banner adds to the inbox folder: that it is missing or empty, and the folder the last load
    read when it was another one. A mistyped ``KKIK_INBOX_DIR`` or an unmounted share would otherwise pass
    for an empty inbox, and files are known by their path inside the inbox: a file of another folder named
    as one of the last load's is a new version of it."""
    import duckdb

    from pipelines.inbox.landing import earlier_inbox_folders

    here = settings.inbox_dir.resolve()
    try:
        last = next(iter(earlier_inbox_folders(settings.duckdb_path)), None)
    except duckdb.Error:  # a warehouse another process holds: the banner does without
        last = None
    other = last if last is not None and Path(last).resolve() != here else None
    if not here.is_dir():
        return "  (folder missing: no files to land" + (f"; earlier loads read {other}: check KKIK_INBOX_DIR)"
                                                         if other else ")")
    if not any(path.is_file() for path in here.rglob("*")):
        return "  (empty: no files to land" + (f"; earlier loads read {other}: check KKIK_INBOX_DIR)"
                                               if other else ")")
    if other:
        return f"  (the last load read {other}: a file here under a name of a file there is a new version of it)"
    return ""


def _unverified_scb_tables() -> list[str]:
    from pipelines.landing.scb import landed_tables

    return [f"{table.table_id} ({table.key})" for table, _ in landed_tables() if not table.verified]


#: The job each command runs (a function in pipelines/definitions.py), and the run config it adds.
COMMAND_JOBS = {"load": ("yearly_load_job", {}), "backfill": ("yearly_load_job", {}),
                "refresh": ("kolada_refresh_job", REFRESH_RUN_CONFIG)}


def kpis_run_config(job_config: dict, kpis: str | None) -> dict:
    """The job's run config with the Kolada step's ``kpis`` (``kkik load --kpis``) added."""
    if not kpis:
        return job_config
    kolada = job_config.get("ops", {}).get("raw_kolada", {}).get("config", {})
    return {**job_config, "ops": {**job_config.get("ops", {}), "raw_kolada": {"config": {**kolada, "kpis": kpis}}}}


def run_load(years: list[int], settings: Settings, *, rerun: str, command: str = "load",
             kpis: str | None = None) -> int:
    """Run ``kkik_yearly_load`` (or, for ``command="refresh"``, ``kolada_refresh``) for ``years`` as one run
    over the partition range; ``kpis`` the figures besides the KKiK catalogue (``--kpis``). Returns the exit
    code (0 published, 1 failed)."""
    from pipelines.warehouse import run_lock, run_lock_refusal

    with run_lock(settings.duckdb_path) as held:
        if not held:
            print(f"kkik {command}: {run_lock_refusal(settings.duckdb_path)}", file=sys.stderr)
            return 1
        return _run_load(years, settings, rerun=rerun, command=command, kpis=kpis)


def _run_load(years: list[int], settings: Settings, *, rerun: str, command: str, kpis: str | None) -> int:
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with output_to_log(settings.log_dir) as (console, log_path):
        for line in banner(years, settings, log_path, command):
            console.line(line)
        try:
            success, tracker = _execute(years, console, command, kpis)
        except Exception:  # noqa: BLE001 - a failure before the run (definitions, instance): one clear line
            traceback.print_exc()  # fd 2: the log
            console.line(f"kkik {command} FAILED before the run started; the published mart was left as it was.")
            console.line(f"  cause: {traceback.format_exc().strip().splitlines()[-1]}")
            console.line(f"  next:  read the traceback in {display_path(log_path, PROJECT_ROOT)}, then re-run: {rerun}")
            return 1
        seconds = time.perf_counter() - started
        if not success:
            from pipelines.run_failures import diagnose

            console.line(f"kkik {command} FAILED after {seconds:.1f} s; the published mart kkik.* was left as it was.")
            for line in diagnose(tracker.failures, settings, rerun, display_path(log_path, PROJECT_ROOT)).lines():
                console.line(line)
            return 1
        from pipelines.summary import mart_summary

        console.line(f"kkik {command} done in {seconds:.1f} s")
        for line in mart_summary(settings.duckdb_path, settings.published_dir):
            console.line(f"  {line}")
    return 0


def _execute(years: list[int], console: Console, command: str = "load",
             kpis: str | None = None) -> tuple[bool, RunTracker]:
    """Run the job in this process (its executor is in-process: one DuckDB writer) and show its stages."""
    from dagster import DagsterInstance
    from dagster._core.utils import make_new_run_id

    from pipelines.dagster_sqlite import engines_kept, relax_instance_durability
    from pipelines.dbt_project import ensure_manifest

    ensure_manifest()  # before the definitions import: they read the manifest
    from pipelines import definitions
    from pipelines.jobs import range_tags

    job_name, job_config = COMMAND_JOBS[command]
    job = getattr(definitions, job_name)()
    run_config = {"loggers": {"console": {"config": {"log_level": "INFO"}}}, **kpis_run_config(job_config, kpis)}
    relax_instance_durability(Path(os.environ["DAGSTER_HOME"]))  # no disk flush per Dagster event
    with DagsterInstance.get() as instance, ExitStack() as stack:
        stack.enter_context(engines_kept(instance))  # one SQLite engine per file for the ≈ 800 events, not one each
        run_id = make_new_run_id()
        tracker = RunTracker(instance, run_id=run_id, job_steps={node.name for node in job.graph.node_defs})
        display = StageDisplay(console, tracker)
        stack.enter_context(display)
        stack.enter_context(tracker.watching(display.finished, display.tick))
        result = job.execute_in_process(instance=instance, tags=range_tags(years), run_config=run_config,
                                        run_id=run_id, raise_on_error=False)
        success = result.success
    return success, tracker


class StageDisplay:
    """One line per finished stage; on a terminal, rich spinners for the stages still running."""

    def __init__(self, console: Console, tracker: RunTracker):
        self.console = console
        self.tracker = tracker
        self.progress = None
        self.tasks: dict[str, int] = {}
        self.printed: set[str] = set()

    def __enter__(self) -> Self:
        rich_console = self.console.rich()
        if rich_console is not None:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                                     console=rich_console, transient=True,
                                     # rich would swap sys.stdout/err for proxies to the terminal: Dagster's
                                     # logger and dbt's lines must keep going to the log file
                                     redirect_stdout=False, redirect_stderr=False)
            self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        for stage in self.tracker.ordered():  # what is left: stages that never ran after a failure
            if stage.name in self.printed or not stage.expected:
                continue
            if stage.failed:  # some of its steps never ran once another failed
                self._print(stage, "failed", stage_account(stage))
            elif stage.done or stage.succeeded:
                self._print(stage, stage.status if stage.done else "partly", stage_account(stage))
            else:
                self._print(stage, "skipped", "not run: an earlier step failed")
        if self.progress is not None:
            self.progress.stop()

    def tick(self, stages: list[Stage]) -> None:
        if self.progress is None:
            return
        for stage in stages:
            if stage.status == "running" and stage.name not in self.tasks:
                self.tasks[stage.name] = self.progress.add_task(f"{stage.name:<8} running", total=None)
            if stage.name in self.tasks and stage.done:
                self.progress.remove_task(self.tasks.pop(stage.name))

    def finished(self, stage: Stage) -> None:
        """Print the stages that are finished, in the order they run (the audit's checks end after publish)."""
        for each in self.tracker.ordered():
            if each.name in self.printed:
                continue
            if not each.done:
                break
            self._print(each, each.status, stage_account(each))

    def _print(self, stage: Stage, status: str, account: str) -> None:
        self.printed.add(stage.name)
        seconds = f"{stage.seconds:5.1f} s" if stage.seconds is not None else "      –"
        text = f"  {stage.name:<8} {status.upper() if status == 'failed' else status:<7} {seconds}  {account}".rstrip()
        if self.progress is not None:  # above the live spinners; the log gets the same line
            self.console.line(text, to_terminal=False)
            self.progress.console.print(text, markup=False, highlight=False)
        else:
            self.console.line(text)
