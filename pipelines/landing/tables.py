"""Replacing part of a raw table in one transaction: what every tabular source's landing does.

A source's raw table holds the rows of the latest load for each year (and scope, e.g. an export);
a reload deletes exactly the rows it replaces and inserts the new ones, so there are never duplicates
and a failed load leaves the previous rows in place.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from pipelines.landing.schema import ensure_raw_tables
from pipelines.warehouse import connect, transaction



def replace_rows(
    duckdb_path: Path,
    table: str,
    frame: pd.DataFrame,
    *,
    replace_where: dict[str, list],
    load_log: dict,
) -> None:
    """Delete the rows of ``raw.<table>`` (declared in ``schema.py``) matching every ``column in values``
    of ``replace_where``, insert ``frame`` by column name and log the load: all or nothing."""
    with connect(duckdb_path) as con:
        ensure_raw_tables(con)
        con.register("incoming", frame)
        with transaction(con):
            conditions, params = [], []
            for column, values in replace_where.items():
                conditions.append(f"{column} in ({','.join('?' for _ in values)})")
                params.extend(values)
            if conditions and all(replace_where.values()):
                con.execute(f"delete from raw.{table} where {' and '.join(conditions)}", params)
            con.execute(f"insert into raw.{table} by name select * from incoming")
            con.execute(
                "insert into raw.load_log values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [load_log["load_id"], load_log["source"], load_log.get("years"), load_log.get("started_at"),
                 datetime.now(timezone.utc), load_log.get("pages"), len(frame), load_log.get("quarantined", 0),
                 load_log.get("raw_folder")],
            )
        con.unregister("incoming")
