"""Writing the reports: one kommun, one county, or every kommun of a KKiK year.

Plain functions (the CLI and the Dagster asset both call them); the mart is read once per call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
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
              progress: Callable[[Iterable[str]], Iterable[str]] = iter) -> list[Path]:
    """Every kommun's report; ``progress`` wraps the iteration (the CLI's progress bar)."""
    written: list[Path] = []
    for municipality_id in progress(kommun_ids(data)):
        written += write_kommun(data, municipality_id, out_dir, pdf)
    return written
