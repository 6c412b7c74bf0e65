"""Gender consistency: the total (T) against the values for women (K) and men (M).

For a share or a mean the total is a weighted mean of K and M, so it must lie between them; for an
additive count it is their sum. A third, subtler slip is K and M entered in each other's places: the
values are individually plausible, but the ordering of women and men flips against the kommun's own
history while the magnitudes match last year's swapped. A slip in one of the three that leaves T between
K and M still shows in their mix: T no longer lies where last period's women weight puts it
(:func:`weights_moved`).

K and M come beside each cell from the model ``watch_cell`` (``value_k``, ``value_m``, their
previous-period values and the women-men gap in earlier periods, ``gap_lag1`` …); how unusual a change of the women-men gap is comes from ``watch_group_stat``
(measure ``gap_change``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines.quality.context import WatchContext
from pipelines.quality.flags import UNIT_SUFFIX, format_number, make_hits
from pipelines.quality.rules import Rule
from pipelines.quality.warehouse import robust_stats


def _tolerance(rule: Rule, scale: np.ndarray) -> np.ndarray:
    return float(rule.param("abs_tolerance")) + float(rule.param("rel_tolerance")) * np.abs(scale)


def total_between(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """For shares and means: T must lie within [min(K, M), max(K, M)] ± tolerance.

    Tolerance = ``abs_tolerance`` + ``rel_tolerance`` × max(|K|, |M|): Kolada rounds self-reported figures
    to integers, so K = 81, M = 82, T = 82 must pass. KPIs listed in ``additive_kpis`` are skipped (their
    total is a sum, see :func:`total_sum`).

    The flag goes on the one of the three that last period's mix of women and men points at (the reading of
    :func:`weights_moved`, where the women-men gap is at least ``mix_min_gap_rel`` × T), expecting the value
    that restores the mix, when that reading is ``mix_blame_margin`` robust SDs ahead of the next; else on
    T, expecting [K, M], the message still naming the reading where there is one (none without a previous
    period, with a small gap, or outside the kommuner). A clear slip in the value for women that pushes the
    total outside is then a flag on the value for women, the cell a reviewer must correct.
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
    named, restoring, clear = _blamed_by_mix(ctx, rule, sel)
    blamed = np.where(clear, named, "T")
    on_total = blamed == "T"
    return _hits_on_blamed(sel, blamed, named, restoring, expected=np.where(on_total, np.nan, restoring),
                           low=np.where(on_total, low[fires], np.nan), high=np.where(on_total, high[fires], np.nan))


_WHO = {"T": "the total", "K": "the value for women", "M": "the value for men"}


def _blamed_by_mix(ctx: WatchContext, rule: Rule, flagged: pd.DataFrame) -> tuple[np.ndarray, np.ndarray,
                                                                                   np.ndarray]:
    """For each flagged T, which of T, K and M last period's mix of women and men points at (``"T"``, ``"K"``,
    ``"M"``, or ``""`` where the mix cannot be told), the value that would restore the mix, and whether the
    reading is clear (its restored change ``mix_blame_margin`` robust SDs more typical than the next one's)."""
    if not len(flagged):  # no mix to read
        return np.zeros(0, dtype=object), np.zeros(0), np.zeros(0, dtype=bool)
    mix = _mix(ctx, ctx.target(rule), float(rule.param("mix_min_gap_rel")), 1, 0.0)
    return _reading_for(flagged, mix.cells.index, mix.blamed, mix.restoring, mix.margin,
                        float(rule.param("mix_blame_margin")))


