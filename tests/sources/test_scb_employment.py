"""fetch_employment_share: a table of shares whose kön has its own total (``1+2``), served by the snapshot.

The snapshot serves SCB's share of förvärvsarbetande 20–64 år as re-published by Kolada (N00914); the
table id is a placeholder (``snapshot/scb/README.md``).
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from pipelines.config import SNAPSHOT_DIR
from pipelines.snapshot.scb_app import ScbApp
from pipelines.snapshot.server import SnapshotServer
from pipelines.sources.http import RateLimiter
from pipelines.sources.scb import (
    EMPLOYMENT_SHARE,
    POPULATION,
    TABLES,
    ScbClient,
    fetch_employment_share,
    fetch_region_sex_year,
)

FAST = {"backoff_factor": 0, "total_retries": 3, "timeout": 5, "rate_limiter": RateLimiter(1000, 1)}


@pytest.fixture(scope="module")
def served():
    """(frame over v2 for 2020–2021, frame over v1 for 2021 and two regions)."""
    app = ScbApp(max_calls=10_000)
    with SnapshotServer([app]) as server:
        v2 = ScbClient.for_root(server.source_url("scb"), **FAST)
        frame = fetch_employment_share(v2, [2020, 2021])
        v1 = ScbClient.for_root(server.source_url("scb"), api_version="v1", **FAST)
        small = fetch_employment_share(v1, [2021], regions=["00", "0180"])
    return frame, small


def test_the_table_is_declared_with_its_own_total_for_kon():
    assert TABLES["employment_share"] is EMPLOYMENT_SHARE
    assert EMPLOYMENT_SHARE.total_sex_code == "1+2" and EMPLOYMENT_SHARE.table_id == "AM0207_andel_20_64"
    assert POPULATION.total_sex_code is None  # counts: T is still K + M


def test_shape_and_regions(served):
    frame, _ = served
    assert list(frame.columns) == ["municipality_id", "region_level", "year", "gender", "employment_share", "status"]
    assert len(frame) == 312 * 2 * 3 and not frame.duplicated(["municipality_id", "year", "gender"]).any()
    assert frame.groupby("region_level").municipality_id.nunique().to_dict() == {"kommun": 290, "lan": 21, "riket": 1}
    assert frame[frame.municipality_id == "00"].region_level.unique().tolist() == ["riket"]
    assert frame.employment_share.notna().all() and frame.status.isna().all()
    assert frame.employment_share.between(30, 100).all()  # percent, not a fraction nor a count


def test_a_real_number_and_t_is_its_own_value(served):
    frame, _ = served
    one = frame[(frame.municipality_id == "0180") & (frame.year == 2021)].set_index("gender").employment_share
    # kolada/values.parquet: kpi N00914, municipality 0180 (Stockholm), period 2021, gender T → 79.45518
    assert one["T"] == pytest.approx(79.45518, abs=1e-9)
    # ... gender K → 79.534118, gender M → 79.376858
    assert one["K"] == pytest.approx(79.534118, abs=1e-9) and one["M"] == pytest.approx(79.376858, abs=1e-9)
    assert abs(one["T"] - (one["K"] + one["M"])) > 50  # not the sum of the shares
    assert one["T"] != pytest.approx((one["K"] + one["M"]) / 2, abs=1e-6)  # nor their mean
    riket = frame[(frame.municipality_id == "00") & (frame.year == 2020)].set_index("gender").employment_share
    # kolada/values.parquet: kpi N00914, municipality 0000 (Riket), period 2020, gender T → 78.332674
    assert riket["T"] == pytest.approx(78.332674, abs=1e-9)
    assert riket["K"] < riket["T"] < riket["M"]
    wide = frame.pivot_table(index=["municipality_id", "year"], columns="gender", values="employment_share")
    assert ((wide["T"] - wide["K"] - wide["M"]).abs() > 10).all()


def test_v1_gives_the_same_figures(served):
    frame, small = served
    assert small.municipality_id.unique().tolist() == ["00", "0180"]
    assert small.region_level.tolist()[:3] == ["riket"] * 3
    merged = small.merge(frame, on=["municipality_id", "year", "gender"], suffixes=("_v1", "_v2"))
    assert len(merged) == 6 and (merged.employment_share_v1 == merged.employment_share_v2).all()


def test_eliminating_kon_gives_the_total_not_a_sum():
    app = ScbApp(max_calls=10_000)
    reply = app.handle(
        "GET", "/api/v2/tables/AM0207_andel_20_64/data",
        {"valueCodes[Region]": ["0180"], "valueCodes[ContentsCode]": ["*"], "valueCodes[Tid]": ["2021"]},
        b"", "http://127.0.0.1:1/scb",
    )
    doc = json.loads(reply.body)
    assert reply.status == 200 and doc["id"] == ["Region", "ContentsCode", "Tid"]
    assert doc["value"] == [pytest.approx(79.45518, abs=1e-9)]  # Kon → 1+2 (N00914 0180 2021 T)


def test_snapshot_metadata_and_readme_say_kolada_and_unverified():
    app = ScbApp(max_calls=10_000)
    meta = json.loads(app.handle("GET", "/api/v2/tables/AM0207_andel_20_64/metadata", {}, b"", "http://x/scb").body)
    assert meta["dimension"]["Kon"]["category"]["index"] == {"1": 0, "2": 1, "1+2": 2}
    assert meta["size"] == [312, 3, 1, 5]
    assert any("re-published by Kolada" in n and "N00914" in n for n in meta["note"])
    readme = (SNAPSHOT_DIR / "scb" / "README.md").read_text(encoding="utf-8")
    assert "N00914" in readme and "Not verified" in readme


def test_a_total_code_the_table_lacks_is_refused():
    with SnapshotServer([ScbApp(max_calls=10_000)]) as server:
        client = ScbClient.for_root(server.source_url("scb"), **FAST)
        with pytest.raises(ValueError, match="no total code 'TotSa'"):
            fetch_region_sex_year(client, replace(EMPLOYMENT_SHARE, total_sex_code="TotSa"), [2021])
