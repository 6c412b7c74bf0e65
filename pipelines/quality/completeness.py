"""The publication gate: is the audited mart whole, compared with the previous publication and with itself?

The error watch judges each value; a lost page, an empty segment or a whole figure gone shows in no single
value, only in how many kommuner a figure × year × gender has. dbt counts them (``kkik_coverage``) and lists
the codes no dimension knows (``kkik_unknown_code``) and the inbox rows not loaded (``kkik_inbox_quarantine``);
this module compares those counts with the previous publication (the ``kkik`` schema, which only the publish
step writes) and with the figure's other years, and turns every shortfall into an error flag (the quarantined
rows into warnings). Flags go through the same acceptance and ranking as the
watch's, so a reviewer accepts a real gap (``kkik accept``) exactly as any other error.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipelines.config import EXPECTATIONS_DIR
from pipelines.quality.flags import FLAG_COLUMNS, W_GREY

GATE_PATH = EXPECTATIONS_DIR / "publication_gate.yml"
COVERAGE = "kkik_coverage"
UNKNOWN_CODES = "kkik_unknown_code"
INBOX_QUARANTINE = "kkik_inbox_quarantine"
#: A whole figure-year lost or an unknown code: it changes every colour of the figure (or hides values).
GATE_IMPACT = 16.0
Severity = Literal["error", "warning"]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LostVsPublished(_Params):
    max_share_lost: float = Field(ge=0, lt=1)


class ShortVsOtherYears(_Params):
    max_share_short: float = Field(ge=0, lt=1)
    min_kommuner: int = Field(ge=1)


class SeverityOnly(_Params):
    severity: Severity


class GateRules(_Params):
    """``expectations/publication_gate.yml``: every key required, unknown keys refused."""

    lost_vs_published: LostVsPublished
    short_vs_other_years: ShortVsOtherYears
    figure_missing: SeverityOnly
    figure_year_missing: SeverityOnly
    not_yet_published: SeverityOnly
    unknown_code: SeverityOnly
    quarantined_rows: SeverityOnly


def load_gate_rules(path: Path = GATE_PATH) -> GateRules:
    """The gate's parameters; a misspelt or missing key raises naming the file and the key."""
    try:
        return GateRules.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"{path}: {problems}") from exc


def audit_gate(con, *, years: Sequence[int], audit_schema: str, published_schema: str,
               rules: GateRules | None = None) -> pd.DataFrame:
    """The gate's flags for the audit mart in ``audit_schema`` against the publication in ``published_schema``."""
    # the figures the KKiK years expect: the catalogue's (dim_kpi also lists every other Kolada figure)
    kpis = con.execute(f"select kpi_id, first_kkik_year, last_kkik_year, kkik_year_offset from {audit_schema}.dim_kpi "
                       "where is_kkik").df()
    return gate_flags(read_coverage(con, audit_schema), read_coverage(con, published_schema),
                      read_unknown_codes(con, audit_schema), kpis, years=years, rules=rules,
                      quarantined=con.execute(f"select * from {audit_schema}.{INBOX_QUARANTINE}").df())


def read_coverage(con, schema: str) -> pd.DataFrame | None:
    """``<schema>.kkik_coverage``, or None when that schema has none (no publication yet)."""
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, COVERAGE],
    ).fetchall()[0][0]
    if not exists:
        return None
    return con.execute(f"select kpi_id, year, gender, kommuner_with_value from {schema}.{COVERAGE}").df()


def read_unknown_codes(con, schema: str) -> pd.DataFrame:
    return con.execute(f"select source, code_kind, code, year, value_count, origin from {schema}.{UNKNOWN_CODES}"
                       ).df()