def _reading_for(flagged: pd.DataFrame, index: pd.Index, chosen: np.ndarray, values: np.ndarray,
                 margin: np.ndarray, least: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The reading of each ``flagged`` T among the read cells (``index``; per cell the chosen gender, an
    index into "TKM", the value of each gender that would make the three fit, and the chosen reading's
    margin): the gender named (``""`` where the cell was not read or its value is unknown), that value (NaN
    then), and whether the margin is at least ``least``."""
    named, value = np.full(len(flagged), "", dtype=object), np.full(len(flagged), np.nan)
    clear = np.zeros(len(flagged), dtype=bool)
    at = pd.Series(np.arange(len(index)), index=index).reindex(flagged.index)
    rows = np.flatnonzero(at.notna().to_numpy())
    i = at.iloc[rows].to_numpy(dtype=int)
    value[rows] = values[i, chosen[i]]
    named[rows] = np.array(list("TKM"), dtype=object)[chosen[i]]
    clear[rows] = margin[i] >= least
    told = np.isfinite(value)
    named[~told] = ""
    return named, value, clear & told


def _blamed_in_sum(ctx: WatchContext, rule: Rule, flagged: pd.DataFrame) -> tuple[np.ndarray, np.ndarray,
                                                                                   np.ndarray]:
    """For each flagged additive T (T ≠ K + M), which of T, K and M is most likely wrong (``""`` where it
    cannot be told), the value that makes the sum hold (T = K + M, K = T − M or M = T − K; K + M where
    untold), and whether the reading is clear (``blame_margin``): the correction that
    :func:`_most_typical_correction` reads among the kommuner's T, K and M of the figure and year (all six
    values positive)."""
    restoring = np.array(flagged["value_k"] + flagged["value_m"], dtype=float)  # a writable copy
    named, clear = np.full(len(flagged), "", dtype=object), np.zeros(len(flagged), dtype=bool)
    columns = ["value", "value_k", "value_m", "prev_value", "prev_value_k", "prev_value_m"]
    cells = ctx.target(rule)
    cells = cells[(cells["gender"] == "T") & cells["is_kommun"] & cells["kpi_id"].isin(ctx.additive_kpis)]
    cells = cells[(cells[columns] > 0).all(axis=1)]
    if not len(flagged) or not len(cells):
        return named, restoring, clear
    observed, previous = cells[columns[:3]].to_numpy(dtype=float), cells[columns[3:]].to_numpy(dtype=float)
    corrections = np.column_stack([observed[:, 1] + observed[:, 2], observed[:, 0] - observed[:, 2],
                                   observed[:, 0] - observed[:, 1]])
    corrections[~(corrections > 0)] = np.nan
    chosen, margin = _most_typical_correction(cells[["kpi_id", "year"]].reset_index(drop=True), observed,
                                              previous, corrections)
    named, value, clear = _reading_for(flagged, cells.index, chosen, corrections, margin,
                                       float(rule.param("blame_margin")))
    return named, np.where(named != "", value, restoring), clear


def _hits_on_blamed(flagged: pd.DataFrame, blamed: np.ndarray, named: np.ndarray, restoring: np.ndarray, *,
                    expected, low=np.nan, high=np.nan, **extra) -> pd.DataFrame:
    """Flags on the ``blamed`` cell of each T, K, M trio (its value observed), with the trio's values and a
    sentence naming the value the reading points at (``named``, ``""`` for none) and the ``restoring`` value,
    for the message; ``extra``: further fields of the message."""
    t, k, m = (flagged[c].to_numpy(dtype=float) for c in ("value", "value_k", "value_m"))
    observed = np.select([blamed == "K", blamed == "M"], [k, m], t)
    units = flagged["unit"].map(UNIT_SUFFIX).fillna("").to_numpy()
    suspect = [f"; last period's mix of women and men points at {_WHO[g]}: {format_number(float(r))}{u} would fit"
               if g else "" for g, r, u in zip(named, restoring, units, strict=True)]
    return make_hits(flagged.assign(gender=blamed), observed, low, high, expected, value_t=t, value_k=k,
                     value_m=m, suspect=suspect, **extra)


def total_sum(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """For additive counts (``is_additive`` or the shared ``additive_kpis``): T must equal K + M ± tolerance.

    The flag goes on the one of the three whose correction makes its change since the previous period most
    typical among the kommuner (:func:`_blamed_in_sum`), expecting the value that makes the sum hold."""
    cells = ctx.target(rule)
    cells = cells[(cells["gender"] == "T") & cells["kpi_id"].isin(ctx.additive_kpis)]
    cells = cells[cells["value"].notna() & cells["value_k"].notna() & cells["value_m"].notna()]
    total = (cells["value_k"] + cells["value_m"]).to_numpy(dtype=float)
    value = cells["value"].to_numpy(dtype=float)
    fires = np.abs(value - total) > _tolerance(rule, value)
    sel = cells[fires]
    named, restoring, clear = _blamed_in_sum(ctx, rule, sel)
    blamed = np.where(clear, named, "T")
    return _hits_on_blamed(sel, blamed, named, restoring, expected=np.where(clear, restoring, total[fires]),
                           sum_km=total[fires])


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


@dataclass
class _Mix:
    """T against K and M with last period's women weight, for the eligible T cells (see :func:`weights_moved`)."""

    cells: pd.DataFrame
    weight: np.ndarray
    #: (T − T̂) / T and its robust z among the kommuner of the figure and year; whether enough kommuner
    residual_z: np.ndarray
    enough: np.ndarray
    #: per cell: the gender (index into "TKM") most likely wrong, by how much its restored change is more
    #: typical than the next one's (robust SDs; 0 where none is more typical), and the value of each that
    #: restores the mix
    blamed: np.ndarray
    margin: np.ndarray
    restoring: np.ndarray
    observed: np.ndarray
    previous: np.ndarray


