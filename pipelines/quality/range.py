"""Range and unit rules: values that cannot be right whatever the other kommuner report.

These catch the gross slips of data entry and conversion (the RKA checklist's "rätt nyckeltal / rätt
definition?"): a share above 100 %, a share typed as 0.83 instead of 83 %, a negative waiting time, a
decimal point moved one, two or three places. They need no distribution, so they also work on Riket,
regions and on a KPI with few reporting kommuner, and they are errors (they block publication).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.quality.context import WatchContext
from pipelines.quality.flags import make_hits
from pipelines.quality.rules import Rule


def share_bounds(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """A share (unit percent) outside [low, high] (0–100)."""
    cells = ctx.target(rule)
    low, high = float(rule.param("low")), float(rule.param("high"))
    tolerance = float(rule.param("tolerance"))  # for float noise such as 100.00000001
    bad = cells[(cells["value"] < low - tolerance) | (cells["value"] > high + tolerance)]
    side = np.where(bad["value"] > high, f"above {high:g} %", f"below {low:g} %")
    expected = ctx.plausible_reference(bad)
    expected = np.where((expected >= low) & (expected <= high), expected, np.nan)
    return make_hits(bad, bad["value"], low, high, expected, side=side)


def share_scale(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """A 0–1 share in a 0–100 figure: 0 < value ≤ ``max_value`` while history and peers are ≫ that.

    "≫" means: every available reference (the cell's median over the last ``history_periods`` periods,
    and the median of all kommuner that year) is at least ``min_reference`` and at least ``min_ratio``
    times the value. A true 0.8 % in a figure where the kommun usually has 1 % does not fire; 0.83 where
    it usually has 80 % does. The expected value is the value × 100.
    """
    cells = ctx.target(rule)
    cells = cells[(cells["value"] > 0) & (cells["value"] <= float(rule.param("max_value")))]
    if not len(cells):
        return make_hits(cells, [])
    hist = ctx.history_median(cells, int(rule.param("history_periods")))
    peer = ctx.national(cells)
    value = cells["value"].to_numpy(dtype=float)
    min_ref = float(rule.param("min_reference"))
    min_ratio = float(rule.param("min_ratio"))

    def large(ref: np.ndarray) -> np.ndarray:
        return (ref >= min_ref) & (ref >= min_ratio * value)

    fires = large(peer) & (np.isnan(hist) | large(hist))
    sel = cells[fires]
    reference = np.where(np.isnan(hist), peer, hist)[fires]
    return make_hits(sel, sel["value"], expected=sel["value"] * 100, reference=reference)


def negative(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """A negative value where none can exist (shares, days, kronor, counts, indices)."""
    cells = ctx.target(rule)
    bad = cells[cells["value"] < 0]
    return make_hits(bad, bad["value"], low=0.0, expected=bad["value"].abs())


def magnitude_slip(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """×10, ×100, ×1000 slips: |log10(value / last period's value)| within ``tolerance`` of 1, 2 or 3.

    Real changes of a whole order of magnitude from one year to the next are rare for KKiK figures,
    but a small waiting time can go from 3 to 30 days. The optional guard ``min_log_from_median``
    additionally requires the value to lie at least that many decades from the median of all kommuner,
    i.e. the slip must also make the value look odd nationally (0 switches the guard off); its mirror
    ``max_log_from_median`` keeps only jumps that leave the value plausible nationally (a warning rule:
    a small kommun's waiting time can go from 3 to 30 days).
    The expected value undoes the slip (value ÷ 10^k or × 10^k).
    """
    cells = ctx.target(rule)
    ref = cells["prev_value"].to_numpy(dtype=float)
    hist = ctx.history_median(cells, int(rule.param("history_periods"))) if len(cells) else ref
    ref = np.where(np.isfinite(ref), ref, hist)
    value = cells["value"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.where((value > 0) & (ref > 0), np.log10(value / ref), np.nan)
    orders = np.asarray(rule.param("orders"), dtype=float)
    k = np.rint(np.abs(log_ratio))
    fires = np.isin(k, orders) & (np.abs(np.abs(log_ratio) - k) <= float(rule.param("tolerance")))
    guard = float(rule.param("min_log_from_median"))
    plausible_within = float(rule.param("max_log_from_median"))
    if (guard > 0 or plausible_within > 0) and len(cells):
        median = ctx.national(cells)
        with np.errstate(divide="ignore", invalid="ignore"):
            from_median = np.abs(np.log10(value / median))
        if guard > 0:
            fires &= ~(from_median < guard)  # NaN (no national median) keeps the flag
        if plausible_within > 0:
            fires &= from_median < plausible_within  # the jump left the value within the national range
    sel = cells[fires]
    sign = np.sign(log_ratio[fires])
    factor = 10.0 ** k[fires]
    expected = np.where(sign > 0, sel["value"] / factor, sel["value"] * factor)
    direction = np.where(sign > 0, "times larger", "times smaller")
    return make_hits(sel, sel["value"], expected=expected, reference=ref[fires],
                     factor=[f"{f:,.0f}".replace(",", " ") for f in factor], change=direction)