def gate_flags(
    coverage: pd.DataFrame,
    published: pd.DataFrame | None,
    unknown_codes: pd.DataFrame,
    kpis: pd.DataFrame,
    *,
    years: Sequence[int],
    rules: GateRules | None = None,
    quarantined: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every completeness shortfall of ``years``, every unknown code and every group of quarantined inbox
    rows, as flag rows (FLAG_COLUMNS).

    ``coverage`` is the audit mart's ``kkik_coverage``, ``published`` the previous publication's (None before
    the first), ``kpis`` the audit mart's ``dim_kpi`` (which figures the KKiK years of the load expect),
    ``quarantined`` its ``kkik_inbox_quarantine`` (None: none).
    """
    rules = rules or load_gate_rules()
    years = sorted({int(y) for y in years})
    frames = [
        _lost_vs_published(coverage, published, years, rules.lost_vs_published),
        _figure_missing(coverage, kpis, years, rules.figure_missing),
        _short_vs_other_years(coverage, years, rules.short_vs_other_years),
        *_missing_years(coverage, years, rules),
        _unknown(unknown_codes, years, rules.unknown_code),
        _quarantined(quarantined, years, rules.quarantined_rows),
    ]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=FLAG_COLUMNS)
    return pd.concat(frames, ignore_index=True)[FLAG_COLUMNS]


def _flags(frame: pd.DataFrame, rule_id: str, severity: str, observed, message: pd.Series,
           low=np.nan, expected=np.nan, source="kolada") -> pd.DataFrame:
    n = len(frame)
    return pd.DataFrame({
        "kpi_id": frame["kpi_id"].to_numpy() if "kpi_id" in frame else [None] * n,
        "municipality_id": frame["municipality_id"].to_numpy() if "municipality_id" in frame else [None] * n,
        "year": pd.array(frame["year"].to_numpy(), dtype="Int64"),
        "gender": frame["gender"].to_numpy() if "gender" in frame else [None] * n,
        "rule_id": rule_id, "severity": severity,
        "observed_value": np.asarray(observed, dtype=float) if np.ndim(observed) else np.full(n, observed, float),
        "expected_low": np.asarray(low, dtype=float) if np.ndim(low) else np.full(n, low, float),
        "expected_high": np.nan,
        "expected_value": np.asarray(expected, dtype=float) if np.ndim(expected) else np.full(n, expected, float),
        "message": message.to_numpy(), "source": source, "contact": "RKA",
        "impact_score": GATE_IMPACT if severity == "error" else GATE_IMPACT - 3, "would_change_colour": True,
        "is_synthetic": False,
    })


def _lost_vs_published(coverage, published, years, params: LostVsPublished) -> pd.DataFrame:
    if published is None or published.empty:
        return pd.DataFrame()
    before = published[published["year"].isin(years) & (published["kommuner_with_value"] > 0)]
    both = before.merge(coverage, on=["kpi_id", "year", "gender"], how="left", suffixes=("_before", ""))
    both["kommuner_with_value"] = both["kommuner_with_value"].fillna(0).astype(int)
    floor = both["kommuner_with_value_before"] * (1 - params.max_share_lost)
    lost = both[both["kommuner_with_value"] < floor].copy()
    message = (lost["kpi_id"] + " " + lost["year"].astype(str) + " (" + lost["gender"] + "): "
               + lost["kommuner_with_value"].astype(str) + " kommuner have a value, the previous publication had "
               + lost["kommuner_with_value_before"].astype(str) + " (more than "
               + f"{params.max_share_lost:.0%} lost). A truncated or empty answer from the source, or a figure "
               + "withdrawn: check the load's pages before publishing.")
    return _flags(lost, "completeness.lost_vs_published", "error", lost["kommuner_with_value"], message,
                  low=floor[lost.index], expected=lost["kommuner_with_value_before"])


def _short_vs_other_years(coverage, years, params: ShortVsOtherYears) -> pd.DataFrame:
    usable = coverage[coverage["kommuner_with_value"] >= params.min_kommuner]
    rows = []
    for year in years:
        others = usable[usable["year"] != year].groupby(["kpi_id", "gender"])["kommuner_with_value"].median()
        this = coverage[coverage["year"] == year].set_index(["kpi_id", "gender"])["kommuner_with_value"]
        joined = pd.concat([this.rename("now"), others.rename("usual")], axis=1, join="inner").reset_index()
        joined["year"] = year
        rows.append(joined[joined["now"] < joined["usual"] * (1 - params.max_share_short)])
    short = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    if short.empty:
        return short
    message = (short["kpi_id"] + " " + short["year"].astype(str) + " (" + short["gender"] + "): only "
               + short["now"].astype(int).astype(str) + " kommuner have a value, against a median of "
               + short["usual"].round().astype(int).astype(str) + " in the figure's other years. Kolada publishes "
               + "a figure for all kommuner at once: a part of the answer is probably missing.")
    return _flags(short, "completeness.short_vs_other_years", "error", short["now"], message,
                  low=short["usual"] * (1 - params.max_share_short), expected=short["usual"])


def _figure_missing(coverage, kpis, years, params: SeverityOnly) -> pd.DataFrame:
    """Catalogue figures whose KKiK years overlap the load's, with no kommun value in any year of the mart.

    Any year, not only the load's: a figure that ended or has not started in the load's years is the
    business of the year rules (``not_yet_published``), a figure with no value at all is this rule's."""
    offset = kpis["kkik_year_offset"].fillna(1).astype(int)
    first = kpis["first_kkik_year"].fillna(0).astype(int)
    last = kpis["last_kkik_year"].fillna(9999).astype(int)
    expected = kpis[(first <= max(years) + offset) & (last >= min(years) + offset)]
    present = set(coverage.loc[coverage["kommuner_with_value"] > 0, "kpi_id"])
    missing = expected[~expected["kpi_id"].isin(present)][["kpi_id"]].copy()
    if missing.empty:
        return missing
    missing["year"] = None
    span = f"{min(years)}–{max(years)}" if len(years) > 1 else str(years[0])
    message = (missing["kpi_id"] + ": no kommun has a value in any year of the mart, although the figure belongs "
               + f"to the KKiK years of the load ({span}). An empty answer for the figure's segment, a figure the "
               + "source does not publish yet, or a figure the catalogue should retire.")
    return _flags(missing, "completeness.figure_missing", params.severity, 0.0, message)


def _missing_years(coverage, years, rules: GateRules) -> list[pd.DataFrame]:
    """Figure-years with no kommun value although the figure has some before (and after) them."""
    present = coverage[coverage["kommuner_with_value"] > 0]
    span = present.groupby(["kpi_id", "gender"])["year"].agg(["min", "max"]).reset_index()
    have = set(zip(present["kpi_id"], present["gender"], present["year"]))
    latest = max(years)
    holes, pending = [], []
    for kpi_id, gender, first, last in span.itertuples(index=False):
        for year in years:
            if (kpi_id, gender, year) in have or year < first or (year > last and year != latest):
                continue
            (pending if year > last else holes).append((kpi_id, gender, year))
    out = []
    for cells, rule_id, params, text in (
        (holes, "completeness.figure_year_missing", rules.figure_year_missing,
         ("no kommun has a value this year, although the figure has values in the years around it: an answer "
          "that came back empty, or a real gap (no survey that year) that a reviewer accepts.")),
        (pending, "completeness.not_yet_published", rules.not_yet_published,
         ("no kommun has a value yet in the latest year of the load; during the collection period figures "
          "appear in Kolada as they become ready.")),
    ):
        if not cells:
            continue
        frame = pd.DataFrame(cells, columns=["kpi_id", "gender", "year"])
        message = frame["kpi_id"] + " " + frame["year"].astype(str) + " (" + frame["gender"] + "): " + text
        out.append(_flags(frame, rule_id, params.severity, 0.0, message))
    return out


def _unknown(unknown_codes, years, params: SeverityOnly) -> pd.DataFrame:
    codes = unknown_codes[unknown_codes["year"].isin(years)].copy()
    if codes.empty:
        return codes
    codes["kpi_id"] = np.where(codes["code_kind"] == "kpi", codes["code"], None)
    codes["municipality_id"] = np.where(codes["code_kind"] == "municipality", codes["code"], None)
    where = codes["origin"].map(lambda o: f" ({o})" if isinstance(o, str) and o else "")
    message = (codes["value_count"].astype(str) + " value(s) from " + codes["source"] + where + " for "
               + codes["year"].astype(str) + " name the " + codes["code_kind"] + " code '" + codes["code"]
               + "', which the warehouse does not know: they are not in the mart. Correct the code at the source "
               + "(or accept the flag if the code is known to be retired).")
    flags = _flags(codes, "integrity.unknown_code", params.severity, codes["value_count"], message)
    flags["source"] = codes["source"].to_numpy()
    return flags


def _quarantined(quarantined: pd.DataFrame | None, years, params: SeverityOnly) -> pd.DataFrame:
    """One flag per inbox file × year × reason whose rows were quarantined (not loaded), for ``years`` and
    for rows that name no readable year (they stay until the file is corrected)."""
    if quarantined is None or quarantined.empty:
        return pd.DataFrame()
    rows = quarantined[quarantined["year"].isin(years) | quarantined["year"].isna()].copy()
    if rows.empty:
        return rows
    year = rows["year"].map(lambda y: f"of {int(y)} " if pd.notna(y) else "without a readable year ")
    count = rows["row_count"].astype(int)
    one = count == 1
    where = pd.Series(np.where(one, ": ", "; rows " + rows["first_rows"] + np.where(count > 5, " …", "")
                               + "; the first: "), index=rows.index)
    message = (rows["file_name"] + ": " + count.astype(str) + np.where(one, " row ", " rows ") + year
               + "not loaded (" + rows["reason_code"] + where + rows["first_reason"] + "). They are not in the "
               + "mart. Correct the file and drop it in the inbox again under the same name: it replaces this "
               + "version (raw.inbox_quarantine has every row).")
    flags = _flags(rows, "integrity.quarantined_rows", params.severity, count, message, source="inbox")
    # the rows' cells are empty or keep another source's value: a value gone grey, not a figure's colours
    # moved (the gate's other flags change every colour of a figure)
    flags["would_change_colour"], flags["impact_score"] = False, W_GREY
    return flags
