"""Landing SCB: population (the denominator table) and the employment share 20–64 (KKiK's N00914),
per region, sex and year; the json-stat2 pages kept as received, the tidy rows in one transaction each.

Riket (``00``) and the län are kept beside the kommuner, told apart by ``region_level``, and SCB's
codes are kept as SCB writes them. A table is asked only for the run's years it publishes (the
employment series ends in 2021): a missing year is not an error of the load.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipelines.landing.raw_files import start_load
from pipelines.landing.tables import replace_rows

SOURCE = "scb"


@dataclass
class ScbLandingSummary:
    load_id: str
    years: list[int]
    raw_folder: Path
    requests: int
    rows: int
    rows_per_table: dict[str, int] = field(default_factory=dict)


def landed_tables() -> list[tuple]:
    """The SCB tables a load lands (``ScbTable``), each with the raw column its values go to."""
    from pipelines.sources.scb import EMPLOYMENT_SHARE, POPULATION

    return [(POPULATION, "population"), (EMPLOYMENT_SHARE, "employment_share")]


def land_scb(
    client,
    *,
    years: Sequence[int],
    raw_dir: Path,
    duckdb_path: Path,
    load_id: str | None = None,
    progress=None,
) -> ScbLandingSummary:
    """Fetch SCB's population and employment share for ``years`` with ``client`` (a ``ScbClient``)."""
    from pipelines.sources.scb import fetch_region_sex_year

    run = start_load(raw_dir, SOURCE, years, load_id, progress)
    load_id, years, folder, started, say = run.load_id, run.years, run.folder, run.started, run.say
    before = client.request_count
    summary = ScbLandingSummary(load_id, years, folder.root, 0, 0)
    for table, value_column in landed_tables():
        published = set(client.metadata(table).variable(table.time_var).values)
        table_years = [y for y in years if str(y) in published]
        if not table_years:
            say(f"scb {table.key}: none of {years} published; skipped")
            continue
        first_page = len(client.received_pages)
        frame = fetch_region_sex_year(client, table, table_years, value_column=value_column)
        for page in client.received_pages[first_page:]:
            folder.write_page(table.key, page.url, page.fetched_at, page.body)
        frame.insert(0, "load_id", load_id)
        frame.insert(1, "fetched_at", pd.Timestamp.now(tz="UTC"))
        frame["status"] = frame["status"].astype("string")  # VARCHAR in DuckDB even when all are missing
        replace_rows(
            duckdb_path, f"scb__{table.key}", frame, replace_where={"year": table_years},
            load_log={"load_id": load_id, "source": f"{SOURCE}:{table.key}",
                      "years": ",".join(map(str, table_years)), "started_at": started,
                      "pages": folder.pages_written, "raw_folder": str(folder.root)},
        )
        summary.rows_per_table[table.key] = len(frame)
        say(f"scb {table.key}: {len(frame)} rows for {table_years}")
    summary.requests = client.request_count - before
    summary.rows = sum(summary.rows_per_table.values())
    folder.mark_complete({**summary.__dict__, "raw_folder": str(folder.root)})
    return summary

