"""A short account of a load, printed last so the user sees at once what was published.

One function per section (published mart, error watch, quarantine), each returning its lines from an
open read-only connection; ``mart_summary`` puts them in order. A new section is a new function.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.warehouse import connect


def _exists(con, schema: str, table: str) -> bool:
    return bool(con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
    ).fetchall()[0][0])


def published_lines(con) -> list[str]:
    """What BI tools now read: ``kkik.kkik_result``'s size, years, synthetic rows and colours."""
    if not _exists(con, "kkik", "kkik_result"):
        return ["nothing is published yet (kkik.kkik_result does not exist)"]
    rows = con.execute(
        """select count(*), count(distinct kpi_id), count(distinct municipality_id), min(year), max(year),
                  count(*) filter (where is_synthetic)
           from kkik.kkik_result"""
    ).fetchall()[0]
    colours = con.execute("select colour, count(*) from kkik.kkik_result group by colour order by count(*) desc"
                          ).fetchall()
    return [
        (f"published kkik.kkik_result: {rows[0]:,} rows, {rows[1]} key figures, {rows[2]} kommuner, "
        f"years {rows[3]}–{rows[4]} ({rows[5]:,} rows synthetic)"),
        "colours: " + ", ".join(f"{colour} {count:,}" for colour, count in colours),
    ]


def watch_lines(con) -> list[str]:
    """The error watch of the audited mart: flags by severity, accepted or not."""
    if not _exists(con, "kkik_audit", "kkik_flag"):
        return []
    severity = dict(con.execute(
        """select severity || case when accepted then ' accepted' else '' end, count(*)
           from kkik_audit.kkik_flag group by all"""
    ).fetchall())
    return ["error watch: " + ", ".join(f"{n:,} {label}" for label, n in sorted(severity.items()))
            + " (kkik_audit.kkik_flag; `kkik watch --year YYYY` writes the report)"]


def quarantine_lines(con) -> list[str]:
    """Records set aside by the landings (only when there are any)."""
    counts = {table: con.execute(f"select count(*) from raw.{table}").fetchall()[0][0]
              for table in ("kolada__data_quarantine", "inbox_quarantine") if _exists(con, "raw", table)}
    if not any(counts.values()):
        return []
    return [(f"quarantined: {counts.get('kolada__data_quarantine', 0)} Kolada records, "
            f"{counts.get('inbox_quarantine', 0)} inbox rows (raw.kolada__data_quarantine, raw.inbox_quarantine)")]


def mart_summary(duckdb_path: Path) -> list[str]:
    """Lines on the published mart (``kkik``), the error watch of the audited one, and any quarantine."""
    with connect(duckdb_path, read_only=True) as con:
        return [*published_lines(con), *watch_lines(con), *quarantine_lines(con)]
