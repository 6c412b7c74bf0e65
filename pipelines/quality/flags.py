"""From a rule's hits to the flags table: message, source, contact, colour change and impact score.

Every check returns *hits*: the key of each flagged cell, the observed value, what was expected (an
interval ``expected_low``–``expected_high`` and/or an ``expected_value``) and any extra numbers its message
template names. This module turns hits into the published flag rows, the same way for every rule, so that
all flags read alike and rank on one scale.

Impact score (higher = look at it first)::

    impact_score = 10 * C + 3 * S + D

* ``C`` = 1 if the flag would change the kommun's KKiK colour (see :mod:`pipelines.quality.colour`): the
  colour is recomputed with the observed value replaced by the expected value (or, without one, the
  midpoint of the expected interval, or its only finite bound) among the other kommuner with a value that
  KPI, year and gender. A missing value with an expected value counts as a change (grey → a colour).
  Riket, regions and figures with direction ``none`` have no colour, so ``C`` = 0.
* ``S`` = 1 for severity ``error`` (blocks publication), 0 for ``warning``.
* ``D`` = ``min(3, log10(1 + d))`` with ``d`` the deviation in robust units: the distance from the observed
  value to the expected interval (or to the expected value) divided by the scaled MAD of that KPI, year
  and gender among kommuner. A ×100 slip gives D ≈ 3, a value just outside its interval D ≈ 0. Flags on a
  whole KPI (a changed definition) get D = 3 since they touch every kommun; flags without an observed
  value or without an expectation get D = 0.

The weights make the colour dominate (10 > 3 + 3): the colour is what the report shows, so a flag that
would change it outranks any that would not; among those, errors come before warnings, then the larger
deviation first. Ties are broken by severity, KPI, municipality, year and gender, so the order is stable.
"""

from __future__ import annotations

import math
import string

import numpy as np
import pandas as pd

from pipelines.quality.colour import GREY, colour_among
from pipelines.quality.context import KEY, WatchContext
from pipelines.quality.rules import Rule

FLAG_COLUMNS = [
    "kpi_id", "municipality_id", "year", "gender", "rule_id", "severity", "observed_value",
    "expected_low", "expected_high", "expected_value", "message", "source", "contact",
    "impact_score", "would_change_colour",
]
HIT_COLUMNS = KEY + ["observed_value", "expected_low", "expected_high", "expected_value"]

W_COLOUR, W_ERROR, D_MAX = 10.0, 3.0, 3.0

UNIT_SUFFIX = {"percent": " %", "days": " days", "kr": " kr", "count": "", "index": ""}
GENDER_LABEL = {"T": "total", "K": "women", "M": "men"}
METHOD_LABEL = {
    "read_from_source": "read from source",
    "external_survey": "external survey",
    "municipality_reported": "reported by the municipality",
}


def empty_flags() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in FLAG_COLUMNS})
    return _typed(frame)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    for column in ("observed_value", "expected_low", "expected_high", "expected_value", "impact_score"):
        frame[column] = frame[column].astype(float)
    frame["year"] = frame["year"].astype("Int64")
    frame["would_change_colour"] = frame["would_change_colour"].astype(bool)
    return frame


def make_hits(frame: pd.DataFrame, observed, low=np.nan, high=np.nan, expected=np.nan, **extra) -> pd.DataFrame:
    """The standard hits frame for the rows of ``frame`` (arguments: arrays aligned with it, or scalars)."""
    out = pd.DataFrame(index=frame.index)
    for column in KEY:
        out[column] = frame[column] if column in frame.columns else None
    out["observed_value"] = observed
    out["expected_low"] = low
    out["expected_high"] = high
    out["expected_value"] = expected
    for name, value in extra.items():
        out[name] = value
    return out.reset_index(drop=True)


def format_number(x) -> str:
    """Numbers as a reviewer reads them: 73.25, 0.7325, 123 457; a missing number as 'no value'."""
    if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA:
        return "no value"
    if isinstance(x, bool | np.bool_):
        return str(x)
    if isinstance(x, int | np.integer):
        return str(int(x))
    if isinstance(x, float | np.floating):
        if math.isinf(x):
            return "∞" if x > 0 else "−∞"
        if abs(x) >= 1000:
            return f"{x:,.0f}".replace(",", " ")
        if float(x).is_integer():
            return str(int(x))
        return f"{x:.4g}"
    return str(x)


