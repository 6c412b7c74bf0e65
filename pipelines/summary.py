"""A short account of a load, printed last so the user sees at once what was published.

One function per section (published mart, what it changed, error watch, quarantine), each returning its
lines from an open read-only connection; ``mart_summary`` puts them in order. A new section is a new function.
"""

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


def revision_lines(con, max_figures: int = 10) -> list[str]:
    """What the newest publication changed (``kkik.kkik_revision``): how many values and colours, and which
    figures are new: a key figure × year with values now and none in the previous publication."""
    from pipelines.publishing.revision import (
        COLOUR_CHANGED,
        VALUE_CHANGED,
        last_publication,
        publication_before,
    )

    last = last_publication(con) if _exists(con, "kkik", "kkik_result") else None
    if last is None or not _exists(con, "kkik", "kkik_revision"):
        return []
    rows = con.execute(
        f"""select count(*) filter (where {VALUE_CHANGED}), count(*) filter (where {COLOUR_CHANGED})
            from kkik.kkik_revision where load_id_after = ?""", [last[0]]).fetchall()[0]
    previous = publication_before(con, last[1])
    if previous is None and not any(rows):
        return ["changes: this is the first publication, nothing to compare with (later loads: `kkik changes`)"]
    # values before = values now - values added + values removed, per figure and year: none before and
    # some now is a new figure; some before and none now, a figure gone
    moved = con.execute(
        """with now as (select kpi_id, year, count(value) as n from kkik.kkik_result group by all),
               moved as (select kpi_id, year,
                                count(*) filter (where value_before is null and value_after is not null) as added,
                                count(*) filter (where value_before is not null and value_after is null) as removed
                         from kkik.kkik_revision where load_id_after = ? group by all)
           select moved.kpi_id || ' ' || moved.year as figure,
                  coalesce(now.n, 0) > 0 and coalesce(now.n, 0) - moved.added + moved.removed = 0 as is_new,
                  coalesce(now.n, 0) = 0 and moved.removed > 0 as is_gone
           from moved left join now using (kpi_id, year)
           order by figure""", [last[0]]).fetchall()

    def named(figures: list[str]) -> str:
        return ", ".join(figures[:max_figures]) + (f" and {len(figures) - max_figures} more"
                                                    if len(figures) > max_figures else "")

    new = named([figure for figure, is_new, _ in moved if is_new])
    gone = named([figure for figure, _, is_gone in moved if is_gone])
    return [(f"{rows[0]:,} values and {rows[1]:,} colours changed since the previous publication "
            f"(load {previous or 'not recorded'}); "
            f"new figures: {new or 'none'}{f'; figures gone (values before, none now): {gone}' if gone else ''} "
            "(`kkik changes` lists every cell)")]


def watch_lines(con) -> list[str]:
    """The error watch of the audited mart: flags by severity, the errors split as the publication gate sees
    them (:func:`pipelines.quality.acceptance.flag_counts`: open and blocking, open outside the KKiK set, accepted)."""
    if not _exists(con, "kkik_audit", "kkik_flag"):
        return []
    from pipelines.quality.acceptance import flag_counts

    counts = flag_counts(con.execute("select severity, accepted, is_kkik from kkik_audit.kkik_flag").df())
    parts = [f"{counts['open_errors']:,} open errors (blocking)",
             f"{counts['open_errors_outside_kkik']:,} open errors outside the KKiK set (not blocking)",
             f"{counts['accepted_errors']:,} accepted errors", f"{counts['warnings']:,} warnings"]
    return ["error watch: " + ", ".join(parts) + " (kkik_audit.kkik_flag; `kkik watch --year YYYY` writes the report)"]


def quarantine_lines(con) -> list[str]:
    """Records set aside by the landings (only when there are any). The inbox's are counted for the current
    file versions (what the watch flags: ``kkik_inbox_quarantine`` and the inbox's unknown codes), with every
    row raw keeps, of replaced versions too, beside it."""
    counts = {table: con.execute(f"select count(*) from raw.{table}").fetchall()[0][0]
              for table in ("kolada__data_quarantine", "inbox_quarantine") if _exists(con, "raw", table)}
    if not any(counts.values()):
        return []
    inbox = f"{counts.get('inbox_quarantine', 0)} inbox rows"
    if _exists(con, "kkik_audit", "kkik_inbox_quarantine") and _exists(con, "kkik_audit", "kkik_unknown_code"):
        current = con.execute("""
            select (select coalesce(sum(row_count), 0) from kkik_audit.kkik_inbox_quarantine)
                 + (select coalesce(sum(value_count), 0) from kkik_audit.kkik_unknown_code where source = 'inbox')
        """).fetchall()[0][0]
        inbox = f"{int(current)} inbox rows of current file versions ({counts.get('inbox_quarantine', 0)} ever)"
    return [(f"quarantined: {counts.get('kolada__data_quarantine', 0)} Kolada records, "
            f"{inbox} (raw.kolada__data_quarantine, raw.inbox_quarantine)")]


def mart_summary(duckdb_path: Path, published_dir: Path | None = None) -> list[str]:
    """Lines on the published mart (``kkik``), its readers' copy, the error watch of the audited one, and any
    quarantine. ``published_dir`` defaults to the configured one (``KKIK_PUBLISHED_DIR``, else beside the
    warehouse)."""
    if published_dir is None:
        from pipelines.config import Settings

        published_dir = Settings.from_env().published_dir
    with connect(duckdb_path, read_only=True) as con:
        return [*published_lines(con), *revision_lines(con), *publication_summary(published_dir),
                *watch_lines(con), *quarantine_lines(con)]
