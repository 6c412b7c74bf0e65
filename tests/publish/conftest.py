"""A small hand-made audit mart (schema ``kkik_audit``) to publish in milliseconds, not a whole load."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines.quality.audit import FLAG_TABLE_DDL


def make_audit_mart(path: Path, *, kommuner: int = 10, kpis: int = 3, years: tuple[int, ...] = (2021, 2022),
                    shuffle_seed: int = 1, flag_load_id: str = "flag-load-1", open_error: bool = False) -> None:
    """An audited mart shaped like dbt's: the mart tables with their key columns, rows inserted in
    an order set by ``shuffle_seed`` (the published order must not depend on it), and flags of one load.
    Values are multiples of 0.25, so the means are exact whatever the order of summation."""
    year_list = ", ".join(map(str, years))
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists kkik_audit")
        con.execute(f"""create or replace temp table cells as
            select printf('N%05d', k) as kpi_id, printf('%04d', 100 + m) as municipality_id, y as year,
                   g as gender, k * 10 + m + (y - 2000) * 0.25 as value
            from range(1, {kpis} + 1) t(k), range(1, {kommuner + 1}) u(m),
                 unnest([{year_list}]) v(y), unnest(['T', 'K', 'M']) w(g)""")
        order = f"order by hash(kpi_id || municipality_id || year || gender || {shuffle_seed})"
        con.execute(f"""create or replace table kkik_audit.dim_kpi as
            select distinct kpi_id, 'Figure ' || kpi_id as title, 'Barn och unga' as area, 'higher' as direction
            from cells order by hash(kpi_id || {shuffle_seed})""")
        con.execute(f"""create or replace table kkik_audit.dim_municipality as
            select distinct municipality_id, 'Kommun ' || municipality_id as municipality_name, true as is_kommun
            from cells order by hash(municipality_id || {shuffle_seed})""")
        con.execute(f"""create or replace table kkik_audit.fct_kpi_value as
            select kpi_id, municipality_id, year, gender, value, null::varchar as status, 'kolada' as source,
                   'raw-kolada-1' as load_id, false as is_synthetic from cells {order}""")
        con.execute(f"""create or replace table kkik_audit.fct_population as
            select distinct municipality_id, year, gender, 1000.0 + municipality_id::int as population,
                   'raw-scb-1' as load_id from cells order by hash(municipality_id || year || gender || {shuffle_seed})""")
        con.execute(f"""create or replace table kkik_audit.kkik_result as
            select kpi_id, municipality_id, year, gender, value,
                   case when value % 4 < 1 then 'green' when value % 4 < 3 then 'yellow' else 'red' end as colour,
                   avg(value) over (partition by kpi_id, year, gender) as similar_group_mean
            from cells {order}""")
        con.execute(f"""create or replace table kkik_audit.kkik_source_comparison as
            select kpi_id, municipality_id, year, gender, value as kolada_value, value as agency_value
            from cells where kpi_id = 'N00001' {order}""")
        con.execute(f"""create or replace table kkik_audit.kkik_coverage as
            select kpi_id, year, gender, count(value) as kommuner_with_value, count(*) as kommun_rows,
                   {kommuner}::bigint as kommuner_in_sweden
            from cells group by kpi_id, year, gender""")
        con.execute("drop table if exists kkik_audit.kkik_flag")
        con.execute(FLAG_TABLE_DDL)
        con.execute(
            """insert into kkik_audit.kkik_flag (flag_rank, kpi_id, municipality_id, year, gender, rule_id, severity,
                   observed_value, message, impact_score, would_change_colour, accepted, accepted_by,
                   acceptance_reason, rule_group, load_id, flagged_at)
               values (2, 'N00001', '0101', 2022, 'T', 'year_over_year.hb', 'warning', 11.2, 'jumps', 4.5, false,
                       false, null, null, 'year_over_year', ?, now()),
                      (1, 'N00002', '0102', 2022, 'T', 'range.share_bounds', 'error', 150, 'over 100', 16, true,
                       ?, 'A Reviewer', 'confirmed (test)', 'range', ?, now())""",
            [flag_load_id, not open_error, flag_load_id],
        )


@pytest.fixture
def audit_mart(tmp_path):
    """``(warehouse path, published folder)`` of a fresh hand-made audit mart in ``tmp_path``."""
    path = tmp_path / "warehouse.duckdb"
    make_audit_mart(path)
    return path, tmp_path / "published"
