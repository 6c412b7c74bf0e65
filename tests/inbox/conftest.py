"""Shared set-up for the inbox tests: the real municipality list and inboxes built from fixture files."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.config import PROJECT_ROOT
from pipelines.inbox import read_municipality_ids

FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "surveys"
SNAPSHOT_INBOX = PROJECT_ROOT / "snapshot" / "inbox"


@pytest.fixture(scope="session")
def municipality_ids() -> set[str]:
    """Kolada's real municipality list as bundled in the snapshot (290 kommuner, Riket, regions)."""
    return read_municipality_ids(PROJECT_ROOT / "snapshot" / "kolada" / "municipality.json.gz")


@pytest.fixture
def make_inbox(tmp_path):
    """``make_inbox("good/insikt/a.csv", ...)`` → an inbox folder with those fixture files under their file type."""

    def build(*fixtures: str, name: str = "inbox") -> Path:
        inbox = tmp_path / name
        inbox.mkdir(exist_ok=True)
        for fixture in fixtures:
            source = FIXTURES / fixture
            target = inbox / source.parent.name / source.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        return inbox

    return build


def query(db: Path, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()
