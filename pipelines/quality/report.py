"""The reviewers' report of the data-error watch: every flag as CSV, and one self-contained HTML page.

Usage::

    summary = write_report(flags, values, kpis, municipalities, csv_path=Path("flags.csv"),
                           html_path=Path("flags.html"), peers=peers)

* The CSV holds *all* flags, ranked (``flag_rank`` 1 = look at it first), with the KPI title and the
  municipality name next to the codes, in ``cell_rules`` every rule that fired on the same cell and in
  ``cell_rank`` that cell's row (#) in the HTML review list.
  It is written as UTF-8 with a BOM so Excel shows å, ä and ö.
* The HTML page's review list has one row per cell (:func:`review_by_cell`): a value several rules
  flag is looked at once, with all its rules and messages.
* The HTML page is one file with no external resource (inline CSS and SVG, a tiny optional script):
  a summary (counts by severity, open errors that block publication, accepted errors), the ranked flags
  with the history of each flagged series as a small chart, and the same flags grouped per kommun and
  per nyckeltal. Only the first ``max_flags_in_html`` flags are shown; the page says how many were left
  out (the CSV has them all).

The chart of a flag shows the kommun's series of that KPI and gender over all years in ``values``
(thick line), the median of its similar kommuner and the national median of kommuner (thin lines), the
flagged year (vertical line, the observed value as a red dot) and what the rule expected (the interval as a
bar at the flagged year, the expected value as a hollow diamond).

The similar kommuner are the warehouse's one definition: ``peers`` holds the rows of the model
``watch_similar_peer`` (``similar_group_kind, year, municipality_id, peer_id``: the group
int_similar_kommun_group_chosen picks, as kkik_result's similar-kommuner mean and the watch's
``outlier.similar`` do). A chart uses the pairs of its figure's ``similar_group_kind`` (the ``kpis`` column;
'övergripande' where it is absent) and of the flagged year, for every year it draws. Without such pairs
(no ``peers``, a kommun without a group) the chart has no peer line.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import duckdb
import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup

from pipelines.quality.acceptance import flag_counts, open_error_mask
from pipelines.quality.flags import FLAG_COLUMNS, UNIT_SUFFIX, format_number
from pipelines.quality.warehouse import macro

#: Column order of the CSV; any further input columns (accepted_on, rule_group, load_id ...) follow.
CSV_COLUMNS = [
    "flag_rank", "cell_rank", "kpi_id", "kpi_title", "municipality_id", "municipality_name", "year", "gender", "rule_id",
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
W, H = 200, 74
X0, X1, Y0, Y1 = 34, 194, 6, 60


# ----------------------------------------------------------------------------------------------------------
# entry point

#: the rows the HTML page shows (write_report) and whose figures' history it charts (charted_kpis)
MAX_FLAGS_IN_HTML = 2000


def write_report(flags: pd.DataFrame, values: pd.DataFrame, kpis: pd.DataFrame, municipalities: pd.DataFrame,
                 *, csv_path: Path | None, html_path: Path | None, title: str = "KKiK data-error watch",
                 peers: pd.DataFrame | None = None, max_flags_in_html: int = MAX_FLAGS_IN_HTML) -> dict:
    """Write the ranked flags as CSV and/or HTML (either path may be ``None``); return a summary dict.

    ``values``: every year of the figures the page charts (:func:`charted_kpis`), the history its charts
    draw; ``peers``: the rows of the model ``watch_similar_peer`` for the checked years (the peer line).
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
    # the row of the flag's cell in the HTML review list (review_by_cell: cells in the order of their top flag)
    out["cell_rank"] = pd.factorize(_cell_codes(out))[0] + 1 if len(out) else pd.Series([], dtype=int)
    rest = [c for c in out.columns if c not in CSV_COLUMNS]
    return out[CSV_COLUMNS + rest]


_CELL = ["kpi_id", "municipality_id", "year", "gender"]


