"""Missing values where the municipality participates, and values whose status says "do not use as is".

A KKiK participant with an empty cell gets a grey square in the report, so the watch asks before
publication: did this kommun have a value last period, or do most participants have one now? Either way
someone should check whether the value was lost on the way (not reported, not loaded, suppressed).

A figure is checked only once it is out: Kolada publishes "as the figures become ready", so while fewer
than ``min_published_share`` of the participants that had a value last period have one this period, the
figure counts as not yet published and nobody is flagged for it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.quality.context import WatchContext
from pipelines.quality.flags import make_hits
from pipelines.quality.rules import Rule


def _statuses(ctx: WatchContext, rule: Rule) -> dict:
    """Status codes by meaning: the rule's own ``statuses`` or else the table's shared ``statuses``."""
    return rule.parameters.get("statuses") or ctx.shared.get("statuses") or {}


def _status_kind(status: pd.Series, statuses: dict) -> pd.Series:
    """Map each status to its meaning (a key of ``statuses``), case-insensitively."""
    lookup = {}
    for meaning, codes in statuses.items():
        for code in codes:
            lookup[str(code).strip().lower()] = meaning
    text = status.astype("string").str.strip().str.lower()
    return text.map(lookup).astype(object)


def value(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """A participant has no value where it had one last period, or where most participants have one.

    The participants' empty cells of each published figure, with their previous value and how the figure
    stands among the participants, come from the model ``watch_missing_cell``.
    """
    grid = ctx.attach(ctx.tables.missing.drop(columns=["value"]))
    grid = grid[grid["year"].isin(ctx.years) & rule.applies_to.mask(grid)].reset_index(drop=True)
    if not len(grid):
        return make_hits(pd.DataFrame(columns=["kpi_id", "municipality_id", "year", "gender"]), [])
    grid["prev_year"] = grid["prev_year"].astype("Int64")
    had_before = grid["prev_value"].notna()
    share_now = grid["share_with_value"].to_numpy(dtype=float)
    kept, before = grid["n_kept"], grid["n_had_before"]
    out_now = (kept >= float(rule.param("min_published_share")) * before) | (before == 0)
    explained = _status_kind(grid["status"], _statuses(ctx, rule)).notna().to_numpy()

    others_share = float(rule.param("others_share"))
    reason_last = had_before & out_now
    reason_others = share_now >= others_share
    fires = (reason_last | reason_others) & ~explained
    sel = grid[fires]
    last = had_before[fires].to_numpy()
    expected = np.where(last, sel["prev_value"], ctx.national(sel))
    reason = np.where(
        last,
        [f"it had {p:.4g} in {int(y)}" if np.isfinite(p) else "" for p, y in
         zip(sel["prev_value"].to_numpy(dtype=float), sel["prev_year"].fillna(0).to_numpy())],
        [f"{s * 100:.0f} % of participating kommuner have a value" for s in share_now[fires]],
    )
    return make_hits(sel, np.nan, expected=expected, reason=reason, share_with_value=share_now[fires] * 100)


def status(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """A value whose status means not published, confidential or preliminary (parameter ``statuses``)."""
    cells = ctx.target(rule)
    cells = cells[cells["status"].notna()]
    kind = _status_kind(cells["status"], _statuses(ctx, rule))
    sel = cells[kind.notna().to_numpy()]
    meaning = kind[kind.notna()].str.replace("_", " ").to_numpy()
    return make_hits(sel, sel["value"], expected=np.nan, status=sel["status"].astype(str), meaning=meaning)
