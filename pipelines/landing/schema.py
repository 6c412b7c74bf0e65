"""The raw schema: every raw table declared once, created empty before anything reads it.

dbt's sources must exist even for a source that has never been landed (a run that loads only Kolada,
a test on hand-made data), and declared types keep a first load with all-null columns from fixing a
wrong type for good.
"""

from __future__ import annotations

import duckdb

METADATA_ENTITIES = ("kpi", "kpi_groups", "municipality", "municipality_groups")

RAW_DDL = [
    "create schema if not exists raw",
    *[
        f"""create table if not exists raw.kolada__{entity} (
            load_id varchar not null, fetched_at timestamptz not null, page_url varchar not null,
            record json not null)"""
        for entity in METADATA_ENTITIES
    ],
    """create table if not exists raw.kolada__data (
        load_id varchar not null, fetched_at timestamptz not null, page_url varchar not null,
        kpi varchar not null, municipality varchar not null, period integer not null, gender varchar not null,
        count integer, status varchar, value double, isdeleted boolean, synthetic boolean not null)""",
    """create table if not exists raw.kolada__data_quarantine (
        load_id varchar not null, fetched_at timestamptz not null, page_url varchar not null,
        record json not null, reason varchar not null, reason_code varchar)""",
    # added after the first release: warehouses created before it get the column here
    "alter table raw.kolada__data_quarantine add column if not exists reason_code varchar",
    """create table if not exists raw.scb__population (
        load_id varchar not null, fetched_at timestamptz not null, municipality_id varchar not null,
        region_level varchar, year bigint not null, gender varchar not null, population double, status varchar)""",
    """create table if not exists raw.scb__employment_share (
        load_id varchar not null, fetched_at timestamptz not null, municipality_id varchar not null,
        region_level varchar, year bigint not null, gender varchar not null, employment_share double,
        status varchar)""",
    """create table if not exists raw.skolverket__school_results (
        load_id varchar not null, fetched_at timestamptz not null, export varchar not null,
        municipality_id varchar not null, municipality_name varchar, school_year varchar, year bigint not null,
        measure varchar not null, gender varchar not null, huvudman varchar, population varchar, value double,
        status varchar, unit varchar, source_label varchar)""",
    """create table if not exists raw.load_log (
        load_id varchar not null, source varchar not null, years varchar, started_at timestamptz,
        finished_at timestamptz, pages integer, records integer, quarantined integer, raw_folder varchar)""",
    # what the warehouse holds of each Kolada (kpi, period) cell: as of which day in Kolada's clock (the
    # answer's Date at the load's start), by a full load (from_date null) or a load of changes since from_date
    """create table if not exists raw.kolada__coverage (
        load_id varchar not null, kpi varchar not null, period integer not null, as_of date not null,
        from_date date, landed_at timestamptz not null)""",
]


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema and every raw table that does not exist yet (the inbox tables follow the
    declared file schemas in expectations/inbox/)."""
    from pipelines.inbox import ensure_inbox_tables

    for statement in RAW_DDL:
        con.execute(statement)
    ensure_inbox_tables(con)
