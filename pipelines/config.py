"""Settings read from the environment, so the same code runs on the bundled snapshot and in production.

Every path is resolved against the project root, not the working directory: dbt, Dagster and the CLI
run from different folders and must all see the same DuckDB file and raw folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT_DIR = PROJECT_ROOT / "snapshot"
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"

#: The value of a ``KKIK_*_URL`` setting that means "serve the bundled snapshot on loopback".
SNAPSHOT = "snapshot"

LIVE_KOLADA_URL = "https://api.kolada.se/v3"
LIVE_SCB_URL = "https://statistikdatabasen.scb.se/api/v2"


def published_dir_beside(duckdb_path: Path) -> Path:
    """The readers' copy of the published mart by default: ``published/`` beside the warehouse file
    (``data/published`` for ``data/warehouse.duckdb``), so a load on a temporary warehouse never writes
    into the project's ``data/``."""
    return duckdb_path.parent / "published"


def _path(name: str, default: str) -> Path:
    path = Path(os.environ.get(name, default))
    return path if path.is_absolute() else PROJECT_ROOT / path


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
    scb_url: str
    scb_api_version: str
    skolverket_url: str
    inbox_dir: Path
    latest_year: int | None

    @property
    def uses_snapshot(self) -> bool:
        return self.kolada_url == SNAPSHOT

    @classmethod
    def from_env(cls) -> "Settings":
        version = os.environ.get("KKIK_KOLADA_API_VERSION", "v3")
        if version not in ("v2", "v3"):
            raise ValueError(f"KKIK_KOLADA_API_VERSION must be v2 or v3, not {version!r}")
        scb_version = os.environ.get("KKIK_SCB_API_VERSION", "v2")
        if scb_version not in ("v1", "v2"):
            raise ValueError(f"KKIK_SCB_API_VERSION must be v1 or v2, not {scb_version!r}")
        latest = os.environ.get("KKIK_LATEST_YEAR")
        duckdb_path = _path("KKIK_DUCKDB_PATH", "data/warehouse.duckdb")
        return cls(
            duckdb_path=duckdb_path,
            published_dir=_path("KKIK_PUBLISHED_DIR", str(published_dir_beside(duckdb_path))),
            raw_dir=_path("KKIK_RAW_DIR", "data/raw"),
            quality_dir=_path("KKIK_QUALITY_DIR", "data/quality"),
            kolada_url=os.environ.get("KKIK_KOLADA_URL", SNAPSHOT).rstrip("/"),
            kolada_api_version=version,
            scb_url=os.environ.get("KKIK_SCB_URL", SNAPSHOT).rstrip("/"),
            scb_api_version=scb_version,
            # Skolverket publishes kommun results as export files whose URLs change with each release:
            # production sets KKIK_SKOLVERKET_URL to where they are kept (there is no default live URL).
            skolverket_url=os.environ.get("KKIK_SKOLVERKET_URL", SNAPSHOT).rstrip("/"),
            # where data staff drop survey and own-reporting files; `snapshot` = the bundled samples
            inbox_dir=(
                SNAPSHOT_DIR / "inbox"
                if os.environ.get("KKIK_INBOX_DIR", SNAPSHOT) == SNAPSHOT
                else _path("KKIK_INBOX_DIR", "data/inbox")
            ),
            latest_year=int(latest) if latest else None,
        )
