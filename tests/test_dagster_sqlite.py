"""The Dagster instance of ``kkik load`` commits its events without a disk flush; other SQLite files keep theirs."""

from __future__ import annotations

import pytest
import sqlalchemy

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
