"""The publish step of write-audit-publish: the audited mart replaces ``kkik`` only when no error is open.

dbt builds the mart in ``kkik_audit``; the watch writes its flags there; this step copies every mart
table (and the flags) to ``kkik`` in one transaction, or refuses and leaves the published mart exactly as
it was. ``kkik`` in the warehouse is the pipeline's own last publication (later audits compare with it).
After that transaction commits, the published tables are exported to the readers' copy
(``data/published/``: ``mart.duckdb``, Parquet, ``publication.json``, see :mod:`pipelines.publishing`),
which BI tools read and loads never open for writing. Accepted error flags are recorded in
``kkik.kkik_flag_acceptance`` with who accepted them and why, and the cells that changed since the previous
publication in ``kkik.kkik_revision`` (:mod:`pipelines.publishing.revision`), in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pipelines.config import published_dir_beside
from pipelines.console import count_of
from pipelines.publishing.counts import RowCount
from pipelines.publishing.export import export_readers_copy, previous_publication
from pipelines.publishing.revision import record_revision
from pipelines.publishing.tables import PUBLISHED_TABLES
from pipelines.quality.audit import FLAG_TABLE, open_error_flags
from pipelines.quality.mart_inputs import AUDIT_SCHEMA, PUBLISHED_SCHEMA
from pipelines.warehouse import connect, transaction

#: the tables dbt builds in ``kkik_audit`` that each publication copies; ``kkik_revision`` is kept in ``kkik``
MART_TABLES = tuple(table.name for table in PUBLISHED_TABLES if table.from_audit)
READERS_TABLES = tuple(table.name for table in PUBLISHED_TABLES)
ACCEPTANCE_LOG_DDL = f"""create table if not exists {PUBLISHED_SCHEMA}.kkik_flag_acceptance (
    published_at timestamptz not null, load_id varchar not null, rule_id varchar, kpi_id varchar,
    municipality_id varchar, year integer, gender varchar, observed_value double, message varchar,
    accepted_by varchar not null, acceptance_reason varchar not null, accepted_on varchar)"""


class PublicationBlocked(RuntimeError):
    """Open error flags: the audited mart was not published (the published one is unchanged)."""


class MartNotBuilt(PublicationBlocked):
    """dbt's last build of ``kkik_audit`` was interrupted or failed: the mart may be half-built."""


#: written by dbt's on-run-start and on-run-end hooks (dbt_project/macros/build_state.sql)
BUILD_STATE = f"{AUDIT_SCHEMA}.dbt_build_state"


def build_state(con) -> tuple[str, datetime | None, str] | None:
    """``(status, started_at, invocation_id)`` of dbt's last build of the audit mart (building, built or
    failed; an empty record reads as building); None for a warehouse built before the state was recorded."""
    exists = con.execute("select count(*) from information_schema.tables where table_catalog = current_database() "
                         "and table_schema = ? and table_name = 'dbt_build_state'", [AUDIT_SCHEMA]).fetchall()[0][0]
    if not exists:
        return None
    rows = con.execute(f"select status, started_at, invocation_id from {BUILD_STATE}").fetchall()
    return rows[0] if rows else ("building", None, "?")


def check_mart_built(con) -> None:
    """Raise :class:`MartNotBuilt` unless dbt's last build of the audit mart ended whole (or is not recorded)."""
    state = build_state(con)
    if state is None or state[0] == "built":
        return
    status, started_at, invocation = state
    started = f"started {started_at:%Y-%m-%d %H:%M:%S %Z}" if started_at else "start not recorded"
    how = "was interrupted before it ended" if status == "building" else "failed"
    raise MartNotBuilt(
        f"the audit mart is not whole: dbt's last build (invocation {invocation}, {started}) {how}, so "
        f"{AUDIT_SCHEMA} may hold some tables of that build and some of an earlier one; nothing was published and "
        f"{PUBLISHED_SCHEMA}.* is unchanged. Run the load again (`kkik load …`), which rebuilds it")


def unpublished_build(con) -> str | None:
    """A sentence when the audit mart dbt built last is newer than the last publication (the load or refresh
    that built it was blocked or failed after dbt), else None."""
    from pipelines.publishing.revision import last_publication

    state, last = build_state(con), last_publication(con)
    if state is None or state[1] is None or (last is not None and state[1] <= last[1]):
        return None
    status, started_at, _ = state
    since = f"the last publication ({last[1]:%Y-%m-%d %H:%M %Z})" if last else "any publication"
    how = "and was not published (blocked or failed after dbt)" if status == "built" else \
        f"and is not whole (its build {'was interrupted' if status == 'building' else 'failed'})"
    return f"the audit mart built {started_at:%Y-%m-%d %H:%M %Z} is newer than {since} {how}"


