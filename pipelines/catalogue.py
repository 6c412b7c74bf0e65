"""The KKiK catalogue seed read from Python, so the landing fetches exactly the key figures dbt models.

The seed CSV (``dbt_project/seeds/kkik_catalogue.csv``) is the one place staff edit the KKiK set.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

from pipelines.config import DBT_PROJECT_DIR

CATALOGUE_PATH = DBT_PROJECT_DIR / "seeds" / "kkik_catalogue.csv"


@lru_cache(maxsize=4)
def load_catalogue(path: Path = CATALOGUE_PATH) -> tuple[dict, ...]:
    """The catalogue rows as dicts (strings as in the CSV), one per key figure."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = tuple(csv.DictReader(handle))
    ids = [row["kpi_id"] for row in rows]
    duplicates = sorted({kpi_id for kpi_id in ids if ids.count(kpi_id) > 1})
    if duplicates:
        raise ValueError(f"{path}: key figures listed twice: {', '.join(duplicates)}")
    return rows


def kkik_kpi_ids(path: Path = CATALOGUE_PATH) -> list[str]:
    """The Kolada ids of every key figure in the catalogue, sorted."""
    return sorted(row["kpi_id"] for row in load_catalogue(path))
