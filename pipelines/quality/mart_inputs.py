"""The error watch's inputs, read from the audited (not yet published) mart in DuckDB.

The watch itself works on plain frames (``run_watch``); this module is the one place that knows which
mart tables and columns feed it, so ``kkik watch --values`` and the Dagster audit run the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from pipelines.quality.rules import load_rules
from pipelines.quality.warehouse import WatchTables, read_tables
from pipelines.quality.watch import model_vars

AUDIT_SCHEMA = "kkik_audit"
#: What BI tools read, written only by the publish step: the previous publication the gate compares with.
PUBLISHED_SCHEMA = "kkik"


@dataclass
class WatchInputs:
    values: pd.DataFrame
    kpis: pd.DataFrame
    municipalities: pd.DataFrame
    similar_groups: pd.DataFrame
    source_comparison: pd.DataFrame
    kpi_metadata_previous: pd.DataFrame | None
    kpi_metadata_current: pd.DataFrame | None
    #: the watch models dbt built beside the audit mart
    tables: WatchTables | None = None


def read_watch_inputs(con: duckdb.DuckDBPyConnection, schema: str = AUDIT_SCHEMA,
                      years: list[int] | None = None, today: date | None = None) -> WatchInputs:
    """Every frame ``run_watch`` takes, from ``schema`` (the audit copy of the mart) and staging; ``today``
    (default: today) is the day ``integrity.future_year`` counts from.

    With ``years`` (the checked years) the values are those years and later only: the history the rules
    compare with is joined on in SQL (the watch models), so the earlier years need not cross into Python
    (9 M values of every Kolada figure would take several GiB as a frame)."""
    # the watch's four input models (dbt_project/models/marts/watch/): the mart's tables in the watch's columns
    since = f" where year >= {min(int(y) for y in years)}" if years else ""
    values = con.execute(
        f"select kpi_id, municipality_id, year, gender, value, status, source, is_synthetic from {schema}.watch_value"
        + since
    ).df()
    kpis = con.execute(f"select * from {schema}.watch_kpi").df()
    municipalities = con.execute(f"select * from {schema}.watch_municipality").df()
    similar_groups = con.execute(f"select * from {schema}.watch_similar_member").df()
    comparison = con.execute(
        f"""select kpi_id, municipality_id, year, gender, kolada_value, agency_value, agency,
                   is_same_population as same_population
            from {schema}.kkik_source_comparison"""
    ).df()
    previous, current = _metadata_of_last_two_loads(con, schema)
    return WatchInputs(values, kpis, municipalities, similar_groups, comparison, previous, current,
                       read_tables(con, schema, years, variables=model_vars(load_rules(), today)))


def _metadata_of_last_two_loads(con, schema: str) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """KPI titles and definitions of the latest Kolada load and of the load before it (if any), for
    the KKiK figures: a change between them is a changed definition the reviewers must see."""
    loads = [row[0] for row in con.execute(
        "select distinct load_id from staging.stg_kolada__kpis order by load_id desc limit 2"
    ).fetchall()]
    if len(loads) < 2:
        return None, None
    frames = [
        con.execute(
            f"""select kpi_id, title, description from staging.stg_kolada__kpis
                where load_id = ? and kpi_id in (select kpi_id from {schema}.dim_kpi)""",
            [load_id],
        ).df()
        for load_id in loads
    ]
    return frames[1], frames[0]


def read_values_of(con: duckdb.DuckDBPyConnection, kpi_ids: list[str], schema: str = AUDIT_SCHEMA) -> pd.DataFrame:
    """Every year of ``kpi_ids`` in ``watch_value`` (``kpi_id, municipality_id, year, gender, value``): the
    history the watch report charts for its flagged figures, without the rest of the value table."""
    con.register("report_kpis", pd.DataFrame({"kpi_id": pd.Series(list(kpi_ids), dtype=object)}))
    try:
        return con.execute(f"""select kpi_id, municipality_id, year, gender, value from {schema}.watch_value
                               where kpi_id in (select kpi_id from report_kpis)""").df()
    finally:
        con.unregister("report_kpis")
