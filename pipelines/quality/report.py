"""The reviewers' report of the data-error watch: every flag as CSV, and one self-contained HTML page.

Usage::

    summary = write_report(flags, values, kpis, municipalities, csv_path=Path("flags.csv"),
                           html_path=Path("flags.html"), peers=peers)

* The CSV holds *all* flags, ranked (``flag_rank`` 1 = look at it first), with the KPI title and the
  municipality name next to the codes, and in ``cell_rules`` every rule that fired on the same cell.
  It is written as UTF-8 with a BOM so Excel shows å, ä and ö.
* The HTML page's review list has one row per cell (:func:`review_by_cell`): a value several rules
  flag is looked at once, with all its rules and messages.
* The HTML page is one file with no external resource (inline CSS and SVG, a tiny optional script):
  a summary (counts by severity, open errors that block publication, accepted errors), the ranked flags
  with the history of each flagged series as a small chart, and the same flags grouped per kommun and
  per nyckeltal. Only the first ``max_flags_in_html`` flags are shown; the page says how many were left
  out (the CSV has them all).

The chart of a flag shows the kommun's series of that KPI and gender over all years in ``values``
(thick line), the median of its similar kommuner (``peers``; without ``peers`` the kommuner sharing its
``similar_group``) and the national median of kommuner (thin lines), the flagged year (vertical line,
the observed value as a red dot) and what the rule expected (the interval as a bar at the flagged year,
the expected value as a hollow diamond).
"""

from __future__ import annotations

import html
import math
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.quality.acceptance import open_error_mask
from pipelines.quality.flags import FLAG_COLUMNS, UNIT_SUFFIX, format_number

#: Column order of the CSV; any further input columns (accepted_on, rule_group, load_id ...) follow.
CSV_COLUMNS = [
    "flag_rank", "kpi_id", "kpi_title", "municipality_id", "municipality_name", "year", "gender", "rule_id",
    "severity", "observed_value", "expected_low", "expected_high", "expected_value", "message", "source",
    "contact", "impact_score", "would_change_colour", "is_synthetic", "accepted", "accepted_by",
    "acceptance_reason", "cell_rules",
]
NO_KOMMUN = "(no kommun: KPI-wide or file-wide flags)"
NO_KPI = "(no nyckeltal: file-wide flags)"

#: the HTML page aims to stay below this many bytes: charts beyond MIN_CHARTS are drawn while they fit
HTML_BUDGET = 4_800_000
MIN_CHARTS = 200

# chart geometry (px): plot area x0..x1, y0..y1 inside a W × H box
W, H = 230, 74
X0, X1, Y0, Y1 = 34, 224, 6, 60


# ----------------------------------------------------------------------------------------------------------
# entry point


def write_report(flags: pd.DataFrame, values: pd.DataFrame, kpis: pd.DataFrame, municipalities: pd.DataFrame,
                 *, csv_path: Path | None, html_path: Path | None, title: str = "KKiK data-error watch",
                 peers: pd.DataFrame | None = None, max_flags_in_html: int = 2000) -> dict:
    """Write the ranked flags as CSV and/or HTML (either path may be ``None``); return a summary dict.

    Summary: ``flags, errors, open_errors, accepted_errors, warnings, colour_changing, by_rule,
    by_severity, csv, html`` (the paths written, as strings, or ``None``).
    """
    ranked = prepare_flags(flags, kpis, municipalities)
    summary = summarise(ranked)
    review = review_by_cell(ranked)
    summary["cells"] = len(review)
    summary["csv"] = summary["html"] = None
    if csv_path is not None:
        csv_path = Path(csv_path)
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        ranked.to_csv(csv_path, index=False, sep=",", encoding="utf-8-sig")
        summary["csv"] = str(csv_path)
    if html_path is not None:
        html_path = Path(html_path)
        html_path.parent.mkdir(parents=True, exist_ok=True)
        page = render_html(review, summary, values, kpis, municipalities, title=title, peers=peers,
                           max_flags=max_flags_in_html,
                           csv_name=csv_path.name if csv_path is not None else None)
        html_path.write_text(page, encoding="utf-8")
        summary["html"] = str(html_path)
    return summary


# ----------------------------------------------------------------------------------------------------------
# the flags table


def prepare_flags(flags: pd.DataFrame, kpis: pd.DataFrame, municipalities: pd.DataFrame) -> pd.DataFrame:
    """The flags ranked by impact (stable), numbered 1..n, with KPI title and municipality name added."""
    out = flags.copy() if flags is not None else pd.DataFrame()
    for column in FLAG_COLUMNS:
        if column not in out.columns:
            out[column] = pd.Series([None] * len(out), index=out.index, dtype=object)
    if "flag_rank" in out.columns:  # restore the given order first: the rank breaks impact ties
        out = out.sort_values("flag_rank", kind="stable", na_position="last")
    out["impact_score"] = pd.to_numeric(out["impact_score"], errors="coerce")
    out = out.sort_values("impact_score", ascending=False, kind="stable", na_position="last")
    out = out.reset_index(drop=True)
    out["flag_rank"] = np.arange(1, len(out) + 1)
    out["year"] = pd.to_numeric(out["year"], errors="coerce").astype("Int64")
    for column in ("observed_value", "expected_low", "expected_high", "expected_value"):
        out[column] = pd.to_numeric(out[column], errors="coerce").astype(float)
    out["would_change_colour"] = out["would_change_colour"].map(_truthy).astype(bool)
    out["is_synthetic"] = out["is_synthetic"].map(_truthy).astype(bool)
    out["accepted"] = (out["accepted"].map(_truthy) if "accepted" in out.columns else False)
    out["accepted"] = out["accepted"].astype(bool)
    for column in ("accepted_by", "acceptance_reason"):
        if column not in out.columns:
            out[column] = None
    titles = _lookup(kpis, "kpi_id", "title")
    names = _lookup(municipalities, "municipality_id", "name")
    out["kpi_title"] = out["kpi_id"].map(lambda k: titles.get(k) if _present(k) else None)
    out["municipality_name"] = out["municipality_id"].map(lambda m: names.get(m) if _present(m) else None)
    out["cell_rules"] = _cell_rules(out).to_numpy() if len(out) else pd.Series([], dtype=object)
    rest = [c for c in out.columns if c not in CSV_COLUMNS]
    return out[CSV_COLUMNS + rest]


