"""Landing SCB's population per kommun, sex and year: the json-stat2 pages kept, tidy rows in one transaction.

Population is the denominator table the KKiK shares are checked against; Riket (``00``) and the län are
kept beside the kommuner, told apart by ``region_level``, and SCB's codes are kept as SCB writes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import pandas as pd

from pipelines.landing.load_ids import new_load_id
from pipelines.landing.raw_files import RawLoadFolder
from pipelines.landing.tables import replace_rows

SOURCE = "scb"


@dataclass
class ScbLandingSummary:
    load_id: str
    years: list[int]
    raw_folder: Path
    requests: int
    rows: int


def land_scb_population(
    client,
    *,
    years: Sequence[int],
    raw_dir: Path,
    duckdb_path: Path,
    load_id: str | None = None,
    progress=None,
) -> ScbLandingSummary:
    """Fetch population (BE0101N1) for ``years`` with ``client`` (a ``ScbClient``) and land it."""
    from pipelines.sources.scb import fetch_population

    say = progress or (lambda message: None)
    load_id = load_id or new_load_id()
    years = sorted({int(y) for y in years})
    folder = RawLoadFolder.create(raw_dir, SOURCE, load_id)
    started = datetime.now(timezone.utc)
    before = client.request_count
    first_page = len(client.received_pages)
    frame = fetch_population(client, years)
    for page in client.received_pages[first_page:]:
        folder.write_page("population", page.url, page.fetched_at, page.body)
    say(f"scb population: {len(frame)} rows for {years} ({folder.pages_written} pages)")
    frame.insert(0, "load_id", load_id)
    frame.insert(1, "fetched_at", pd.Timestamp.now(tz="UTC"))
    frame["status"] = frame["status"].astype("string")  # VARCHAR in DuckDB even when every status is missing
    summary = ScbLandingSummary(load_id, years, folder.root, client.request_count - before, len(frame))
    replace_rows(
        duckdb_path,
        "scb__population",
        frame,
        replace_where={"year": years},
        load_log={"load_id": load_id, "source": SOURCE, "years": ",".join(map(str, years)), "started_at": started,
                  "pages": folder.pages_written, "raw_folder": str(folder.root)},
    )
    folder.mark_complete({**summary.__dict__, "raw_folder": str(folder.root)})
    return summary
