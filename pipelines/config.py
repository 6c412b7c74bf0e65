"""Settings read from the environment, so the same code runs on the bundled snapshot and in production.

Every path is resolved against the project root, not the working directory: dbt, Dagster and the CLI
run from different folders and must all see the same DuckDB file and raw folder.

Where each source comes from is chosen explicitly. The package default is the live services; the bundled
snapshot is chosen with ``KKIK_SOURCES=snapshot`` (what ``make run`` and the tests set) or per source with
``KKIK_<SOURCE>_URL=snapshot``. A per-source setting wins over ``KKIK_SOURCES``. A run whose sources mix
live and snapshot is refused by ``kkik load`` unless asked for (``--allow-mixed-sources``): a deploy that
forgets one setting must not publish the partly synthetic snapshot.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT_DIR = PROJECT_ROOT / "snapshot"
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"

#: The KKiK report shows each kommun's four latest years ("in the column of the year they were released").
KKIK_YEARS = 4
#: A yearly load reloads those years and the one before them (the previous value of the change column); the
#: audit's rules check at most this many of a run's newest years, the earlier ones are their history.
LOAD_YEARS = KKIK_YEARS + 1

#: The value of a ``KKIK_*_URL`` / ``KKIK_INBOX_DIR`` / ``KKIK_SOURCES`` setting that means "the bundled snapshot".
SNAPSHOT = "snapshot"
LIVE = "live"

LIVE_KOLADA_URL = "https://api.kolada.se/v3"
LIVE_SCB_URL = "https://statistikdatabasen.scb.se/api/v2"
#: The production inbox when ``KKIK_INBOX_DIR`` is not set (a network share is set explicitly).
LIVE_INBOX_DIR = "data/inbox"
#: Skolverket has no stable live URL (the export URLs change with each release): production must set one.
NOT_SET = ""

#: Kolada's polite rate for the live API (calls per second); ``KKIK_KOLADA_CALLS_PER_SECOND`` overrides it.
LIVE_KOLADA_CALLS_PER_SECOND = 5.0
#: The rate against the bundled snapshot: our own server on loopback needs no politeness, and at 5 calls/s
#: its 11 answers would cost 2 s of waiting in every load.
SNAPSHOT_CALLS_PER_SECOND = 1000.0

#: The sources of a load, in the order the banner names them.
SOURCE_NAMES = ("Kolada", "SCB", "Skolverket", "inbox")


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the variable and what to set it to."""


