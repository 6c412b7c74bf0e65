"""Shared test set-up: the dbt manifest that the Dagster definitions import must exist."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest():
    """Prepare the dbt manifest once (``dagster-dbt project prepare-and-package`` does the same in set-up)."""
    from pipelines.dbt_project import ensure_manifest

    ensure_manifest()