def _mix(ctx: WatchContext, cells: pd.DataFrame, min_gap: float, min_units: int, min_scale: float) -> _Mix:
    """The mix check's numbers for the kommun T cells of ``cells`` whose six values are positive, whose
    women-men gap is at least ``min_gap`` × T now and then, and whose last-period weight lies in [0, 1]."""
    columns = ["value", "prev_value", "value_k", "value_m", "prev_value_k", "prev_value_m"]
    cells = cells[(cells["gender"] == "T") & cells["is_kommun"] & ~cells["kpi_id"].isin(ctx.additive_kpis)]
    cells = cells[(cells[columns] > 0).all(axis=1)]
    t, t_prev, k, m, k_prev, m_prev = (cells[c].to_numpy(dtype=float) for c in columns)
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = (t_prev - m_prev) / (k_prev - m_prev)
        eligible = ((np.abs(k_prev - m_prev) >= min_gap * t_prev) & (np.abs(k - m) >= min_gap * t)
                    & (weight >= 0) & (weight <= 1))
    cells, weight = cells[eligible], weight[eligible]
    t, t_prev, k, m, k_prev, m_prev = (a[eligible] for a in (t, t_prev, k, m, k_prev, m_prev))
    expected_t = m + weight * (k - m)
    residual = (t - expected_t) / t
    with np.errstate(divide="ignore", invalid="ignore"):
        restoring = np.column_stack([expected_t, m + (t - m) / weight, (t - weight * k) / (1 - weight)])
        restoring[~(np.isfinite(restoring) & (restoring > 0))] = np.nan
    # the robust statistics of the residual per figure and year
    keys = cells[["kpi_id", "year"]].reset_index(drop=True)
    residual_stats = keys.merge(robust_stats(keys.assign(x=residual), ["kpi_id", "year"], "x"),
                                on=["kpi_id", "year"], how="left")
    enough = residual_stats["n"].to_numpy(dtype=float) >= min_units
    with np.errstate(divide="ignore", invalid="ignore"):  # a figure of one kommun has no spread: z is NaN
        residual_z = (residual - residual_stats["median"].to_numpy(dtype=float)) / np.fmax(
            residual_stats["scale"].to_numpy(dtype=float), min_scale)
    observed, previous = np.column_stack([t, k, m]), np.column_stack([t_prev, k_prev, m_prev])
    blamed, margin = _most_typical_correction(keys, observed, previous, restoring)
    return _Mix(cells=cells, weight=weight, residual_z=residual_z, enough=enough, blamed=blamed, margin=margin,
                restoring=restoring, observed=observed, previous=previous)


