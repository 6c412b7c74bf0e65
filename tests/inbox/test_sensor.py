"""The inbox sensor asks for a run when a file with new content appears, and only then."""

from __future__ import annotations

import shutil
from pathlib import Path

from dagster import RunRequest, SkipReason, build_sensor_context

from pipelines.assets.inbox import inbox_sensor
from pipelines.config import SNAPSHOT_DIR
from pipelines.inbox import land_inbox, read_municipality_ids

GOOD = Path(__file__).resolve().parents[1] / "fixtures" / "surveys" / "good"
LIVE_SOURCES = {"KKIK_KOLADA_URL": "http://127.0.0.1:9/kolada", "KKIK_SCB_URL": "http://127.0.0.1:9/scb",
                "KKIK_SKOLVERKET_URL": "http://127.0.0.1:9/skolverket"}


def test_sensor_requests_a_run_for_new_content_only(tmp_path, monkeypatch):
    inbox = tmp_path / "inbox"
    (inbox / "insikt").mkdir(parents=True)
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("KKIK_INBOX_DIR", str(inbox))
    monkeypatch.setenv("KKIK_DUCKDB_PATH", str(warehouse))
    monkeypatch.setenv("KKIK_LATEST_YEAR", "2022")
    # a live inbox with live services (never reached: the sensor only decides whether to start a run)
    for name, url in LIVE_SOURCES.items():
        monkeypatch.setenv(name, url)

    assert isinstance(inbox_sensor(build_sensor_context()), SkipReason)

    sample = next((GOOD / "insikt").iterdir())
    shutil.copy(sample, inbox / "insikt" / sample.name)
    request = inbox_sensor(build_sensor_context())
    assert isinstance(request, RunRequest)
    assert request.run_key.startswith("inbox:")
    assert request.tags["dagster/asset_partition_range_start"] == "2018"
    assert request.tags["dagster/asset_partition_range_end"] == "2022"

    # the same content under another name is not new once landed
    land_inbox(inbox, warehouse, municipality_ids=read_municipality_ids(SNAPSHOT_DIR / "kolada" / "municipality.json.gz"))
    shutil.copy(sample, inbox / "insikt" / f"copy_of_{sample.name}")
    assert isinstance(inbox_sensor(build_sensor_context()), SkipReason)
    assert (inbox / "insikt" / sample.name).exists()  # nothing dropped is removed


def test_sensor_refuses_a_live_inbox_beside_the_snapshot(tmp_path, monkeypatch):
    """A new file in a live inbox while Kolada, SCB and Skolverket are the bundled snapshot: the run would
    publish partly synthetic data, and a sensor has nobody to pass --allow-mixed-sources."""
    inbox = tmp_path / "inbox"
    (inbox / "insikt").mkdir(parents=True)
    monkeypatch.setenv("KKIK_INBOX_DIR", str(inbox))
    monkeypatch.setenv("KKIK_DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))
    sample = next((GOOD / "insikt").iterdir())
    shutil.copy(sample, inbox / "insikt" / sample.name)

    outcome = inbox_sensor(build_sensor_context())

    assert isinstance(outcome, SkipReason)
    assert outcome.skip_message.startswith("not started: the sources mix live (inbox)")
    assert "--allow-mixed-sources" in outcome.skip_message
