"""From a rule's hits to the flags table: message, source, contact, colour change and impact score.

Every check returns *hits*: the key of each flagged cell, the observed value, what was expected (an
interval ``expected_low``–``expected_high`` and/or an ``expected_value``) and any extra numbers its message
template names. This module turns hits into the published flag rows, the same way for every rule, so that
all flags read alike and rank on one scale.

Impact score (higher = look at it first)::

    impact_score = 10 * C + 5 * G + 3 * S + D

* ``C`` = 1 if the flag would change the colour of a value the report shows: the colour (the mart's rule,
  dbt macro ``kkik_colour``, via :func:`pipelines.quality.warehouse.colours`) is recomputed with the
  observed value replaced by the expected value (or, without one, the midpoint of the expected
  interval, or its only finite bound) among the other kommuner with a value that KPI, year and gender.
  Riket, regions and figures with direction ``none`` have no colour, so ``C`` = 0.
* ``G`` = 1 if the cell has no value (it shows grey) and the expected value would give it a colour: a
  gap to fill, not a wrong colour on show, so it ranks below a ×100 slip that recolours a kommun.
* ``S`` = 1 for severity ``error`` (blocks publication), 0 for ``warning``.
* ``D`` = ``min(3, log10(1 + d))`` with ``d`` the deviation in robust units: the distance from the observed
  value to the expected interval (or to the expected value) divided by the scaled MAD of that KPI, year
  and gender among kommuner (``watch_group_stat``). A ×100 slip gives D ≈ 3, a value just outside its
  interval D ≈ 0. Flags on a whole KPI (a changed definition) get D = 3 since they touch every kommun;
  flags without an observed value or without an expectation get D = 0.

The weights make a shown colour dominate (10 > 5 + 3 + 3), then a grey square that would get a colour
(5 > 3 + D for D < 2), then errors before warnings, then the larger deviation first. Ties are broken by
severity, KPI, municipality, year and gender, so the order is stable.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pipelines.quality.context import KEY, WatchContext
from pipelines.quality.rules import Rule
from pipelines.quality.warehouse import colours

FLAG_COLUMNS = [
    "kpi_id", "municipality_id", "year", "gender", "rule_id", "severity", "observed_value",
    "expected_low", "expected_high", "expected_value", "message", "source", "contact",
    "impact_score", "would_change_colour", "is_synthetic",
]
HIT_COLUMNS = KEY + ["observed_value", "expected_low", "expected_high", "expected_value"]

W_COLOUR, W_GREY, W_ERROR, D_MAX = 10.0, 5.0, 3.0, 3.0

UNIT_SUFFIX = {"percent": " %", "days": " days", "kr": " kr", "count": "", "index": "", "ratio": "", "signed": "", "unknown": ""}
#: appended to every flag on a figure whose kind Kolada's metadata does not tell
UNKNOWN_KIND_NOTE = (" (The kind of this figure cannot be told from Kolada's metadata: only the statistical "
                     "rules were run, no range or unit rule.)")
GENDER_LABEL = {"T": "total", "K": "women", "M": "men"}
METHOD_LABEL = {
    "read_from_source": "read from source",
    "external_survey": "external survey",
    "municipality_reported": "reported by the municipality",
}


def empty_flags() -> pd.DataFrame:
    """The flags table with no rows and the published column types."""
    return pd.DataFrame({
        column: pd.Series(dtype=float if column in FLOAT_COLUMNS else "Int64" if column == "year"
                          else bool if column in ("would_change_colour", "is_synthetic") else object)
        for column in FLAG_COLUMNS
    })


FLOAT_COLUMNS = ("observed_value", "expected_low", "expected_high", "expected_value", "impact_score")


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    for column in FLOAT_COLUMNS:
        frame[column] = frame[column].astype(float)
    frame["year"] = frame["year"].astype("Int64")
    frame["would_change_colour"] = frame["would_change_colour"].astype(bool)
    frame["is_synthetic"] = frame["is_synthetic"].astype(bool)
    return frame


def _column(value, n: int, index):
    """A scalar or an array-like as a plain array of length n (Series are aligned by position)."""
    if isinstance(value, pd.Series):
        return value.to_numpy()
    if np.ndim(value) == 0:
        return np.full(n, value, dtype=object if isinstance(value, str) or value is None else float)
    return np.asarray(value)


def make_hits(frame: pd.DataFrame, observed, low=np.nan, high=np.nan, expected=np.nan, **extra) -> pd.DataFrame:
    """The standard hits frame for the rows of ``frame`` (arguments: arrays aligned with it, or scalars)."""
    n = len(frame)
    data = {column: (frame[column].to_numpy() if column in frame.columns else np.full(n, None, dtype=object))
            for column in KEY}
    data["observed_value"] = _column(observed, n, frame.index).astype(float)
    data["expected_low"] = _column(low, n, frame.index).astype(float)
    data["expected_high"] = _column(high, n, frame.index).astype(float)
    data["expected_value"] = _column(expected, n, frame.index).astype(float)
    for name, value in extra.items():
        data[name] = _column(value, n, frame.index)
    return pd.DataFrame(data)


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
    """Fill the rule's message template for each hit (numbers formatted by :func:`format_number`)."""
    columns = {c: hits[c].tolist() for c in hits.columns}
    messages = []
    for i in range(len(hits)):
        kpi = ctx.kpi_info.get(columns["kpi_id"][i], {})
        mid = columns["municipality_id"][i]
        name = ctx.municipality_info.get(mid, ("", False))[0] if mid is not None else ""
        unit = kpi.get("unit") or ""
        year = columns["year"][i]
        fields = _Fields({c: format_number(v[i]) if isinstance(v[i], float | np.floating) else v[i]
                          for c, v in columns.items()})
        fields.update(
            kpi_title=kpi.get("title") or "",
            kpi=f"{columns['kpi_id'][i]} ({kpi['title']})" if kpi.get("title") else columns["kpi_id"][i],
            municipality=f"{mid} {name}".strip() if isinstance(mid, str) else "(all municipalities)",
            municipality_name=name,
            gender_label=GENDER_LABEL.get(columns["gender"][i], "all genders"),
            u=UNIT_SUFFIX.get(unit, ""),
            unit=unit,
            observed=format_number(columns["observed_value"][i]),
            expected=format_number(columns["expected_value"][i]),
            low=format_number(columns["expected_low"][i]),
            high=format_number(columns["expected_high"][i]),
            year="" if year is None or pd.isna(year) else int(year),
        )
        messages.append(rule.message.format_map(fields) + (UNKNOWN_KIND_NOTE if unit == "unknown" else ""))
    return messages