class _Fields(dict):
    """Format fields; an unknown placeholder stays visible instead of crashing the watch."""

    def __missing__(self, key):
        return "{" + key + "}"


def render_messages(hits: pd.DataFrame, rule: Rule, ctx: WatchContext) -> list[str]:
    names = [f for _, f, _, _ in string.Formatter().parse(rule.message) if f]
    units = hits["kpi_id"].map(ctx.kpis["unit"]) if len(hits) else pd.Series(dtype=object)
    titles = hits["kpi_id"].map(ctx.kpis["title"]) if len(hits) else pd.Series(dtype=object)
    labels = ctx.municipality_label(hits["municipality_id"]) if len(hits) else pd.Series(dtype=object)
    records = hits.to_dict("records")
    messages = []
    for i, row in enumerate(records):
        unit = units.iloc[i] if isinstance(units.iloc[i], str) else ""
        fields = _Fields({k: format_number(v) if isinstance(v, float | np.floating) else v for k, v in row.items()})
        fields.update(
            kpi_title=titles.iloc[i] if isinstance(titles.iloc[i], str) else "",
            municipality=labels.iloc[i] or "(all municipalities)",
            municipality_name=ctx.municipalities["name"].get(row["municipality_id"], ""),
            gender_label=GENDER_LABEL.get(row["gender"], "all genders"),
            u=UNIT_SUFFIX.get(unit, ""),
            unit=unit,
            observed=format_number(row["observed_value"]),
            expected=format_number(row["expected_value"]),
            low=format_number(row["expected_low"]),
            high=format_number(row["expected_high"]),
            year=row["year"] if row["year"] is not None and not pd.isna(row["year"]) else "",
        )
        for name in names:
            if name not in fields:
                fields[name] = "{" + name + "}"
        messages.append(rule.message.format_map(fields))
    return messages


def _source_and_contact(hits: pd.DataFrame, ctx: WatchContext) -> tuple[pd.Series, pd.Series]:
    """Who produced the figure, and whom the reviewer asks.

    The municipality answers for the figures it reports itself (``municipality_reported``): the RKA
    checklist says "know who answers for the figure at home". For figures read from another source or
    from an external survey, RKA (which runs Kolada) and the source agency answer.
    """
    kpi = ctx.kpis.reindex(hits["kpi_id"])
    agency = kpi["source_agency"].fillna("").to_numpy()
    method = kpi["collection_method"].fillna("").to_numpy()
    source = pd.Series(
        [f"{a} ({METHOD_LABEL.get(m, m)})" if a else (METHOD_LABEL.get(m, m) or "unknown") for a, m in zip(agency, method)],
        index=hits.index,
    )
    if "source" in ctx.raw.columns:
        given = hits[KEY].merge(ctx.raw.drop_duplicates(KEY)[KEY + ["source"]], on=KEY, how="left")["source"]
        source = pd.Series(np.where(given.notna().to_numpy(), given.astype(str).to_numpy(), source.to_numpy()),
                           index=hits.index)
    labels = ctx.municipality_label(hits["municipality_id"])
    is_kommun = hits["municipality_id"].map(ctx.municipalities["is_kommun"]).fillna(False).astype(bool)
    own = (method == "municipality_reported") & hits["municipality_id"].notna().to_numpy()
    rka = np.where(agency != "", "RKA / " + pd.Series(agency).astype(str).to_numpy(), "RKA")
    contact = np.where(own, np.where(is_kommun, "kommunen " + labels, labels), rka)
    return source, pd.Series(contact, index=hits.index)


def _replacement(hits: pd.DataFrame) -> np.ndarray:
    """The value the cell would have if the flag is right: expected value, else interval midpoint/bound."""
    low = hits["expected_low"].to_numpy(dtype=float)
    high = hits["expected_high"].to_numpy(dtype=float)
    finite_low, finite_high = np.isfinite(low), np.isfinite(high)
    mid = np.where(finite_low & finite_high, (low + high) / 2,
                   np.where(finite_low, low, np.where(finite_high, high, np.nan)))
    expected = hits["expected_value"].to_numpy(dtype=float)
    return np.where(np.isfinite(expected), expected, mid)


