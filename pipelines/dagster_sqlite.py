"""Dagster's local SQLite instance without a disk flush per event, for the runs ``kkik load`` starts.

Dagster's default instance keeps each run's event log in a SQLite file of its own (plus an index file for
asset events) and opens, commits and closes a connection for every event. A yearly load writes about 800
events; with SQLite's default ``synchronous`` each commit waits for the disk (measured here: 20 ms per
commit with a connection opened per event, 1 ms with ``synchronous=OFF``), so the run's bookkeeping cost
more than the dbt build. ``synchronous=OFF`` keeps every event (the commit still happens; an interrupted or
crashed process loses nothing that was committed); only an operating-system crash or power cut in the middle
of a write can damage Dagster's history files, never the warehouse, whose DuckDB writes are unaffected.
``KKIK_DAGSTER_SQLITE_SYNC`` (``off`` by default, or ``normal``/``full``) chooses otherwise.

Without the flush an event still cost 3 ms, most of it SQLAlchemy building an engine, opening the file and
disposing of both again for every event (twice for an asset event: the run's file and the index).
``engines_kept`` keeps one engine (and its open connection) per file for the length of a run; the rows
written and the transaction per event are Dagster's own.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def engines_kept(instance) -> Iterator[None]:
    """While the block runs, ``instance``'s SQLite event log reuses one SQLAlchemy engine per file (run shard,
    index) instead of creating and disposing of one per event; afterwards the engines are disposed of (their
    connections closed) and Dagster's own ``_connect`` is back. Any other event log storage is left alone."""
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
    from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
    from sqlalchemy import create_engine

    storage = instance.event_log_storage
    if type(storage) is not SqliteEventLogStorage:
        yield
        return
    engines: dict = {}

    @contextmanager
    def connect(shard: str):  # Dagster's SqliteEventLogStorage._connect, the engine kept
        with storage._db_lock:
            engine = engines.get(shard)
            if engine is None:
                engine = engines[shard] = create_engine(storage.conn_string_for_shard(shard),
                                                        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
            if shard not in storage._initialized_dbs:
                storage._initdb(engine)
                storage._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    storage._connect = connect  # an attribute of this storage object only: the class keeps Dagster's method
    try:
        yield
    finally:
        del storage._connect
        with storage._db_lock:
            for engine in engines.values():
                engine.dispose()