class ReadersCopyFailed(RuntimeError):
    """``kkik`` in the warehouse was published, but the readers' copy could not be replaced: readers still
    see the previous publication, whole (the next load exports again)."""


@dataclass
class PublishSummary:
    load_id: str
    tables: list[str]
    accepted_errors: int
    published_at: datetime
    #: every mart table: rows in the previous publication → rows now
    row_counts: dict[str, RowCount] = field(default_factory=dict)
    previous_load_id: str | None = None
    published_dir: Path | None = None
    #: bytes of each file of the readers' copy (path relative to ``published_dir``)
    file_sizes: dict[str, int] = field(default_factory=dict)
    export_seconds: float = 0.0
    #: cells appended to ``kkik.kkik_revision`` (None: a first publication, nothing to compare with)
    revised_cells: int | None = None


def flag_line(flag: tuple) -> str:
    """One of :func:`open_error_flags` as a console line: ``KPI KOMMUN YEAR KÖN RULE: message`` (– for none)."""
    *key, message = flag
    return f"{' '.join('–' if part is None else str(part) for part in key)}: {message}"


def previous_row_counts(con, published_dir: Path) -> tuple[dict[str, int] | None, str | None]:
    """The row counts (and load id) of the previous publication: from the readers' ``publication.json``
    (what readers see), else from the warehouse's ``kkik`` before it is replaced; None before the first."""
    previous = previous_publication(published_dir)
    if previous and isinstance(previous.get("tables"), dict):
        return {name: int(entry["rows"]) for name, entry in previous["tables"].items()}, previous.get("load_id")
    existing = {name for (name,) in con.execute(
        "select table_name from information_schema.tables where table_catalog = current_database() "
        "and table_schema = ?", [PUBLISHED_SCHEMA]).fetchall()}
    counts = {table: con.execute(f"select count(*) from {PUBLISHED_SCHEMA}.{table}").fetchall()[0][0]
              for table in READERS_TABLES if table in existing}
    return (counts or None), None


def publish_mart(duckdb_path: Path, *, load_id: str, published_dir: Path | None = None) -> PublishSummary:
    """Copy the audited mart to ``kkik`` in one transaction, then export it for readers to ``published_dir``
    (default: ``published/`` beside the warehouse). Raises ``PublicationBlocked`` (nothing changed) or
    ``ReadersCopyFailed`` (``kkik`` published, the readers' copy still the previous one)."""
    published_dir = published_dir or published_dir_beside(duckdb_path)
    with connect(duckdb_path) as con:
        check_mart_built(con)
        blocking = open_error_flags(con)
        if blocking:
            lines = "\n".join(f"  {flag_line(flag)}" for flag in blocking[:10])
            raise PublicationBlocked(
                f"{count_of(len(blocking), 'open error flag')} in {FLAG_TABLE}: the mart was NOT published and "
                f"{PUBLISHED_SCHEMA}.* is unchanged. Fix the data, or accept a flag with a reason in "
                f"expectations/accepted_flags.csv. Most important:\n{lines}"
            )
        before, previous_load_id = previous_row_counts(con, published_dir)
        published_at = datetime.now(UTC)
        with transaction(con):
            con.execute(f"create schema if not exists {PUBLISHED_SCHEMA}")
            # before the copy: the diff is the published kkik_result against the audited one
            revised = record_revision(con, load_id=load_id, published_at=published_at,
                                      previous_load_id=previous_load_id)
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
        try:
            copy = export_readers_copy(con, published_dir, load_id=load_id, published_at=published_at,
                                       source_schema=PUBLISHED_SCHEMA, previous_row_counts=before,
                                       previous_load_id=previous_load_id)
        except Exception as error:
            raise ReadersCopyFailed(
                f"{PUBLISHED_SCHEMA}.* in {duckdb_path} is published (load {load_id}), but the readers' copy in "
                f"{published_dir} could not be replaced ({type(error).__name__}: {error}); readers still see "
                f"the previous publication{f' (load {previous_load_id})' if previous_load_id else ''}."
            ) from error
    return PublishSummary(
        load_id=load_id, tables=list(READERS_TABLES), accepted_errors=int(accepted), published_at=published_at,
        row_counts={table: RowCount((before or {}).get(table), copy.row_counts[table]) for table in READERS_TABLES},
        previous_load_id=previous_load_id, published_dir=published_dir, file_sizes=copy.sizes,
        export_seconds=copy.seconds, revised_cells=revised,
    )
