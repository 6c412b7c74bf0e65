"""Missing values of participants, and statuses that mean "not as is"."""

import pytest

from tests.quality.conftest import kommun_ids

IDS = kommun_ids(10)


@pytest.fixture
def watch(watch):
    """Ten kommuner, all with values (the conftest default has twelve)."""
    return lambda *args, **kwargs: watch(*args, n=10, **kwargs)


def _rows(skip_2022=(), status_2022=None):
    rows = [("P1", mid, 2021, "T", 50.0 + i) for i, mid in enumerate(IDS)]
    for i, mid in enumerate(IDS):
        if mid in skip_2022:
            if status_2022:
                rows.append(("P1", mid, 2022, "T", None, status_2022))
            continue
        rows.append(("P1", mid, 2022, "T", 51.0 + i))
    return rows


def test_missing_where_it_had_a_value(watch):
    flags = watch("missing.value", _rows(skip_2022=(IDS[3],)))
    assert flags["municipality_id"].tolist() == [IDS[3]]
    flag = flags.iloc[0]
    assert flag.expected_value == 53.0 and flag.observed_value != flag.observed_value  # NaN observed
    assert "it had 53 in 2021" in flag.message
    # grey → a colour: its own band (G), below any flag that would change a colour on show (C)
    assert not bool(flag.would_change_colour)
    assert 5.0 <= flag.impact_score < 10.0


def test_missing_not_flagged_for_non_participants(watch):
    assert watch("missing.value", _rows(skip_2022=(IDS[3],)), non_participants=(IDS[3],)).empty


def test_missing_explained_by_status_is_left_to_the_status_rule(watch):
    rows = _rows(skip_2022=(IDS[3],), status_2022="confidential")
    assert watch("missing.value", rows).empty
    flags = watch("missing.status", rows)
    assert flags["municipality_id"].tolist() == [IDS[3]] and "confidential" in flags.iloc[0].message


def test_missing_where_most_others_have_one(watch):
    rows = [r for r in _rows() if r[1] != IDS[0]]  # kommun 1 never reported; 9 of 10 have a value
    flags = watch("missing.value", rows)
    assert flags["municipality_id"].tolist() == [IDS[0]]
    assert "90 % of participating kommuner" in flags.iloc[0].message
    assert watch("missing.value", rows, params={"others_share": 0.95}).empty


def test_figure_not_yet_published_is_not_flagged(watch):
    # Only 2 of the 10 reporters of 2021 have a 2022 value: the figure is still coming in.
    rows = [r for r in _rows() if r[2] == 2021 or r[1] in IDS[:2]]
    assert watch("missing.value", rows, params={"others_share": 0.95}).empty


def test_status_rule(watch):
    rows = [("P1", IDS[0], 2022, "T", 40.0, "Preliminär"), ("P1", IDS[1], 2022, "T", 41.0, None),
            ("P1", IDS[2], 2022, "T", 42.0, "")]
    flags = watch("missing.status", rows)
    assert flags["municipality_id"].tolist() == [IDS[0]]
    assert "preliminary" in flags.iloc[0].message
