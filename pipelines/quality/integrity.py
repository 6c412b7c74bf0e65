"""Integrity of the keys: duplicates, unknown codes, impossible years and genders.

These read the raw input (every row as given) because the statistical rules work on a cleaned copy: one
row per key, known codes only. Whatever the cleaning drops must be flagged here, or it would vanish
silently. Unknown codes and future years are reported once per code (and year), not once per row: 290 rows
of an unknown KPI id are one problem for the reviewer. The raw input is every row of a values file (a
duplicate among the history rows would silently pick one of two histories), and of the mart the checked
years and later (``WatchContext.raw``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.console import count_of
from pipelines.quality.context import KEY, WatchContext
from pipelines.quality.flags import make_hits
from pipelines.quality.rules import Rule

_EMPTY = pd.DataFrame(columns=KEY)


def duplicate(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """The same key (kpi, municipality, year, gender) appears more than once."""
    raw = ctx.raw
    dup = raw[raw.duplicated(KEY, keep=False)]
    if not len(dup):
        return make_hits(_EMPTY, [])
    grouped = dup.groupby(KEY, dropna=False)["value"]
    summary = grouped.agg(count="size", first="first").reset_index()
    summary["values"] = grouped.agg(lambda s: ", ".join("no value" if np.isnan(x) else f"{x:.6g}" for x in s)).to_numpy()
    distinct = grouped.agg(lambda s: s.nunique(dropna=False)).to_numpy()
    summary["agreement"] = np.where(distinct > 1, "and the values differ", "with the same value")
    return make_hits(summary, summary["first"], count=summary["count"].astype(int), values=summary["values"],
                     agreement=summary["agreement"])


def unknown_kpi(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """A KPI id that the KPI table (catalogue + Kolada metadata) does not know."""
    raw = ctx.raw
    bad = raw[~raw["kpi_id"].isin(ctx.kpis.index)]
    if not len(bad):
        return make_hits(_EMPTY, [])
    summary = bad.groupby(["kpi_id", "year"], dropna=False).agg(
        rows=("municipality_id", "size"),
        municipalities=("municipality_id", lambda s: ", ".join(sorted(map(str, s.dropna().unique()))[:5]))).reset_index()
    summary["municipality_id"], summary["gender"] = None, None
    return make_hits(summary, np.nan, rows=summary["rows"].astype(int), rows_text=_rows_text(summary),
                     municipalities=summary["municipalities"], contact="RKA", source="input file")


def unknown_municipality(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """A municipality code that the municipality table does not know (kommuner, Riket, regions)."""
    raw = ctx.raw
    bad = raw[~raw["municipality_id"].isin(ctx.municipalities.index)]
    if not len(bad):
        return make_hits(_EMPTY, [])
    summary = bad.groupby(["municipality_id", "year"], dropna=False).agg(
        rows=("kpi_id", "size"), kpis=("kpi_id", lambda s: ", ".join(sorted(map(str, s.unique()))[:5]))).reset_index()
    summary["kpi_id"], summary["gender"] = None, None
    summary["municipality_id"] = summary["municipality_id"].fillna("(empty)")
    return make_hits(summary, np.nan, rows=summary["rows"].astype(int), rows_text=_rows_text(summary),
                     kpis=summary["kpis"], contact="RKA", source="input file")


def future_year(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """A year later than ``today``'s year + ``max_years_ahead`` (all input rows, not just target years)."""
    limit = ctx.today.year + int(rule.param("max_years_ahead"))
    raw = ctx.raw
    bad = raw[raw["year"].notna() & (raw["year"] > limit)]
    if not len(bad):
        return make_hits(_EMPTY, [])
    summary = bad.groupby(["kpi_id", "year"], dropna=False).size().rename("rows").reset_index()
    summary["municipality_id"], summary["gender"] = None, None
    return make_hits(summary, np.nan, high=float(limit), rows=summary["rows"].astype(int),
                     rows_text=_rows_text(summary), limit=str(limit), today=ctx.today.isoformat(), contact="RKA",
                     source="input file")


def invalid_gender(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """A gender code other than T (total), K (women), M (men)."""
    raw = ctx.raw
    bad = raw[~raw["gender"].isin(["T", "K", "M"])]
    if not len(bad):
        return make_hits(_EMPTY, [])
    summary = bad.assign(gender=bad["gender"].fillna("(empty)")).groupby(["kpi_id", "year", "gender"], dropna=False).agg(
        rows=("municipality_id", "size"),
        municipalities=("municipality_id", lambda s: ", ".join(sorted(map(str, s.dropna().unique()))[:5]))).reset_index()
    summary["municipality_id"] = None
    return make_hits(summary, np.nan, rows=summary["rows"].astype(int), rows_text=_rows_text(summary),
                     municipalities=summary["municipalities"], code=summary["gender"], source="input file")


def _rows_text(summary: pd.DataFrame) -> list[str]:
    """``1 row``, ``290 rows``: the count of each problem's rows for its message."""
    return [count_of(n, "row") for n in summary["rows"].astype(int)]
