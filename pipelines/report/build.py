"""Writing the reports: one kommun, one county, or every kommun of a KKiK year.

Plain functions (the CLI and the Dagster asset both call them); the mart is read once per call.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pipelines.report.model import ReportData, county_report, kommun_report
from pipelines.report.render import county_html, kommun_html, write_files
from pipelines.report.source import read_mart


@dataclass(frozen=True)
class Written:
    year: int
    files: list[Path]


def kommun_stem(municipality_id: str, year: int) -> str:
    return f"kkik_{municipality_id}_{year}"


def county_stem(county_code: str, year: int) -> str:
    return f"kkik_lan_{county_code}_{year}"


def load(mart_path: Path | None, year: int | None, warehouse: Path | None = None) -> ReportData:
    return ReportData(read_mart(mart_path, year, warehouse))


def write_kommun(data: ReportData, municipality_id: str, out_dir: Path, pdf: bool = True) -> list[Path]:
    report = kommun_report(data, municipality_id)
    return write_files(kommun_html(report), out_dir, kommun_stem(municipality_id, data.frames.year), pdf)


def write_county(data: ReportData, county_code: str, out_dir: Path, pdf: bool = True) -> list[Path]:
    report = county_report(data, county_code)
    return write_files(county_html(report), out_dir, county_stem(county_code, data.frames.year), pdf)


def kommun_ids(data: ReportData) -> list[str]:
    municipalities = data.frames.municipalities
    return sorted(municipalities.loc[municipalities["is_kommun"], "municipality_id"])


def county_codes(data: ReportData) -> list[str]:
    municipalities = data.frames.municipalities
    return sorted(municipalities.loc[municipalities["is_kommun"], "county_code"].dropna().unique())


def write_counties(data: ReportData, out_dir: Path, pdf: bool = True) -> list[Path]:
    written: list[Path] = []
    for code in county_codes(data):
        written += write_county(data, code, out_dir, pdf)
    return written


def write_all(data: ReportData, out_dir: Path, pdf: bool = True,
              progress: Callable[[Iterable[str]], Iterable[str]] = iter,
              municipality_ids: list[str] | None = None) -> list[Path]:
    """Every kommun's report (or those of ``municipality_ids``); ``progress`` wraps the iteration (the CLI's
    progress bar)."""
    written: list[Path] = []
    for municipality_id in progress(kommun_ids(data) if municipality_ids is None else municipality_ids):
        written += write_kommun(data, municipality_id, out_dir, pdf)
    return written


#: The process that renders half the reports, forked from the one that read the mart (set only in it).
_FORKED_DATA: ReportData | None = None


def _write_in_fork(municipality_ids: list[str], out_dir: Path, pdf: bool) -> tuple[list[Path], list[Path]]:
    assert _FORKED_DATA is not None
    return (write_all(_FORKED_DATA, out_dir, pdf, municipality_ids=municipality_ids),
            write_counties(_FORKED_DATA, out_dir, pdf))


def write_every_report(data: ReportData, out_dir: Path, pdf: bool = True) -> tuple[list[Path], list[Path]]:
    """Every kommun's and every county's report (the yearly load's last step): ``(kommun files, county
    files)``, the same files as :func:`write_all` and :func:`write_counties`.

    Rendering is pure Python (Jinja2, the charts), one core's work: with a second core, half the kommuner
    and the counties are written by a process forked after the mart was read (it inherits ``data``, nothing
    is pickled but the paths written), the other half here. The snapshot's 290 kommuner and 21 counties
    (HTML): 1.6-2.1 s serial, 1.0-1.4 s so (measured alternating on one mart). A failure in either half
    raises here, as the serial writers do.
    """
    global _FORKED_DATA
    ids = kommun_ids(data)
    if (os.cpu_count() or 1) < 2 or "fork" not in multiprocessing.get_all_start_methods() or len(ids) < 2:
        return write_all(data, out_dir, pdf), write_counties(data, out_dir, pdf)
    here, there = ids[: len(ids) // 2], ids[len(ids) // 2:]
    _FORKED_DATA = data
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork")) as pool:
            forked = pool.submit(_write_in_fork, there, out_dir, pdf)
            kommuner = write_all(data, out_dir, pdf, municipality_ids=here)
            more_kommuner, counties = forked.result()
    finally:
        _FORKED_DATA = None
    return kommuner + more_kommuner, counties
