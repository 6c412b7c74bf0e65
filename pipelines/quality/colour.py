"""The KKiK colour rule, as the report applies it, so the watch can ask "would this flag change a colour?".

KKiK colours each kommun's result relative to all kommuner that have a value that year: **green** for the
best 25 %, **yellow** for the middle 50 %, **red** for the worst 25 %, by the key figure's direction of
better. The rule made exact here:

* Only kommuner are ranked. Riket (0000) and regions (0001–0025) are shown beside a kommun, never ranked:
  callers pass kommun values only.
* Let *n* be the number of kommuner with a value, and *b* the number of them that are **strictly better**
  than this kommun. The percentile is ``p = b / n`` (0 for the best). Green if ``p < 0.25``, red if
  ``p >= 0.75``, otherwise yellow. With 290 distinct values that is 73 green, 145 yellow, 72 red.
* **Ties share the best rank** (pandas ``rank(method="min")`` on "goodness"): kommuner with equal values
  get the same colour, the colour of the best place the tie occupies. A tie straddling a quartile
  boundary therefore goes to the kinder colour. Reason: two kommuner reporting the same result must not
  get different colours, and of the two consistent choices the kinder one does not punish a kommun for
  sharing a value with a better-placed one.
* Missing value (NaN) → ``"grey"`` (shown as "no value" in the report).
* Direction ``none`` (cost figures such as kr per inskrivet barn, where neither higher nor lower is
  better) → ``"white"``: the value is shown uncoloured. Any direction other than higher/lower is treated
  as none.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GREEN, YELLOW, RED, GREY, WHITE = "green", "yellow", "red", "grey", "white"
GREEN_BELOW = 0.25
RED_FROM = 0.75


def _goodness(values: np.ndarray | pd.Series, direction: str):
    return values if direction == "higher" else -values


def kkik_colour(values_for_one_kpi_year: pd.Series, direction: str) -> pd.Series:
    """Colour of each kommun's value for one KPI, year and gender (index preserved).

    ``values_for_one_kpi_year`` holds kommuner only (NaN for a kommun without a value). Returns a Series of
    ``"green"``, ``"yellow"``, ``"red"``, ``"grey"`` (no value) or ``"white"`` (direction none). See the
    module docstring for the tie rule.
    """
    values = pd.to_numeric(values_for_one_kpi_year, errors="coerce").astype(float)
    out = pd.Series(GREY, index=values.index, dtype=object)
    present = values.notna()
    if direction not in ("higher", "lower"):
        out[present] = WHITE
        return out
    good = _goodness(values[present], direction)
    n = len(good)
    if n == 0:
        return out
    strictly_better = good.rank(method="min", ascending=False) - 1
    percentile = strictly_better / n
    out[present] = np.where(percentile < GREEN_BELOW, GREEN, np.where(percentile >= RED_FROM, RED, YELLOW))
    return out


def colour_among(value: float, sorted_goodness: np.ndarray, direction: str, exclude: float | None = None) -> str:
    """Colour a single value would get among the other kommuner, in O(log n).

    ``sorted_goodness`` holds the others' goodness (value for direction higher, −value for lower) sorted
    ascending. ``exclude`` is the goodness of one entry of ``sorted_goodness`` to leave out: the kommun's
    own stored value, so the watch can recolour a kommun with its expected value using the sorted values of
    all kommuner, without re-sorting per flag. Equivalent to :func:`kkik_colour` on ``others + [value]``
    read at ``value``.
    """
    if value is None or np.isnan(value):
        return GREY
    if direction not in ("higher", "lower"):
        return WHITE
    good = value if direction == "higher" else -value
    excluded = exclude is not None and bool(np.isfinite(exclude))
    n = len(sorted_goodness) - excluded + 1
    strictly_better = len(sorted_goodness) - np.searchsorted(sorted_goodness, good, side="right")
    strictly_better -= int(excluded and exclude > good)
    percentile = strictly_better / n
    if percentile < GREEN_BELOW:
        return GREEN
    if percentile >= RED_FROM:
        return RED
    return YELLOW
