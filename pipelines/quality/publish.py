"""The publish step of write-audit-publish: the audited mart replaces ``kkik`` only when no error is open.

BI tools read the schema ``kkik``. dbt builds the mart in ``kkik_audit``; the watch writes its flags
there; this step copies every mart table (and the flags) to ``kkik`` in one transaction, or refuses and
leaves the published mart exactly as it was. Accepted error flags are recorded in
``kkik.kkik_flag_acceptance`` with who accepted them and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from pipelines.quality.audit import FLAG_TABLE
from pipelines.quality.mart_inputs import AUDIT_SCHEMA, PUBLISHED_SCHEMA
from pipelines.warehouse import connect, transaction

MART_TABLES = ("dim_kpi", "dim_municipality", "fct_kpi_value", "fct_population", "kkik_result",
               "kkik_source_comparison", "kkik_coverage", "kkik_flag")
ACCEPTANCE_LOG_DDL = f"""create table if not exists {PUBLISHED_SCHEMA}.kkik_flag_acceptance (
    published_at timestamptz not null, load_id varchar not null, rule_id varchar, kpi_id varchar,
    municipality_id varchar, year integer, gender varchar, observed_value double, message varchar,
    accepted_by varchar not null, acceptance_reason varchar not null, accepted_on varchar)"""


class PublicationBlocked(RuntimeError):
    """Open error flags: the audited mart was not published (the published one is unchanged)."""


@dataclass
class PublishSummary:
    load_id: str
    tables: list[str]
    accepted_errors: int
    published_at: datetime


def open_error_flags(con) -> list[tuple]:
    """The error flags no reviewer has accepted, most important first."""
    return con.execute(
        f"""select kpi_id, municipality_id, year, gender, rule_id, message from {FLAG_TABLE}
            where severity = 'error' and not accepted order by flag_rank"""
    ).fetchall()


def publish_mart(duckdb_path: Path, *, load_id: str) -> PublishSummary:
    """Copy the audited mart to ``kkik`` in one transaction, or raise ``PublicationBlocked``."""
    with connect(duckdb_path) as con:
        blocking = open_error_flags(con)
        if blocking:
            lines = "\n".join(f"  {kpi} {muni} {year} {gender} {rule}: {message}"
                              for kpi, muni, year, gender, rule, message in blocking[:10])
            raise PublicationBlocked(
                f"{len(blocking)} open error flag(s) in {FLAG_TABLE}: the mart was NOT published and "
                f"{PUBLISHED_SCHEMA}.* is unchanged. Fix the data, or accept a flag with a reason in "
                f"expectations/accepted_flags.csv. Most important:\n{lines}"
            )
        published_at = datetime.now(timezone.utc)
        with transaction(con):
            con.execute(f"create schema if not exists {PUBLISHED_SCHEMA}")
            for table in MART_TABLES:
                con.execute(f"create or replace table {PUBLISHED_SCHEMA}.{table} as "
                            f"select * from {AUDIT_SCHEMA}.{table}")
            con.execute(ACCEPTANCE_LOG_DDL)
            con.execute(
                f"""insert into {PUBLISHED_SCHEMA}.kkik_flag_acceptance
                    select ?, ?, rule_id, kpi_id, municipality_id, year, gender, observed_value, message,
                           accepted_by, acceptance_reason, accepted_on
                    from {FLAG_TABLE} where severity = 'error' and accepted""",
                [published_at, load_id],
            )
            accepted = con.execute(f"select count(*) from {FLAG_TABLE} where severity = 'error' and accepted"
                                   ).fetchall()[0][0]
    return PublishSummary(load_id, list(MART_TABLES), int(accepted), published_at)
