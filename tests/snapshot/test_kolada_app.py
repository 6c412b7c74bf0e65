"""The Kolada emulator answers like the real API, over real HTTP on loopback, from the bundled snapshot."""

from __future__ import annotations

import gzip
import json

import pytest
import requests

from pipelines.snapshot.kolada_app import DEFAULT_SNAPSHOT_DIR, KoladaApp, snapshot_latest_year
from pipelines.snapshot.server import SnapshotServer

pytestmark = pytest.mark.skipif(
    not (DEFAULT_SNAPSHOT_DIR / "manifest.json").exists(),
    reason="no Kolada snapshot: python tools/build_kolada_snapshot.py --shared ../shared/data",
)


@pytest.fixture(scope="module")
def server():
    with SnapshotServer([KoladaApp()]) as srv:
        yield srv


@pytest.fixture(scope="module")
def root(server) -> str:
    return server.source_url("kolada")


def get(url: str, **params) -> requests.Response:
    return requests.get(url, params=params or None, timeout=10)


def by_key(records: list[dict]) -> dict[tuple[str, str, int], dict]:
    return {(r["kpi"], r["municipality"], r["period"]): r for r in records}


def value(record: dict, gender: str = "T"):
    return next(v["value"] for v in record["values"] if v["gender"] == gender)


# ---------------------------------------------------------------------------- metadata


def test_kpi_catalogue_comes_in_two_pages_v3(root):
    first = get(f"{root}/v3/kpi")
    assert first.status_code == 200
    assert first.headers["Content-Type"] == "application/json; charset=utf-8"
    page1 = first.json()
    assert page1["count"] == 6099
    assert len(page1["values"]) == 5000
    assert page1["next_url"] == f"{root}/v3/kpi?page=2"
    page2 = get(page1["next_url"]).json()
    assert page2["count"] == 6099
    assert len(page2["values"]) == 1099
    assert "next_url" not in page2
    ids = [k["id"] for k in page1["values"] + page2["values"]]
    assert len(set(ids)) == 6099


def test_pagination_links_v2(root):
    page1 = get(f"{root}/v2/kpi", per_page=5000).json()
    assert "previous_page" not in page1
    assert page1["next_page"] == f"{root}/v2/kpi?per_page=5000&page=2"
    page2 = get(page1["next_page"]).json()
    assert page2["previous_page"] == f"{root}/v2/kpi?per_page=5000&page=1"
    assert "next_page" not in page2
    assert len(page2["values"]) == 1099


def test_municipalities_and_filters(root):
    payload = get(f"{root}/v3/municipality").json()
    assert payload["count"] == 312 and len(payload["values"]) == 312
    assert sum(m["type"] == "K" for m in payload["values"]) == 290
    two = get(f"{root}/v3/municipality/0180,1480").json()
    assert sorted(m["title"] for m in two["values"]) == ["Göteborg", "Stockholm"]
    found = get(f"{root}/v3/municipality", title="STOCKHOLM").json()["values"]
    assert {"0180", "0001"} <= {m["id"] for m in found}
    kpis = get(f"{root}/v3/kpi/N15428,U21468,NOSUCH").json()
    assert sorted(k["id"] for k in kpis["values"]) == ["N15428", "U21468"]


def test_groups(root):
    groups = get(f"{root}/v3/kpi_groups").json()
    assert groups["count"] == 1
    kkik = groups["values"][0]
    assert kkik["reconstructed"] is True
    members = {m["member_id"] for m in kkik["members"]}
    assert {"U21468", "N11102", "U23402"} <= members and "N00938" not in members
    mgroups = get(f"{root}/v3/municipality_groups").json()
    assert mgroups["count"] == 3630
    four = get(f"{root}/v3/municipality_groups/G114418").json()["values"][0]
    assert [m["member_id"] for m in four["members"]] == ["0682", "1499", "1885", "2081"]


# ---------------------------------------------------------------------------- data


def test_data_two_kpis_two_years(root):
    payload = get(f"{root}/v3/data/kpi/N15428,U21468/year/2019,2020").json()
    # N15428: 290 kommuner + Riket + 21 regions; U21468: 290 kommuner + Riket; both years real
    assert payload["count"] == 2 * 312 + 2 * 291 == len(payload["values"])
    records = by_key(payload["values"])
    stockholm = records[("N15428", "0180", 2020)]
    # ../shared/data/kolada/values.parquet: kpi N15428, municipality 0180, period 2020, gender T
    assert value(stockholm) == pytest.approx(89.50837989)
    # values.parquet: U21468, 0180, 2019, T = 83.0 (K 83.0, M 84.0)
    assert value(records[("U21468", "0180", 2019)]) == 83.0
    assert value(records[("U21468", "0180", 2019)], "M") == 84.0
    assert stockholm["values"][0] == {"gender": "T", "count": 1, "status": "", "value": pytest.approx(89.50837989),
                                      "isdeleted": False}
    assert not any("synthetic" in r for r in payload["values"])


