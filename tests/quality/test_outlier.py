"""Outliers against all kommuner and against similar kommuner (median/MAD and quartile fences)."""

import pytest

from tests.quality.conftest import kommun_ids

IDS = kommun_ids(11)


def _rows(last):
    return [("P1", mid, 2022, "T", v) for mid, v in zip(IDS, [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, last])]


def test_national_mad_by_hand(watch):
    # Median 15; absolute deviations 5,4,3,2,1,0,1,2,3,4,45 → MAD 3, scaled 4.4478; k = 5:
    # 15 ± 22.239 → [0 (clipped: a share), 37.239]. 60 is outside.
    flags = watch("outlier.national", _rows(60.0), params={"k": 5.0})
    assert flags["municipality_id"].tolist() == [IDS[-1]]
    flag = flags.iloc[0]
    assert flag.expected_value == 15.0
    assert flag.expected_low == 0.0
    assert flag.expected_high == pytest.approx(15 + 5 * 3 * 1.4826)


def test_national_quiet_inside_the_fences(watch):
    assert watch("outlier.national", _rows(30.0), params={"k": 5.0}).empty


def test_national_quartile_fences(watch):
    # Q1 = 12.5, Q3 = 17.5 (type 7), IQR 5; k = 3 → [0 (clipped), 32.5]: 60 out, 30 in.
    flags = watch("outlier.national", _rows(60.0), params={"method": "quartile", "k": 3.0})
    assert flags.iloc[0].expected_high == pytest.approx(32.5)
    assert watch("outlier.national", _rows(30.0), params={"method": "quartile", "k": 3.0}).empty


def test_national_log_scale_for_kronor(watch):
    values = [100_000, 105_000, 110_000, 95_000, 98_000, 102_000, 107_000, 99_000, 101_000, 103_000]
    rows = [("K1", mid, 2022, "T", v) for mid, v in zip(IDS, values + [1_000_000])]
    flags = watch("outlier.national", rows)
    assert flags["municipality_id"].tolist() == [IDS[-1]]
    assert flags.iloc[0].expected_value == pytest.approx(101_500, rel=0.01)


def test_similar_fires_against_peers_only(watch):
    # Two groups of 8: A around 20, B around 80. Kommun 1 (group A) reports 80: ordinary in group B,
    # far from its own peers (median 20).
    ids = kommun_ids(16)
    groups = {mid: ("A" if i < 8 else "B") for i, mid in enumerate(ids)}
    values = [80.0, 20, 21, 19, 22, 18, 20, 21, 80, 81, 79, 82, 78, 80, 81, 79]
    rows = [("P1", mid, 2022, "T", v) for mid, v in zip(ids, values)]
    flags = watch("outlier.similar", rows, n=16, groups=groups)
    assert flags["municipality_id"].tolist() == [ids[0]]
    assert "7 similar kommuner" in flags.iloc[0].message
    assert flags.iloc[0].expected_value == 20.0
    values[0] = 21.0
    rows = [("P1", mid, 2022, "T", v) for mid, v in zip(ids, values)]
    assert watch("outlier.similar", rows, n=16, groups=groups).empty


def test_similar_with_explicit_peer_groups(watch):
    # Kolada style: each kommun has its own group listing its peers (not itself).
    import pandas as pd

    ids = kommun_ids(16)
    values = [80.0, 20, 21, 19, 22, 18, 20, 21, 80, 81, 79, 82, 78, 80, 81, 79]
    own = {mid: f"G{mid}" for mid in ids}
    members = pd.DataFrame(
        [(f"G{mid}", peer) for i, mid in enumerate(ids) for peer in (ids[:8] if i < 8 else ids[8:]) if peer != mid],
        columns=["similar_group", "municipality_id"])
    rows = [("P1", mid, 2022, "T", v) for mid, v in zip(ids, values)]
    flags = watch("outlier.similar", rows, n=16, groups=own, similar_groups=members)
    assert flags["municipality_id"].tolist() == [ids[0]]


def _area_world(kind_of_p1: str):
    """16 kommuner, each owning an overall group and a 'grundskola' group (Kolada style, one per kind and
    year). The overall groups split the kommuner 0–7 / 8–15, the grundskola groups 0, 8–14 / 1–7, 15:
    kommun 0's overall peers report about 20, its grundskola peers about 80."""
    import pandas as pd

    from tests.quality.conftest import kpis_frame, municipalities_frame

    ids = kommun_ids(16)
    overall = [ids[:8], ids[8:]]
    school = [[ids[0], *ids[8:15]], [*ids[1:8], ids[15]]]
    rows = []
    for kind, groups, year in (("övergripande", overall, 2023), ("grundskola", school, 2023),
                               ("grundskola", overall, 2019)):  # an older group of the kind: not chosen
        for members in groups:
            for owner in members:
                rows += [(f"{kind}-{year}-{owner}", owner, kind, year, peer) for peer in members]
    similar = pd.DataFrame(rows, columns=["similar_group", "owner_id", "similar_group_kind", "group_year",
                                          "municipality_id"])
    kpis = kpis_frame().assign(similar_group_kind=lambda k: k["kpi_id"].map({"P1": kind_of_p1}))
    municipalities = municipalities_frame(16, {mid: f"övergripande-2023-{mid}" for mid in ids})
    values = [80.0, 20, 21, 19, 22, 18, 20, 21, 80, 81, 79, 82, 78, 80, 81, 79]
    return [("P1", mid, 2022, "T", v) for mid, v in zip(ids, values)], kpis, municipalities, similar


@pytest.mark.parametrize(("kind", "fires"), [("övergripande", True), ("grundskola", False), ("IFO", True)])
def test_similar_uses_the_area_group_of_the_figure(rules, kind, fires):
    """The similar-kommuner outlier rule compares a figure with the kommun's group for the figure's area
    (dim_kpi.similar_group_kind; the newest group of that kind), as kkik_result does; a kind Kolada has no
    group of falls back to the overall group. Kommun 0's 80 is far from its overall peers (about 20) and
    ordinary among its grundskola peers (about 80)."""
    from pipelines.quality import run_watch
    from tests.quality.conftest import TODAY, values_frame

    rows, kpis, municipalities, similar = _area_world(kind)
    flags = run_watch(values_frame(rows), kpis, municipalities, rules.only("outlier.similar"), years=[2022],
                      today=TODAY, similar_groups=similar)
    assert (IDS[0] in flags["municipality_id"].tolist()) is fires
    if fires:
        assert flags.loc[flags["municipality_id"] == IDS[0], "expected_value"].iloc[0] == 20.0
