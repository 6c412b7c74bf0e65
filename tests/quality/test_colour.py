"""The KKiK colour rule on hand-computed cases."""

import numpy as np
import pandas as pd

from pipelines.quality import kkik_colour
from pipelines.quality.colour import colour_among


def test_quartiles_higher_is_better():
    # 8 kommuner: strictly-better counts 7..0 → percentiles 7/8..0; green < 0.25, red >= 0.75.
    values = pd.Series([10, 20, 30, 40, 50, 60, 70, 80], index=list("abcdefgh"), dtype=float)
    colours = kkik_colour(values, "higher")
    assert colours.to_dict() == {
        "a": "red", "b": "red", "c": "yellow", "d": "yellow", "e": "yellow", "f": "yellow",
        "g": "green", "h": "green",
    }


def test_lower_is_better_reverses():
    values = pd.Series([10, 20, 30, 40, 50, 60, 70, 80], dtype=float)
    assert kkik_colour(values, "lower").tolist() == ["green", "green"] + ["yellow"] * 4 + ["red", "red"]


def test_ties_share_the_best_rank():
    # 50 and 50 are both "0 strictly better" → green, though together they are half of the kommuner.
    assert kkik_colour(pd.Series([50, 50, 30, 20], dtype=float), "higher").tolist() == [
        "green", "green", "yellow", "red"]
    # 20 and 20 have 1 strictly better (p = 0.25) → both yellow.
    assert kkik_colour(pd.Series([40, 20, 20, 10], dtype=float), "higher").tolist() == [
        "green", "yellow", "yellow", "red"]


def test_missing_is_grey_and_no_direction_is_white():
    values = pd.Series([1.0, np.nan, 3.0, 2.0, 4.0])
    # n = 4 kommuner with a value: the grey one is not counted.
    assert kkik_colour(values, "higher").tolist() == ["red", "grey", "yellow", "yellow", "green"]
    assert kkik_colour(values, "none").tolist() == ["white", "grey", "white", "white", "white"]


def test_colour_among_matches_the_full_ranking():
    rng = np.random.default_rng(1)
    values = pd.Series(np.round(rng.normal(50, 10, 40)), dtype=float)
    for direction in ("higher", "lower"):
        full = kkik_colour(values, direction)
        for i in range(len(values)):
            others = values.drop(index=i).to_numpy()
            goodness = np.sort(others if direction == "higher" else -others)
            assert colour_among(values[i], goodness, direction) == full[i]


def test_colour_among_can_leave_out_the_kommuns_own_value():
    # What the watch does: all kommuner sorted once, the flagged kommun's stored value left out.
    values = pd.Series([10, 20, 30, 40, 50, 60, 70, 80], dtype=float)
    goodness_all = np.sort(values.to_numpy())
    # Kommun with 10 (red) replaced by 65: among the other 7 plus 65 → one better (70, 80 → two): 2/8 → yellow.
    assert colour_among(65.0, goodness_all, "higher", exclude=10.0) == "yellow"
    assert colour_among(75.0, goodness_all, "higher", exclude=10.0) == "green"
    assert colour_among(10.0, goodness_all, "higher", exclude=10.0) == "red"
    assert colour_among(float("nan"), goodness_all, "higher", exclude=10.0) == "grey"
