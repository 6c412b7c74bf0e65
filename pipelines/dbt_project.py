"""The dbt project as Dagster sees it, in a module of its own so set-up can prepare its manifest.

Run ``dagster-dbt project prepare-and-package --file pipelines/dbt_project.py`` (the README's set-up does)
before importing the definitions outside ``dagster dev``.
"""

import os
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from pipelines.config import DBT_PROJECT_DIR

# dagster-dbt runs `dbt` from PATH; `.venv/bin/kkik load` without an activated venv must find the dbt
# installed beside this interpreter
_BIN = str(Path(sys.executable).parent)
if (Path(_BIN) / "dbt").exists() and _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")

kkik_dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
kkik_dbt_project.prepare_if_dev()

DBT_SOURCE_FOLDERS = ("models", "seeds", "macros", "tests")


def manifest_is_stale() -> bool:
    """The manifest is missing or older than a model, seed, macro or project file (someone edited dbt)."""
    manifest = kkik_dbt_project.manifest_path
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    files = [DBT_PROJECT_DIR / "dbt_project.yml"]
    for folder in DBT_SOURCE_FOLDERS:
        files.extend(path for path in (DBT_PROJECT_DIR / folder).rglob("*") if path.is_file())
    return any(path.stat().st_mtime > built for path in files)


def ensure_manifest() -> None:
    """Re-parse the dbt project when it changed since the manifest was built (a few seconds)."""
    if manifest_is_stale():
        kkik_dbt_project.preparer.prepare(kkik_dbt_project)
