"""Shared test set-up: every test runs on the bundled snapshot, chosen explicitly, and the dbt manifest exists.

The package default is the live services (pipelines/config.py); a test must never reach them, so the
snapshot is set here for the whole session, before any module reads the settings (the Dagster
definitions read them on import), and any per-source override in the developer's shell is dropped.
"""

from __future__ import annotations

import os

import pytest

os.environ["KKIK_SOURCES"] = "snapshot"
for _name in ("KKIK_KOLADA_URL", "KKIK_SCB_URL", "KKIK_SKOLVERKET_URL", "KKIK_INBOX_DIR"):
    os.environ.pop(_name, None)


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest():
    """Prepare the dbt manifest once (``dagster-dbt project prepare-and-package`` does the same in set-up)."""
    from pipelines.dbt_project import ensure_manifest

    ensure_manifest()
