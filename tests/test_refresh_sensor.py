"""The Kolada sensor of the collection period, the period's configuration, and the mixed-source refusal of
scheduled runs; evaluated with Dagster's own contexts against the snapshot server.

The warehouse is a real Kolada landing (``land_kolada`` from the bundled state, seconds, no dbt): the sensor
needs only what the warehouse holds of Kolada to know since when to ask.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest
from dagster import DagsterInstance, RunRequest, SkipReason, build_schedule_context, build_sensor_context

from pipelines.catalogue import kkik_kpi_ids
from pipelines.collection_period import CollectionPeriod, today
from pipelines.config import Settings, SettingsError
from pipelines.jobs import REFRESH_RUN_CONFIG, default_years, range_tags, yearly_load_schedule
from pipelines.landing.kolada import land_kolada
from pipelines.preflight import BadArguments, check_sources
from pipelines.sensors import kolada_changes_sensor
from pipelines.snapshot.kolada_app import KoladaApp
from pipelines.snapshot.scb_app import ScbApp
from pipelines.snapshot.server import SnapshotServer
from pipelines.snapshot.skolverket_app import SkolverketApp
from pipelines.sources.kolada import KoladaClient

YEARS = default_years(2022)  # what the sensor refreshes with KKIK_LATEST_YEAR=2022: 2018–2022


@pytest.fixture(scope="module")
def server():
    with SnapshotServer([KoladaApp(), ScbApp(), SkolverketApp()]) as server:
        yield server


@pytest.fixture(scope="module")
def warehouse(server, tmp_path_factory):
    """Kolada's bundled state landed for the sensor's years (Kolada's clock: 2024-08-31)."""
    tmp = tmp_path_factory.mktemp("sensor")
    with KoladaClient(server.source_url("kolada")) as client:
        land_kolada(client, kpi_ids=kkik_kpi_ids(), years=YEARS, raw_dir=tmp / "raw",
                    duckdb_path=tmp / "warehouse.duckdb")
    return tmp


@pytest.fixture
def live_env(server, warehouse, monkeypatch, tmp_path):
    """Every source on the snapshot server as if it were live (none is the bundled snapshot: not mixed), and a
    collection period around today."""
    (tmp_path / "inbox").mkdir()
    for name, value in {"KKIK_KOLADA_URL": server.source_url("kolada"), "KKIK_SCB_URL": server.source_url("scb"),
                        "KKIK_SKOLVERKET_URL": server.source_url("skolverket"),
                        "KKIK_INBOX_DIR": str(tmp_path / "inbox"),
                        "KKIK_DUCKDB_PATH": str(warehouse / "warehouse.duckdb"), "KKIK_LATEST_YEAR": "2022",
                        "KKIK_COLLECTION_START": str(today() - dt.timedelta(days=10)),
                        "KKIK_COLLECTION_END": str(today() + dt.timedelta(days=10))}.items():
        monkeypatch.setenv(name, value)


def evaluate():
    return kolada_changes_sensor(build_sensor_context(instance=DagsterInstance.ephemeral()))


def test_in_the_period_a_run_is_requested_only_when_kolada_changed(server, live_env):
    server.apps["kolada"] = KoladaApp()
    before = server.request_count
    unchanged = evaluate()
    assert isinstance(unchanged, SkipReason)
    requests = server.request_count - before
    assert requests == math.ceil(len(kkik_kpi_ids()) / 25) == 2
    assert unchanged.skip_message == f"nothing changed in Kolada since 2024-08-31 ({requests} requests)"

    server.apps["kolada"] = KoladaApp(state="later")
    try:
        changed, again = evaluate(), evaluate()
    finally:
        server.apps["kolada"] = KoladaApp()
    assert isinstance(changed, RunRequest)
    assert changed.run_config == REFRESH_RUN_CONFIG and changed.tags == range_tags(YEARS)
    assert changed.run_key.startswith("kolada-refresh:2024-08-31:")
    assert again.run_key == changed.run_key  # the same changes seen twice start one run


def test_no_second_refresh_while_one_is_queued_or_running(server, live_env):
    from pipelines.definitions import kolada_refresh_job

    instance = DagsterInstance.ephemeral()

    run = instance.create_run_for_job(kolada_refresh_job(), run_config=REFRESH_RUN_CONFIG, tags=range_tags(YEARS))
    assert run.status.value == "NOT_STARTED"  # created, not launched: as a queued run looks to the sensor
    server.apps["kolada"] = KoladaApp(state="later")
    try:
        result = kolada_changes_sensor(build_sensor_context(instance=instance))
    finally:
        server.apps["kolada"] = KoladaApp()
    assert isinstance(result, SkipReason)
    assert result.skip_message == f"the refresh run {run.run_id} is still queued or running"


def test_outside_the_period_the_sensor_is_off_and_asks_nothing(server, live_env, monkeypatch):
    monkeypatch.setenv("KKIK_COLLECTION_START", "2020-09-01")
    monkeypatch.setenv("KKIK_COLLECTION_END", "2020-11-30")
    before = server.request_count
    result = evaluate()
    assert isinstance(result, SkipReason)
    assert result.skip_message == f"{today()} is outside the collection period 2020-09-01 – 2020-11-30: the sensor is off"
    monkeypatch.delenv("KKIK_COLLECTION_START")
    monkeypatch.delenv("KKIK_COLLECTION_END")
    assert "no collection period configured" in evaluate().skip_message
    assert server.request_count == before


def test_a_warehouse_without_a_kolada_load_is_not_refreshed(live_env, monkeypatch, tmp_path):
    monkeypatch.setenv("KKIK_DUCKDB_PATH", str(tmp_path / "empty.duckdb"))
    result = evaluate()
    assert isinstance(result, SkipReason) and "land them in full first (`kkik load --year 2018" in result.skip_message


def mixed_message() -> str:
    """What ``kkik load`` says of the same configuration (its preflight check)."""
    with pytest.raises(BadArguments) as refused:
        check_sources(Settings.from_env(), allow_mixed=False)
    return str(refused.value)


def test_scheduled_runs_refuse_mixed_sources_with_the_message_of_kkik_load(server, live_env, monkeypatch):
    for name in ("KKIK_SCB_URL", "KKIK_SKOLVERKET_URL", "KKIK_INBOX_DIR"):
        monkeypatch.delenv(name)  # KKIK_SOURCES=snapshot (conftest): all but Kolada are the bundled snapshot
    message = mixed_message()
    assert "the sources mix live (Kolada) and the bundled snapshot (SCB, Skolverket, inbox)" in message
    before = server.request_count
    sensed = evaluate()
    assert isinstance(sensed, SkipReason) and sensed.skip_message == f"not started: {message}"
    assert server.request_count == before
    scheduled = yearly_load_schedule(build_schedule_context(scheduled_execution_time=dt.datetime(2026, 3, 1, 5)))
    assert isinstance(scheduled, SkipReason) and scheduled.skip_message == f"not started: {message}"


def test_the_schedule_requests_its_run_when_the_sources_are_not_mixed(live_env):
    scheduled = yearly_load_schedule(build_schedule_context(scheduled_execution_time=dt.datetime(2026, 3, 1, 5)))
    assert isinstance(scheduled, RunRequest) and scheduled.run_key == "kkik-2026"


@pytest.mark.parametrize("start, end, day, inside", [
    ("2025-09-01", "2025-11-30", "2025-09-01", True),
    ("2025-09-01", "2025-11-30", "2025-11-30", True),
    ("2025-09-01", "2025-11-30", "2026-10-01", False),  # a dated period is one year's
    ("09-01", "11-30", "2031-10-15", True),  # month-days: every year
    ("09-01", "11-30", "2031-12-01", False),
    ("12-01", "02-28", "2031-01-15", True),  # over the new year
    ("12-01", "02-28", "2031-03-01", False),
])
def test_the_collection_period(start, end, day, inside, monkeypatch):
    monkeypatch.setenv("KKIK_COLLECTION_START", start)
    monkeypatch.setenv("KKIK_COLLECTION_END", end)
    assert CollectionPeriod.from_env().contains(dt.date.fromisoformat(day)) is inside


@pytest.mark.parametrize("start, end, message", [
    ("2025-09-01", "", "KKIK_COLLECTION_END is not set"),
    ("2025-09-31", "2025-11-30", "KKIK_COLLECTION_START must be a date (YYYY-MM-DD) or a month-day (MM-DD), not '2025-09-31'"),
    ("2025-09-01", "11-30", "must both be dates (YYYY-MM-DD) or both month-days (MM-DD)"),
    ("2025-11-30", "2025-09-01", "KKIK_COLLECTION_END='2025-09-01' is before KKIK_COLLECTION_START='2025-11-30'"),
])
def test_a_bad_collection_period_is_refused_by_name(start, end, message, monkeypatch):
    monkeypatch.setenv("KKIK_COLLECTION_START", start)
    monkeypatch.setenv("KKIK_COLLECTION_END", end)
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        CollectionPeriod.from_env()


def test_scheduled_runs_do_not_start_while_a_kkik_command_holds_the_warehouse(server, live_env):
    """A `kkik load` (or refresh, publish) from the command line holds the run lock for its whole run."""
    from pipelines.warehouse import run_lock

    before = server.request_count
    with run_lock(Settings.from_env().duckdb_path) as held:
        assert held
        sensed = evaluate()
        scheduled = yearly_load_schedule(build_schedule_context(scheduled_execution_time=dt.datetime(2026, 3, 1, 5)))
    for outcome in (sensed, scheduled):
        assert isinstance(outcome, SkipReason)
        assert outcome.skip_message.startswith("not started: a kkik load, refresh or publish is running on ")
    assert server.request_count == before  # Kolada was not even asked
    after = evaluate()  # the lock released: the sensor asks Kolada again (nothing changed in this state)
    assert isinstance(after, SkipReason) and after.skip_message.startswith("nothing changed in Kolada")
    assert server.request_count > before
