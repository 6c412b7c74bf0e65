"""Great Expectations suites on the audited mart: versioned JSON in, validation results per load out.

The suites are files in ``expectations/gx_suites/`` (GX's own JSON format, reviewed like code). They run
in an ephemeral GX context on pandas frames (GX's SQL datasource does not work with DuckDB 2 here, and a
file context would rewrite its config in the work tree on every run). Each validation result is kept as
JSON under the load's quality folder, and every unexpected row becomes a flag in the same flags table as
the statistical rules, so reviewers see one list.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipelines.config import EXPECTATIONS_DIR

SUITES_DIR = EXPECTATIONS_DIR / "gx_suites"
FLAG_COLUMNS = ["kpi_id", "municipality_id", "year", "gender", "rule_id", "severity", "observed_value", "message"]


@dataclass
class SuiteOutcome:
    """One suite's validation: GX's verdict, counts, where the result JSON was written, and its flags."""

    suite: str
    success: bool
    evaluated: int
    failed: int
    errored: int
    result_path: Path | None
    flags: pd.DataFrame


def _quiet_gx() -> None:
    """No analytics calls and no INFO chatter from GX (set before its first import)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)


def import_gx_in_background() -> threading.Thread:
    """Start importing Great Expectations (3–5 s of imports here) in a daemon thread and return it.

    GX is imported only where a suite runs, so the start-up of the definitions does not pay it; a step
    before the audit that mostly waits (dbt, working in its own process) calls this so the audit does
    not pay it either. ``run_suite``'s own import then finds the module loaded, or waits for this one.
    """
    def load() -> None:
        _quiet_gx()
        import great_expectations  # noqa: F401

    thread = threading.Thread(target=load, name="import-great-expectations", daemon=True)
    thread.start()
    return thread


def run_suite(name: str, frame: pd.DataFrame, *, results_dir: Path | None = None,
              suites_dir: Path = SUITES_DIR) -> SuiteOutcome:
    """Validate ``frame`` against suite ``name`` and turn its unexpected rows into flags.

    A suite whose expectations cannot be evaluated (a missing column, say) does not pass quietly: GX
    then reports success=False with errors, and so does this outcome (``errored`` > 0).
    """
    _quiet_gx()
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    spec = json.loads((suites_dir / f"{name}.json").read_text(encoding="utf-8"))
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    suite = context.suites.add(gx.ExpectationSuite(
        name=name, expectations=[_expectation(gx, e) for e in spec["expectations"]], meta=spec.get("meta") or {}
    ))
    batch = context.data_sources.add_pandas(f"kkik_{name}").add_dataframe_asset(name) \
        .add_batch_definition_whole_dataframe("whole")
    validation = context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=suite))
    frame = frame.reset_index(drop=True)
    result = validation.run(batch_parameters={"dataframe": frame}, result_format={"result_format": "COMPLETE"})

    flags, failed, errored = [], 0, 0
    for item in result.results:
        config = item.expectation_config
        if item.exception_info and item.exception_info.get("raised_exception"):
            errored += 1
            flags.append(_suite_error_flag(name, config, item.exception_info.get("exception_message")))
            continue
        if item.success:
            continue
        failed += 1
        flags.extend(_unexpected_row_flags(name, config, item.result, frame))

    path = None
    if results_dir is not None:
        results_dir.mkdir(parents=True, exist_ok=True)
        path = results_dir / f"{name}.json"
        path.write_text(json.dumps(result.to_json_dict(), indent=1, default=str), encoding="utf-8")
    return SuiteOutcome(
        suite=name, success=bool(result.success), evaluated=len(result.results), failed=failed, errored=errored,
        result_path=path, flags=pd.DataFrame(flags, columns=FLAG_COLUMNS),
    )


def _expectation(gx, spec: dict):
    """A GX expectation object from its JSON (``type`` + ``kwargs`` + ``meta``)."""
    from great_expectations.expectations.registry import get_expectation_impl

    cls = get_expectation_impl(spec["type"])
    return cls(**spec["kwargs"], meta=spec.get("meta") or {})


def _rule_id(suite: str, config) -> str:
    column = config.kwargs.get("column") or "+".join(config.kwargs.get("column_list") or [])
    return f"gx.{suite}.{config.type}.{column}"


def _unexpected_row_flags(suite: str, config, result: dict, frame: pd.DataFrame) -> list[dict]:
    meta = config.meta or {}
    severity = meta.get("severity", "error")
    template = meta.get("message", config.type)
    column = config.kwargs.get("column")
    rows = []
    for index in result.get("unexpected_index_list") or []:
        if isinstance(index, dict):  # compound expectations give the row's key columns
            index = index.get("index", None)
        if index is None or index not in frame.index:
            continue
        record = frame.loc[index]
        observed = record.get(column) if column else None
        rows.append({
            "kpi_id": record.get("kpi_id"), "municipality_id": record.get("municipality_id"),
            "year": record.get("year"), "gender": record.get("gender"),
            "rule_id": _rule_id(suite, config), "severity": severity,
            "observed_value": _number(observed),
            "message": template.format(observed=observed),
        })
    if not rows:  # a failure GX could not point at rows (e.g. a column-level expectation)
        rows.append(_suite_error_flag(suite, config, f"{template} ({result.get('unexpected_count')} rows)"))
    return rows


def _suite_error_flag(suite: str, config, message: str | None) -> dict:
    return {"kpi_id": None, "municipality_id": None, "year": None, "gender": None,
            "rule_id": _rule_id(suite, config), "severity": "error", "observed_value": None,
            "message": f"Great Expectations could not check {config.type}: {message}"}


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if pd.isna(number) else number
