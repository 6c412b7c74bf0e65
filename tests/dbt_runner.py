"""Running the real dbt project against a test's own DuckDB file (a subprocess, as Dagster runs it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pipelines.config import DBT_PROJECT_DIR


def run_dbt(duckdb_path: Path, *args: str, target_path: Path) -> subprocess.CompletedProcess:
    """``dbt <args>`` on the project with ``KKIK_DUCKDB_PATH`` set; a separate target path keeps the
    manifest Dagster reads untouched."""
    dbt = Path(sys.executable).parent / "dbt"
    env = {**os.environ, "KKIK_DUCKDB_PATH": str(duckdb_path)}
    return subprocess.run(
        [str(dbt), *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(target_path)],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )
