"""Dagster's local SQLite instance without a disk flush per event, for the runs ``kkik load`` starts.

Dagster's default instance keeps each run's event log in a SQLite file of its own (plus an index file for
asset events) and opens, commits and closes a connection for every event. A yearly load writes about 800
events; with SQLite's default ``synchronous`` each commit waits for the disk (measured here: 20 ms per
commit with a connection opened per event, 1 ms with ``synchronous=OFF``), so the run's bookkeeping cost
more than the dbt build. ``synchronous=OFF`` keeps every event (the commit still happens; an interrupted or
crashed process loses nothing that was committed); only an operating-system crash or power cut in the middle
of a write can damage Dagster's history files, never the warehouse, whose DuckDB writes are unaffected.
``KKIK_DAGSTER_SQLITE_SYNC`` (``off`` by default, or ``normal``/``full``) chooses otherwise.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from pipelines.config import SettingsError

SYNC_MODES = ("off", "normal", "full")
_homes: dict[str, str] = {}


def sync_mode() -> str:
    value = os.environ.get("KKIK_DAGSTER_SQLITE_SYNC", "").strip().lower() or "off"
    if value not in SYNC_MODES:
        raise SettingsError(f"KKIK_DAGSTER_SQLITE_SYNC must be one of {', '.join(SYNC_MODES)}, not {value!r}")
    return value


def relax_instance_durability(dagster_home: Path) -> None:
    """Set ``PRAGMA synchronous`` on every SQLite connection SQLAlchemy opens to a file under ``dagster_home``
    (Dagster's run, event-log and schedule storages); other databases are left as they are."""
    mode = sync_mode()
    first = not _homes
    _homes[str(dagster_home.resolve())] = mode
    if not first:
        return
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    event.listen(Engine, "connect", _on_connect)


def _on_connect(dbapi_connection, _connection_record) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    files = [row[2] for row in dbapi_connection.execute("pragma database_list").fetchall() if row[1] == "main"]
    if not files or not files[0]:
        return
    for home, mode in _homes.items():
        if files[0].startswith(home + os.sep):
            dbapi_connection.execute(f"pragma synchronous={mode}")
            return
