"""The small chart beside each figure: the kommun's four years against the kommun median.

Inline SVG (a report must be one self-contained file that prints): the kommun's values as a line with dots
in their result colour, the national median dashed grey, the similar kommuner's mean orange.
"""

from __future__ import annotations

import html
import math

from markupsafe import Markup

WIDTH, HEIGHT, PAD_X, PAD_Y = 120, 38, 6, 5
OWN_STROKE = 'stroke="#1d2733" stroke-width="1.2"'
MEDIAN_STROKE = 'stroke="#8a939e" stroke-width="1" stroke-dasharray="3 2"'
SIMILAR_STROKE = 'stroke="#e37400" stroke-width="1"'
FILL = {"green": "#2e9b4f", "yellow": "#e8c12e", "red": "#d6453d", "white": "#5f6b7a", "grey": "#b8bec6"}


def _finite(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def sparkline(years: list[int], own: list, colours: list[str], median: list, similar: list, title: str) -> Markup:
    """An SVG of ``own`` (with ``colours``), ``median`` and ``similar`` over ``years``; empty without values."""
    points = [v for series in (own, median, similar) for v in series if _finite(v)]
    if not any(_finite(v) for v in own) or not points:
        return Markup("")
    low, high = min(points), max(points)
    if high == low:
        low, high = low - 1, high + 1
    step = (WIDTH - 2 * PAD_X) / max(len(years) - 1, 1)

    def x(i: int) -> float:
        return round(PAD_X + i * step, 1)

    def y(v: float) -> float:
        return round(HEIGHT - PAD_Y - (v - low) / (high - low) * (HEIGHT - 2 * PAD_Y), 1)

    def path(series: list, stroke: str) -> str:
        runs, current = [], []
        for i, v in enumerate(series):
            if _finite(v):
                current.append(f"{x(i)} {y(v)}")
            elif current:
                runs.append(current)
                current = []
        if current:
            runs.append(current)
        d = " ".join("M" + " L".join(run) for run in runs if len(run) > 1)
        # presentation attributes, not CSS classes: WeasyPrint does not apply the page's CSS inside SVG
        return f'<path d="{d}" fill="none" {stroke}/>' if d else ""

    dots = "".join(
        f'<circle cx="{x(i)}" cy="{y(v)}" r="2.6" fill="{FILL.get(colours[i], FILL["white"])}" '
        f'stroke="#1d2733" stroke-width=".5"/>'
        for i, v in enumerate(own) if _finite(v)
    )
    return Markup(
        f'<svg class="spark" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img">'
        f"<title>{html.escape(title)}</title>"
        f'{path(median, MEDIAN_STROKE)}{path(similar, SIMILAR_STROKE)}{path(own, OWN_STROKE)}{dots}</svg>'
    )
