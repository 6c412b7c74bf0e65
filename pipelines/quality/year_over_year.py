"""Year-over-year change: the Hidiroglou–Berthelot (HB) method on the ratio to the previous period.

Why HB and not "change > 20 %": how much a figure may move depends on the figure (a cost per pupil moves
a few per cent, a small waiting time can double) and on the size of the unit (small kommuner move more).
HB learns both from the kommuner themselves, per KPI, gender and year, as Statistics Norway's KOSTRA
control does (ssb-kostra ``Hb.R``, which this follows step by step):

1. Units: kommuner with both x_t and x_{t-1} > 0. If half or more have x_t == x_{t-1}, those are left out
   of the estimation (the figure then mostly does not move, and equal pairs would make every change look
   extreme; the identical-value rule looks at them instead).
2. r_i = x_t / x_{t-1}; r_med = median of r.
3. Centred ratio s_i = r_i / r_med − 1 if r_i ≥ r_med, else 1 − r_med / r_i (symmetric for halving and
   doubling).
4. Size weight w_i = max(x_t, x_{t-1})^U and E_i = s_i · w_i: with U > 0 a large relative change counts
   more where the value is large; U = 0 ignores size.
5. From the quartiles E_Q1, E_med, E_Q3:
   lower = E_med − C · max(E_med − E_Q1, |A · E_med|), upper = E_med + C · max(E_Q3 − E_med, |A · E_med|)
   (``Hb.R`` uses A itself instead of |A · E_med| when E_med is exactly 0). A guards against a tiny
   interquartile spread, C sets the width.
6. Back-transformed per unit, the allowed ratio interval is
   [r_med · w_i / (w_i − lower), r_med · (w_i + upper) / w_i] and the allowed value interval is x_{t-1}
   times that; the flag shows it, with expected value x_{t-1} · r_med. (As in ``Hb.R`` the interval is the
   one for the unit's own weight w_i, which contains the current value.)

"Similar municipality" groups: if the kommun's similar group (its peers and itself) has at least
``min_group_size`` units with both values, its interval comes from that group, otherwise from all kommuner
(at least ``min_units``). Kolada's "Liknande kommuner" groups have 7 peers, so with the default minimum they
fall back to the national estimate; a partition such as SKR's kommungrupper (20–50 kommuner each) is used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.quality.context import WatchContext
from pipelines.quality.flags import make_hits
from pipelines.quality.rules import Rule


def hb_statistics(frame: pd.DataFrame, group_cols: list[str], *, U: float, A: float, C: float,
                  min_units: int = 3) -> pd.DataFrame:
    """HB per group of ``frame`` (columns ``x``, ``x_prev`` and the group columns).

    Returns the rows used in the estimation with ``ratio, r_med, E, e_low, e_high, ratio_low, ratio_high,
    n_units, outlier``. Rows with a non-positive or missing value, or equal pairs where equal pairs are the
    majority, are not returned (they are not assessed).
    """
    d = frame[(frame["x"] > 0) & (frame["x_prev"] > 0)].copy()
    if not len(d):
        return d.assign(ratio=[], r_med=[], E=[], e_low=[], e_high=[], ratio_low=[], ratio_high=[],
                        n_units=[], outlier=[])
    d["equal"] = d["x"] == d["x_prev"]
    equal_share = d.groupby(group_cols)["equal"].transform("mean")
    d = d[~((equal_share >= 0.5) & d["equal"])].copy()
    d["ratio"] = d["x"] / d["x_prev"]
    g = d.groupby(group_cols)
    d["n_units"] = g["ratio"].transform("size")
    d = d[d["n_units"] >= min_units].copy()
    if not len(d):
        return d.assign(r_med=[], E=[], e_low=[], e_high=[], ratio_low=[], ratio_high=[], outlier=[])
    g = d.groupby(group_cols)
    d["r_med"] = g["ratio"].transform("median")
    s = np.where(d["ratio"] >= d["r_med"], d["ratio"] / d["r_med"] - 1, 1 - d["r_med"] / d["ratio"])
    w = np.maximum(d["x"], d["x_prev"]).to_numpy(dtype=float) ** U
    d["E"] = s * w
    g = d.groupby(group_cols)["E"]
    quartiles = pd.DataFrame({"q1": g.quantile(0.25), "med": g.median(), "q3": g.quantile(0.75)})
    per_row = d[group_cols].join(quartiles, on=group_cols)
    q1, med, q3 = (per_row[c].to_numpy(dtype=float) for c in ("q1", "med", "q3"))
    floor = np.where(med != 0, np.abs(A * med), A)
    d["e_low"] = med - C * np.maximum(med - q1, floor)
    d["e_high"] = med + C * np.maximum(q3 - med, floor)
    with np.errstate(divide="ignore", invalid="ignore"):
        denominator = w - d["e_low"].to_numpy()
        d["ratio_low"] = np.where(denominator > 0, d["r_med"] * w / denominator, 0.0)
        d["ratio_high"] = d["r_med"] * (w + d["e_high"].to_numpy()) / w
    d["outlier"] = (d["ratio"] < d["ratio_low"]) | (d["ratio"] > d["ratio_high"])
    return d


def hidiroglou_berthelot(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """HB outliers among kommuner, within similar groups where large enough, else nationally."""
    cells = ctx.target(rule)
    cells = cells[cells["is_kommun"] & cells["value"].notna() & cells["prev_value"].notna()]
    if not len(cells):
        return make_hits(cells, [])
    U, A, C = (float(rule.param(p)) for p in ("U", "A", "C"))
    min_units, min_group = int(rule.param("min_units")), int(rule.param("min_group_size"))
    base = cells[["kpi_id", "municipality_id", "year", "gender", "value", "prev_value"]].rename(
        columns={"value": "x", "prev_value": "x_prev"})
    keys = ["kpi_id", "year", "gender"]

    national = hb_statistics(base, keys, U=U, A=A, C=C, min_units=min_units).assign(reference="all kommuner")
    result = national.set_index(["kpi_id", "municipality_id", "year", "gender"])

    largest_group = ctx.peers.groupby("municipality_id").size().max() + 1 if len(ctx.peers) else 0
    if largest_group >= min_group:
        # Each kommun's reference set: itself plus its peers, as a long frame keyed by the focal kommun.
        members = pd.concat([
            ctx.peers,
            pd.DataFrame({"municipality_id": base["municipality_id"].unique(),
                          "peer_id": base["municipality_id"].unique()}),
        ]).rename(columns={"municipality_id": "focal"})
        long = members.merge(base, left_on="peer_id", right_on="municipality_id")
        long = long[long["focal"].isin(ctx.peers["municipality_id"])]
        size = long[(long["x"] > 0) & (long["x_prev"] > 0)].groupby(keys + ["focal"])["peer_id"].transform("size")
        long = long.loc[size.index[size >= min_group]]
        if len(long):
            grouped = hb_statistics(long, keys + ["focal"], U=U, A=A, C=C, min_units=min_group)
            own = grouped[grouped["focal"] == grouped["peer_id"]].assign(reference="similar kommuner")
            own = own.set_index(["kpi_id", "municipality_id", "year", "gender"])
            result = pd.concat([result[~result.index.isin(own.index)], own[result.columns.intersection(own.columns)]])

    hits = result[result["outlier"]].reset_index()
    if not len(hits):
        return make_hits(hits, [])
    low, high = hits["x_prev"] * hits["ratio_low"], hits["x_prev"] * hits["ratio_high"]
    return make_hits(
        hits, hits["x"], low, high, hits["x_prev"] * hits["r_med"],
        previous=hits["x_prev"], ratio=hits["ratio"], ratio_low=hits["ratio_low"], ratio_high=hits["ratio_high"],
        median_ratio=[f"{r:.3f}" for r in hits["r_med"]], reference=hits["reference"],
        n_units=hits["n_units"].astype(int), change_pct=[f"{(r - 1) * 100:+.0f}" for r in hits["ratio"]],
    )
