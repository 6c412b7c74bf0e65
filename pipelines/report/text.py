"""Swedish number formatting and the descriptive national text after each table.

The text is written from the numbers of each figure (how the kommun median moved, how many kommuner
improved, how wide the spread is and whether it narrowed), so two figures only read alike when their
results do. It describes, it does not judge: "beskrivande analys av resultaten ... på en nationell nivå".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

UNIT_SUFFIX = {"percent": " %", "days": " dagar", "kr": " kr", "index": "", "count": ""}
#: The unit as a reader sees it beside a figure's name (the catalogue's unit codes are English).
UNIT_LABEL = {"percent": "%", "days": "dagar", "kr": "kr", "index": "index", "count": "antal"}
UNIT_DECIMALS = {"percent": 0, "days": 0, "kr": 0, "index": 0, "count": 1}


def number(value: float | None, unit: str | None = None, *, decimals: int | None = None,
           suffix: bool = False) -> str:
    """``12 345,6`` style: a space between thousands, a decimal comma; "–" for no value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    places = UNIT_DECIMALS.get(unit or "", 1) if decimals is None else decimals
    if decimals is None and places == 0 and unit != "kr" and abs(value) < 10:
        places = 1  # 2,1 % and 4,5 dagar: a whole number would hide the differences between kommuner
    text = f"{value:,.{places}f}".replace(",", "\u00a0").replace(".", ",")
    if text in ("-0", "-0,0"):
        text = text[1:]
    return text + (UNIT_SUFFIX.get(unit or "", "") if suffix else "")


@dataclass(frozen=True)
class YearStats:
    """One figure-year among all kommuner (gender T)."""

    kkik_year: int
    n: int
    median: float | None
    q1: float | None
    q3: float | None
    low: float | None
    high: float | None
    improved: int
    worsened: int
    unchanged: int


def year_stats(rows: pd.DataFrame, kkik_year: int, direction: str) -> YearStats:
    """The national numbers of one figure-year from the kommun rows (gender T) of the published mart.

    Median, quartiles, min and max are the mart's (``kkik_result.national_*``, defined in dbt); a kommun
    improved when the mart's change from the previous year goes the figure's better way (for figures
    without a direction: increased).
    """
    change = rows["change_from_previous_year"].dropna().to_numpy(dtype=float)
    better = -change if direction == "lower" else change

    def national(column: str) -> float | None:
        present = rows[column].dropna()
        return float(present.iloc[0]) if len(present) else None

    return YearStats(
        kkik_year=kkik_year,
        n=int(rows["value"].notna().sum()),
        median=national("national_median"),
        q1=national("national_q1"),
        q3=national("national_q3"),
        low=national("national_min"),
        high=national("national_max"),
        improved=int((better > 0).sum()),
        worsened=int((better < 0).sum()),
        unchanged=int((better == 0).sum()),
    )


def _moved(before: float, after: float, unit: str) -> str:
    """"steg från 80 % till 84 %" / "sjönk …" / "var oförändrad på …"."""
    if number(before, unit) == number(after, unit):
        return f"var i stort sett oförändrad, {number(after, unit, suffix=True)}"
    verb = "steg" if after > before else "sjönk"
    return f"{verb} från {number(before, unit, suffix=True)} till {number(after, unit, suffix=True)}"


def _share_phrase(part: int, whole: int) -> str:
    share = part / whole
    if share >= 0.75:
        return "en klar majoritet"
    if share > 0.55:
        return "en majoritet"
    if share >= 0.45:
        return "ungefär hälften"
    if share >= 0.25:
        return "en minoritet"
    return "en liten del"


def national_text(stats: list[YearStats], direction: str, unit: str,
                  not_loaded: frozenset[int] = frozenset()) -> str:
    """Two to four sentences on the national results of one figure over the report's years (``not_loaded``: its
    KKiK years whose period the published mart does not hold, which are no statement about values)."""
    with_values = [s for s in stats if s.n]
    if not with_values:
        loaded = [s.kkik_year for s in stats if s.kkik_year not in not_loaded]
        if not loaded:
            return "Nyckeltalets år finns inte i den publicerade marten (inte laddade)."
        if len(loaded) < len(stats):
            shown = ", ".join(map(str, loaded))
            return (f"Inga kommuner har värden för nyckeltalet under de år som finns i den publicerade marten "
                    f"({shown}).")
        return "Inga kommuner har värden för nyckeltalet under de fyra åren."
    last = with_values[-1]
    sentences = []
    if last.kkik_year != stats[-1].kkik_year:
        if stats[-1].kkik_year in not_loaded:
            sentences.append(f"KKiK {stats[-1].kkik_year} finns inte i den publicerade marten för nyckeltalet (inte "
                             f"laddat); senaste år med värden är {last.kkik_year}.")
        else:
            sentences.append(f"För KKiK {stats[-1].kkik_year} finns inga värden; senaste år med värden är "
                             f"{last.kkik_year}.")
    if len(with_values) >= 2 and last.median is not None and with_values[-2].median is not None:
        before = with_values[-2]
        sentences.append(f"Medianen för kommunerna {_moved(before.median, last.median, unit)} mellan "
                         f"{before.kkik_year} och {last.kkik_year}.")
    elif last.median is not None:
        sentences.append(f"Medianen för de {last.n} kommunerna med värden är "
                         f"{number(last.median, unit, suffix=True)} ({last.kkik_year}).")
    compared = last.improved + last.worsened + last.unchanged
    if compared >= 5:
        up, down = ("förbättrade", "försämrade") if direction in ("higher", "lower") else ("ökade", "minskade")
        lead = max(last.improved, last.worsened)
        leading_verb = up if last.improved >= last.worsened else down
        if abs(last.improved - last.worsened) <= 0.1 * compared:
            sentences.append(f"Av de {compared} kommuner som har värden båda åren {up} {last.improved} "
                             f"och {down} {last.worsened} sitt resultat, ungefär lika många.")
        else:
            sentences.append(f"Av de {compared} kommuner som har värden båda åren {leading_verb} "
                             f"{_share_phrase(lead, compared)} ({lead}) sitt resultat.")
    if last.q1 is not None and last.n >= 4:
        spread = (f"Hälften av kommunerna ligger mellan {number(last.q1, unit)} och "
                  f"{number(last.q3, unit, suffix=True)}; lägst är {number(last.low, unit)} och högst "
                  f"{number(last.high, unit, suffix=True)}")
        first = with_values[0]
        if first is not last and first.q1 is not None and first.n >= 4:
            width_then, width_now = first.q3 - first.q1, last.q3 - last.q1
            if width_then > 0 and abs(width_now - width_then) / width_then >= 0.1:
                trend = "minskat" if width_now < width_then else "ökat"
                spread += f". Spridningen mellan kommunerna har {trend} sedan {first.kkik_year}"
        sentences.append(spread + ".")
    return " ".join(sentences)
