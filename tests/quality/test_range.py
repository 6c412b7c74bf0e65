"""Range and unit rules: each must fire on its hand-made case and stay quiet on the near miss."""

import pytest

from tests.quality.conftest import kommun_ids, panel

A, B = kommun_ids(2)


def test_share_bounds_fires_above_100(watch):
    flags = watch("range.share_bounds", [("P1", A, 2022, "T", 104.0), ("P1", B, 2022, "K", 99.5)])
    assert len(flags) == 1
    flag = flags.iloc[0]
    assert (flag.municipality_id, flag.observed_value, flag.expected_low, flag.expected_high) == (A, 104, 0, 100)
    assert flag.severity == "error"
    assert "104 %" in flag.message and "above 100 %" in flag.message


def test_share_bounds_ignores_other_units(watch):
    assert watch("range.share_bounds", [("D1", A, 2022, "T", 104.0)]).empty


def test_share_scale_fires_on_a_0_1_share(watch):
    rows = panel("P1", {2019: [80, 70, 75, 60, 90], 2020: [82, 71, 74, 61, 91], 2021: [81, 72, 76, 62, 89],
                        2022: [0.83, 73, 75, 63, 90]})
    flags = watch("range.share_scale", rows)
    assert flags["municipality_id"].tolist() == [A]
    assert flags.iloc[0].expected_value == pytest.approx(83.0)
    assert "0-1 scale" in flags.iloc[0].message


def test_share_scale_quiet_for_a_truly_small_share(watch):
    # The kommun's own level is about 1 %: 0.8 % is a real value, not a slip.
    rows = panel("P1", {2019: [1.1, 70, 75, 60, 90], 2020: [0.9, 71, 74, 61, 91], 2021: [1.0, 72, 76, 62, 89],
                        2022: [0.8, 73, 75, 63, 90]})
    assert watch("range.share_scale", rows).empty


def test_negative_fires_and_zero_is_fine(watch):
    flags = watch("range.negative", [("D1", A, 2022, "T", -3.0), ("D1", B, 2022, "T", 0.0)])
    assert flags["municipality_id"].tolist() == [A]
    assert flags.iloc[0].expected_value == 3.0


@pytest.mark.parametrize("previous, value, expected", [(12.5, 125.0, 12.5), (80.0, 0.8, 80.0), (7.0, 7200.0, 7.2)])
def test_magnitude_slip_fires_near_powers_of_ten(watch, previous, value, expected):
    # one kommun is its own national median: switch the national guard off to test the log-ratio alone
    flags = watch("range.magnitude_slip", [("D1", A, 2021, "T", previous), ("D1", A, 2022, "T", value)],
                  params={"min_log_from_median": 0})
    assert len(flags) == 1
    assert flags.iloc[0].expected_value == pytest.approx(expected)


def test_magnitude_slip_quiet_between_powers_of_ten(watch):
    # log10(40 / 12.5) = 0.505: a big change, but no decimal slip (HB judges it).
    assert watch("range.magnitude_slip", [("D1", A, 2021, "T", 12.5), ("D1", A, 2022, "T", 40.0)]).empty


def test_magnitude_slip_guard_keeps_slips_that_look_odd_nationally(watch):
    rows = panel("D1", {2021: [2, 15, 14, 16, 15, 13, 17, 15, 14, 16, 15, 15],
                        2022: [20, 15, 14, 16, 15, 13, 17, 15, 14, 16, 15, 150]})
    flags = watch("range.magnitude_slip", rows, params={"min_log_from_median": 0.5})
    # 2 → 20 is a ×10 change but 20 days is ordinary nationally; 15 → 150 is a slip.
    assert flags["municipality_id"].tolist() == [kommun_ids(12)[-1]]


def test_magnitude_jump_warns_where_the_slip_rule_stays_quiet(watch):
    rows = panel("D1", {2021: [2, 15, 14, 16, 15, 13, 17, 15, 14, 16, 15, 15],
                        2022: [20, 15, 14, 16, 15, 13, 17, 15, 14, 16, 15, 150]})
    # the default rule table: the error for the odd value, the warning for the plausible one
    assert watch("range.magnitude_slip", rows)["municipality_id"].tolist() == [kommun_ids(12)[-1]]
    jump = watch("range.magnitude_jump", rows)
    assert jump["municipality_id"].tolist() == [kommun_ids(12)[0]]
    assert jump.iloc[0].severity == "warning"
