"""Table and column descriptions for the readers' copy: dbt's model docs, and ours for Python-made tables.

dbt's ``_kkik__models.yml`` is the one place that says what each mart table and column means; BI tools
show ``COMMENT ON`` texts, so the published DuckDB file carries them.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.publishing.tables import (
    FLAG_DESCRIPTIONS,
    PUBLICATION_DESCRIPTIONS,
    PUBLICATION_TABLE,
    REVISION_DESCRIPTIONS,
)

#: ``{table: {"": table description, column: column description}}``
Descriptions = dict[str, dict[str, str]]


def _manifest_path() -> Path:
    from pipelines.dbt_project import kkik_dbt_project  # imports dagster_dbt: only when publishing

    return Path(kkik_dbt_project.manifest_path)


def dbt_descriptions(tables: list[str], manifest_path: Path | None = None) -> Descriptions:
    """The ``description``s of the dbt models named ``tables`` (and of the watch's and publication's tables)."""
    path = manifest_path or _manifest_path()
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path}: the dbt manifest is missing, so the published mart would have no descriptions; run "
            "`dagster-dbt project prepare-and-package --file pipelines/dbt_project.py`") from None
    out: Descriptions = {"kkik_flag": dict(FLAG_DESCRIPTIONS), PUBLICATION_TABLE: dict(PUBLICATION_DESCRIPTIONS),
                         "kkik_revision": dict(REVISION_DESCRIPTIONS)}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") == "model" and node.get("name") in tables:
            texts = {"": (node.get("description") or "").strip()}
            texts.update({name: (column.get("description") or "").strip()
                          for name, column in node.get("columns", {}).items()})
            out[node["name"]] = texts
    return out


def comment_statements(catalog: str, schema: str, table: str, texts: dict[str, str],
                       columns: list[str]) -> list[str]:
    """``COMMENT ON`` statements for one table; columns without a description get none."""
    statements = []
    if texts.get(""):
        statements.append(f"comment on table {catalog}.{schema}.{table} is {_literal(texts[''])}")
    for column in columns:
        if texts.get(column):
            statements.append(f'comment on column {catalog}.{schema}.{table}."{column}" is {_literal(texts[column])}')
    return statements


def _literal(text: str) -> str:
    """A SQL string literal (COMMENT ON takes no parameters)."""
    return "'" + text.replace("'", "''") + "'"
