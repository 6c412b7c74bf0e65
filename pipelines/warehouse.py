"""Opening the DuckDB warehouse file: one short-lived connection per step, never one held open.

DuckDB allows one process per file to write, and refuses (it does not wait) while another holds it.
Several processes may use the file (a load and its dbt subprocess, ``kkik watch``, a sensor's run), so
every use of it first takes an exclusive advisory lock on ``<file>.lock`` and waits for it: the short
DuckDB writes take turns.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

LOCK_TIMEOUT_SECONDS = 1800.0


@contextmanager
def _flock(lock_path: Path, timeout: float) -> Iterator[bool]:
    """An exclusive advisory lock on ``lock_path``, waited for up to ``timeout`` seconds (0: not at all):
    True while held, False when another process held it throughout."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.1)
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def warehouse_lock(path: Path, timeout: float = LOCK_TIMEOUT_SECONDS) -> Iterator[None]:
    """Hold the warehouse's advisory lock (re-entrant within one process is not needed: steps don't nest)."""
    with _flock(Path(f"{path}.lock"), timeout) as held:
        if not held:
            raise TimeoutError(f"{path}: another process held the warehouse for over {timeout:.0f} s")
        yield


@contextmanager
def run_lock(path: Path) -> Iterator[bool]:
    """Whether this process holds the warehouse's *run* lock (``<file>.run.lock``) for a whole load, refresh
    or publication, without waiting: True while held; False when another run holds it. The per-use lock
    above only makes single writes take turns; two loads at once would interleave their steps (one
    publishing while the other's audit wrote flags), so the second one is not started."""
    with _flock(run_lock_path(path), 0) as held:
        yield held


def run_lock_path(path: Path) -> Path:
    """The run lock's file beside the warehouse ``path``."""
    return Path(f"{path}.run.lock")


def run_lock_refusal(path: Path) -> str:
    """What a command or a scheduled run says when :func:`run_lock` is held by another run."""
    return (f"not started: a kkik load, refresh or publish is running on {path}; wait for it to end, then run "
            "this again")


@contextmanager
def connect(path: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the warehouse file that is closed on exit (the file is created if missing)."""
    with warehouse_lock(path):
        con = duckdb.connect(str(path), read_only=read_only)
        try:
            yield con
        finally:
            con.close()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All statements inside commit together or not at all, so no reader sees a half-written load."""
    con.execute("begin transaction")
    try:
        yield con
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")
