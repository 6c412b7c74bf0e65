"""``run_watch``: run every enabled rule of the table over the input and return one ranked flags table."""

from __future__ import annotations

from datetime import date

import pandas as pd

from pipelines.quality.context import WatchContext
from pipelines.quality.flags import assemble, describe, rank
from pipelines.quality.integrity import year_limit
from pipelines.quality.outlier import _MEASURE
from pipelines.quality.registry import CHECKS
from pipelines.quality.rules import RuleSet
from pipelines.quality.warehouse import WatchTables


def model_vars(rules: RuleSet, today: date | None = None) -> dict:
    """What the watch models must hold for these rules: as many earlier periods as the rules look back
    (``watch_history_periods``), the last year an input row may have (``watch_year_limit``: today's year +
    ``integrity.future_year``'s ``max_years_ahead``, where that rule is on), and, when every
    similar-kommuner outlier rule compares a unit on the same scale, only that scale
    (``watch_similar_measures``: the largest join of the watch, kept small)."""
    enabled = rules.enabled()
    variables: dict = {"watch_history_periods": max([int(r.parameters.get("history_periods", 1)) for r in enabled]
                                                    + [1])}
    future = [r for r in enabled if r.check == "integrity.future_year"]
    if future:
        variables["watch_year_limit"] = min(year_limit(r, (today or date.today()).year) for r in future)
    scales = [r.param("transform") or {} for r in enabled if r.check == "outlier.similar"]
    if scales and all(s == scales[0] for s in scales):
        variables["watch_similar_measures"] = {unit: _MEASURE[t] for unit, t in scales[0].items()}
    return variables


def run_watch(
    values: pd.DataFrame,
    kpis: pd.DataFrame,
    municipalities: pd.DataFrame,
    rules: RuleSet,
    *,
    years=None,
    source_comparison: pd.DataFrame | None = None,
    kpi_metadata_previous: pd.DataFrame | None = None,
    kpi_metadata_current: pd.DataFrame | None = None,
    today: date | None = None,
    similar_groups: pd.DataFrame | None = None,
    tables: WatchTables | None = None,
) -> pd.DataFrame:
    """Flags for the cells of ``years`` (default: the latest year in ``values``), ranked by impact.

    ``values`` holds several years: earlier years are the history the year-over-year, identical,
    slip and swap rules compare with. ``similar_groups`` (optional; columns ``similar_group,
    municipality_id``) lists the members of each group named in ``municipalities.similar_group``; without
    it ``similar_group`` is read as a partition. ``tables``: the watch models as dbt built them beside the
    mart (the yearly audit); without them the same models run on the frames. Returns the columns of ``FLAG_COLUMNS``, one row per flag,
    highest ``impact_score`` first.
    """
    ctx = WatchContext.build(
        values, kpis, municipalities, years=years, today=today, similar_groups=similar_groups,
        source_comparison=source_comparison, kpi_metadata_previous=kpi_metadata_previous,
        kpi_metadata_current=kpi_metadata_current, shared=dict(rules.parameters), tables=tables,
        model_vars=model_vars(rules, today),
    )
    return rank(assemble([describe(CHECKS[rule.check](ctx, rule), rule, ctx) for rule in rules.enabled()], ctx))
