"""Outliers against all kommuner and against similar kommuner: median and MAD, or quartile fences.

Never mean and standard deviation: the errors we look for (a ×100 slip) inflate the standard deviation
so much that they hide themselves and every other outlier; the median and the median absolute deviation
(MAD) do not move. The scaled MAD (× 1.4826) estimates the standard deviation of the bulk, so
``k`` reads as "k standard deviations of the normal kommuner".

Skewed units (kronor, days, counts) are compared on a log scale (parameter ``transform``), so a cost of
twice the median and one of half the median are equally far out; the interval is shown back-transformed.

Against similar kommuner the reference is the kommun's peers (Kolada's "Liknande kommuner" or the
partition in ``similar_group``) without the kommun itself. Seven peers give a noisy MAD, so the scale is
at least ``min_scale_share`` × the national scale.

The statistics themselves (count, median, scaled MAD, quartiles on each scale) come from the dbt models
``watch_group_stat`` and ``watch_similar_stat`` (macro ``robust_stats``); this module picks the scale per
unit, sets the fences and writes the flags.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.quality.context import WatchContext
from pipelines.quality.flags import make_hits
from pipelines.quality.rules import Rule

#: The rule's ``transform`` per unit → the measure of watch_group_stat / watch_similar_stat it reads
_MEASURE = {"none": "value", "log": "log10", "log1p": "log1p"}
_FORWARD = {"value": lambda x: x, "log10": np.log10, "log1p": np.log1p}
_BACKWARD = {"value": lambda x: x, "log10": lambda x: 10.0 ** x, "log1p": np.expm1}


def _transformed(frame: pd.DataFrame, rule: Rule) -> tuple[pd.DataFrame, np.ndarray]:
    """The cells with ``tvalue`` on the scale of their unit, and that scale's measure name per row."""
    transforms = rule.param("transform") or {}
    kind = frame["unit"].map(lambda u: _MEASURE[transforms.get(u, "none")]).to_numpy(dtype=object)
    value = frame["value"].to_numpy(dtype=float)
    out = np.full(len(frame), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        for name, forward in _FORWARD.items():
            mask = kind == name
            if mask.any():
                out[mask] = forward(value[mask])
    out[~np.isfinite(out)] = np.nan
    return frame.assign(tvalue=out), kind


def _back(t: np.ndarray, kind: np.ndarray) -> np.ndarray:
    out = np.full(len(t), np.nan)
    for name, backward in _BACKWARD.items():
        mask = kind == name
        if mask.any():
            out[mask] = backward(t[mask])
    return out


def _fences(center, scale, q1, q3, rule: Rule) -> tuple[np.ndarray, np.ndarray]:
    k = float(rule.param("k"))
    if rule.param("method") == "quartile":
        iqr = q3 - q1
        return q1 - k * iqr, q3 + k * iqr
    return center - k * scale, center + k * scale


def _clip(frame: pd.DataFrame, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    low = np.maximum(low, 0.0)
    percent = (frame["unit"] == "percent").to_numpy()
    high = np.where(percent, np.minimum(high, 100.0), high)
    return low, high


def _flag(cells: pd.DataFrame, stats: tuple, rule: Rule, reference: str, kind: np.ndarray) -> pd.DataFrame:
    center, scale, q1, q3, n = stats
    low_t, high_t = _fences(center, scale, q1, q3, rule)
    t = cells["tvalue"].to_numpy(dtype=float)
    usable = np.isfinite(t) & np.isfinite(low_t) & np.isfinite(high_t) & (scale > 0)
    with np.errstate(invalid="ignore"):
        fires = usable & ((t < low_t) | (t > high_t))
    sel = cells[fires]
    low, high = _clip(sel, _back(low_t[fires], kind[fires]), _back(high_t[fires], kind[fires]))
    median = _back(center[fires], kind[fires])
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (t[fires] - center[fires]) / scale[fires]
    return make_hits(sel, sel["value"], low, high, median, reference=reference, n_units=n[fires].astype(int),
                     robust_z=[f"{x:+.1f}" for x in z], k=float(rule.param("k")))


def _stats(ctx: WatchContext, cells: pd.DataFrame, kind: np.ndarray, *, similar: bool) -> dict[str, np.ndarray]:
    stats = ctx.stats_frame(cells, kind, similar=similar)
    return {c: stats[c].to_numpy(dtype=float) for c in ("median", "scale", "q1", "q3", "n")}


def national(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """A kommun's value far from all kommuner's that KPI, year and gender (at least ``min_units``)."""
    cells = ctx.target(rule)
    cells = cells[cells["is_kommun"] & cells["value"].notna()]
    if not len(cells):
        return make_hits(cells, [])
    cells, kind = _transformed(cells, rule)
    s = _stats(ctx, cells, kind, similar=False)
    enough = np.nan_to_num(s["n"]) >= int(rule.param("min_units"))
    stats = tuple(np.where(enough, s[c], np.nan) for c in ("median", "scale", "q1", "q3")) + (np.nan_to_num(s["n"]),)
    return _flag(cells, stats, rule, "all kommuner", kind)


def similar(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """A kommun's value far from its similar kommuner's (peers without itself, at least ``min_peers``).

    The peers' scale is at least ``min_scale_share`` × the national scale on the same measure.
    """
    cells = ctx.target(rule)
    cells = cells[cells["is_kommun"] & cells["value"].notna()]
    if not len(cells):
        return make_hits(cells.iloc[:0], [])
    cells, kind = _transformed(cells, rule)
    s = _stats(ctx, cells, kind, similar=True)
    national_scale = ctx.stats_for(cells, kind, "scale")
    enough = np.nan_to_num(s["n"]) >= int(rule.param("min_peers"))
    scale = np.fmax(s["scale"], float(rule.param("min_scale_share")) * national_scale)
    stats = (np.where(enough, s["median"], np.nan), np.where(enough, scale, np.nan), s["q1"], s["q3"],
             np.nan_to_num(s["n"]))
    return _flag(cells, stats, rule, "similar kommuner", kind)
