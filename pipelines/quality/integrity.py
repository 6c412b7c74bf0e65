"""Integrity of the keys: duplicates, unknown codes, impossible years and genders.

The warehouse lists the problems (``dbt_project/models/marts/watch/watch_input_problem.sql``: every input
row read, a values file's history too, one row per problem as a reviewer fixes it: an unknown code once per
code and year, not once per row); these rules turn each into a flag with its message. The statistical rules
work on a cleaned copy (one row per key, known codes only), so whatever the cleaning drops is flagged here,
or it would vanish silently.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pipelines.console import count_of
from pipelines.quality.context import KEY, WatchContext
from pipelines.quality.flags import make_hits
from pipelines.quality.rules import Rule

_EMPTY = pd.DataFrame(columns=KEY)


def _as_list(cell) -> list:
    """A list column's cell (DuckDB gives an array, or a missing value for a null list)."""
    if cell is None or cell is pd.NA or (isinstance(cell, float) and math.isnan(cell)):
        return []
    return list(cell)


def _file_rows(rows: list) -> str:
    """``, file rows 12, 40`` where a values file has the problem's rows (for the message); "" otherwise."""
    shown = [str(int(r)) for r in rows]
    if not shown:
        return ""
    return f", file {'row' if len(shown) == 1 else 'rows'} {', '.join(shown[:6])}{', …' if len(shown) > 6 else ''}"


def _problems(ctx: WatchContext, problem: str) -> pd.DataFrame:
    """The warehouse's problems of one kind, with what the messages read: ``rows`` (their count),
    ``rows_text`` (``1 row``, ``290 rows``), ``file_rows`` (text) and ``listed`` (the first five codes)."""
    found = ctx.problems[ctx.problems["problem"] == problem].reset_index(drop=True)
    found["rows"] = found["row_count"].astype(int)
    found["rows_text"] = [count_of(n, "row") for n in found["rows"]]
    found["file_rows"] = [_file_rows(_as_list(rows)) for rows in found["file_rows"]]
    found["listed"] = [", ".join(map(str, _as_list(codes))) for codes in found["listed"]]
    return found


def _hits(found: pd.DataFrame, **fields) -> pd.DataFrame:
    return make_hits(found, np.nan, rows=found["rows"], rows_text=found["rows_text"], file_rows=found["file_rows"],
                     source="input file", **fields)


def duplicate(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """The same key (kpi, municipality, year, gender) appears more than once."""
    found = _problems(ctx, "duplicate")
    if not len(found):
        return make_hits(_EMPTY, [])
    values = [[float(v) if v is not None else math.nan for v in _as_list(row)] for row in found["row_values"]]
    first = [next((v for v in row if not math.isnan(v)), math.nan) for row in values]
    agreement = np.where(found["distinct_values"] > 1, "and the values differ", "with the same value")
    shown = [", ".join("no value" if math.isnan(v) else f"{v:.6g}" for v in row) for row in values]
    return make_hits(found, first, count=found["rows"], values=shown, agreement=agreement,
                     file_rows=found["file_rows"])


def unknown_kpi(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """A KPI id that the KPI table (catalogue + Kolada metadata) does not know."""
    found = _problems(ctx, "unknown_kpi")
    if not len(found):
        return make_hits(_EMPTY, [])
    return _hits(found, municipalities=found["listed"], contact="RKA")


def unknown_municipality(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """A municipality code that the municipality table does not know (kommuner, Riket, regions)."""
    found = _problems(ctx, "unknown_municipality")
    if not len(found):
        return make_hits(_EMPTY, [])
    return _hits(found, kpis=found["listed"], contact="RKA")


def future_year(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """A year later than ``today``'s year + ``max_years_ahead`` (every input row, not just the checked years:
    the limit reaches the warehouse as ``var('watch_year_limit')``, :func:`year_limit`)."""
    found = _problems(ctx, "future_year")
    if not len(found):
        return make_hits(_EMPTY, [])
    limit = year_limit(rule, ctx.today.year)
    return make_hits(found, np.nan, high=float(limit), rows=found["rows"], rows_text=found["rows_text"],
                     file_rows=found["file_rows"], limit=str(limit), today=ctx.today.isoformat(), contact="RKA",
                     source="input file")


def invalid_gender(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """A gender code other than T (total), K (women), M (men)."""
    found = _problems(ctx, "invalid_gender")
    if not len(found):
        return make_hits(_EMPTY, [])
    return _hits(found, municipalities=found["listed"], code=found["gender"])


def year_limit(rule: Rule, this_year: int) -> int:
    """The last year ``integrity.future_year`` lets through: this year + ``max_years_ahead``."""
    return this_year + int(rule.param("max_years_ahead"))
