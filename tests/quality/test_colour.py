"""The watch's "what colour would this value get" is the mart's colour rule (dbt macro ``kkik_colour``).

Pinned with kommun counts that are not multiples of 4, where a share-based rule (b / n < 0.25) and the
mart's rank rule (rank ≤ 0.25·n) part: n = 7 gives 1 green (not 2), n = 29 gives 7, n = 290 gives 72.
"""

import numpy as np
import pandas as pd
import pytest

from pipelines.quality.warehouse import colours


def _own_colours(values: list[float | None], direction: str) -> list[str]:
    """Each kommun's colour for its own value, computed the way the watch recolours a flagged cell."""
    ids = [f"{1000 + i:04d}" for i in range(len(values))]
    frame = pd.DataFrame({"kpi_id": "P1", "municipality_id": ids, "year": 2022, "gender": "T",
                          "direction": direction, "value": pd.array(values, dtype=float)})
    stored = frame[frame["value"].notna()].drop(columns="direction")
    return colours(frame, stored).tolist()


@pytest.mark.parametrize(("n", "green", "red"), [(7, 1, 2), (29, 7, 8), (290, 72, 73), (8, 2, 2), (40, 10, 10)])
def test_quartile_counts_follow_the_rank_rule(n, green, red):
    got = _own_colours(list(np.arange(n, 0, -1, dtype=float)), "higher")
    assert got.count("green") == green and got.count("red") == red
    assert got.count("yellow") == n - green - red
    assert got[0] == "green" and got[-1] == "red"


def test_lower_is_better_mirrors_higher():
    values = [40.0, 50.0, 60.0, 70.0, 80.0, 80.0, 90.0]
    assert _own_colours(values, "lower") == ["green", "yellow", "yellow", "yellow", "yellow", "yellow", "red"]


def test_ties_share_the_best_rank():
    # higher is better, n = 7: 90 → rank 1 green; the 80s share rank 2 (yellow), not 2 and 3
    values = [90.0, 80.0, 80.0, 70.0, 60.0, 50.0, 40.0]
    assert _own_colours(values, "higher") == ["green", "yellow", "yellow", "yellow", "yellow", "red", "red"]


def test_missing_is_grey_and_no_direction_is_white():
    assert _own_colours([3.0, None, 2.0, 1.0], "higher")[1] == "grey"
    assert _own_colours([3.0, None, 2.0, 1.0], "none") == ["white", "grey", "white", "white"]


def test_a_candidate_takes_the_kommuns_own_place():
    # kommun 1000 stores 10 (worst of 8); would 75 make it green? Among the 7 others 80 is better: rank 2 of 8
    stored = pd.DataFrame({"kpi_id": "P1", "municipality_id": [f"{1000 + i:04d}" for i in range(8)], "year": 2022,
                           "gender": "T", "value": [10.0, 80.0, 70.0, 60.0, 50.0, 40.0, 30.0, 20.0]})
    candidate = stored.iloc[[0, 0, 0]].assign(direction="higher", value=[75.0, 65.0, np.nan])
    assert colours(candidate.reset_index(drop=True), stored).tolist() == ["green", "yellow", "grey"]
