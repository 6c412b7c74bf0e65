"""Identical to last period, to the last decimal, for a figure that normally moves.

A value carried over unchanged usually means last year's figure was copied (a form pre-filled, a file not
refreshed). But many figures legitimately repeat: self-reported integers (20 personal in hemtjänsten two
years running), the election turnout between elections. So the rule first asks how often the KPI repeats:
the share of kommuner whose value equals their previous one. It uses the smaller of that share this
year and its median over the last ``history_periods`` year pairs, so neither a KPI where half the values
were copied this year (history says it normally moves) nor an election year after years of carried
values (this year says it moves) hides the copies. Only when that share is at most ``max_share_unchanged``
are the unchanged cells flagged. Only kommuner are checked: the shares are theirs, and a county's or the
country's value is an aggregate with a precision of its own (rounded to one decimal, it repeats where
the kommuner's six decimals do not).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.quality.context import WatchContext
from pipelines.quality.flags import make_hits
from pipelines.quality.rules import Rule


def unchanged(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    cells = ctx.target(rule)
    cells = cells[cells["is_kommun"] & cells["value"].notna() & cells["prev_value"].notna()]
    if not len(cells):
        return make_hits(cells, [])
    same = cells["value"] == cells["prev_value"]
    current, history = ctx.unchanged_share(cells, int(rule.param("history_periods")))  # watch_period_stat
    share = np.fmin(current, history)
    fires = same.to_numpy() & (share <= float(rule.param("max_share_unchanged")))
    if rule.param("ignore_bounds"):
        bound = (cells["unit"] == "percent") & cells["value"].isin([0.0, 100.0])
        fires &= ~bound.to_numpy()
    sel = cells[fires]
    return make_hits(sel, sel["value"], expected=np.nan, previous=sel["prev_value"],
                     prev_year=sel["prev_year"].astype(int), share_unchanged=[f"{x * 100:.1f}" for x in share[fires]])
