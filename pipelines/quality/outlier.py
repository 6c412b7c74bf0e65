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
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.quality.context import MAD_SCALE, WatchContext
from pipelines.quality.flags import make_hits
from pipelines.quality.rules import Rule

_FORWARD = {"none": lambda x: x, "log": np.log10, "log1p": np.log1p}
_BACKWARD = {"none": lambda x: x, "log": lambda x: 10.0 ** x, "log1p": np.expm1}


def _transformed(frame: pd.DataFrame, rule: Rule) -> tuple[pd.DataFrame, np.ndarray]:
    transforms = rule.param("transform", {}) or {}
    kind = frame["unit"].map(lambda u: transforms.get(u, "none")).to_numpy(dtype=object)
    value = frame["value"].to_numpy(dtype=float)
    out = np.full(len(frame), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        for name, forward in _FORWARD.items():
            mask = kind == name
            if mask.any():
                out[mask] = forward(value[mask])
    out[~np.isfinite(out)] = np.nan
    return frame.assign(tvalue=out, transform=kind), kind


def _back(t: np.ndarray, kind: np.ndarray) -> np.ndarray:
    out = np.full(len(t), np.nan)
    for name, backward in _BACKWARD.items():
        mask = kind == name
        if mask.any():
            out[mask] = backward(t[mask])
    return out


def _fences(center, scale, q1, q3, rule: Rule) -> tuple[np.ndarray, np.ndarray]:
    k = float(rule.param("k", 5.0))
    if rule.param("method", "mad") == "quartile":
        iqr = q3 - q1
        return q1 - k * iqr, q3 + k * iqr
    return center - k * scale, center + k * scale


def _clip(frame: pd.DataFrame, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    low = np.maximum(low, 0.0)
    percent = (frame["unit"] == "percent").to_numpy()
    high = np.where(percent, np.minimum(high, 100.0), high)
    return low, high


def _group_stats(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    g = frame.groupby(keys)["tvalue"]
    stats = pd.DataFrame({
        "center": g.median(), "n": g.count(), "q1": g.quantile(0.25), "q3": g.quantile(0.75),
    })
    dev = (frame["tvalue"] - frame[keys].join(stats["center"], on=keys)["center"]).abs()
    mad = dev.groupby([frame[k] for k in keys]).median() * MAD_SCALE
    stats["scale"] = mad
    iqr_scale = (stats["q3"] - stats["q1"]) / 1.349
    stats["scale"] = stats["scale"].where(stats["scale"] > 0, iqr_scale)
    return stats


def _flag(cells: pd.DataFrame, stats: np.ndarray, rule: Rule, reference: str, kind: np.ndarray) -> pd.DataFrame:
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
                     robust_z=[f"{x:+.1f}" for x in z], k=float(rule.param("k", 5.0)))


def national(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """A kommun's value far from all kommuner's that KPI, year and gender."""
    cells = ctx.target(rule)
    cells = cells[cells["is_kommun"] & cells["value"].notna()]
    if not len(cells):
        return make_hits(cells, [])
    cells, kind = _transformed(cells, rule)
    keys = ["kpi_id", "year", "gender"]
    stats = _group_stats(cells, keys)
    stats = stats[stats["n"] >= int(rule.param("min_units", 10))]
    joined = cells[keys].join(stats, on=keys)
    return _flag(cells, tuple(joined[c].to_numpy(dtype=float) for c in ("center", "scale", "q1", "q3", "n")),
                 rule, "all kommuner", kind)


def similar(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """A kommun's value far from its similar kommuner's (peers without itself).

    Vectorised with a peer matrix: row i lists the positions of kommun i's peers (padded with a position
    that holds NaN), so one KPI, year and gender is a single (kommuner × peers) array.
    """
    cells = ctx.target(rule)
    cells = cells[cells["is_kommun"] & cells["value"].notna()]
    if not len(cells) or not len(ctx.peers):
        return make_hits(cells.iloc[:0], [])
    cells, kind = _transformed(cells, rule)
    ids, matrix = ctx.peer_matrix()
    position = ids.get_indexer(cells["municipality_id"].to_numpy(dtype=object))
    min_peers, floor_share = int(rule.param("min_peers", 5)), float(rule.param("min_scale_share", 0.5))
    stats = np.full((len(cells), 5), np.nan)  # center, scale, q1, q3, n
    keys = ["kpi_id", "year", "gender"]
    for rows in cells.groupby(keys).indices.values():
        t = cells["tvalue"].to_numpy(dtype=float)[rows]
        board = np.full(len(ids) + 1, np.nan)  # last slot: padding, always NaN
        pos = position[rows]
        board[pos[pos >= 0]] = t[pos >= 0]
        has_peers = pos >= 0
        peer_values = board[matrix[pos[has_peers]]]
        n = np.sum(np.isfinite(peer_values), axis=1)
        usable = n >= min_peers
        if not usable.any():
            continue
        v = peer_values[usable]
        q1, center, q3 = row_quantiles(v, (0.25, 0.5, 0.75))
        mad = row_quantiles(np.abs(v - center[:, None]), (0.5,))[0] * MAD_SCALE
        national_scale = _scale(t)
        scale = np.fmax(np.where(mad > 0, mad, (q3 - q1) / 1.349), floor_share * national_scale)
        target = rows[has_peers][usable]
        stats[target] = np.column_stack([center, scale, q1, q3, n[usable]])
    return _flag(cells, tuple(stats[:, i] for i in range(5)), rule, "similar kommuner", kind)


def row_quantiles(v: np.ndarray, qs) -> list[np.ndarray]:
    """Quantiles of each row ignoring NaN, linear interpolation (numpy's default, R's type 7).

    ``np.nanpercentile`` along an axis loops in Python; sorting once (NaN last) and interpolating at
    (n − 1)·q is a few vectorised operations.
    """
    ordered = np.sort(v, axis=1)
    n = np.sum(np.isfinite(v), axis=1)
    out = []
    for q in qs:
        h = np.maximum(n - 1, 0) * q
        lo = np.floor(h).astype(np.int64)
        hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
        a = np.take_along_axis(ordered, lo[:, None], axis=1)[:, 0]
        b = np.take_along_axis(ordered, hi[:, None], axis=1)[:, 0]
        out.append(np.where(n > 0, a + (h - lo) * (b - a), np.nan))
    return out


def _scale(t: np.ndarray) -> float:
    t = t[np.isfinite(t)]
    if not len(t):
        return np.nan
    mad = np.median(np.abs(t - np.median(t))) * MAD_SCALE
    if mad > 0:
        return float(mad)
    q1, q3 = np.percentile(t, [25, 75])
    return float((q3 - q1) / 1.349)
