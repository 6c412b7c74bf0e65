"""A short account of what the mart holds, printed after a load so the user sees the result at once."""

from __future__ import annotations

from pathlib import Path

from pipelines.warehouse import connect


def mart_summary(duckdb_path: Path) -> list[str]:
    """Lines like ``kkik.kkik_result: 123,456 rows, 24 key figures, 290 kommuner, years 2018–2022``."""
    lines: list[str] = []
    with connect(duckdb_path, read_only=True) as con:
        rows = con.execute(
            """select count(*), count(distinct kpi_id), count(distinct municipality_id), min(year), max(year),
                      count(*) filter (where is_synthetic)
               from kkik.kkik_result"""
        ).fetchall()[0]
        lines.append(
            f"kkik.kkik_result: {rows[0]:,} rows, {rows[1]} key figures, {rows[2]} kommuner, "
            f"years {rows[3]}–{rows[4]} ({rows[5]:,} rows synthetic)"
        )
        colours = con.execute(
            "select colour, count(*) from kkik.kkik_result group by colour order by count(*) desc"
        ).fetchall()
        lines.append("colours: " + ", ".join(f"{colour} {count:,}" for colour, count in colours))
        quarantined = con.execute("select count(*) from raw.kolada__data_quarantine").fetchall()[0][0]
        if quarantined:
            lines.append(f"quarantined Kolada records: {quarantined} (see raw.kolada__data_quarantine)")
    return lines
