"""The Dagster instance of ``kkik load`` commits its events without a disk flush (other SQLite files keep theirs)
and, during a run, through one kept engine per file."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
import sqlalchemy
from dagster import EventRecordsFilter

from pipelines import dagster_sqlite
from pipelines.config import SettingsError

SYNCHRONOUS = {0: "off", 1: "normal", 2: "full"}


def synchronous_of(path) -> str:
    engine = sqlalchemy.create_engine(f"sqlite:///{path}", poolclass=sqlalchemy.pool.NullPool)
    with engine.connect() as conn:
        value = conn.exec_driver_sql("pragma synchronous").scalar()
    engine.dispose()
    return SYNCHRONOUS[value]


@pytest.fixture
def clean_homes(monkeypatch):
    monkeypatch.setattr(dagster_sqlite, "_homes", {})
    yield
    sqlalchemy.event.remove(sqlalchemy.engine.Engine, "connect", dagster_sqlite._on_connect)


def test_only_files_under_the_dagster_home_lose_the_flush(tmp_path, monkeypatch, clean_homes):
    monkeypatch.delenv("KKIK_DAGSTER_SQLITE_SYNC", raising=False)
    home = tmp_path / "dagster_home"
    (home / "history" / "runs").mkdir(parents=True)
    default = synchronous_of(tmp_path / "before.db")
    dagster_sqlite.relax_instance_durability(home)
    assert synchronous_of(home / "history" / "runs" / "run.db") == "off"
    assert synchronous_of(tmp_path / "elsewhere.db") == default  # SQLite's own default (full)
    assert synchronous_of(tmp_path / "dagster_home_sibling.db") == default  # a prefix of the name is not under it


def test_the_setting_chooses_the_mode_and_a_bad_one_is_refused(tmp_path, monkeypatch, clean_homes):
    monkeypatch.setenv("KKIK_DAGSTER_SQLITE_SYNC", "normal")
    dagster_sqlite.relax_instance_durability(tmp_path)
    assert synchronous_of(tmp_path / "runs.db") == "normal"
    monkeypatch.setenv("KKIK_DAGSTER_SQLITE_SYNC", "sometimes")
    with pytest.raises(SettingsError, match="KKIK_DAGSTER_SQLITE_SYNC must be one of off, normal, full"):
        dagster_sqlite.relax_instance_durability(tmp_path)


def open_files_under(folder) -> list[str]:
    fds = Path("/proc/self/fd")
    paths = []
    for fd in fds.iterdir():
        try:
            paths.append(os.readlink(fd))
        except OSError:
            continue
    return [p for p in paths if p.startswith(str(folder))]


def planned_event(i: int):
    from dagster import AssetKey
    from dagster._core.events import AssetMaterializationPlannedData, DagsterEvent

    return DagsterEvent.build_asset_materialization_planned_event(
        "kkik_yearly_load", "step", AssetMaterializationPlannedData(AssetKey(["kkik", f"asset_{i}"]), partition=None))


def test_kept_engines_write_every_event_at_once_and_close_their_files_after(tmp_path, monkeypatch):
    from dagster import DagsterEventType, DagsterInstance

    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        with dagster_sqlite.engines_kept(instance):
            assert "_connect" in vars(storage)
            for i in range(3):
                instance.report_dagster_event(planned_event(i), "run-a", logging.DEBUG)
            # committed per event: another instance on the same home (`dagster dev`) reads them now
            with DagsterInstance.from_ref(instance.get_ref()) as reader:
                assert len(reader.get_records_for_run("run-a").records) == 3
                planned = reader.get_event_records(EventRecordsFilter(DagsterEventType.ASSET_MATERIALIZATION_PLANNED))
                assert {r.asset_key.path[-1] for r in planned} == {"asset_0", "asset_1", "asset_2"}  # the index too
            assert any(p.endswith("run-a.db") for p in open_files_under(home))  # kept open between events
        assert "_connect" not in vars(storage)  # Dagster's own method again
        assert not any(p.endswith(("run-a.db", "index.db")) for p in open_files_under(home))
        instance.report_dagster_event(planned_event(3), "run-a", logging.DEBUG)
        assert len(instance.get_records_for_run("run-a").records) == 4
