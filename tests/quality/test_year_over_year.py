"""Hidiroglou–Berthelot on hand-computed numbers."""

import numpy as np
import pandas as pd
import pytest

from pipelines.quality.year_over_year import hb_statistics
from tests.quality.conftest import kommun_ids

IDS = kommun_ids(5)


def _frame(x):
    return pd.DataFrame({"g": 1, "municipality_id": IDS, "x_prev": 10.0, "x": x})


def test_hb_interval_by_hand_u0():
    # Ratios 1.0, 1.1, 1.2, 0.9, 3.0; r_med = 1.1.
    # s = -0.1, 0, 0.0909, -0.2222, 1.7273 (U = 0: E = s). Quartiles (type 7): Q1 = -0.1, med = 0,
    # Q3 = 0.0909. E_med = 0, so the floor is A = 0.05: lower = -4 * 0.1 = -0.4,
    # upper = 4 * 0.0909 = 0.3636. Ratio interval: [1.1 / 1.4, 1.1 * 1.3636] = [0.7857, 1.5].
    out = hb_statistics(_frame([10, 11, 12, 9, 30]), ["g"], U=0.0, A=0.05, C=4.0)
    assert out["r_med"].iloc[0] == pytest.approx(1.1)
    assert out["e_low"].iloc[0] == pytest.approx(-0.4)
    assert out["e_high"].iloc[0] == pytest.approx(4 * (1.2 / 1.1 - 1))
    assert out["ratio_low"].iloc[0] == pytest.approx(1.1 / 1.4)
    assert out["ratio_high"].iloc[0] == pytest.approx(1.5)
    assert out["outlier"].tolist() == [False, False, False, False, True]


def test_hb_with_size_weight_by_hand():
    # U = 0.5, A = 0.05, C = 4; x_prev = 10 and x = 10, 11, 12, 9, 30.
    x = np.array([10, 11, 12, 9, 30.0])
    r = x / 10
    r_med = 1.1
    s = np.where(r >= r_med, r / r_med - 1, 1 - r_med / r)
    w = np.sqrt(np.maximum(x, 10))
    e = np.sort(s * w)
    q1, med, q3 = e[1], e[2], e[3]  # n = 5: type-7 quartiles fall on order statistics
    floor = abs(0.05 * med)
    lower, upper = med - 4 * max(med - q1, floor), med + 4 * max(q3 - med, floor)
    out = hb_statistics(_frame(x), ["g"], U=0.5, A=0.05, C=4.0)
    assert out["e_low"].iloc[0] == pytest.approx(lower)
    assert out["ratio_low"].tolist() == pytest.approx(list(r_med * w / (w - lower)))
    assert out["ratio_high"].tolist() == pytest.approx(list(r_med * (w + upper) / w))


def test_hb_equal_pairs_left_out_when_they_are_the_majority():
    out = hb_statistics(_frame([10, 10, 10, 12, 9]), ["g"], U=0.5, A=0.05, C=4.0, min_units=2)
    assert out["municipality_id"].tolist() == IDS[3:]


def _rows(last):
    rows = [("D1", mid, 2021, "T", 10.0) for mid in IDS]
    return rows + [("D1", mid, 2022, "T", v) for mid, v in zip(IDS, last)]


def test_hb_rule_fires_with_the_allowed_value_interval(watch):
    flags = watch("year_over_year.hb", _rows([10, 11, 12, 9, 30]), params={"U": 0.0, "C": 4.0, "min_units": 3})
    assert flags["municipality_id"].tolist() == [IDS[4]]
    flag = flags.iloc[0]
    assert flag.expected_low == pytest.approx(10 * 1.1 / 1.4)
    assert flag.expected_high == pytest.approx(15.0)
    assert flag.expected_value == pytest.approx(11.0)
    assert "7.857-15 days" in flag.message and "all kommuner" in flag.message


def test_hb_rule_quiet_within_the_interval(watch):
    # 14 instead of 30: s = 0.2727 changes neither Q1, median nor Q3, and 1.4 < 1.5.
    assert watch("year_over_year.hb", _rows([10, 11, 12, 9, 14]), params={"U": 0.0, "C": 4.0, "min_units": 3}).empty


def test_hb_uses_a_large_enough_similar_group(watch):
    # Group A (6 kommuner) moves +50 %, group B (6) stays flat; nationally the median ratio is 1.25.
    ids = kommun_ids(12)
    groups = {mid: ("A" if i < 6 else "B") for i, mid in enumerate(ids)}
    last = [15, 15.5, 14.5, 15, 15.2, 10.0, 10, 10.1, 9.9, 10, 10.2, 9.8]
    rows = [("D1", mid, 2021, "T", 10.0) for mid in ids] + [("D1", mid, 2022, "T", v) for mid, v in zip(ids, last)]
    params = {"U": 0.0, "C": 4.0, "min_units": 3, "min_group_size": 6}
    flags = watch("year_over_year.hb", rows, params=params, groups=groups)
    # Within group A, kommun 6 (flat at 10) is the odd one; nationally nobody is.
    assert flags["municipality_id"].tolist() == [ids[5]]
    assert "similar kommuner" in flags.iloc[0].message
    params["min_group_size"] = 7
    assert watch("year_over_year.hb", rows, params=params, groups=groups).empty
