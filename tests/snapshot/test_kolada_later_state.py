"""The snapshot's later state: added, revised and deleted values with their dates, and ``from_date`` over them."""

from __future__ import annotations

import json

import pytest
import requests

from pipelines.snapshot.kolada_app import DEFAULT_SNAPSHOT_DIR, SCRAPE_DATE, STATES, KoladaApp
from pipelines.snapshot.server import SnapshotServer

CHANGES = json.loads((DEFAULT_SNAPSHOT_DIR / STATES["later"]).read_text(encoding="utf-8"))["changes"]
KPIS = sorted({c["kpi"] for c in CHANGES})
DATA = f"/v3/data/kpi/{','.join(KPIS)}/year/2021,2022"


@pytest.fixture(scope="module")
def roots():
    with SnapshotServer([KoladaApp()]) as base, SnapshotServer([KoladaApp(state="later")]) as later:
        yield base.source_url("kolada"), later.source_url("kolada")


def values(root: str, **params) -> dict[tuple, dict]:
    out, url = {}, root + DATA
    while url:
        payload = requests.get(url, params=params, timeout=10).json()
        params = {}
        for record in payload["values"]:
            for entry in record["values"]:
                out[(record["kpi"], record["municipality"], record["period"], entry["gender"])] = {
                    **entry, "synthetic": record.get("synthetic", False)}
        url = payload.get("next_url")
    return out


def key(change: dict) -> tuple:
    return change["kpi"], change["municipality"], change["period"], change["gender"]


def test_the_later_state_is_the_snapshot_with_every_change_applied(roots):
    base, later = values(roots[0]), values(roots[1])
    by_kind = {kind: [c for c in CHANGES if c["change"] == kind] for kind in ("added", "revised", "deleted")}
    assert {k: len(v) for k, v in by_kind.items()} == {"added": 936, "revised": 6, "deleted": 3}
    for change in by_kind["added"]:
        assert key(change) not in base and later[key(change)]["value"] == change["value"]
        assert later[key(change)]["synthetic"]
    for change in by_kind["revised"]:
        assert base[key(change)]["value"] == pytest.approx(change["value_before"])
        assert later[key(change)]["value"] == change["value"] != change["value_before"]
    for change in by_kind["deleted"]:
        assert key(change) in base and key(change) not in later
    # values not changed keep their value; the marker is per record, so a changed record is synthetic as a whole
    untouched = set(base) - {key(c) for c in CHANGES}
    assert untouched and all(base[k] | {"synthetic": None} == later[k] | {"synthetic": None} for k in untouched)
    changed_records = {key(c)[:3] for c in CHANGES}
    assert all(later[k]["synthetic"] for k in later if k[:3] in changed_records)


def test_from_date_answers_only_the_changes_since_then(roots):
    base_root, later_root = roots
    assert values(later_root, from_date="2024-10-02") == {}
    assert values(base_root, from_date="2024-09-01") == {}  # nothing changed since the scrape
    assert len(values(base_root, from_date=SCRAPE_DATE)) == len(values(base_root))

    since = values(later_root, from_date="2024-09-20")
    assert set(since) == {key(c) for c in CHANGES if c["changed_on"] >= "2024-09-20"}
    deleted = {key(c) for c in CHANGES if c["change"] == "deleted"}
    assert all(since[k]["isdeleted"] and since[k]["value"] is None for k in deleted)
    assert all(not since[k]["isdeleted"] and since[k]["value"] is not None for k in set(since) - deleted)

    assert set(values(later_root, from_date="2024-09-01")) == {key(c) for c in CHANGES}