def test_synthetic_records_are_marked(root):
    payload = get(f"{root}/v3/data/kpi/U21443,U21468/municipality/0180,1480/year/2020,2021").json()
    records = by_key(payload["values"])
    # the survey of the elderly has no 2021 in the source: the snapshot keeps that gap (built with
    # --no-gap-fill), so U21468 and its regi variant U21443 have 2020 only
    assert payload["count"] == 4
    for m in ("0180", "1480"):
        assert records[("U21443", m, 2020)]["synthetic"] is True  # no real values for U21443 at all
        assert "synthetic" not in records[("U21468", m, 2020)]  # real
        assert ("U21468", m, 2021) not in records


def test_snapshot_files_keep_real_and_synthetic_apart():
    for path in (DEFAULT_SNAPSHOT_DIR / "data" / "real").glob("*.json.gz"):
        with gzip.open(path) as file:
            records = json.load(file)
        assert records and not any("synthetic" in r for r in records), path
    synthetic = list((DEFAULT_SNAPSHOT_DIR / "data" / "synthetic").glob("*.json.gz"))
    assert synthetic
    for path in synthetic:
        assert ".synthetic." in path.name
        with gzip.open(path) as file:
            assert all(r["synthetic"] is True for r in json.load(file)), path


def test_data_pagination_and_other_forms(root):
    url, records, pages = f"{root}/v3/data/kpi/N15428/year/2020?per_page=100", [], 0
    while url:
        payload = requests.get(url, timeout=10).json()
        assert payload["count"] == 312
        records += payload["values"]
        pages += 1
        url = payload.get("next_url")
    assert pages == 4 and len({r["municipality"] for r in records}) == 312

    one = get(f"{root}/v3/data/kpi/N15428/municipality/0180").json()
    assert sorted(r["period"] for r in one["values"]) == list(range(2017, 2023))
    per_kommun = get(f"{root}/v2/data/municipality/0180/year/2020").json()
    assert per_kommun["count"] > 15
    assert {(r["municipality"], r["period"]) for r in per_kommun["values"]} == {("0180", 2020)}
    assert get(f"{root}/v3/data/kpi/N15428/year/1990").json() == {"count": 0, "values": []}
    assert get(f"{root}/v3/data/kpi/N15428/year/2020", from_date="2024-01-01").json()["count"] == 312


def test_municipality_group_is_the_unweighted_mean(root):
    members = ["0682", "1499", "1885", "2081"]
    plain = by_key(get(f"{root}/v3/data/kpi/N15428/municipality/{','.join(members)}/year/2020").json()["values"])
    group = get(f"{root}/v3/data/kpi/N15428/municipality/G114418/year/2020").json()["values"][0]
    t = group["values"][0]
    assert t["gender"] == "T" and t["count"] == 4
    assert t["value"] == pytest.approx(sum(value(plain[("N15428", m, 2020)]) for m in members) / 4)


# ---------------------------------------------------------------------------- errors


def test_errors(root):
    too_many = ",".join(f"N{i:05d}" for i in range(26))
    reply = get(f"{root}/v3/data/kpi/{too_many}/year/2020")
    assert reply.status_code == 400 and "25" in reply.json()["error"]
    assert get(f"{root}/v3/kpi/{too_many}").status_code == 400
    assert get(f"{root}/v3/kpi", per_page=5001).status_code == 400
    assert get(f"{root}/v3/kpi", per_page="many").status_code == 400
    assert get(f"{root}/v3/data/kpi/N15428/year/20x0").status_code == 400
    assert get(f"{root}/v3/data/kpi/N15428/year/2020", from_date="yesterday").status_code == 400
    for path in ("/v3/nothing", "/v4/kpi", "/v3/data/kpi/N15428", "/v3/data/year/2020/kpi/N15428", "/v3"):
        reply = get(root + path)
        assert reply.status_code == 404, path
        assert "error" in reply.json()
    assert requests.post(f"{root}/v3/kpi", timeout=10).status_code == 405


def test_latest_year():
    assert snapshot_latest_year() == 2022
