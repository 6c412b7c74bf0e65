"""The Riket column of inbox-fed figures: the bundled Kolada snapshot serves Kolada's own national value.

A survey export per kommun has no Riket, so for the figures the inbox feeds (manifest ``riket_only``) the
snapshot serves only Kolada's Riket records (municipality 0000), real values where ``values.parquet`` has
one; the kommun values stay the inbox's, since Kolada's would take precedence over the files.
"""

from __future__ import annotations

import json

import pytest

from pipelines.snapshot.kolada_app import DEFAULT_SNAPSHOT_DIR, KoladaApp

MANIFEST = DEFAULT_SNAPSHOT_DIR / "manifest.json"
pytestmark = pytest.mark.skipif(not MANIFEST.exists(), reason="no bundled Kolada snapshot")


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def test_inbox_fed_figures_get_only_kolada_riket(manifest):
    riket_only = sorted(kpi for kpi, entry in manifest["kpis"].items() if entry.get("riket_only"))
    assert {"N00673", "N00674", "U28532", "U30452"} <= set(riket_only)
    records = KoladaApp().data_records(riket_only, None, None)
    assert records, "no Riket record for any inbox-fed figure"
    assert {r["municipality"] for r in records} == {"0000"}
    assert not any(r.get("synthetic") for r in records)
    assert all(v["value"] is not None for r in records for v in r["values"])


def test_servicematningen_riket_is_koladas_2022_value():
    records = {(r["kpi"], r["period"]): r for r in KoladaApp().data_records(["N00673", "N00674"], ["0000"], None)}
    assert set(records) == {("N00673", 2022), ("N00674", 2022)}
    # values.parquet (the 2024 scrape of Kolada), municipality 0000, gender T
    assert records[("N00673", 2022)]["values"] == [
        {"gender": "T", "count": 1, "status": "", "value": 81.60861939, "isdeleted": False}]
    assert records[("N00674", 2022)]["values"][0]["value"] == 78.09446254
