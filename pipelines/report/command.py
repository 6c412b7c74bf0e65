"""`kkik report`: write the KKiK report of one kommun, one county network, or every kommun."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from pipelines.report.source import ReportDataError


def run_report(kommun: str | None, county: str | None, year: int | None, out_dir: Path,
               mart: Path | None, pdf: bool = True) -> int:
    """Neither ``kommun`` nor ``county``: every kommun. Exit code 0 written, 2 bad input (unknown kommun,
    county, year or mart)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from pipelines.report import build

    started = time.perf_counter()
    try:
        data = build.load(mart, year)
        if kommun:
            files = build.write_kommun(data, kommun, out_dir, pdf)
        elif county:
            files = build.write_county(data, county.zfill(2), out_dir, pdf)
        else:
            ids = build.kommun_ids(data)
            with Progress(TextColumn("kkik report"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          TextColumn("{task.description}")) as progress:
                task = progress.add_task("", total=len(ids))

                def advance(items):
                    for item in items:
                        progress.update(task, description=item)
                        yield item
                        progress.advance(task)

                files = build.write_all(data, out_dir, pdf, progress=advance)
    except ReportDataError as error:
        print(f"kkik report: {error}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - started
    shown = files if len(files) <= 4 else files[:2] + [f"… {len(files) - 2} more"]
    print(f"kkik report: KKiK {data.frames.year} from {data.frames.path}: wrote {len(files)} files in "
          f"{seconds:.1f} s to {out_dir}")
    for path in shown:
        print(f"  {path}")
    frames = data.frames
    if frames.is_partial:
        print(f"  note: KKiK {frames.year} has kommun values for {frames.figures_with_values} of its "
              f"{frames.figures_in_set} key figures so far; the others show ∅ (not yet released, or not reported)")
    return 0
