"""A load's progress as the operator sees it: the stages (sources, dbt, audit, publish, reports), read from Dagster.

The job runs in this process and every step event is stored in the Dagster instance, so the display reads
it from there like any other reader: ``RunTracker`` polls the run's step events
and groups them by stage, with a short account of each stage taken from the steps' own metadata
(rows landed, models built, flags found). It never changes the run.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance

from pipelines.console import count_of

#: The stages in the order they run, with the job's step keys in each.
STAGE_STEPS: dict[str, tuple[str, ...]] = {
    "sources": ("raw_kolada", "raw_scb", "raw__skolverket__school_results", "raw_inbox"),
    "dbt": ("kkik_dbt_models",),
    "audit": ("kkik_audit__kkik_flag", "rule_group_checks"),
    "publish": ("kkik__published_mart",),
    "reports": ("kkik__reports",),
}
SOURCE_LABELS = {"raw_kolada": "Kolada", "raw_scb": "SCB", "raw__skolverket__school_results": "Skolverket",
                 "raw_inbox": "inbox"}
WATCHED_EVENTS = {
    DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE,
    DagsterEventType.STEP_SKIPPED, DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_CHECK_EVALUATION,
}


def stage_of(step_key: str) -> str:
    """The stage of a step: as listed, a source if its key starts with ``raw``, else a stage of its own."""
    for stage, steps in STAGE_STEPS.items():
        if step_key in steps:
            return stage
    return "sources" if step_key.startswith("raw") else step_key


@dataclass
class Stage:
    """What is known of one stage of the run so far."""

    name: str
    expected: set[str]
    started: set[str] = field(default_factory=set)
    succeeded: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    skipped: set[str] = field(default_factory=set)
    #: step key → [start, end] (end None while running), Unix seconds
    step_times: dict[str, list] = field(default_factory=dict)
    #: (step key, asset key "a/b", metadata {label: plain value}) of every materialisation
    materializations: list[tuple[str, str, dict]] = field(default_factory=list)
    checks_passed: int = 0
    checks_failed: int = 0

    @property
    def done(self) -> bool:
        """Every step of the stage has ended (a failed step does not stop the others of its stage)."""
        return bool(self.expected) and self.expected <= self.succeeded | self.failed | self.skipped

    @property
    def status(self) -> str:
        if self.failed and self.done:
            return "failed"
        if self.done:
            return "skipped" if not self.succeeded else "ok"
        return "running" if self.started else "pending"

    @property
    def seconds(self) -> float | None:
        """Time some step of the stage was running (a union: parallel source steps are not added up)."""
        spans = sorted((start, end) for start, end in self.step_times.values() if end is not None)
        if not spans:
            return None
        total, (current_start, current_end) = 0.0, spans[0]
        for start, end in spans[1:]:
            if start > current_end:
                total += current_end - current_start
                current_start, current_end = start, end
            else:
                current_end = max(current_end, end)
        return total + current_end - current_start

    @property
    def assets(self) -> int:
        """Distinct assets materialised (a run over five years materialises each once per year)."""
        return len({asset for _, asset, _ in self.materializations})

    def metadata_of(self, step_key: str) -> list[tuple[str, dict]]:
        return [(asset, meta) for step, asset, meta in self.materializations if step == step_key]


def _plain(metadata) -> dict:
    return {label: getattr(value, "value", value) for label, value in (metadata or {}).items()}


class RunTracker:
    """Reads one run's step events from the instance (``poll``) and keeps a ``Stage`` per stage."""

    def __init__(self, instance: DagsterInstance, *, run_id: str, job_steps: Collection[str] | None = None):
        """``job_steps``: the step keys of the job being run (a refresh has only Kolada's source step);
        default: every step of ``STAGE_STEPS``."""
        self.instance = instance
        self.run_id = run_id
        self.stages: dict[str, Stage] = {
            name: Stage(name, {s for s in steps if job_steps is None or s in job_steps})
            for name, steps in STAGE_STEPS.items()}
        #: every STEP_FAILURE event, in order
        self.failures: list = []
        self._cursor: str | None = None
        self._lock = threading.Lock()

    def _stage(self, step_key: str) -> Stage:
        name = stage_of(step_key)
        if name not in self.stages:
            self.stages[name] = Stage(name, set())
        stage = self.stages[name]
        stage.expected.add(step_key)
        return stage

    def poll(self) -> list[Stage]:
        """Read the events since the last poll; return the stages that finished (ok, failed) in them."""
        with self._lock:
            run_id = self.run_id
            before = {name: stage.done for name, stage in self.stages.items()}
            while True:
                connection = self.instance.get_records_for_run(run_id, cursor=self._cursor, of_type=WATCHED_EVENTS)
                for record in connection.records:
                    self._apply(record.event_log_entry)
                self._cursor = connection.cursor
                if not connection.has_more:
                    break
            return [stage for name, stage in self.stages.items() if stage.done and not before.get(name, False)]

    def _apply(self, entry) -> None:
        event = entry.dagster_event
        if event is None or event.step_key is None:
            return
        stage = self._stage(event.step_key)
        kind = event.event_type
        if kind == DagsterEventType.STEP_START:
            stage.started.add(event.step_key)
            stage.step_times.setdefault(event.step_key, [entry.timestamp, None])
        elif kind in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE, DagsterEventType.STEP_SKIPPED):
            {DagsterEventType.STEP_SUCCESS: stage.succeeded, DagsterEventType.STEP_FAILURE: stage.failed,
             DagsterEventType.STEP_SKIPPED: stage.skipped}[kind].add(event.step_key)
            stage.step_times.setdefault(event.step_key, [entry.timestamp, None])[1] = entry.timestamp
            if kind == DagsterEventType.STEP_FAILURE:
                self.failures.append(event)
        elif kind == DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.event_specific_data.materialization
            stage.materializations.append(
                (event.step_key, "/".join(materialization.asset_key.path), _plain(materialization.metadata)))
        elif kind == DagsterEventType.ASSET_CHECK_EVALUATION:
            if event.event_specific_data.passed:
                stage.checks_passed += 1
            else:
                stage.checks_failed += 1

    def ordered(self) -> list[Stage]:
        return list(self.stages.values())

    @contextmanager
    def watching(self, on_finished: Callable[[Stage], None], on_tick: Callable[[list[Stage]], None],
                 interval: float = 0.5) -> Iterator[RunTracker]:
        """Poll in a background thread while the run goes on; call ``on_finished`` once per finished stage."""
        stop = threading.Event()
        reported: set[str] = set()

        def report(finished: list[Stage]) -> None:
            for stage in finished:
                if stage.name not in reported:
                    reported.add(stage.name)
                    on_finished(stage)
            on_tick(self.ordered())

        def loop() -> None:
            while not stop.wait(interval):
                try:
                    report(self.poll())
                except Exception:  # noqa: BLE001 - the display must never break the run; the final poll reports
                    traceback.print_exc()  # fd 2: the log file

        thread = threading.Thread(target=loop, name="kkik-progress", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()
            report(self.poll())


def stage_account(stage: Stage) -> str:
    """One short account of a finished stage from its steps' metadata (rows landed, models, flags)."""
    if stage.name == "sources":
        parts = []
        for step_key in sorted(stage.expected, key=lambda k: list(SOURCE_LABELS).index(k) if k in SOURCE_LABELS else 99):
            parts.append(_source_account(step_key, stage))
        return " · ".join(p for p in parts if p)
    if stage.name == "dbt":
        checks = f", {stage.checks_passed} tests passed" + (f", {stage.checks_failed} failed" if stage.checks_failed else "")
        return f"{stage.assets} models and seeds built{checks}"
    if stage.name == "audit":
        for _, meta in stage.metadata_of("kkik_audit__kkik_flag"):
            open_errors, errors, warnings = meta.get("open_errors", 0), meta.get("errors", 0), meta.get("warnings", 0)
            blocking = f"{open_errors:,} open (block publication)" if open_errors else "none blocking"
            outside = meta.get("open_errors_outside_kkik", 0)
            if outside:
                blocking += f", {outside:,} open outside the KKiK set (not blocking; `kkik watch --year YYYY` lists them)"
            accepted = meta.get("accepted_errors", 0)
            if accepted:
                blocking += f", {accepted:,} accepted"
            other = meta.get("open_errors_other_years", 0)
            if other:  # an earlier audit's, of years this run did not audit: they block as well
                blocking += (f"; and {count_of(other, 'open error flag')} of {meta.get('other_years', '')} from an "
                             "earlier audit (block publication)")
            history = meta.get("history_years", 0)
            scope = f" (rules checked {meta.get('years_checked')}, the {history} years before as history)" if history else ""
            return f"{count_of(errors, 'error flag')}: {blocking}; {count_of(warnings, 'warning')}{scope}"
        return ""
    if stage.name == "publish":
        if stage.failed:
            return "not published (the cause is below)"
        for _, meta in stage.metadata_of("kkik__published_mart"):
            return (f"kkik.* replaced ({meta.get('accepted_errors_let_through', 0):,} accepted error flags let through, "
                    "every year kkik_flag holds)")
        return ""
    if stage.name == "reports":
        for _, meta in stage.metadata_of("kkik__reports"):
            return (f"KKiK {meta.get('kkik_year')}: {meta.get('kommun_files', 0):,} kommun and "
                    f"{meta.get('county_files', 0):,} county reports (HTML) in {_shown_path(meta.get('folder'))}; "
                    "`kkik report` for PDF")
        return "the KKiK reports of the newest year (HTML; `kkik report` for PDF)" if stage.assets else ""
    return f"{stage.assets} assets"


def _source_account(step_key: str, stage: Stage) -> str:
    label = SOURCE_LABELS.get(step_key, step_key)
    if step_key in stage.failed:
        return f"{label} FAILED"
    if step_key not in stage.succeeded:
        return f"{label} not run"
    metas = dict(stage.metadata_of(step_key))
    if step_key == "raw_kolada":
        data = metas.get("raw/kolada__data", {})
        if data.get("from_date"):  # a refresh: what the changes did
            return (f"{label} {data.get('rows', 0):,} values changed since {data['from_date']}: "
                    f"{data.get('inserted', 0):,} new, {data.get('updated', 0):,} revised, "
                    f"{data.get('deleted', 0):,} deleted ({data.get('http_requests', 0)} requests)")
        return f"{label} {data.get('rows', 0):,} values ({data.get('http_requests', 0)} requests)"
    if step_key == "raw_inbox":
        files = sum(m.get("files_accepted", 0) for m in metas.values())
        rows = sum(m.get("rows_landed", 0) for m in metas.values())
        rejected = sum(m.get("files_rejected", 0) for m in metas.values())
        quarantine = metas.get("raw/inbox_quarantine", {})  # the step's totals over every file type
        registry = metas.get("raw/inbox_files", {})
        reinstated = [line for line in str(registry.get("reinstated_files", "none")).splitlines()
                      if line and line != "none"]
        copies = [line.split("\t") for line in str(registry.get("copies", "none")).splitlines()
                  if "\t" in line]
        quarantined, ignored = quarantine.get("rows_quarantined", 0), quarantine.get("ignored", "none")
        ignored = "" if ignored == "none" else ignored
        return (f"{label} {count_of(files, 'new file')}, {count_of(rows, 'row')}"
                + (f" ({quarantined:,} quarantined: raw.inbox_quarantine)" if quarantined else "")
                + (f", {count_of(len(reinstated), 'earlier version')} current again: " + "; ".join(reinstated)
                   if reinstated else "")
                + (f", {len(copies)} {'copy' if len(copies) == 1 else 'copies'} of a landed file not landed again: "
                   + "; ".join(f"{copy} (landed before as {first})" for copy, first in copies[:2])
                   + (f"; and {len(copies) - 2} more" if len(copies) > 2 else "") if copies else "")
                + (f", {rejected} REJECTED: {_rejections(metas)}" if rejected else "")
                + (f"; NOT READ: {ignored}" if ignored else ""))
    return f"{label} {sum(m.get('rows', 0) for m in metas.values()):,} rows"


def _rejections(metas: dict) -> str:
    """The rejected files' reasons (each names its file), the first two in full; the rest counted."""
    lines = [line for m in metas.values() for line in str(m.get("rejections", "none")).splitlines()
             if line and line != "none"]
    shown = "; ".join(lines[:2])
    return shown + (f"; and {len(lines) - 2} more" if len(lines) > 2 else "") + " (raw.inbox_files has every reason)"


def _shown_path(folder: str | None) -> str:
    """``folder`` relative to the working directory where it lies below it (``reports/``), else as given."""
    if not folder:
        return "the reports folder"
    path = Path(folder)
    try:
        return f"{path.resolve().relative_to(Path.cwd().resolve())}/"
    except ValueError:
        return f"{path}/"
