"""A short account of a load, printed at the end so the user sees at once what was published."""

from __future__ import annotations

from pathlib import Path

from pipelines.warehouse import connect


def _exists(con, schema: str, table: str) -> bool:
    return bool(con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
    ).fetchall()[0][0])


def mart_summary(duckdb_path: Path) -> list[str]:
    """Lines on the published mart (``kkik``) and on the error watch of the audited one."""
    lines: list[str] = []
    with connect(duckdb_path, read_only=True) as con:
        if _exists(con, "kkik", "kkik_result"):
            rows = con.execute(
                """select count(*), count(distinct kpi_id), count(distinct municipality_id), min(year), max(year),
                          count(*) filter (where is_synthetic)
                   from kkik.kkik_result"""
            ).fetchall()[0]
            lines.append(
                f"published kkik.kkik_result: {rows[0]:,} rows, {rows[1]} key figures, {rows[2]} kommuner, "
                f"years {rows[3]}–{rows[4]} ({rows[5]:,} rows synthetic)"
            )
            colours = con.execute(
                "select colour, count(*) from kkik.kkik_result group by colour order by count(*) desc"
            ).fetchall()
            lines.append("colours: " + ", ".join(f"{colour} {count:,}" for colour, count in colours))
        else:
            lines.append("nothing is published yet (kkik.kkik_result does not exist)")
        if _exists(con, "kkik_audit", "kkik_flag"):
            severity = dict(con.execute(
                """select severity || case when accepted then ' accepted' else '' end, count(*)
                   from kkik_audit.kkik_flag group by all"""
            ).fetchall())
            lines.append("error watch: " + ", ".join(f"{n:,} {label}" for label, n in sorted(severity.items()))
                         + " (kkik_audit.kkik_flag; `kkik watch --year YYYY` writes the report)")
        quarantined = con.execute("select count(*) from raw.kolada__data_quarantine").fetchall()[0][0]
        inbox_quarantined = con.execute("select count(*) from raw.inbox_quarantine").fetchall()[0][0]
        if quarantined or inbox_quarantined:
            lines.append(f"quarantined: {quarantined} Kolada records, {inbox_quarantined} inbox rows "
                         "(raw.kolada__data_quarantine, raw.inbox_quarantine)")
    return lines