def _colour_change(hits: pd.DataFrame, ctx: WatchContext) -> np.ndarray:
    out = np.zeros(len(hits), dtype=bool)
    if not len(hits):
        return out
    replacement = _replacement(hits)
    direction = hits["kpi_id"].map(ctx.kpis["direction"]).fillna("none").to_numpy()
    is_kommun = hits["municipality_id"].map(ctx.municipalities["is_kommun"]).fillna(False).to_numpy(dtype=bool)
    candidate = is_kommun & np.isin(direction, ["higher", "lower"]) & np.isfinite(replacement) \
        & hits["year"].notna().to_numpy() & hits["gender"].notna().to_numpy()
    if not candidate.any():
        return out
    kv = ctx.kommun_values
    wanted = hits.loc[candidate, ["kpi_id", "year", "gender"]].drop_duplicates()
    kv = kv.merge(wanted.astype({"year": int}), on=["kpi_id", "year", "gender"])
    groups = {key: g for key, g in kv.groupby(["kpi_id", "year", "gender"])[["municipality_id", "value"]]}
    observed = hits["observed_value"].to_numpy(dtype=float)
    for i in np.flatnonzero(candidate):
        key = (hits["kpi_id"].iat[i], int(hits["year"].iat[i]), hits["gender"].iat[i])
        group = groups.get(key)
        others = group.loc[group["municipality_id"] != hits["municipality_id"].iat[i], "value"].to_numpy(dtype=float) \
            if group is not None else np.array([])
        goodness = np.sort(others if direction[i] == "higher" else -others)
        before = colour_among(observed[i], goodness, direction[i])
        after = colour_among(replacement[i], goodness, direction[i])
        out[i] = before != after and after != GREY
    return out


def _deviation(hits: pd.DataFrame, ctx: WatchContext) -> np.ndarray:
    observed = hits["observed_value"].to_numpy(dtype=float)
    low = hits["expected_low"].to_numpy(dtype=float)
    high = hits["expected_high"].to_numpy(dtype=float)
    expected = hits["expected_value"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        below = np.where(np.isfinite(low) & (observed < low), low - observed, 0.0)
        above = np.where(np.isfinite(high) & (observed > high), observed - high, 0.0)
        has_interval = np.isfinite(low) | np.isfinite(high)
        distance = np.where(has_interval, below + above, np.abs(observed - expected))
    stats = ctx.national_stats()
    keys = pd.MultiIndex.from_arrays([hits["kpi_id"].to_numpy(), hits["year"].fillna(-1).astype(int).to_numpy(),
                                      hits["gender"].to_numpy()])
    scale = stats["scale"].reindex(keys).to_numpy(dtype=float)
    fallback = np.abs(np.where(np.isfinite(expected), expected, observed)) * 0.1
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, fallback)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(np.isfinite(distance) & (scale > 0), distance / scale, 0.0)
    dev = np.minimum(D_MAX, np.log10(1 + np.maximum(d, 0)))
    whole_kpi = hits["municipality_id"].isna().to_numpy()
    return np.where(whole_kpi, D_MAX, np.nan_to_num(dev))


def assemble(hits: pd.DataFrame, rule: Rule, ctx: WatchContext) -> pd.DataFrame:
    """Flags of one rule: hits plus rule id, severity, message, source, contact, colour change, impact."""
    if hits is None or not len(hits):
        return empty_flags()
    hits = hits.reset_index(drop=True)
    out = hits[HIT_COLUMNS].copy()
    out["rule_id"] = rule.id
    out["severity"] = rule.severity
    out["message"] = render_messages(hits, rule, ctx)
    source, contact = _source_and_contact(hits, ctx)
    out["source"] = hits["source"] if "source" in hits.columns else source
    out["contact"] = hits["contact"] if "contact" in hits.columns else contact
    out["would_change_colour"] = _colour_change(hits, ctx)
    out["impact_score"] = (W_COLOUR * out["would_change_colour"] + W_ERROR * (rule.severity == "error")
                           + _deviation(hits, ctx)).round(4)
    return _typed(out[FLAG_COLUMNS])


def rank(flags: pd.DataFrame) -> pd.DataFrame:
    """Highest impact first; stable tie-breaks so the same input always gives the same order."""
    if not len(flags):
        return flags.reset_index(drop=True)
    order = flags.assign(_sev=(flags["severity"] != "error").astype(int))
    order = order.sort_values(
        ["impact_score", "_sev", "kpi_id", "municipality_id", "year", "gender", "rule_id"],
        ascending=[False, True, True, True, True, True, True], na_position="last", kind="stable",
    )
    return order.drop(columns="_sev").reset_index(drop=True)
