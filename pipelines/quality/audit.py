"""The audit step of write-audit-publish: run the error watch and the GX suites on the audit mart.

All findings land in one table, ``kkik_audit.kkik_flag``, ranked by impact, with the reviewer's
acceptances applied. GX validation results are kept as JSON per load under the quality folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.config import LOAD_YEARS
from pipelines.quality.acceptance import apply_acceptances, blocking_mask, flag_counts, read_acceptances
from pipelines.quality.completeness import audit_gate
from pipelines.quality.flags import FLAG_COLUMNS
from pipelines.quality.gx_suites import run_suite
from pipelines.quality.mart_inputs import AUDIT_SCHEMA, PUBLISHED_SCHEMA, WatchInputs, read_watch_inputs
from pipelines.quality.rules import load_rules
from pipelines.quality.warehouse import WatchTables
from pipelines.quality.watch import run_watch
from pipelines.warehouse import connect, transaction

FLAG_TABLE = f"{AUDIT_SCHEMA}.kkik_flag"
#: what a blocked publication says of each open error flag (:func:`open_error_flags`)
OPEN_ERROR_COLUMNS = ["kpi_id", "municipality_id", "year", "gender", "rule_id", "message"]
FLAG_TABLE_DDL = f"""create table if not exists {FLAG_TABLE} (
    flag_rank integer, kpi_id varchar, municipality_id varchar, year integer, gender varchar,
    rule_id varchar not null, severity varchar not null, observed_value double, expected_low double,
    expected_high double, expected_value double, message varchar not null, source varchar, contact varchar,
    impact_score double, would_change_colour boolean, is_synthetic boolean, is_kkik boolean,
    accepted boolean not null,
    accepted_by varchar, acceptance_reason varchar, accepted_on varchar, rule_group varchar not null, load_id varchar not null,
    flagged_at timestamptz not null)"""
#: GX findings are checks of the mart's own rules: an error there would change the published mart itself
GX_IMPACT = {"error": 13.0, "warning": 3.0}


@dataclass
class AuditSummary:
    """What the audit found: counts by severity and rule group, and whether publication may go ahead."""

    load_id: str
    #: the run's years: the publication gate checked them all, and their flags were replaced
    years: list[int]
    flags: int
    errors: int
    warnings: int
    #: open errors on the KKiK set: they block publication
    open_errors: int
    accepted_errors: int
    #: open errors on figures outside the KKiK set: listed and counted, not blocking
    open_errors_outside_kkik: int = 0
    by_group: dict[str, dict[str, int]] = field(default_factory=dict)
    gx: dict[str, dict] = field(default_factory=dict)
    #: the years the rules and GX checked (``watched_years``); the run's earlier years were their history
    watched_years: list[int] = field(default_factory=list)
    #: open errors (blocking) that an earlier audit wrote for years outside this run, whose values the mart
    #: still holds: they block the publication too, until that year is audited again with an acceptance
    open_errors_other_years: int = 0
    other_years: list[int] = field(default_factory=list)

    @property
    def publishable(self) -> bool:
        return self.open_errors == 0 and self.open_errors_other_years == 0


def watched_years(years: Sequence[int]) -> list[int]:
    """The years the rules check in a run of ``years``: its newest ``LOAD_YEARS`` (a yearly load's years are
    all of them; a backfill of 1994–2022 checks 2018–2022 with 1994–2017 as their history, since those
    values have long been published and checking 29 years of every figure cell by cell would hold them all
    in memory). The publication gate still checks every year of the run: a lost page is found in any year."""
    return sorted({int(y) for y in years})[-LOAD_YEARS:]


def rule_group(rule_id: pd.Series) -> pd.Series:
    """``year_over_year.hb`` → ``year_over_year``; GX findings (``gx.…``) form the group ``great_expectations``."""
    return pd.Series(np.where(rule_id.str.startswith("gx."), "great_expectations", rule_id.str.split(".").str[0]),
                     index=rule_id.index)


def watch_and_validate(
    values: pd.DataFrame,
    kpis: pd.DataFrame,
    municipalities: pd.DataFrame,
    *,
    years: list[int],
    similar_groups: pd.DataFrame | None = None,
    source_comparison: pd.DataFrame | None = None,
    kpi_metadata_previous: pd.DataFrame | None = None,
    kpi_metadata_current: pd.DataFrame | None = None,
    result_frame: pd.DataFrame | None = None,
    results_dir: Path | None = None,
    accepted_flags_path: Path | None = None,
    today: date | None = None,
    gate: pd.DataFrame | None = None,
    tables: WatchTables | None = None,
) -> tuple[pd.DataFrame, dict[str, dict]]:
    """The statistical rules and the GX suites on the same values, as one list with the reviewers'
    acceptances applied, highest impact first; also each suite's verdict. The yearly audit and
    ``kkik watch --values`` both check through here, so a submission meets exactly the load's rules.
    ``kkik_result`` is validated too when its frame is given; ``gate`` holds the publication gate's flags
    (completeness, unknown codes: :mod:`pipelines.quality.completeness`), accepted and ranked alike."""
    flags = run_watch(
        values, kpis, municipalities, load_rules(), years=years, source_comparison=source_comparison,
        kpi_metadata_previous=kpi_metadata_previous, kpi_metadata_current=kpi_metadata_current, today=today,
        similar_groups=similar_groups, tables=tables,
    )
    checked = values[pd.to_numeric(values["year"], errors="coerce").isin(years)]  # not the history: GX checks rows
    frames = [("fct_kpi_value", checked.merge(kpis[["kpi_id", "unit"]], on="kpi_id", how="left"))]
    if result_frame is not None:
        frames.append(("kkik_result", result_frame[result_frame["year"].isin(years)]))
    gx_flags, gx_summary = [], {}
    for name, frame in frames:
        outcome = run_suite(name, frame, results_dir=results_dir)
        gx_summary[name] = {"success": outcome.success, "evaluated": outcome.evaluated, "failed": outcome.failed,
                            "errored": outcome.errored, "result": str(outcome.result_path)}
        gx_flags.append(outcome.flags)
    parts = [flags, _gx_as_flags(pd.concat(gx_flags, ignore_index=True))]
    if gate is not None and len(gate):
        parts.append(gate)
    flags = pd.concat(parts, ignore_index=True)
    flags = apply_acceptances(flags, read_acceptances(*([accepted_flags_path] if accepted_flags_path else [])))
    return flags.sort_values("impact_score", ascending=False, kind="stable").reset_index(drop=True), gx_summary


def audit_mart(
    duckdb_path: Path,
    *,
    years: Sequence[int],
    load_id: str,
    quality_dir: Path,
    accepted_flags_path: Path | None = None,
    today: date | None = None,
    inputs: WatchInputs | None = None,
) -> tuple[AuditSummary, pd.DataFrame]:
    """Check the audit mart for the run's ``years`` and write the ranked flags; returns the summary and the
    flags. The rules and GX check ``watched_years(years)``, the gate every year of the run.

    ``inputs`` (read for the watched years) saves reading the mart again when the caller already has them.
    """
    years = sorted({int(y) for y in years})
    watched = watched_years(years)
    with connect(duckdb_path, read_only=True) as con:
        inputs = inputs or read_watch_inputs(con, years=watched, today=today)
        result_frame = con.execute(f"select * from {AUDIT_SCHEMA}.kkik_result").df()
        gate = audit_gate(con, years=years, audit_schema=AUDIT_SCHEMA, published_schema=PUBLISHED_SCHEMA)
        outside_kkik = [kpi for (kpi,) in con.execute(
            f"select kpi_id from {AUDIT_SCHEMA}.dim_kpi where not is_kkik").fetchall()]

    flags, gx_summary = watch_and_validate(
        inputs.values, inputs.kpis, inputs.municipalities, years=watched, similar_groups=inputs.similar_groups,
        source_comparison=inputs.source_comparison, kpi_metadata_previous=inputs.kpi_metadata_previous,
        kpi_metadata_current=inputs.kpi_metadata_current, result_frame=result_frame,
        results_dir=quality_dir / load_id / "gx", accepted_flags_path=accepted_flags_path, today=today,
        gate=gate,
        tables=inputs.tables,
    )
    flags.insert(0, "flag_rank", np.arange(1, len(flags) + 1))
    flags["rule_group"] = rule_group(flags["rule_id"])
    flags["is_kkik"] = ~flags["kpi_id"].isin(outside_kkik)
    flags["load_id"] = load_id
    flags["flagged_at"] = pd.Timestamp(datetime.now(UTC))
    _write_flags(duckdb_path, flags, years)
    other = _blocking_in_other_years(duckdb_path, years)

    summary = AuditSummary(
        load_id=load_id, years=years, watched_years=watched, **flag_counts(flags),
        by_group={group: frame["severity"].value_counts().to_dict() for group, frame in flags.groupby("rule_group")},
        gx=gx_summary, open_errors_other_years=len(other), other_years=sorted(set(other["year"].astype(int))),
    )
    return summary, flags


def open_error_flags(con) -> list[tuple]:
    """The stored error flags that block publication (:func:`blocking_mask`: not accepted, on the KKiK set), most
    important first, as ``OPEN_ERROR_COLUMNS`` tuples."""
    columns = [*OPEN_ERROR_COLUMNS, "severity", "accepted", "is_kkik"]
    flags = pd.DataFrame(con.execute(f"select {', '.join(columns)} from {FLAG_TABLE} order by flag_rank").fetchall(),
                         columns=columns, dtype=object)  # the values as DuckDB gives them: 2022, None
    return list(flags.loc[blocking_mask(flags), OPEN_ERROR_COLUMNS].itertuples(index=False, name=None))


def _blocking_in_other_years(duckdb_path: Path, years: list[int]) -> pd.DataFrame:
    """The :func:`open_error_flags` of years outside ``years`` (a flag of no year is no other year's)."""
    with connect(duckdb_path, read_only=True) as con:
        flags = pd.DataFrame(open_error_flags(con), columns=OPEN_ERROR_COLUMNS)
    return flags[flags["year"].notna() & ~flags["year"].isin(years)].reset_index(drop=True)


def _gx_as_flags(gx: pd.DataFrame) -> pd.DataFrame:
    """GX findings in the watch's flag columns (no expected value: the suite states the rule)."""
    out = gx.copy()
    for column in FLAG_COLUMNS:
        if column not in out.columns:
            out[column] = np.nan
    out["source"] = "great_expectations"
    out["contact"] = "RKA"
    out["impact_score"] = out["severity"].map(GX_IMPACT).fillna(3.0)
    out["would_change_colour"] = False
    out["is_synthetic"] = False
    out["year"] = pd.array(out["year"], dtype="Int64")
    return out[FLAG_COLUMNS]


def _write_flags(duckdb_path: Path, flags: pd.DataFrame, years: list[int]) -> None:
    """Replace the flags of ``years`` (and year-less ones) in one transaction; other years' flags stay."""
    with connect(duckdb_path) as con:
        con.execute(f"create schema if not exists {AUDIT_SCHEMA}")
        con.execute(FLAG_TABLE_DDL)
        # a flag table written before flags carried is_synthetic
        con.execute(f"alter table {FLAG_TABLE} add column if not exists is_synthetic boolean")
        con.execute(f"alter table {FLAG_TABLE} add column if not exists is_kkik boolean")
        con.register("incoming", flags)
        with transaction(con):
            placeholders = ",".join("?" for _ in years)
            con.execute(f"delete from {FLAG_TABLE} where year in ({placeholders}) or year is null", years)
            con.execute(f"insert into {FLAG_TABLE} by name select * from incoming")
        con.unregister("incoming")
