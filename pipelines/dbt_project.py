"""The dbt project as Dagster sees it, in a module of its own so set-up can prepare its manifest.

Run ``dagster-dbt project prepare-and-package --file pipelines/dbt_project.py`` (the README's set-up does)
before importing the definitions outside ``dagster dev``.
"""

from dagster_dbt import DbtProject

from pipelines.config import DBT_PROJECT_DIR

kkik_dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
kkik_dbt_project.prepare_if_dev()
