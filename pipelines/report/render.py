"""HTML from Jinja2 templates (autoescaped) and PDF from that HTML (WeasyPrint).

Both are single self-contained files (CSS and charts inline, no fonts or images fetched), so a kommun can
publish them as they are.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from pipelines.report.model import CountyReport, KommunReport

TEMPLATES = Path(__file__).parent / "templates"


class ReportOutputError(RuntimeError):
    """The report's folder or files cannot be written (a file in the way, no permission, a full disk)."""


@lru_cache(maxsize=1)
def environment() -> Environment:
    # autoescape on for every template: titles and names come from Kolada and from staff-edited seeds
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True)


def _common() -> dict:
    return {"css": Markup((TEMPLATES / "style.css").read_text(encoding="utf-8")),
            "generated": date.today().isoformat()}


def kommun_html(report: KommunReport) -> str:
    return environment().get_template("kommun.html.j2").render(r=report, notes=report.notes, **_common())


def county_html(report: CountyReport) -> str:
    return environment().get_template("county.html.j2").render(r=report, notes=report.notes, **_common())


def write_pdf(html: str, path: Path) -> None:
    """Print ``html`` to ``path`` (A4 landscape, page numbers) with WeasyPrint."""
    from weasyprint import HTML  # imported here: it loads Pango, and `kkik --help` must stay instant

    HTML(string=html, base_url=str(TEMPLATES)).write_pdf(path)


def write_files(html: str, out_dir: Path, stem: str, pdf: bool = True) -> list[Path]:
    """``<stem>.html`` (and ``<stem>.pdf``) in ``out_dir``; returns the paths written. A folder or file that
    cannot be written raises :class:`ReportOutputError` naming it (not the OSError's traceback)."""
    html_path = out_dir / f"{stem}.html"
    written = [html_path]
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        html_path.write_text(html, encoding="utf-8")
        if pdf:
            pdf_path = out_dir / f"{stem}.pdf"
            write_pdf(html, pdf_path)
            written.append(pdf_path)
    except FileExistsError as exc:  # mkdir: out_dir (or a folder on its way) is a file
        raise ReportOutputError(f"{exc.filename or out_dir}: is a file, not a folder: the reports are written "
                                "into a folder") from exc
    except OSError as exc:
        raise ReportOutputError(f"{exc.filename or out_dir}: cannot be written: {exc.strerror or exc}") from exc
    return written