def _resolve(value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else PROJECT_ROOT / path


def published_dir_beside(duckdb_path: Path) -> Path:
    """The readers' copy of the published mart by default: ``published/`` beside the warehouse file
    (``data/published`` for ``data/warehouse.duckdb``), so a load on a temporary warehouse never writes
    into the project's ``data/``."""
    return duckdb_path.parent / "published"


def nearest_existing(path: Path) -> Path:
    """``path`` itself or the nearest of its parents that exists: where the checks of an output path look
    (is it a folder, may it be written) before anything is created below it."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


class OutputPathError(ValueError):
    """An output (``--out``) that cannot be written; the message names it and why."""


def check_writable_file(out: Path, example: str = "out.csv") -> None:
    """Refuse an output file we could not write, before any work: a directory (``example``: the file name the
    message suggests in it), a folder that cannot be created, no permission, or a name the system refuses even
    to look up (one too long)."""
    with _os_errors_named(out):
        if out.is_dir():
            raise OutputPathError(f"{out}: is a directory; give a file name, e.g. {out / example}")
        _check_can_create_in(out.parent, named=out, its="its folder")
        if out.exists() and not os.access(out, os.W_OK):
            raise OutputPathError(f"{out}: cannot be written (no permission in {out.parent})")


def check_writable_folder(folder: Path, what: str) -> None:
    """Refuse an output folder we could not write files into, before any work: a file (``what``: what the folder
    is for, for the message), a folder on its way that is a file, no permission, a name too long."""
    with _os_errors_named(folder):
        if folder.exists() and not folder.is_dir():
            raise OutputPathError(f"{folder}: is a file, not a folder: {what}")
        _check_can_create_in(folder, named=folder, its="the folder")


def _check_can_create_in(folder: Path, *, named: Path, its: str) -> None:
    """``folder`` exists or can be created, and may be written: its nearest existing ancestor is a writable folder."""
    ancestor = nearest_existing(folder)
    if not ancestor.is_dir():
        raise OutputPathError(f"{named}: {its} cannot be created: {ancestor} is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputPathError(f"{named}: cannot be written (no permission in {ancestor})")


@contextmanager
def _os_errors_named(path: Path) -> Iterator[None]:
    """An OSError of the checks (a name the system refuses even to look up) as an OutputPathError naming ``path``."""
    try:
        yield
    except OSError as exc:
        raise OutputPathError(f"{path}: cannot be written: {exc.strerror or exc}") from None


def _path(name: str, default: str) -> Path:
    return _resolve(os.environ.get(name, "").strip() or default)


def _sources_default() -> str:
    value = os.environ.get("KKIK_SOURCES", LIVE).strip().lower() or LIVE
    if value not in (LIVE, SNAPSHOT):
        raise SettingsError(f"KKIK_SOURCES must be {LIVE!r} or {SNAPSHOT!r}, not {value!r}")
    return value


def _url(name: str, sources: str, live_default: str) -> str:
    """A source's URL: its own variable, else ``snapshot`` when ``KKIK_SOURCES=snapshot``, else the live URL."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        value = SNAPSHOT if sources == SNAPSHOT else live_default
    return value.strip().rstrip("/")


def _calls_per_second(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        rate = float(value)
    except ValueError:
        rate = 0.0
    if not rate > 0:
        raise SettingsError(f"{name} must be a number of calls per second > 0, not {value!r}")
    return rate


@dataclass(frozen=True)
class Settings:
    """What a load needs to know about its environment."""

    duckdb_path: Path
    #: the readers' copy (mart.duckdb, parquet/, publication.json) that loads never open for writing
    published_dir: Path
    raw_dir: Path
    quality_dir: Path
    kolada_url: str
    kolada_api_version: str
    #: calls per second to Kolada: 5 live, unlimited (1000) against the snapshot; ``KKIK_KOLADA_CALLS_PER_SECOND``
    kolada_calls_per_second: float
    scb_url: str
    scb_api_version: str
    #: ``NOT_SET`` (empty) when live and not configured: ``kkik load`` refuses before anything runs
    skolverket_url: str
    inbox_dir: Path
    latest_year: int | None
    #: the Dagster instance of the CLI's runs and of ``make dev`` (``DAGSTER_HOME``), so the UI shows them
    dagster_home: Path
    #: where ``kkik load`` writes its log file (dbt's node lines, Dagster's INFO lines, tracebacks)
    log_dir: Path

    @property
    def uses_snapshot(self) -> bool:
        return self.kolada_url == SNAPSHOT

    @property
    def inbox_is_snapshot(self) -> bool:
        return self.inbox_dir == SNAPSHOT_DIR / "inbox"

    def source_origins(self) -> dict[str, str]:
        """Each source → ``snapshot``, or where it is read from live (URL or folder; empty when not set)."""
        return {
            "Kolada": self.kolada_url,
            "SCB": self.scb_url,
            "Skolverket": self.skolverket_url,
            "inbox": SNAPSHOT if self.inbox_is_snapshot else str(self.inbox_dir),
        }

    def snapshot_sources(self) -> list[str]:
        return [name for name, origin in self.source_origins().items() if origin == SNAPSHOT]

    def live_sources(self) -> list[str]:
        return [name for name, origin in self.source_origins().items() if origin != SNAPSHOT]

    @property
    def sources_are_mixed(self) -> bool:
        return bool(self.snapshot_sources()) and bool(self.live_sources())

    @classmethod
    def from_env(cls) -> Settings:
        version = os.environ.get("KKIK_KOLADA_API_VERSION", "v3")
        if version not in ("v2", "v3"):
            raise SettingsError(f"KKIK_KOLADA_API_VERSION must be v2 or v3, not {version!r}")
        scb_version = os.environ.get("KKIK_SCB_API_VERSION", "v2")
        if scb_version not in ("v1", "v2"):
            raise SettingsError(f"KKIK_SCB_API_VERSION must be v1 or v2, not {scb_version!r}")
        latest = os.environ.get("KKIK_LATEST_YEAR")
        duckdb_path = _path("KKIK_DUCKDB_PATH", "data/warehouse.duckdb")
        sources = _sources_default()
        inbox = os.environ.get("KKIK_INBOX_DIR", "").strip() or (SNAPSHOT if sources == SNAPSHOT else LIVE_INBOX_DIR)
        kolada_url = _url("KKIK_KOLADA_URL", sources, LIVE_KOLADA_URL)
        return cls(
            duckdb_path=duckdb_path,
            published_dir=_path("KKIK_PUBLISHED_DIR", str(published_dir_beside(duckdb_path))),
            raw_dir=_path("KKIK_RAW_DIR", "data/raw"),
            quality_dir=_path("KKIK_QUALITY_DIR", "data/quality"),
            kolada_url=kolada_url,
            kolada_api_version=version,
            kolada_calls_per_second=_calls_per_second(
                "KKIK_KOLADA_CALLS_PER_SECOND",
                SNAPSHOT_CALLS_PER_SECOND if kolada_url == SNAPSHOT else LIVE_KOLADA_CALLS_PER_SECOND),
            scb_url=_url("KKIK_SCB_URL", sources, LIVE_SCB_URL),
            scb_api_version=scb_version,
            # Skolverket publishes kommun results as export files whose URLs change with each release:
            # production sets KKIK_SKOLVERKET_URL to where they are kept (there is no default live URL).
            skolverket_url=_url("KKIK_SKOLVERKET_URL", sources, NOT_SET),
            # where data staff drop survey and own-reporting files; `snapshot` = the bundled samples
            inbox_dir=SNAPSHOT_DIR / "inbox" if inbox == SNAPSHOT else _resolve(inbox),
            latest_year=int(latest) if latest else None,
            dagster_home=_path("DAGSTER_HOME", "data/dagster_home"),
            log_dir=_path("KKIK_LOG_DIR", "data/logs"),
        )
