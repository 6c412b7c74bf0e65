"""SkolverketApp serves the bundled real export files byte for byte, and nothing else."""

from __future__ import annotations

import csv
from pathlib import Path

import requests

from pipelines.snapshot.server import SnapshotServer
from pipelines.snapshot.skolverket_app import SkolverketApp
from pipelines.sources.skolverket import EXPORTS, XLSX_MIME

SNAPSHOT = Path(__file__).resolve().parents[2] / "snapshot" / "skolverket"


def test_every_export_is_served_byte_for_byte_with_its_content_type():
    app = SkolverketApp()
    for spec in EXPORTS.values():
        reply = app.handle("GET", "/" + spec.path, {}, b"", "http://x/skolverket")
        assert reply.status == 200, spec.path
        assert reply.body == (SNAPSHOT / spec.path).read_bytes()
        expected = XLSX_MIME if spec.format == "xlsx" else "text/csv; charset=utf-8"
        assert reply.headers["Content-Type"] == expected


def test_other_paths_are_404_and_other_methods_405(tmp_path):
    app = SkolverketApp()
    for path in ("/", "/README.md", "/kolada_kpi_map.csv", "/siris/", "/siris/../README.md",
                 "/siris/nope.csv", "/" + EXPORTS["kostnader"].path + "x"):
        reply = app.handle("GET", path, {}, b"", "http://x/skolverket")
        assert reply.status == 404, path
        assert reply.headers["Content-Type"].startswith("text/html")
    assert app.handle("POST", "/" + EXPORTS["kostnader"].path, {}, b"", "u").status == 405
    # a known route whose file is missing from the root is a 404 too
    assert SkolverketApp(root=tmp_path).handle("GET", "/" + EXPORTS["kostnader"].path, {}, b"", "u").status == 404


def test_served_over_http():
    spec = EXPORTS["betygsresultat_over_tid_ak9"]
    with SnapshotServer([SkolverketApp()]) as server:
        ok = requests.get(f"{server.source_url('skolverket')}/{spec.path}", timeout=5)
        missing = requests.get(f"{server.source_url('skolverket')}/siris/missing.xlsx", timeout=5)
    assert ok.status_code == 200 and ok.headers["Content-Type"] == XLSX_MIME
    assert ok.content == (SNAPSHOT / spec.path).read_bytes()
    assert missing.status_code == 404


def test_snapshot_is_small_documented_and_mapped():
    files = [p for p in SNAPSHOT.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 2_000_000
    readme = (SNAPSHOT / "README.md").read_text(encoding="utf-8")
    assert "MMO85/skolverket_examen" in readme
    for spec in EXPORTS.values():
        assert spec.path in readme
        body = (SNAPSHOT / spec.path).read_bytes()
        assert body.startswith(b"PK\x03\x04" if spec.format == "xlsx" else b"\xef\xbb\xbf")  # real files, untouched
    rows = list(csv.DictReader((SNAPSHOT / "kolada_kpi_map.csv").open(encoding="utf-8")))
    by_id = {r["kpi_id"]: r for r in rows}
    assert {"kpi_id", "measure", "skolverket_huvudman", "gender_handling", "period_mapping", "note"} <= set(rows[0])
    assert by_id["N15428"]["measure"] == "andel_behoriga_yrkesprogram"
    assert by_id["N15428"]["relation"] == "different population"
    assert by_id["N15505"]["share_equal_2017_2022"] == "1.000"