def _source_and_contact(flags: pd.DataFrame, ctx: WatchContext) -> tuple[np.ndarray, np.ndarray]:
    """Who produced the figure, and whom the reviewer asks (where the rule did not say: NaN in ``flags``).

    The municipality answers for the figures it reports itself (``municipality_reported``): the RKA
    checklist says "know who answers for the figure at home". For figures read from another source or
    from an external survey, RKA (which runs Kolada) and the source agency answer. The cell's own
    ``source`` (watch_cell) is named where it has one.
    """
    given = _cell_column(flags, ctx, "source")
    sources = flags["source"].to_numpy(dtype=object).copy()
    contacts = flags["contact"].to_numpy(dtype=object).copy()
    for i, (kpi_id, mid) in enumerate(zip(flags["kpi_id"].tolist(), flags["municipality_id"].tolist())):
        if isinstance(sources[i], str) and isinstance(contacts[i], str):
            continue
        kpi = ctx.kpi_info.get(kpi_id, {})
        agency, method = kpi.get("source_agency") or "", kpi.get("collection_method") or ""
        if not isinstance(sources[i], str):
            method_label = METHOD_LABEL.get(method, method)
            sources[i] = given[i] if isinstance(given[i], str) and given[i] else (
                f"{agency} ({method_label})" if agency else (method_label or "unknown"))
        if not isinstance(contacts[i], str):
            if method == "municipality_reported" and isinstance(mid, str):
                name, is_kommun = ctx.municipality_info.get(mid, ("", False))
                label = f"{mid} {name}".strip()
                contacts[i] = f"kommunen {label}" if is_kommun else label
            else:
                contacts[i] = f"RKA / {agency}" if agency else "RKA"
    return sources, contacts


def _cell_column(flags: pd.DataFrame, ctx: WatchContext, column: str) -> np.ndarray:
    """``column`` of each flag's cell in watch_cell (None where the flag names no cell there)."""
    cells = ctx.values[KEY + [column]].astype({"year": "Int64"})
    return flags[KEY].astype({"year": "Int64"}).merge(cells, on=KEY, how="left")[column].to_numpy(dtype=object)


