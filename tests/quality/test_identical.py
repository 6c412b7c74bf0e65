"""Identical to last period where the figure normally moves."""

from tests.quality.conftest import kommun_ids

IDS = kommun_ids(12)


def _rows(same_in_2022: int, same_before: int = 0):
    rows = []
    for year in (2019, 2020, 2021, 2022):
        for i, mid in enumerate(IDS):
            moving = 50.0 + i + 0.37 * year
            frozen = 50.0 + i + 0.37 * 2018
            limit = same_in_2022 if year == 2022 else same_before
            rows.append(("P1", mid, year, "T", round(frozen if i < limit else moving, 4)))
    return rows


def test_unchanged_fires_where_the_figure_moves(watch):
    # Every value moves each year, except kommun 1, which repeats its 2021 value in 2022.
    rows = [r for r in _rows(0) if not (r[1] == IDS[0] and r[2] == 2022)]
    previous = next(r[4] for r in rows if r[1] == IDS[0] and r[2] == 2021)
    rows.append(("P1", IDS[0], 2022, "T", previous))
    flags = watch("identical.unchanged", rows)
    assert flags["municipality_id"].tolist() == [IDS[0]]
    assert "exactly the value of 2021" in flags.iloc[0].message


def test_unchanged_quiet_where_values_usually_repeat(watch):
    # Half of the kommuner keep their value every year: repeating is normal for this figure.
    assert watch("identical.unchanged", _rows(6, 6)).empty


def test_unchanged_ignores_100_percent(watch):
    rows = [("P1", IDS[0], 2021, "T", 100.0), ("P1", IDS[0], 2022, "T", 100.0)]
    rows += [("P1", mid, y, "T", 50.0 + i + y / 7) for i, mid in enumerate(IDS[1:]) for y in (2021, 2022)]
    assert watch("identical.unchanged", rows).empty


def test_unchanged_checks_kommuner_only(watch):
    """The county's and the country's values are aggregates rounded to a precision of their own: their
    repeat is no copy measured against the kommuner's share (real case: N15428 Region Kalmar 83.7 % in 2021
    and 2022, flagged against a kommun repeat share of 0.0 %). The same repeat in a kommun is flagged."""
    rows = _rows(0)
    rows += [("P1", region, year, "T", 83.7) for region in ("0000", "0001") for year in (2021, 2022)]
    assert watch("identical.unchanged", rows).empty
    rows += [("P1", IDS[0], 2023, "T", next(r[4] for r in rows if r[1] == IDS[0] and r[2] == 2022))]
    rows += [("P1", mid, 2023, "T", 60.0 + i) for i, mid in enumerate(IDS[1:], start=1)]
    assert watch("identical.unchanged", rows)["municipality_id"].tolist() == [IDS[0]]
