"""A short account of a load, printed at the end so the user sees at once what was published."""

from __future__ import annotations

from pathlib import Path

from pipelines.publishing.counts import row_counts_of
from pipelines.publishing.export import DUCKDB_FILE, PARQUET_DIR, previous_publication
from pipelines.warehouse import connect


def _exists(con, schema: str, table: str) -> bool:
    return bool(con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
    ).fetchall()[0][0])


def publication_summary(published_dir: Path) -> list[str]:
    """Lines on the readers' copy: which publication readers see, and each table's rows, before → after."""
    publication = previous_publication(published_dir)
    if publication is None:
        return [f"no readers' copy yet ({published_dir / 'publication.json'} does not exist)"]
    size = sum(entry.get("bytes", 0) for entry in publication.get("tables", {}).values())
    where = (f"readers' copy: {published_dir / DUCKDB_FILE} ({publication['duckdb']['bytes'] / 1e6:.1f} MB) and "
             f"{published_dir / PARQUET_DIR}/*.parquet ({size / 1e6:.1f} MB), load {publication['load_id']}, "
             f"published {publication['published_at']}")
    lines = [where, "rows, previous publication → this one:"]
    lines += [f"  {table}: {count}" for table, count in row_counts_of(publication).items()]
    return lines


def mart_summary(duckdb_path: Path, published_dir: Path | None = None) -> list[str]:
    """Lines on the published mart (``kkik``), its readers' copy and the error watch of the audited one.

    ``published_dir`` defaults to the configured one (``KKIK_PUBLISHED_DIR``, else beside the warehouse).
    """
    if published_dir is None:
        from pipelines.config import Settings

        published_dir = Settings.from_env().published_dir
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
        lines += publication_summary(published_dir)
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