def _replacement(hits: pd.DataFrame) -> np.ndarray:
    """The value the cell would have if the flag is right: expected value, else interval midpoint/bound."""
    low = hits["expected_low"].to_numpy(dtype=float)
    high = hits["expected_high"].to_numpy(dtype=float)
    finite_low, finite_high = np.isfinite(low), np.isfinite(high)
    mid = np.where(finite_low & finite_high, (low + high) / 2,
                   np.where(finite_low, low, np.where(finite_high, high, np.nan)))
    expected = hits["expected_value"].to_numpy(dtype=float)
    return np.where(np.isfinite(expected), expected, mid)


def _colour_change(hits: pd.DataFrame, ctx: WatchContext) -> tuple[np.ndarray, np.ndarray]:
    """(C, G): would the shown colour change with the replacement value; would a grey cell get a colour?

    Both colours come from the mart's colour rule among the other kommuner (:func:`colours`); a change
    to grey (the replacement is unknown) does not count.
    """
    direction = hits["kpi_id"].map(lambda k: ctx.kpi_info.get(k, {}).get("direction")).to_numpy(dtype=object)
    kommun = np.array([isinstance(m, str) and ctx.municipality_info.get(m, ("", False))[1]
                       for m in hits["municipality_id"].tolist()], dtype=bool)
    replacement = _replacement(hits)
    coloured = kommun & np.isin(direction, ["higher", "lower"]) & np.isfinite(replacement) \
        & hits["year"].notna().to_numpy()
    out, grey = np.zeros(len(hits), dtype=bool), np.zeros(len(hits), dtype=bool)
    if not coloured.any():
        return out, grey
    sel = hits.loc[coloured, ["kpi_id", "municipality_id", "year", "gender"]].assign(direction=direction[coloured])
    candidates = pd.concat([sel.assign(value=hits.loc[coloured, "observed_value"].to_numpy(dtype=float)),
                            sel.assign(value=replacement[coloured])], ignore_index=True)
    both = colours(candidates, ctx.kommun_values).to_numpy(dtype=object)
    before, after = both[: len(sel)], both[len(sel):]
    out[coloured] = (before != after) & (after != "grey") & (before != "grey")
    grey[coloured] = (before == "grey") & (after != "grey")
    return out, grey


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
    scale = ctx.national(hits, "scale")
    fallback = np.abs(np.where(np.isfinite(expected), expected, observed)) * 0.1
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, fallback)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(np.isfinite(distance) & (scale > 0), distance / scale, 0.0)
    dev = np.minimum(D_MAX, np.log10(1 + np.maximum(d, 0)))
    whole_kpi = hits["municipality_id"].isna().to_numpy()
    return np.where(whole_kpi, D_MAX, np.nan_to_num(dev))


def describe(hits: pd.DataFrame, rule: Rule, ctx: WatchContext) -> pd.DataFrame | None:
    """One rule's hits as flags without their cell lookups: rule id, severity, message, and the source and
    contact the rule named (NaN where it named none). ``None`` when the rule has no hits."""
    if hits is None or not len(hits):
        return None
    hits = hits.reset_index(drop=True)
    out = hits[HIT_COLUMNS].copy()
    out["rule_id"] = rule.id
    out["severity"] = rule.severity
    out["message"] = render_messages(hits, rule, ctx)
    for column in ("source", "contact"):
        out[column] = hits[column].to_numpy(dtype=object) if column in hits.columns else None
    return out


def assemble(described: list[pd.DataFrame], ctx: WatchContext) -> pd.DataFrame:
    """Every rule's flags (:func:`describe`) as one table: source, contact, colour change, ``is_synthetic``
    and impact. The lookups over the checked cells run once for all rules, not once per rule."""
    parts = [part for part in described if part is not None and len(part)]
    if not parts:
        return empty_flags()
    out = pd.concat(parts, ignore_index=True)
    out["source"], out["contact"] = _source_and_contact(out, ctx)
    out["would_change_colour"], grey_to_colour = _colour_change(out, ctx)
    out["is_synthetic"] = pd.Series(_cell_column(out, ctx, "is_synthetic")).eq(True).to_numpy()
    out["impact_score"] = (W_COLOUR * out["would_change_colour"] + W_GREY * grey_to_colour
                           + W_ERROR * (out["severity"] == "error")
                           + _deviation(out, ctx)).round(4)
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
