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


def _problems(bad: pd.DataFrame, keys: list[str], **named) -> pd.DataFrame:
    """One row per problem: ``bad`` grouped by ``keys``, with ``rows`` (their count), ``rows_text`` (``1 row``,
    ``290 rows``), ``file_rows`` (``, file rows 12, 40``: where a values file has them, for the message; ""
    for the mart) and the aggregations ``named`` (pandas' named aggregation)."""
    grouped = bad.groupby(keys, dropna=False)
    summary = grouped.agg(rows=(keys[0], "size"), **named).reset_index()
    summary["rows_text"] = [count_of(n, "row") for n in summary["rows"].astype(int)]
    if "file_row" in bad.columns and bad["file_row"].notna().any():
        summary["file_rows"] = grouped["file_row"].agg(_file_rows).to_numpy()
    else:
        summary["file_rows"] = ""
    return summary


def _file_rows(rows: pd.Series) -> str:
    shown = [str(int(r)) for r in rows.dropna().sort_values()]
    return f", file {'row' if len(shown) == 1 else 'rows'} {', '.join(shown[:6])}{', …' if len(shown) > 6 else ''}"


def _listed(column: str) -> tuple[str, object]:
    """The first five distinct values of ``column`` in a problem's rows, as text (named aggregation)."""
    return column, lambda s: ", ".join(sorted(map(str, s.dropna().unique()))[:5])


def _hits(summary: pd.DataFrame, **fields) -> pd.DataFrame:
    return make_hits(summary, np.nan, rows=summary["rows"].astype(int), rows_text=summary["rows_text"],
                     file_rows=summary["file_rows"], source="input file", **fields)


def duplicate(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """The same key (kpi, municipality, year, gender) appears more than once."""
    raw = ctx.raw
    dup = raw[raw.duplicated(KEY, keep=False)]
    if not len(dup):
        return make_hits(_EMPTY, [])
    summary = _problems(dup, KEY, first=("value", "first"), distinct=("value", lambda s: s.nunique(dropna=False)),
                        values=("value", lambda s: ", ".join("no value" if np.isnan(x) else f"{x:.6g}" for x in s)))
    agreement = np.where(summary["distinct"] > 1, "and the values differ", "with the same value")
    return make_hits(summary, summary["first"], count=summary["rows"].astype(int), values=summary["values"],
                     agreement=agreement, file_rows=summary["file_rows"])


def unknown_kpi(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """A KPI id that the KPI table (catalogue + Kolada metadata) does not know."""
    bad = ctx.raw[~ctx.raw["kpi_id"].isin(ctx.kpis.index)]
    if not len(bad):
        return make_hits(_EMPTY, [])
    summary = _problems(bad, ["kpi_id", "year"], municipalities=_listed("municipality_id"))
    summary["municipality_id"], summary["gender"] = None, None
    return _hits(summary, municipalities=summary["municipalities"], contact="RKA")


def unknown_municipality(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """A municipality code that the municipality table does not know (kommuner, Riket, regions)."""
    bad = ctx.raw[~ctx.raw["municipality_id"].isin(ctx.municipalities.index)]
    if not len(bad):
        return make_hits(_EMPTY, [])
    summary = _problems(bad, ["municipality_id", "year"], kpis=_listed("kpi_id"))
    summary["kpi_id"], summary["gender"] = None, None
    summary["municipality_id"] = summary["municipality_id"].fillna("(empty)")
    return _hits(summary, kpis=summary["kpis"], contact="RKA")


def future_year(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """A year later than ``today``'s year + ``max_years_ahead`` (all input rows, not just target years)."""
    limit = ctx.today.year + int(rule.param("max_years_ahead"))
    bad = ctx.raw[ctx.raw["year"].notna() & (ctx.raw["year"] > limit)]
    if not len(bad):
        return make_hits(_EMPTY, [])
    summary = _problems(bad, ["kpi_id", "year"])
    summary["municipality_id"], summary["gender"] = None, None
    return make_hits(summary, np.nan, high=float(limit), rows=summary["rows"].astype(int),
                     rows_text=summary["rows_text"], file_rows=summary["file_rows"], limit=str(limit),
                     today=ctx.today.isoformat(), contact="RKA", source="input file")


def invalid_gender(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """A gender code other than T (total), K (women), M (men)."""
    bad = ctx.raw[~ctx.raw["gender"].isin(["T", "K", "M"])]
    if not len(bad):
        return make_hits(_EMPTY, [])
    summary = _problems(bad.assign(gender=bad["gender"].fillna("(empty)")), ["kpi_id", "year", "gender"],
                        municipalities=_listed("municipality_id"))
    summary["municipality_id"] = None
    return _hits(summary, municipalities=summary["municipalities"], code=summary["gender"])
