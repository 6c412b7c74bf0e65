"""Gender consistency: the total (T) against the values for women (K) and men (M).

For a share or a mean the total is a weighted mean of K and M, so it must lie between them; for an
additive count it is their sum. A third, subtler slip is K and M entered in each other's places: the
values are individually plausible, but the ordering of women and men flips against the kommun's own
history while the magnitudes match last year's swapped.

K and M come beside each cell from the model ``watch_cell`` (``value_k``, ``value_m``, their
previous-period values and the women-men gap in earlier periods, ``gap_lag1`` …); how unusual a change of the women-men gap is comes from ``watch_group_stat``
(measure ``gap_change``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from pipelines.quality.context import WatchContext
from pipelines.quality.flags import make_hits
from pipelines.quality.rules import Rule


def _tolerance(rule: Rule, scale: np.ndarray) -> np.ndarray:
    return float(rule.param("abs_tolerance")) + float(rule.param("rel_tolerance")) * np.abs(scale)


def total_between(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """For shares and means: T must lie within [min(K, M), max(K, M)] ± tolerance.

    Tolerance = ``abs_tolerance`` + ``rel_tolerance`` × max(|K|, |M|): Kolada rounds self-reported figures
    to integers, so K = 81, M = 82, T = 82 must pass. KPIs listed in ``additive_kpis`` are skipped (their
    total is a sum, see :func:`total_sum`).
    """
    cells = ctx.target(rule)
    cells = cells[(cells["gender"] == "T") & ~cells["kpi_id"].isin(ctx.additive_kpis)]
    cells = cells[cells["value"].notna() & cells["value_k"].notna() & cells["value_m"].notna()]
    low = np.minimum(cells["value_k"], cells["value_m"]).to_numpy(dtype=float)
    high = np.maximum(cells["value_k"], cells["value_m"]).to_numpy(dtype=float)
    tol = _tolerance(rule, high)
    value = cells["value"].to_numpy(dtype=float)
    fires = (value < low - tol) | (value > high + tol)
    sel = cells[fires]
    return make_hits(sel, sel["value"], low[fires], high[fires], np.nan,
                     value_k=sel["value_k"], value_m=sel["value_m"])


def total_sum(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """For additive counts (listed in the shared ``additive_kpis``): T must equal K + M ± tolerance."""
    cells = ctx.target(rule)
    cells = cells[(cells["gender"] == "T") & cells["kpi_id"].isin(ctx.additive_kpis)]
    cells = cells[cells["value"].notna() & cells["value_k"].notna() & cells["value_m"].notna()]
    total = (cells["value_k"] + cells["value_m"]).to_numpy(dtype=float)
    value = cells["value"].to_numpy(dtype=float)
    fires = np.abs(value - total) > _tolerance(rule, value)
    sel = cells[fires]
    return make_hits(sel, sel["value"], expected=total[fires], value_k=sel["value_k"], value_m=sel["value_m"])


def swapped(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """K and M swapped: the K/M ordering flips against the kommun's history and swapping fits better.

    Fires when all of these hold for a cell pair (K, M) in year t with previous period t−1:

    * in the last ``history_periods`` periods, at least ``min_history`` have both K and M, and in all of
      them K − M has the same sign s (women consistently above, or consistently below, men);
    * now sign(K_t − M_t) = −s, and the gap is real: |K_t − M_t| ≥ ``min_gap_rel`` × mean(|K_t|, |M_t|);
    * the change of the gap g = K − M is unusual: |Δg − median Δg| ≥ ``min_gap_change_z`` × scaled MAD of
      Δg among the kommuner (this KPI and year; skipped with fewer than 10 kommuner), so figures whose
      women-men gap is small against its yearly noise (satisfaction surveys of small kommuner) stay quiet;
    * the swapped reading fits better once the change common to women and men is removed:
      |g_t + g_{t−1}| ≤ ``fit_ratio`` × |g_t − g_{t−1}| (a swap turns g_{t−1} into about −g_{t−1}; the
      level may move with the year, as turnout does between elections).

    Emits two flags, on K and on M, each expecting the other's value.
    """
    cells = ctx.target(rule)
    cells = cells[(cells["gender"] == "K") & cells["value"].notna() & cells["prev_value"].notna()]
    if not len(cells):
        return make_hits(cells, [])
    k_now = cells["value"].to_numpy(dtype=float)
    m_now = cells["value_m"].to_numpy(dtype=float)
    k_prev = cells["prev_value"].to_numpy(dtype=float)
    m_prev = cells["prev_value_m"].to_numpy(dtype=float)

    signs = np.sign(ctx.lags(cells, "gap", int(rule.param("history_periods"))))  # sign of K − M, then
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a cell without history: NaN, not consistent
        lowest, highest = np.nanmin(signs, axis=1), np.nanmax(signs, axis=1)
    consistent = (np.isfinite(signs).sum(axis=1) >= int(rule.param("min_history"))) & (lowest == highest) \
        & (lowest != 0)
    history_sign = lowest

    level = (np.abs(k_now) + np.abs(m_now)) / 2
    gap_ok = np.abs(k_now - m_now) >= float(rule.param("min_gap_rel")) * level
    # How unusual is the change of the women-men gap, against the same change in all kommuner this year
    # (at least 10 of them)?
    gap_change = (k_now - m_now) - (k_prev - m_prev)
    centre = ctx.stats_for(cells, "gap_change", "median")
    spread = ctx.stats_for(cells, "gap_change", "mad")
    enough = np.nan_to_num(ctx.stats_for(cells, "gap_change", "n")) >= 10
    scale = np.where(enough & (spread > 0), spread, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        gap_z = np.abs(gap_change - centre) / scale
    gap_ok &= ~(gap_z < float(rule.param("min_gap_change_z")))  # NaN z (too few kommuner) passes
    flipped = np.sign(k_now - m_now) == -history_sign
    # After removing the change common to women and men, the swapped reading predicts a gap of
    # -(K_{t-1} - M_{t-1}) and the straight reading +(K_{t-1} - M_{t-1}).
    gap_now, gap_prev = k_now - m_now, k_prev - m_prev
    fits = np.abs(gap_now + gap_prev) <= float(rule.param("fit_ratio")) * np.abs(gap_now - gap_prev)
    fires = consistent & flipped & gap_ok & fits
    sel = cells[fires]
    context = {
        "women": k_now[fires], "men": m_now[fires], "women_prev": k_prev[fires], "men_prev": m_prev[fires],
        "prev_year": sel["prev_year"].astype(int).to_numpy(),
        "order": np.where(history_sign[fires] > 0, "above", "below"),
    }
    women = make_hits(sel, k_now[fires], expected=m_now[fires], **context)
    men = make_hits(sel.assign(gender="M"), m_now[fires], expected=k_now[fires], **context)
    return pd.concat([women, men], ignore_index=True)