_CELL = ["kpi_id", "municipality_id", "year", "gender"]


def _cell_codes(ranked: pd.DataFrame) -> pd.Series:
    """One string per cell (a KPI-wide or file-wide flag is its own cell: its empty parts stay empty)."""
    return ranked[_CELL].astype(object).where(ranked[_CELL].notna(), "").astype(str).agg("|".join, axis=1)


def _cell_rules(ranked: pd.DataFrame) -> pd.Series:
    """Per flag, every rule that fired on its cell, in rank order (for the CSV's ``cell_rules``)."""
    if not len(ranked):
        return pd.Series([], dtype=object)
    cell = _cell_codes(ranked)
    joined = ranked["rule_id"].astype(str).groupby(cell, sort=False).agg("; ".join)
    return cell.map(joined)


def review_by_cell(ranked: pd.DataFrame) -> pd.DataFrame:
    """The review list: one row per cell, ranked by its most important flag, with every rule that fired.

    The row keeps the top flag's fields; ``rule_id`` and ``message`` list all the cell's rules and
    messages in rank order, ``n_flags`` counts them; the cell is an error if any flag is, is accepted
    only when every flag is, would change a colour if any flag would, and is synthetic if any flag is.
    """
    if not len(ranked):
        return ranked.assign(n_flags=pd.Series([], dtype=int))
    cell = _cell_codes(ranked)
    grouped = ranked.groupby(cell, sort=False)
    out = grouped.head(1).copy()
    key = cell.loc[out.index]
    out["rule_id"] = key.map(grouped["rule_id"].agg(lambda r: "; ".join(map(str, r)))).to_numpy()
    out["message"] = key.map(grouped["message"].agg(lambda m: " | ".join(map(str, m)))).to_numpy()
    out["n_flags"] = key.map(grouped.size()).to_numpy()
    is_error = (ranked["severity"] == "error").groupby(cell, sort=False).any()
    out["severity"] = np.where(key.map(is_error).to_numpy(dtype=bool), "error", out["severity"])
    for column, how in (("accepted", "all"), ("would_change_colour", "any"), ("is_synthetic", "any")):
        out[column] = key.map(ranked[column].astype(bool).groupby(cell, sort=False).agg(how)).to_numpy(dtype=bool)
    out = out.reset_index(drop=True)
    out["flag_rank"] = np.arange(1, len(out) + 1)
    return out


def summarise(ranked: pd.DataFrame) -> dict:
    """Counts over all flags: an error is *open* (blocks publication) until it is accepted."""
    severity = ranked["severity"].astype(object)
    errors = (severity == "error").to_numpy()
    accepted = ranked["accepted"].to_numpy(dtype=bool)
    by_rule = ranked["rule_id"].astype(object).fillna("(none)").value_counts(sort=False)
    by_severity = severity.fillna("(none)").value_counts(sort=False)
    return {
        "flags": len(ranked),
        "errors": int(errors.sum()),
        "open_errors": int(open_error_mask(ranked).sum()),
        "accepted_errors": int((errors & accepted).sum()),
        "warnings": int((severity == "warning").sum()),
        "colour_changing": int(ranked["would_change_colour"].sum()),
        "by_rule": {str(k): int(v) for k, v in sorted(by_rule.items(), key=lambda kv: (-kv[1], str(kv[0])))},
        "by_severity": {str(k): int(v) for k, v in sorted(by_severity.items(), key=lambda kv: str(kv[0]))},
    }


def _truthy(value) -> bool:
    if value is None or value is pd.NA:
        return False
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "ja")
    try:
        return bool(value) and not (isinstance(value, float) and math.isnan(value))
    except (TypeError, ValueError):
        return False


def _present(value) -> bool:
    """A key that is there (not None, NaN, NA or an empty string)."""
    if value is None or value is pd.NA:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    try:
        return not pd.isna(value)
    except (TypeError, ValueError):
        return True


def _lookup(frame: pd.DataFrame | None, key: str, column: str) -> dict:
    if frame is None or key not in frame.columns or column not in frame.columns:
        return {}
    return dict(zip(frame[key].tolist(), frame[column].tolist()))


# ----------------------------------------------------------------------------------------------------------
# histories: the kommun's series, its peers' median, the national median of kommuner


