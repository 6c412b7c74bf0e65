"""Landing Skolverket's kommun exports: the files kept as received, the tidy rows in one transaction.

An export covers several school years; a load keeps the rows of the run's years and replaces exactly
those years of that export in ``raw.skolverket__school_results``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipelines.landing.raw_files import start_load
from pipelines.landing.tables import replace_rows

SOURCE = "skolverket"
#: The exports with school results that KKiK uses (the others are landed on request).
RESULT_EXPORTS = ("betygsresultat_over_tid_ak9", "behorighet_gymnasiet_ak9", "betyg_ak6")


@dataclass
class SkolverketLandingSummary:
    load_id: str
    years: list[int]
    raw_folder: Path
    requests: int
    rows: int


def land_skolverket(
    client,
    *,
    years: Sequence[int],
    raw_dir: Path,
    duckdb_path: Path,
    exports: Sequence[str] = RESULT_EXPORTS,
    load_id: str | None = None,
    progress=None,
) -> SkolverketLandingSummary:
    """Download ``exports`` with ``client`` (a ``SkolverketClient``) and land the rows of ``years``."""
    from pipelines.sources.skolverket import to_frame

    run = start_load(raw_dir, SOURCE, years, load_id, progress)
    load_id, years, folder, started, say = run.load_id, run.years, run.folder, run.started, run.say
    before = client.request_count
    frames = []
    for key in exports:
        page = client.fetch(key)
        folder.write_page(key, page.url, page.fetched_at, page.body, suffix=client.spec(key).format)
        frame = to_frame(page.payload)
        frame = frame[frame["year"].isin(years)]
        frame.insert(0, "fetched_at", pd.Timestamp(page.fetched_at, unit="s", tz="UTC"))
        frames.append(frame)
        say(f"skolverket {key}: {len(frame)} rows for {years}")
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    rows.insert(0, "load_id", load_id)
    summary = SkolverketLandingSummary(load_id, years, folder.root, client.request_count - before, len(rows))
    replace_rows(
        duckdb_path,
        "skolverket__school_results",
        rows,
        replace_where={"export": list(exports), "year": years},
        load_log={"load_id": load_id, "source": SOURCE, "years": ",".join(map(str, years)), "started_at": started,
                  "pages": folder.pages_written, "raw_folder": str(folder.root)},
    )
    folder.mark_complete({**summary.__dict__, "raw_folder": str(folder.root)})
    return summary
