"""`kkik report`: write the KKiK report of one kommun, one county network, or every kommun."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

from pipelines.config import OutputPathError, check_writable_folder
from pipelines.console import count_of, year_ranges
from pipelines.report.source import ReportDataError


def kommun_code(text: str) -> str:
    """A kommun code as the mart spells it: 1–4 digits left-padded to 4 (Excel drops the zero of 0180, and the
    watch reads 180 as 0180 too); anything else as given, for the mart's own "not a kommun code" refusal."""
    text = text.strip()
    return text.zfill(4) if re.fullmatch(r"\d{1,4}", text) else text


def check_out_dir(out_dir: Path) -> None:
    """Refuse an ``--out`` the reports cannot be written to before the mart is read: a file, a folder whose way
    is blocked by a file, or one without write permission (:func:`pipelines.config.check_writable_folder`).
    (What only the write itself can tell, e.g. a read-only file system for root,
    :func:`pipelines.report.render.write_files` reports the same way.)"""
    from pipelines.report.render import ReportOutputError

    try:
        check_writable_folder(out_dir, "--out names the folder the reports are written to")
    except OutputPathError as problem:
        raise ReportOutputError(str(problem)) from None


def run_report(kommun: str | None, county: str | None, year: int | None, out_dir: Path,
               mart: Path | None, pdf: bool = True) -> int:
    """Neither ``kommun`` nor ``county``: every kommun. Exit code 0 written, 2 bad input (unknown kommun,
    county, year or mart, or an ``out_dir`` that cannot be written)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from pipelines.report import build
    from pipelines.report.model import NOT_LOADED
    from pipelines.report.render import ReportOutputError

    started = time.perf_counter()
    try:
        check_out_dir(out_dir)
        data = build.load(mart, year)
        if kommun:
            files = build.write_kommun(data, kommun_code(kommun), out_dir, pdf)
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
    except (ReportDataError, ReportOutputError) as error:
        print(f"kkik report: {error}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - started
    shown = files if len(files) <= 4 else files[:2] + [f"… {len(files) - 2} more"]
    print(f"kkik report: KKiK {data.frames.year} from {data.frames.path}: wrote {count_of(len(files), 'file')} in "
          f"{seconds:.1f} s to {out_dir}")
    for path in shown:
        print(f"  {path}")
    frames = data.frames
    if frames.is_partial:
        print(f"  note: KKiK {frames.year} has kommun values for {frames.figures_with_values} of its "
              f"{frames.figures_in_set} key figures so far; the others show ∅ (not yet released, or not reported) "
              f"or {NOT_LOADED} (the period not loaded yet)")
    missing = [] if county else frames.years_not_loaded()  # a county compilation shows the report year only
    if missing:
        print(f"kkik report: warning: KKiK {year_ranges(missing)} of the report "
              f"{'are' if len(missing) > 1 else 'is'} not in the published mart {frames.path} (it holds periods "
              f"{year_ranges(sorted(frames.loaded_periods))}): {NOT_LOADED} (not loaded) in "
              f"{'those columns' if len(missing) > 1 else 'that column'}", file=sys.stderr)
    return 0