def _cell_codes(ranked: pd.DataFrame) -> pd.Series:
    """One string per cell (a KPI-wide flag is its own cell: its empty parts stay empty). A flag of neither a
    figure nor a kommun (an inbox file's quarantined rows, say) is a row of its own: two files' flags of
    one year are not one cell."""
    codes = ranked[_CELL].astype(object).where(ranked[_CELL].notna(), "").astype(str).agg("|".join, axis=1)
    no_cell = ranked["kpi_id"].isna() & ranked["municipality_id"].isna()
    if no_cell.any():
        codes = codes.where(~no_cell, codes + "|" + ranked["rule_id"].astype(str) + "|" + ranked["message"].astype(str))
    return codes


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
    messages in rank order (a message's ``FIGURE KOMMUN YEAR (gender):`` opening only once), ``n_flags``
    counts them; the cell is an error if any flag is, would change a colour if any flag would, and is
    synthetic if any flag is. It is *accepted* when it has an accepted flag and no open error (an error is
    open until accepted; a warning beside it needs no acceptance), with the acceptance's name and reason.
    """
    if not len(ranked):
        return ranked.assign(n_flags=pd.Series([], dtype=int))
    cell = _cell_codes(ranked)
    grouped = ranked.groupby(cell, sort=False)
    out = grouped.head(1).copy()
    key = cell.loc[out.index]
    out["rule_id"] = key.map(grouped["rule_id"].agg(lambda r: "; ".join(map(str, r)))).to_numpy()
    out["message"] = key.map(grouped["message"].agg(_join_messages)).to_numpy()
    out["n_flags"] = key.map(grouped.size()).to_numpy()
    is_error = (ranked["severity"] == "error").groupby(cell, sort=False).any()
    out["severity"] = np.where(key.map(is_error).to_numpy(dtype=bool), "error", out["severity"])
    for column in ("would_change_colour", "is_synthetic"):
        out[column] = key.map(ranked[column].astype(bool).groupby(cell, sort=False).any()).to_numpy(dtype=bool)
    accepted = ranked["accepted"].astype(bool)
    open_error = open_error_mask(ranked).groupby(cell, sort=False).any()
    out["accepted"] = (key.map(accepted.groupby(cell, sort=False).any()).to_numpy(dtype=bool)
                       & ~key.map(open_error).to_numpy(dtype=bool))
    first_acceptance = ranked.loc[accepted, ["accepted_by", "acceptance_reason"]].groupby(cell[accepted]).first()
    for column in ("accepted_by", "acceptance_reason"):
        out[column] = np.where(out["accepted"], key.map(first_acceptance[column]).to_numpy(dtype=object), None)
    out = out.reset_index(drop=True)
    out["flag_rank"] = np.arange(1, len(out) + 1)
    return out


def _join_messages(messages: pd.Series) -> str:
    """A cell's messages in rank order, ``" | "`` between them; the opening that names the cell
    (``U23402 0509 Ödeshög 2022 (men): ``) is kept on the first only."""
    texts = [str(m) for m in messages]
    opening = texts[0].split(": ", 1)[0] + ": " if ": " in texts[0] else None
    return " | ".join([texts[0], *(t[len(opening):] if opening and t.startswith(opening) else t for t in texts[1:])])


def summarise(ranked: pd.DataFrame) -> dict:
    """Counts over all flags: an error is *open* (blocks publication) until it is accepted."""
    severity = ranked["severity"].astype(object)
    by_rule = ranked["rule_id"].astype(object).fillna("(none)").value_counts(sort=False)
    by_severity = severity.fillna("(none)").value_counts(sort=False)
    return {
        **flag_counts(ranked),
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
#: the columns of the model watch_similar_peer the peer line reads
PEER_COLUMNS = ["similar_group_kind", "year", "municipality_id", "peer_id"]
#: the group kind of a figure the kpis frame does not place (the watch's KPI default)
DEFAULT_GROUP_KIND = "övergripande"
#: the flagged year of a chart whose flag has none: no pairs have it, so no peer line
NO_YEAR = -1


def series_key(row: dict) -> tuple:
    """The key of a flag's chart in :func:`histories`: (kpi, kommun, gender, flagged year)."""
    gender = row["gender"] if _present(row["gender"]) else "T"
    return row["kpi_id"], row["municipality_id"], gender, int(row["year"]) if _present(row["year"]) else NO_YEAR


def charted_kpis(flags: pd.DataFrame, max_flags_in_html: int = MAX_FLAGS_IN_HTML) -> list[str]:
    """The KPI ids whose history the HTML page may chart (the cells of its first ``max_flags_in_html`` rows
    with a kommun): what a caller must give ``write_report`` in ``values``, every year of them."""
    rows = review_by_cell(prepare_flags(flags, None, None)).head(max(0, int(max_flags_in_html)))
    charted = rows[rows["kpi_id"].map(_present) & rows["municipality_id"].map(_present)]
    return sorted(set(charted["kpi_id"].astype(str)))


def histories(values: pd.DataFrame | None, kpis: pd.DataFrame | None, municipalities: pd.DataFrame | None,
              peers: pd.DataFrame | None, rows: list[dict]) -> dict[tuple, dict[str, Series]]:
    """:func:`series_key` of each charted flag → its series per year, in DuckDB: ``own`` (the kommun's
    values), ``peer`` (the median of its similar kommuner: the ``peers`` pairs of the figure's
    ``similar_group_kind`` and the flagged year) and ``nat`` (the median of all kommuner; of all units
    without ``is_kommun``)."""
    need = ["kpi_id", "municipality_id", "year", "gender", "value"]
    kinds = _lookup(kpis, "kpi_id", "similar_group_kind")
    wanted = pd.DataFrame([(*series_key(r), kinds.get(r["kpi_id"]) if _present(kinds.get(r["kpi_id"]))
                            else DEFAULT_GROUP_KIND)
                           for r in rows if _present(r["kpi_id"]) and _present(r["municipality_id"])],
                          columns=["kpi_id", "municipality_id", "gender", "flag_year", "similar_group_kind"],
                          dtype=object).drop_duplicates()
    if values is None or not len(values) or not len(wanted) or not set(need) <= set(values.columns):
        return {}
    wanted["flag_year"] = wanted["flag_year"].astype(int)
    municipalities = municipalities if municipalities is not None else pd.DataFrame(columns=["municipality_id"])
    kommuner = municipalities.loc[municipalities["is_kommun"].map(_truthy), ["municipality_id"]] \
        if "is_kommun" in municipalities.columns else values[["municipality_id"]].drop_duplicates()
    if peers is None:
        peers = pd.DataFrame(columns=PEER_COLUMNS)
    elif not set(PEER_COLUMNS) <= set(peers.columns):
        raise ValueError(f"peers must hold the columns of watch_similar_peer {PEER_COLUMNS}; it has "
                         f"{list(peers.columns)}")
    pairs = peers[PEER_COLUMNS].astype({"similar_group_kind": object, "year": "Int64", "municipality_id": object,
                                        "peer_id": object})
    with duckdb.connect(":memory:") as con:
        for name, frame in (("given", values[need]), ("wanted", wanted), ("kommuner", kommuner), ("peers", pairs)):
            con.register(name, frame)
        series = con.execute("""
            with v as (
                select kpi_id, municipality_id, cast(year as integer) as year,
                    coalesce(nullif(trim(cast(gender as varchar)), ''), 'T') as gender, cast(value as double) as value
                from given
                where kpi_id in (select kpi_id from wanted) and try_cast(year as double) is not null
                    and isfinite(try_cast(value as double))
            ),
            national as (
                select kpi_id, gender, year, {stats}
                from v where municipality_id in (select municipality_id from kommuner) group by all
            ),
            w as (select kpi_id, municipality_id, gender, flag_year, similar_group_kind from wanted),
            peer_values as (
                select w.kpi_id, w.municipality_id, w.gender, w.flag_year, v.year, v.value as peer_value from w
                inner join peers as p
                    on p.municipality_id = w.municipality_id and p.similar_group_kind = w.similar_group_kind
                    and cast(p.year as integer) = w.flag_year and p.peer_id <> w.municipality_id
                inner join v on v.municipality_id = p.peer_id and v.kpi_id = w.kpi_id and v.gender = w.gender
            ),
            peer_stats as (
                select kpi_id, municipality_id, gender, flag_year, year, {peer_stats}
                from peer_values group by all
            )
            select w.kpi_id, w.municipality_id, w.gender, w.flag_year, 'own' as series, v.year, v.value
            from w inner join v using (kpi_id, municipality_id, gender)
            union all
            select kpi_id, municipality_id, gender, flag_year, 'peer', year, median from peer_stats
            union all
            select w.kpi_id, w.municipality_id, w.gender, w.flag_year, 'nat', n.year, n.median
            from w inner join national as n using (kpi_id, gender)
            order by all""".format(stats=macro("robust_stats", "value"),
                                   peer_stats=macro("robust_stats", "peer_value"))).df()
    out: dict[tuple, dict[str, Series]] = {}
    for (kpi, mid, gender, flag_year, name), part in series.groupby(
            ["kpi_id", "municipality_id", "gender", "flag_year", "series"]):
        out.setdefault((kpi, mid, gender, int(flag_year)), {})[name] = (part["year"].to_numpy(dtype=int),
                                                                        part["value"].to_numpy(dtype=float))
    return out


# ----------------------------------------------------------------------------------------------------------
# the chart


def history_svg(own: Series, peer: Series, national: Series, *, year, observed: float, low: float,
                high: float, expected: float, label: str) -> str:
    """A small line chart (inline SVG) of one flagged series; '' when there is nothing to draw.

    Coordinates are whole pixels (the chart is 160 × 54 px inside): enough for a sparkline, and it keeps
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

    def line(series: Series, css: str) -> tuple[str, str, list]:
        """A path through the years in a row (a gap of a year or more breaks it), and dots for lone years."""
        ys, vs = series
        d, dots = [], []
        breaks = np.r_[True, np.diff(ys) > 1, True]
        for i, (y, v) in enumerate(zip(ys.tolist(), vs.tolist())):
            if breaks[i] and breaks[i + 1]:
                dots.append((px(y), py(v)))
            d.append(f"M{px(y)} {py(v)}" if breaks[i] else f" {px(y)} {py(v)}")
        return css, "".join(d) if len(ys) > len(dots) else "", dots

    x = px(flagged_year) if flagged_year is not None else None
    interval = None
    if (low is not None and np.isfinite(low)) or (high is not None and np.isfinite(high)):
        top = py(high) if high is not None and np.isfinite(high) else Y0
        bottom = py(low) if low is not None and np.isfinite(low) else Y1
        left, width = (x - 4, 8) if x is not None else (X0, X1 - X0)
        interval = (left, top, width, max(bottom - top, 1))
    obs = observed if observed is not None and np.isfinite(observed) else None
    if obs is None and flagged_year is not None and flagged_year in own[0]:
        obs = float(own[1][own[0] == flagged_year][0])
    history = _history_text(own)
    chart = {
        "w": W, "h": H, "x0": X0, "x1": X1, "y0": Y0, "y1": Y1, "x": x, "interval": interval,
        "lines": [line(s, css) for s, css in ((national, "nat"), (peer, "peer"), (own, "own"))],
        "expected": ((x if x is not None else X1), py(expected)) if expected is not None and np.isfinite(expected)
        else None,
        "observed": (x, py(obs)) if x is not None and obs is not None else None,
        "v_max": _short(v_max), "v_min": _short(v_min), "y_min": y_min, "y_max": y_max,
        "tooltip": f"{label}: {history}" if history else f"{label}: no values",
    }
    return str(_environment().get_template("watch_chart.svg.j2").module.chart(chart))


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


#: the page's style and its small optional script, inlined so the page stays one self-contained file
TEMPLATES = Path(__file__).parent / "templates"
CSS = (TEMPLATES / "report.css").read_text(encoding="utf-8")
JS = (TEMPLATES / "report.js").read_text(encoding="utf-8")


def _anchor(value, prefix: str) -> str:
    return prefix + re.sub(r"[^A-Za-z0-9_-]", "_", str(value))


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    env.tests["present"] = _present
    env.filters.update(anchor=_anchor, text=lambda v: str(v) if _present(v) else "")
    return env


def _template() -> jinja2.Template:
    return _environment().get_template("watch_report.html.j2")


def _interval(row, suffix: str) -> str:
    low, high, expected = row["expected_low"], row["expected_high"], row["expected_value"]
    parts = []
    if np.isfinite(low) and np.isfinite(high):
        parts.append(f"{format_number(low)} – {format_number(high)}{suffix}")
    elif np.isfinite(low):
        parts.append(f"≥ {format_number(low)}{suffix}")
    elif np.isfinite(high):
        parts.append(f"≤ {format_number(high)}{suffix}")
    if np.isfinite(expected):
        parts.append(f"≈ {format_number(expected)}{suffix}")
    return " · ".join(parts)


def _row(row: dict, units: dict) -> dict:
    """A flag as the template shows it: the numbers formatted with the figure's unit, its CSS classes."""
    suffix = UNIT_SUFFIX.get(units.get(row["kpi_id"]) or "", "")
    severity = str(row["severity"]) if row["severity"] in ("error", "warning") else "warning"
    state = ["colour"] * bool(row["would_change_colour"]) + (
        ["accepted"] if row["accepted"] else ["open"] * (row["severity"] == "error"))
    impact = row["impact_score"]
    return {**row, "interval": _interval(row, suffix), "css": " ".join([severity, *state]), "chart": "",
            "observed": format_number(row["observed_value"]) + suffix if np.isfinite(row["observed_value"]) else None,
            "impact": impact if impact is not None and np.isfinite(impact) else None,
            # what changed in the cell since the previous publication (pipelines.publishing.revision)
            "changed": row.get("changed_since_publication") if _present(row.get("changed_since_publication"))
            else None}


def _groups(rows: list[dict], key: str) -> list[dict]:
    """Flags grouped by ``key`` (municipality_id or kpi_id), groups in order of their best rank; the flags
    without a kommun (or KPI) come last."""
    groups: dict = {}
    for row in rows:
        groups.setdefault(row[key] if _present(row[key]) else None, []).append(row)
    if None in groups:
        groups[None] = groups.pop(None)
    by_kommun = key == "municipality_id"
    out = []
    for value, members in groups.items():
        name = members[0]["municipality_name" if by_kommun else "kpi_title"]
        label = (NO_KOMMUN if by_kommun else NO_KPI) if value is None else \
            f"{value} {name if _present(name) else ''}".strip()
        out.append({"anchor": _anchor(value if value is not None else "none", "m-" if by_kommun else "k-"),
                    "label": label, "rows": members, "n": len(members),
                    "errors": sum(r["severity"] == "error" for r in members),
                    "open": sum(r["severity"] == "error" and not r["accepted"] for r in members)})
    return out


def _draw_charts(rows: list[dict], series: dict[tuple, dict[str, Series]], budget: int) -> int:
    """Charts in rank order: always for the first :data:`MIN_CHARTS` flags with a KPI and a kommun, then
    while their total size stays within ``budget`` bytes; returns how many were drawn."""
    drawn = used = 0
    for row in rows:
        if not (_present(row["kpi_id"]) and _present(row["municipality_id"])):
            continue
        gender = row["gender"] if _present(row["gender"]) else "T"
        own, peer, national = (series.get(series_key(row), {}).get(name, EMPTY) for name in ("own", "peer", "nat"))
        chart = history_svg(own, peer, national, year=row["year"], observed=row["observed_value"],
                            low=row["expected_low"], high=row["expected_high"], expected=row["expected_value"],
                            label=f'History of {row["kpi_id"]} in {row["municipality_id"]} ({gender})')
        if drawn >= MIN_CHARTS and used + len(chart) > budget:
            for rest in rows[rows.index(row):]:
                rest["chart"] = ""
            break
        row["chart"] = Markup(chart) if chart else Markup('<span class="muted small">no history</span>')
        drawn, used = drawn + 1, used + len(chart)
    return drawn


def render_html(ranked: pd.DataFrame, summary: dict, values: pd.DataFrame, kpis: pd.DataFrame,
                municipalities: pd.DataFrame, *, title: str, peers: pd.DataFrame | None, max_flags: int,
                csv_name: str | None) -> str:
    """The report page as one self-contained HTML string (template ``templates/watch_report.html.j2``)."""
    units = _lookup(kpis, "kpi_id", "unit")
    rows = [_row(r, units) for r in ranked.head(max(0, int(max_flags))).to_dict("records")]
    page = {
        "title": title, "summary": summary, "rows": rows, "total": len(ranked), "left_out": len(ranked) - len(rows),
        "csv_name": csv_name, "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "other_severities": {k: v for k, v in summary["by_severity"].items() if k not in ("error", "warning")},
        "by_kommun": _groups(rows, "municipality_id"), "by_kpi": _groups(rows, "kpi_id"),
        "css": Markup(CSS), "js": Markup(JS),
        "chartable": sum(_present(r["kpi_id"]) and _present(r["municipality_id"]) for r in rows),
    }
    rest = len(_template().render(**page, drawn=page["chartable"]).encode())
    drawn = _draw_charts(rows, histories(values, kpis, municipalities, peers, rows), max(0, HTML_BUDGET - rest))
    return _template().render(**page, drawn=drawn)
