"""Changed definitions and disagreeing sources.

The RKA checklist asks "right key figure, right definition? who is counted?". A value can be right and
still not comparable with last year's because Kolada changed what the figure means (title, description,
unit: who is counted, which survey question). Between two metadata loads the watch therefore reports every
KPI whose title, description or unit changed: one flag per KPI, for the reviewer to decide whether this
year's colours and changes are comparable. When the source agency's own figure is at hand
(``source_comparison``), a Kolada value that differs from it beyond a tolerance is an error.
"""

from __future__ import annotations

import difflib

import numpy as np
import pandas as pd

from pipelines.quality.context import WatchContext
from pipelines.quality.flags import make_hits
from pipelines.quality.rules import Rule


def _normalise(text) -> str:
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return ""
    return " ".join(str(text).split())


def _first_difference(old: str, new: str, width: int = 60) -> str:
    """The first changed stretch of a long text, with a little context: what a reviewer needs to see."""
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            start_a, start_b = max(0, i1 - 20), max(0, j1 - 20)
            return f"'…{old[start_a:i2 + 20][:width]}…' → '…{new[start_b:j2 + 20][:width]}…'"
    return ""


def metadata_changed(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """KPI title, description or unit differs between the previous and the current metadata load."""
    prev, curr = ctx.kpi_metadata_previous, ctx.kpi_metadata_current
    empty = make_hits(pd.DataFrame(columns=["kpi_id", "municipality_id", "year", "gender"]), [])
    if prev is None or curr is None or not len(prev):
        return empty
    fields = [f for f in rule.param("fields") if f in prev.columns]
    prev = prev.assign(kpi_id=prev["kpi_id"].astype(str)).drop_duplicates("kpi_id", keep="last").set_index("kpi_id")
    curr = curr.assign(kpi_id=curr["kpi_id"].astype(str)).drop_duplicates("kpi_id", keep="last").set_index("kpi_id")
    watched = [k for k in prev.index if k in ctx.kpis.index] if len(ctx.kpis) else list(prev.index)
    year = max(ctx.years) if ctx.years else None
    rows = []
    for kpi_id in watched:
        if kpi_id not in curr.index:
            rows.append((kpi_id, "the KPI is missing from the current metadata"))
            continue
        changes = []
        for field in fields:
            if field not in curr.columns:
                continue
            old, new = _normalise(prev.at[kpi_id, field]), _normalise(curr.at[kpi_id, field])
            if old == new:
                continue
            if field == "description":
                changes.append(f"description changed ({_first_difference(old, new)})")
            else:
                changes.append(f"{field} was '{old}', is now '{new}'")
        if changes:
            rows.append((kpi_id, "; ".join(changes)))
    if not rows:
        return empty
    frame = pd.DataFrame(rows, columns=["kpi_id", "changes"])
    frame["municipality_id"], frame["year"], frame["gender"] = None, year, None
    return make_hits(frame, np.nan, changes=frame["changes"], contact="RKA")


def source_mismatch(ctx: WatchContext, rule: Rule) -> pd.DataFrame:
    """Kolada's value differs from the source agency's beyond ``abs_tolerance`` + ``rel_tolerance`` × |agency|.

    ``population`` (``same``/``different``/``any``) picks the comparisons by whether both sides count the
    same people (the comparison's ``same_population``). Where they do not (hemkommun vs lägeskommun), a
    gap is expected, so ``mad_k`` > 0 fires only where the kommun's gap is unusual: further than ``mad_k``
    scaled MADs from the median gap of all kommuner that year (a missing side is then not a finding).
    """
    comp = ctx.source_comparison
    if comp is None or not len(comp):
        return make_hits(pd.DataFrame(columns=["kpi_id", "municipality_id", "year", "gender"]), [])
    from pipelines.quality.warehouse import normalise_values, robust_stats

    population = str(rule.param("population"))
    if population != "any" and "same_population" in comp.columns:
        comp = comp[comp["same_population"].astype(bool) == (population == "same")]
    comp = normalise_values(comp.assign(value=comp["kolada_value"]))
    comp["agency_value"] = pd.to_numeric(comp["agency_value"], errors="coerce")
    if ctx.years:
        comp = comp[comp["year"].isin(ctx.years)]
    comp = ctx.attach(comp)
    comp = comp[rule.applies_to.mask(comp)]
    kolada, agency = comp["value"].to_numpy(dtype=float), comp["agency_value"].to_numpy(dtype=float)
    tol = float(rule.param("abs_tolerance")) + float(rule.param("rel_tolerance")) * np.abs(agency)
    gap = kolada - agency
    mad_k = float(rule.param("mad_k"))
    with np.errstate(invalid="ignore"):
        if mad_k > 0:
            keys = ["kpi_id", "year", "gender"]
            frame = comp[keys].assign(gap=gap).reset_index(drop=True)
            stats = frame[keys].merge(robust_stats(frame, keys, "gap"), on=keys, how="left")
            centre, spread = stats["median"].to_numpy(dtype=float), stats["mad"].to_numpy(dtype=float)
            fires = (np.abs(gap - centre) > np.maximum(mad_k * spread, tol)) & np.isfinite(gap)
        else:
            one_missing = np.isnan(kolada) != np.isnan(agency)
            fires = (np.abs(gap) > tol) | one_missing
    sel = comp[fires]
    if "agency" in sel.columns:
        agency_name = sel["agency"].fillna("the source agency").astype(str).str.capitalize().to_numpy()
    else:
        agency_name = sel["kpi_id"].map(ctx.kpis["source_agency"]).fillna("").replace("", "the source agency") \
            .to_numpy()
    return make_hits(sel, sel["value"], expected=sel["agency_value"], agency=agency_name,
                     source=["Kolada vs " + a for a in agency_name],
                     difference=sel["value"] - sel["agency_value"])