#: a series for a chart: (years, values), both numpy arrays, only finite values
Series = tuple[np.ndarray, np.ndarray]
EMPTY: Series = (np.array([], dtype=int), np.array([], dtype=float))


class Histories:
    """Year → value series for the charts, as numpy arrays, built once per KPI and gender from ``values``.

    Per KPI and gender a matrix ``years × municipalities`` (NaN where no value); the kommun's series is a
    column, the peer median the row-wise median of its peers' columns, the national median that of the
    kommuner's columns.
    """

    def __init__(self, values: pd.DataFrame | None, municipalities: pd.DataFrame, peers: pd.DataFrame | None,
                 kpi_ids: set):
        self.boards: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}  # (kpi, gender) -> (years, matrix)
        self.national: dict[tuple, Series] = {}
        self._peer_cache: dict[tuple, Series] = {}
        self.peers = _peer_lists(municipalities, peers)
        self.position: dict = {}
        need = ["kpi_id", "municipality_id", "year", "gender", "value"]
        if values is None or not len(values) or not set(need) <= set(values.columns):
            return
        frame = values.loc[values["kpi_id"].isin(kpi_ids), need]
        years = pd.to_numeric(frame["year"], errors="coerce").to_numpy(dtype=float)
        keep = np.isfinite(years)
        frame, years = frame[keep], years[keep].astype(int)
        if not len(frame):
            return
        value = pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=float)
        mcode, mids = pd.factorize(frame["municipality_id"])
        self.position = {mid: i for i, mid in enumerate(mids.tolist())}
        genders = frame["gender"].astype(object)
        genders = genders.where(genders.notna() & (genders.astype(str).str.strip() != ""), "T")
        kcode, kpi_values = pd.factorize(frame["kpi_id"])
        sexcode, gender_values = pd.factorize(genders)
        gcode, combined = np.unique(kcode * len(gender_values) + sexcode, return_inverse=True)
        groups = [(kpi_values[c // len(gender_values)], gender_values[c % len(gender_values)]) for c in gcode]
        gcode = combined.ravel()
        kommun_columns = None
        if municipalities is not None and "is_kommun" in municipalities.columns:
            kommuner = set(municipalities.loc[municipalities["is_kommun"].map(_truthy), "municipality_id"])
            kommun_columns = np.array([mid in kommuner for mid in mids.tolist()], dtype=bool)
        order = np.argsort(gcode, kind="stable")
        bounds = np.searchsorted(gcode[order], np.arange(len(groups) + 1))
        for g, key in enumerate(groups):
            rows = order[bounds[g]:bounds[g + 1]]
            ys = np.unique(years[rows])
            matrix = np.full((len(ys), len(mids)), np.nan)
            matrix[np.searchsorted(ys, years[rows]), mcode[rows]] = value[rows]
            self.boards[key] = (ys, matrix)
            national = matrix[:, kommun_columns] if kommun_columns is not None else matrix
            self.national[key] = _median_series(ys, national)

    def series(self, kpi_id, municipality_id, gender) -> tuple[Series, Series, Series]:
        """(kommun, peer median, national median) for one KPI and gender; empty series when unknown."""
        key = (kpi_id, gender if _present(gender) else "T")
        board = self.boards.get(key)
        if board is None:
            return EMPTY, EMPTY, EMPTY
        ys, matrix = board
        own = EMPTY
        if municipality_id in self.position:
            column = matrix[:, self.position[municipality_id]]
            finite = np.isfinite(column)
            own = (ys[finite], column[finite])
        peer_ids = self.peers.get(municipality_id, ())
        peer_columns = tuple(self.position[p] for p in peer_ids if p in self.position)
        peer = EMPTY
        if peer_columns:
            cache_key = (key, peer_columns)
            if cache_key not in self._peer_cache:
                self._peer_cache[cache_key] = _median_series(ys, matrix[:, list(peer_columns)])
            peer = self._peer_cache[cache_key]
        return own, peer, self.national.get(key, EMPTY)


class _NoHistory:
    """Stands in for :class:`Histories` to measure the page without charts."""

    @staticmethod
    def series(*_) -> tuple[Series, Series, Series]:
        return EMPTY, EMPTY, EMPTY


_NO_HISTORY = _NoHistory()


def _median_series(years: np.ndarray, matrix: np.ndarray) -> Series:
    """Row-wise median ignoring NaN; years whose row has no value are left out."""
    if not matrix.shape[1]:
        return EMPTY
    has = np.isfinite(matrix).any(axis=1)
    if not has.any():
        return EMPTY
    with np.errstate(all="ignore"):
        median = np.nanmedian(matrix[has], axis=1)
    return years[has], median


def _peer_lists(municipalities: pd.DataFrame | None, peers: pd.DataFrame | None) -> dict[str, list]:
    """Each kommun's similar kommuner (itself excluded): from ``peers``, else from ``similar_group``."""
    out: dict[str, list] = {}
    if peers is not None and {"municipality_id", "peer_id"} <= set(peers.columns):
        for mid, peer in zip(peers["municipality_id"].tolist(), peers["peer_id"].tolist()):
            if _present(mid) and _present(peer) and peer != mid:
                out.setdefault(mid, []).append(peer)
        return {mid: sorted(set(ids)) for mid, ids in out.items()}
    if municipalities is not None and "similar_group" in municipalities.columns:
        members = municipalities.dropna(subset=["similar_group"])
        groups = members.groupby("similar_group")["municipality_id"].apply(list).to_dict()
        for mid, group in zip(members["municipality_id"].tolist(), members["similar_group"].tolist()):
            out[mid] = sorted(p for p in groups.get(group, []) if p != mid)
    return out


# ----------------------------------------------------------------------------------------------------------
# the chart


def history_svg(own: Series, peer: Series, national: Series, *, year, observed: float, low: float,
                high: float, expected: float, label: str) -> str:
    """A small line chart (inline SVG) of one flagged series; '' when there is nothing to draw.

    Coordinates are whole pixels (the chart is 190 × 54 px inside): enough for a sparkline, and it keeps
    2,000 charts in a few megabytes.
    """
    if not any(len(s[0]) for s in (own, peer, national)):
        return ""
    flagged_year = int(year) if _present(year) else None
    extra = [v for v in (observed, low, high, expected) if v is not None and np.isfinite(v)]
    numbers = np.concatenate([own[1], peer[1], national[1], np.array(extra, dtype=float)])
    numbers = numbers[np.isfinite(numbers)]
    marked = [np.array([flagged_year])] if flagged_year is not None else []
    years = np.concatenate([own[0], peer[0], national[0], *marked])
    if not len(numbers) or not len(years):
        return ""
    y_min, y_max = int(years.min()), int(years.max())
    v_min, v_max = float(numbers.min()), float(numbers.max())
    if v_max == v_min:
        pad = abs(v_max) * 0.1 or 1.0
        v_min, v_max = v_min - pad, v_max + pad

    def px(y) -> int:
        return round((X0 + X1) / 2 if y_max == y_min else X0 + (y - y_min) / (y_max - y_min) * (X1 - X0))

    def py(v) -> int:
        v = min(max(float(v), v_min), v_max)
        return round(Y1 - (v - v_min) / (v_max - v_min) * (Y1 - Y0))

    def line(series: Series, css: str) -> str:
        ys, vs = series
        if not len(ys):
            return ""
        d, dots = [], []
        breaks = np.r_[True, np.diff(ys) > 1, True]  # a gap of a year or more breaks the line
        for i, (y, v) in enumerate(zip(ys.tolist(), vs.tolist())):
            x, yy = px(y), py(v)
            if breaks[i] and breaks[i + 1]:
                dots.append(f'<circle class="{css}" cx="{x}" cy="{yy}" r="1.5"/>')
            d.append(f"M{x} {yy}" if breaks[i] else f" {x} {yy}")
        path = f'<path class="{css}" d="{"".join(d)}"/>' if len(ys) > len(dots) else ""
        return path + "".join(dots)

    body = []
    x = px(flagged_year) if flagged_year is not None else None
    if x is not None:
        body.append(f'<path class="fy" d="M{x} {Y0}V{Y1}"/>')
    finite_low, finite_high = low is not None and np.isfinite(low), high is not None and np.isfinite(high)
    if finite_low or finite_high:
        top = py(high) if finite_high else Y0
        bottom = py(low) if finite_low else Y1
        left, width = (x - 4, 8) if x is not None else (X0, X1 - X0)
        height = max(bottom - top, 1)
        body.append(f'<rect class="iv" x="{left}" y="{top}" width="{width}" height="{height}"/>')
    body += [line(national, "nat"), line(peer, "peer"), line(own, "own")]
    if expected is not None and np.isfinite(expected):
        ex, ey = (x if x is not None else X1), py(expected)
        body.append(f'<path class="ex" d="M{ex} {ey - 4}l4 4-4 4-4-4z"/>')
    obs = observed if observed is not None and np.isfinite(observed) else None
    if obs is None and flagged_year is not None and flagged_year in own[0]:
        obs = float(own[1][own[0] == flagged_year][0])
    if x is not None and obs is not None:
        body.append(f'<circle class="obs" cx="{x}" cy="{py(obs)}" r="2.6"/>')
    axis = (f'<text x="{X0 - 3}" y="{Y0 + 6}" class="ya">{html.escape(_short(v_max))}</text>'
            f'<text x="{X0 - 3}" y="{Y1}" class="ya">{html.escape(_short(v_min))}</text>'
            f'<text x="{X0}" y="{H - 3}">{y_min}</text>')
    if y_max != y_min:
        axis += f'<text x="{X1}" y="{H - 3}" class="ya">{y_max}</text>'
    history = _history_text(own)
    tooltip = f"{label}: {history}" if history else f"{label}: no values"
    return (f'<svg class="hist" viewBox="0 0 {W} {H}"><title>{html.escape(tooltip)}</title>'
            f'<path class="ax" d="M{X0} {Y1}H{X1}"/>{"".join(body)}{axis}</svg>')


def _history_text(series: Series) -> str:
    """The kommun's values as text: '2018–2022: 1, 2, 3, 4, 5', or 'year: value' pairs with gaps."""
    ys, vs = series
    if not len(ys):
        return ""
    numbers = [format_number(v) for v in vs.tolist()]
    if len(ys) > 1 and np.all(np.diff(ys) == 1):
        return f"{ys[0]}–{ys[-1]}: " + ", ".join(numbers)
    return ", ".join(f"{y}: {n}" for y, n in zip(ys.tolist(), numbers))


def _short(v: float) -> str:
    if abs(v) >= 10000:
        return f"{v / 1000:.0f}k"
    if abs(v) >= 100:
        return f"{v:.0f}"
    return f"{v:.3g}"


# ----------------------------------------------------------------------------------------------------------
# the page


CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:0 1.5rem 3rem;
color:#1d2430}
h1{font-size:1.5rem;margin:1.2rem 0 .3rem}
h2{margin-top:2rem;border-bottom:2px solid #d5dae2;padding-bottom:.2rem}
h3{font-size:1rem;margin:1.2rem 0 .3rem}.muted{color:#5b6575}.small{font-size:12px}
.cards{display:flex;flex-wrap:wrap;gap:.7rem;margin:.8rem 0}
.card{border:1px solid #d5dae2;border-radius:6px;padding:.5rem .9rem;min-width:8rem;background:#f7f8fa}
.card b{display:block;font-size:1.6rem}.card.block{background:#fdecea;border-color:#d93025}
.card.ok{background:#e6f4ea;border-color:#1e8e3e}
.banner{padding:.6rem .9rem;border-radius:6px;margin:.6rem 0;font-weight:600}
.banner.block{background:#d93025;color:#fff}.banner.ok{background:#1e8e3e;color:#fff}
.banner.note{background:#fff4ce;color:#5c4400;font-weight:400}
table{border-collapse:collapse;width:100%;margin:.4rem 0}
th,td{border-bottom:1px solid #e3e6eb;padding:.3rem .4rem;text-align:left;vertical-align:top}
th{background:#eef1f5;position:sticky;top:0;font-size:12px}
td.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
tr.error td:first-child{border-left:4px solid #d93025}tr.warning td:first-child{border-left:4px solid #f2a600}
tr.colour{background:#fff7e6}tr.error.colour{background:#fdecea}
tr.error.open td:first-child{border-left-width:6px}
tr.accepted,tr.accepted.colour{background:#f3f3f3;color:#4a4a4a}
tr.accepted td:first-child{border-left-color:#9aa0a6}
.badge{display:inline-block;border-radius:3px;padding:0 .35rem;font-size:11px;font-weight:700;
text-transform:uppercase;letter-spacing:.02em;white-space:nowrap;margin:1px 0}
.badge.error{background:#d93025;color:#fff}.badge.warning{background:#f2a600;color:#231a00}
.badge.colour{background:#7b1fa2;color:#fff}.badge.acc{background:#5f6368;color:#fff}
.rule{font-family:ui-monospace,Consolas,monospace;font-size:11px;color:#5b6575}
code{font-family:ui-monospace,Consolas,monospace}
svg.hist{display:block;overflow:visible;width:230px;height:74px}
td:last-child{min-width:240px}
svg.hist text{font-size:8px;fill:#5b6575}svg.hist .ya{text-anchor:end}
svg .ax{stroke:#c3c8d0;stroke-width:1}svg .fy{stroke:#d93025;stroke-width:1;stroke-dasharray:2 2}
svg .iv{fill:#1e8e3e;fill-opacity:.22;stroke:#1e8e3e;stroke-width:.6}
svg .own{fill:none;stroke:#1a4fa0;stroke-width:2}svg circle.own{fill:#1a4fa0;stroke:none}
svg .peer{fill:none;stroke:#e37400;stroke-width:1}svg circle.peer{fill:#e37400;stroke:none}
svg .nat{fill:none;stroke:#80868b;stroke-width:1;stroke-dasharray:3 2}svg circle.nat{fill:#80868b;stroke:none}
svg .obs{fill:#d93025;stroke:#fff;stroke-width:.8}svg .ex{fill:#fff;stroke:#1e8e3e;stroke-width:1.3}
.legend svg{vertical-align:middle}.legend span{margin-right:1rem;white-space:nowrap}
nav.tabs a{display:inline-block;padding:.3rem .8rem;border:1px solid #d5dae2;border-radius:5px 5px 0 0;
margin-right:.3rem;text-decoration:none;color:#1a4fa0;background:#f7f8fa}
nav.tabs a.on{background:#1a4fa0;color:#fff}
#controls{margin:.5rem 0}#controls input,#controls select{font:inherit;padding:.15rem .3rem}
details>summary{cursor:pointer;font-weight:600;margin:.6rem 0 .2rem}
@media print{nav.tabs,#controls{display:none}th{position:static}}
"""

JS = """
(function(){
var tabs=document.querySelectorAll('nav.tabs a'),secs=document.querySelectorAll('section.view');
if(!secs.length)return;
function show(id){secs.forEach(function(s){s.hidden=s.id!==id});
tabs.forEach(function(a){a.classList.toggle('on',a.getAttribute('href')==='#'+id)});}
function route(){var t=location.hash?document.getElementById(decodeURIComponent(location.hash.slice(1))):null;
var v=t?(t.classList.contains('view')?t:t.closest('section.view')):null;
show(v?v.id:secs[0].id);if(t&&t!==v)t.scrollIntoView();}
window.addEventListener('hashchange',route);route();
var c=document.getElementById('controls');if(!c)return;c.hidden=false;
var q=document.getElementById('q'),sev=document.getElementById('sev');
function filter(){var text=q.value.toLowerCase(),s=sev.value;
document.querySelectorAll('table.fl tbody tr').forEach(function(r){
var ok=(!text||r.textContent.toLowerCase().indexOf(text)>=0)
&&(!s||(' '+r.className+' ').indexOf(' '+s+' ')>=0);
r.hidden=!ok;});}
q.addEventListener('input',filter);sev.addEventListener('change',filter);
})();
"""


def _e(value) -> str:
    """Escaped text of a value; '' for a missing one."""
    return html.escape(str(value)) if _present(value) else ""


def _text(value) -> str:
    """A value as plain (unescaped) text; '' for a missing one."""
    return str(value) if _present(value) else ""


def _anchor(prefix: str, value) -> str:
    return prefix + re.sub(r"[^A-Za-z0-9_-]", "_", str(value))


def _interval(row, suffix: str) -> str:
    low, high, expected = row["expected_low"], row["expected_high"], row["expected_value"]
    parts = []
    finite_low, finite_high = np.isfinite(low), np.isfinite(high)
    if finite_low and finite_high:
        parts.append(f"{format_number(low)} – {format_number(high)}{suffix}")
    elif finite_low:
        parts.append(f"≥ {format_number(low)}{suffix}")
    elif finite_high:
        parts.append(f"≤ {format_number(high)}{suffix}")
    if np.isfinite(expected):
        parts.append(f"≈ {format_number(expected)}{suffix}")
    return html.escape(" · ".join(parts)) if parts else '<span class="muted">–</span>'


def _observed(row, suffix: str) -> str:
    value = row["observed_value"]
    if not np.isfinite(value):
        cell = _present(row["kpi_id"]) and _present(row["municipality_id"])
        return '<span class="muted">no value</span>' if cell else '<span class="muted">–</span>'
    return html.escape(format_number(value) + suffix)


def _badges(row) -> str:
    severity = str(row["severity"]) if _present(row["severity"]) else "?"
    css = severity if severity in ("error", "warning") else "warning"
    out = f'<span class="badge {css}">{html.escape(severity)}</span>'
    if row["would_change_colour"]:
        out += ' <span class="badge colour" title="the kommun\'s KKiK colour would change">colour</span>'
    if row["accepted"]:
        out += ' <span class="badge acc">accepted</span>'
    if row.get("is_synthetic"):
        out += (' <span class="badge" title="a value generated for the offline snapshot, not a real one">'
                'synthetic</span>')
    if _present(row.get("changed_since_publication")):  # fed by pipelines.publishing.revision.change_notes
        out += (f' <span class="badge changed" title="changed from the previous publication: '
                f'{_e(row["changed_since_publication"])}">changed</span>')
    return out


def _row_class(row) -> str:
    classes = [str(row["severity"]) if row["severity"] in ("error", "warning") else "warning"]
    if row["would_change_colour"]:
        classes.append("colour")
    if row["accepted"]:
        classes.append("accepted")
    elif row["severity"] == "error":
        classes.append("open")
    return " ".join(classes)


def _kpi_cell(row) -> str:
    if not _present(row["kpi_id"]):
        return '<span class="muted">all</span>'
    title = f'<br><span class="small">{_e(row["kpi_title"])}</span>' if _present(row["kpi_title"]) else ""
    return f'<a href="#{_anchor("k-", row["kpi_id"])}"><code>{_e(row["kpi_id"])}</code></a>{title}'


def _kommun_cell(row) -> str:
    if not _present(row["municipality_id"]):
        return '<span class="muted">all</span>'
    name = f' {_e(row["municipality_name"])}' if _present(row["municipality_name"]) else ""
    code = _e(row["municipality_id"])
    return f'<a href="#{_anchor("m-", row["municipality_id"])}"><code>{code}</code>{name}</a>'


def _accepted_cell(row) -> str:
    if not row["accepted"]:
        return ""
    by = _e(row["accepted_by"]) or "?"
    reason = _e(row["acceptance_reason"])
    # the reason can be long: folded, so the row stays short and the history chart stays in view
    reason = f'<details class="small"><summary>reason</summary>{reason}</details>' if reason else ""
    return f'<span class="small"><b>{by}</b></span>{reason}'



def _gender_cell(row) -> str:
    gender = row["gender"]
    if not _present(gender):
        return ""
    return _e(gender)


def _ranked_table(records: list[dict], units: dict, histories, chart_budget: int) -> tuple[str, int]:
    """The ranked flags table and the number of charts drawn.

    Charts are drawn in rank order: always for the first :data:`MIN_CHARTS` flags with a KPI and a
    kommun, then while their total size stays within ``chart_budget`` bytes (the rest of the page is
    built first, so the budget is what remains of :data:`HTML_BUDGET`).
    """
    head = ("<tr><th>#</th><th>Severity</th><th>Nyckeltal</th><th>Kommun</th><th>Year</th><th>Kön</th>"
            "<th>Observed</th><th>Expected / interval</th><th>Message</th><th>Contact</th>"
            "<th>Accepted by / reason</th><th>History</th></tr>")
    rows, drawn, used, charting = [], 0, 0, True
    for row in records:
        suffix = UNIT_SUFFIX.get(units.get(row["kpi_id"]) or "", "")
        chart = ""
        if _present(row["kpi_id"]) and _present(row["municipality_id"]):
            if charting:
                own, peer, national = histories.series(row["kpi_id"], row["municipality_id"], row["gender"])
                gender = row["gender"] if _present(row["gender"]) else "T"
                chart = history_svg(own, peer, national, year=row["year"], observed=row["observed_value"],
                                    low=row["expected_low"], high=row["expected_high"],
                                    expected=row["expected_value"],
                                    label=f'History of {row["kpi_id"]} in {row["municipality_id"]} '
                                          f"({gender})")
                if drawn >= MIN_CHARTS and used + len(chart) > chart_budget:
                    charting, chart = False, ""
                else:
                    drawn, used = drawn + 1, used + len(chart)
            if not chart:
                chart = '<span class="muted small">no history</span>' if charting else ""
        source = _e(row["source"])
        source = f'<br><span class="small muted">{source}</span>' if source else ""
        impact = row["impact_score"]
        impact_text = f'<br><span class="small muted" title="impact score">{impact:.1f}</span>' \
            if impact is not None and np.isfinite(impact) else ""
        rows.append(
            f'<tr id="f{row["flag_rank"]}" class="{_row_class(row)}">'
            f'<td class="n">{row["flag_rank"]}{impact_text}</td><td>{_badges(row)}</td>'
            f"<td>{_kpi_cell(row)}</td><td>{_kommun_cell(row)}</td>"
            f'<td class="n">{_e(row["year"])}</td><td>{_gender_cell(row)}</td>'
            f'<td class="n">{_observed(row, suffix)}</td><td>{_interval(row, suffix)}</td>'
            f'<td>{_e(row["message"])}<br><span class="rule">{_e(row["rule_id"])}</span></td>'
            f'<td>{_e(row["contact"])}{source}</td><td>{_accepted_cell(row)}</td><td>{chart}</td></tr>'
        )
    return f'<table class="fl"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>', drawn


def _group_view(records: list[dict], units: dict, *, key: str) -> str:
    """Flags grouped by ``key`` (municipality_id or kpi_id), groups in order of their best rank."""
    groups: dict = {}
    for row in records:
        groups.setdefault(row[key] if _present(row[key]) else None, []).append(row)
    if None in groups:  # the flags without a kommun (or KPI) come last
        groups[None] = groups.pop(None)
    by_kommun = key == "municipality_id"
    other_head = "Nyckeltal" if by_kommun else "Kommun"
    parts = []
    for value, rows_of_group in groups.items():
        first = rows_of_group[0]
        if by_kommun:
            label = NO_KOMMUN if value is None else f'{value} {_text(first["municipality_name"])}'.strip()
            anchor = _anchor("m-", value if value is not None else "none")
        else:
            label = NO_KPI if value is None else f'{value} {_text(first["kpi_title"])}'.strip()
            anchor = _anchor("k-", value if value is not None else "none")
        n_err = sum(r["severity"] == "error" for r in rows_of_group)
        n_open = sum(r["severity"] == "error" and not r["accepted"] for r in rows_of_group)
        n = len(rows_of_group)
        counts = f"{n} flag{'s' if n != 1 else ''}, {n_err} error{'s' if n_err != 1 else ''}"
        if n_open:
            counts += f", {n_open} open"
        rows = []
        for row in rows_of_group:
            suffix = UNIT_SUFFIX.get(units.get(row["kpi_id"]) or "", "")
            cell = _kpi_cell(row) if by_kommun else _kommun_cell(row)
            rows.append(
                f'<tr class="{_row_class(row)}"><td class="n"><a href="#f{row["flag_rank"]}">'
                f'{row["flag_rank"]}</a></td><td>{_badges(row)}</td><td>{cell}</td>'
                f'<td class="n">{_e(row["year"])}</td><td>{_gender_cell(row)}</td>'
                f'<td class="n">{_observed(row, suffix)}</td><td>{_interval(row, suffix)}</td>'
                f'<td>{_e(row["message"])}<br><span class="rule">{_e(row["rule_id"])}</span></td></tr>'
            )
        parts.append(
            f'<details open id="{anchor}"><summary>{html.escape(label)} '
            f'<span class="muted small">({counts})</span></summary><table class="fl"><thead><tr><th>#</th>'
            f"<th>Severity</th><th>{other_head}</th><th>Year</th><th>Kön</th><th>Observed</th>"
            f'<th>Expected / interval</th><th>Message</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
            f"</details>"
        )
    return "".join(parts)


def _legend() -> str:
    def sample(css: str) -> str:
        return f'<svg width="22" height="8"><line class="{css}" x1="1" y1="4" x2="21" y2="4"/></svg>'

    return (
        '<p class="legend small">'
        f'<span>{sample("own")} the kommun\'s series</span>'
        f'<span>{sample("peer")} median of similar kommuner</span>'
        f'<span>{sample("nat")} national median of kommuner</span>'
        '<span><svg width="10" height="10"><circle class="obs" cx="5" cy="5" r="3"/></svg> observed '
        '(flagged year, dashed red line)</span>'
        '<span><svg width="12" height="12"><rect class="iv" x="2" y="1" width="8" height="10"/></svg> '
        'expected interval</span>'
        '<span><svg width="12" height="12"><path class="ex" d="M6 1.5l4.5 4.5-4.5 4.5-4.5-4.5z"/>'
        '</svg> expected value</span></p>'
    )


def _summary_block(summary: dict) -> str:
    open_errors = summary["open_errors"]
    if not summary["flags"]:
        banner = '<div class="banner ok">Nothing to review: the watch raised no flags.</div>'
    elif open_errors:
        banner = (f'<div class="banner block">{open_errors} open error{"s" if open_errors != 1 else ""} '
                  f'block{"s" if open_errors == 1 else ""} publication: correct the data or accept each '
                  "error (with a name and a reason) in expectations/accepted_flags.csv.</div>")
    else:
        banner = '<div class="banner ok">No open errors: the watch does not block publication.</div>'
    cards = [
        ("Flags", summary["flags"], ""),
        ("Open errors (block publication)", open_errors, "block" if open_errors else "ok"),
        ("Accepted errors", summary["accepted_errors"], ""),
        ("Errors", summary["errors"], ""),
        ("Warnings", summary["warnings"], ""),
        ("Would change a colour", summary["colour_changing"], ""),
    ]
    cards_html = "".join(f'<div class="card {css}"><b>{n}</b>{html.escape(label)}</div>'
                         for label, n, css in cards)
    others = {k: v for k, v in summary["by_severity"].items() if k not in ("error", "warning")}
    extra = ""
    if others:
        extra = '<p class="small muted">Other severities: ' + ", ".join(
            f"{html.escape(k)}: {v}" for k, v in others.items()) + "</p>"
    rules = ""
    if summary["by_rule"]:
        items = "".join(f'<tr><td class="rule">{html.escape(k)}</td><td class="n">{v}</td></tr>'
                        for k, v in summary["by_rule"].items())
        rules = (f'<details><summary>Flags by rule ({len(summary["by_rule"])} rules)</summary>'
                 f'<table style="width:auto"><thead><tr><th>Rule</th><th>Flags</th></tr></thead>'
                 f"<tbody>{items}</tbody></table></details>")
    return f'{banner}<div class="cards">{cards_html}</div>{extra}{rules}'


def render_html(ranked: pd.DataFrame, summary: dict, values: pd.DataFrame, kpis: pd.DataFrame,
                municipalities: pd.DataFrame, *, title: str, peers: pd.DataFrame | None, max_flags: int,
                csv_name: str | None) -> str:
    """The report page as one self-contained HTML string."""
    max_flags = max(0, int(max_flags))
    shown = ranked.head(max_flags)
    records = shown.to_dict("records")
    left_out = len(ranked) - len(shown)
    units = _lookup(kpis, "kpi_id", "unit")
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    csv_text = f" (<code>{html.escape(csv_name)}</code>)" if csv_name else ""
    head = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
        f"<header><h1>{html.escape(title)}</h1>",
        (f'<p class="muted small">Generated {generated}. Flags are ranked by impact: a flag that would '
         "change a kommun's KKiK colour first, then errors before warnings, then the larger deviation. "
         "Errors block publication until corrected or accepted.</p>"),
        _summary_block(summary),
    ]
    if left_out:
        head.append(f'<div class="banner note">This page shows the top {len(shown)} of {len(ranked)} flags; '
                    f"{left_out} lower-ranked flag{'s are' if left_out != 1 else ' is'} left out here. "
                    f"All flags are in the CSV{csv_text}.</div>")
    if not records:
        if not len(ranked):
            head.append('<p id="nothing">There is nothing to review.</p>')
        return "\n".join(head + ["</header></body></html>"])

    views = [
        '<section class="view" id="per-kommun"><h2>Per kommun</h2>',
        ('<p class="small muted">Each kommun with flags, its flags in rank order (the rank links to the flag '
        "in the ranked table, with its chart).</p>"),
        _group_view(records, units, key="municipality_id"),
        "</section>",
        '<section class="view" id="per-nyckeltal"><h2>Per nyckeltal</h2>',
        '<p class="small muted">Each nyckeltal with flags, its flags in rank order.</p>',
        _group_view(records, units, key="kpi_id"),
        "</section>",
        f"<script>{JS}</script></body></html>",
    ]
    kpi_ids = {r["kpi_id"] for r in records if _present(r["kpi_id"])}
    histories = Histories(values, municipalities, peers, kpi_ids)
    table_text, _ = _ranked_table(records, units, _NO_HISTORY, chart_budget=0)
    rest = sum(len(part.encode()) for part in head + views) + len(table_text.encode()) + 2000
    table, drawn = _ranked_table(records, units, histories, chart_budget=max(0, HTML_BUDGET - rest))
    chartable = sum(_present(r["kpi_id"]) and _present(r["municipality_id"]) for r in records)
    note = ""
    if drawn < chartable:
        note = (f'<p class="small muted">History charts are drawn for the first {drawn} flags with a kommun '
                f"and a nyckeltal, to keep this file small; the other {chartable - drawn} have none "
                "here.</p>")
    body = [
        "</header>",
        ('<nav class="tabs"><a href="#ranked">Ranked flags</a><a href="#per-kommun">Per kommun</a>'
        '<a href="#per-nyckeltal">Per nyckeltal</a></nav>'),
        ('<div id="controls" hidden>Filter: <input id="q" type="search" placeholder="text, code, rule…"> '
        '<select id="sev"><option value="">all flags</option><option value="open">open errors</option>'
        '<option value="error">errors</option><option value="warning">warnings</option>'
        '<option value="colour">colour-changing</option><option value="accepted">accepted</option>'
        "</select></div>"),
        '<section class="view" id="ranked"><h2>Ranked flags</h2>',
        _legend(),
        note,
        table,
        "</section>",
    ]
    return "\n".join(head + body + views)