def _most_typical_correction(keys: pd.DataFrame, observed: np.ndarray, previous: np.ndarray,
                             restoring: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which of T, K and M (columns of ``observed``, ``previous`` and ``restoring``; rows of ``keys``: kpi_id
    and year) is wrong, given the value of each that would make the three fit together again: the one whose
    change since the previous period becomes most typical among the kommuner (robust z of its log change,
    that gender, figure and year, macro ``robust_stats``) when it takes that value; where no restored value is
    more typical (a copy of last year has no change to undo), the one whose change departs most from the
    other two's. Returns the index into "TKM" and by how many robust SDs the choice beats the next one's (0
    in the fallback)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        moves = np.log(observed / previous)
        restored_moves = np.log(restoring / previous)
    long = pd.concat([keys.assign(measure=g, x=moves[:, i]) for i, g in enumerate("TKM")], ignore_index=True)
    stats = robust_stats(long.replace([np.inf, -np.inf], np.nan), ["kpi_id", "year", "measure"], "x")
    improvement = np.full(moves.shape, -np.inf)
    for i, gender in enumerate("TKM"):
        stat = keys.assign(measure=gender).merge(stats, on=["kpi_id", "year", "measure"], how="left")
        centre = stat["median"].to_numpy(dtype=float)
        sd = np.fmax(stat["scale"].to_numpy(dtype=float), 1e-3)
        with np.errstate(invalid="ignore"):
            gain = (np.abs(moves[:, i] - centre) - np.abs(restored_moves[:, i] - centre)) / sd
        improvement[:, i] = np.where(np.isfinite(gain), gain, -np.inf)
    departure = np.abs(moves - (moves.sum(axis=1, keepdims=True) - moves) / 2)
    best = improvement.max(axis=1) > 0
    blamed = np.where(best, np.argmax(improvement, axis=1), np.argmax(np.nan_to_num(departure, nan=-1), axis=1))
    ranked = np.sort(improvement, axis=1)
    with np.errstate(invalid="ignore"):
        margin = np.where(best, np.nan_to_num(ranked[:, -1] - ranked[:, -2], posinf=np.inf), 0.0)
    return blamed, margin


def weights_moved(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """T, K and M no longer fit together as they did in the previous period.

    For a share or a mean the total is a weighted mean, T = M + w·(K − M), with w the women's part of
    the population behind the figure; w moves little from one year to the next. With last period's
    w = (T₋₁ − M₋₁) / (K₋₁ − M₋₁) the three values now predict T̂ = M + w·(K − M), and the residual
    r = (T − T̂) / |T| is about 0. A wrong value in any one of the three (a ±25 % slip, a copy of last
    year in one gender, swapped digits) moves r; the other rules see it only where the value leaves the
    kommuner's spread or its own history.

    Fires when |r − median r| ≥ ``k`` × max(``min_scale``, robust spread of r) among the kommuner of the
    figure and year (macro ``robust_stats``, at least ``min_units`` of them), for cells where all six
    values are positive, the women-men gap is at least ``min_gap_rel`` × T now and then, and w lies in
    [0, 1]. Additive figures are skipped (their T is K + M, see :func:`total_sum`).

    The flag goes on the one of T, K and M that, given the value restoring last period's w, has the most
    typical change since the previous period among the kommuner (robust z of the log change, macro
    ``robust_stats``); where no restored value is more typical, on the one whose change departs most from
    the other two's. The flag expects the restoring value.
    """
    mix = _mix(ctx, ctx.target(rule), float(rule.param("min_gap_rel")), int(rule.param("min_units")),
               float(rule.param("min_scale")))
    if not len(mix.cells):
        return make_hits(mix.cells, [])
    rows = np.flatnonzero(mix.enough & (np.abs(mix.residual_z) >= float(rule.param("k"))))
    pick = mix.blamed[rows]
    sel = mix.cells.iloc[rows].assign(gender=np.array(list("TKM"))[pick])
    t, k, m = (mix.observed[rows, i] for i in range(3))
    with np.errstate(divide="ignore", invalid="ignore"):
        weight_now = (t - m) / (k - m)
    weight_now_text = [f"now {round(100 * w)} %" if 0 <= w <= 1 else "now outside the range between men and women"
                       for w in weight_now]
    return make_hits(sel, mix.observed[rows, pick], expected=mix.restoring[rows, pick],
                     value_t=t, value_k=k, value_m=m, prev_value=mix.previous[rows, pick],
                     prev_year=sel["prev_year"].astype(int).to_numpy(),
                     weight_prev_pct=np.round(100 * mix.weight[rows]).astype(int), weight_now=weight_now_text)
