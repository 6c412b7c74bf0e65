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
    """``<stem>.html`` (and ``<stem>.pdf``) in ``out_dir``; returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = out_dir / f"{stem}.html"
    html_path.write_text(html, encoding="utf-8")
    written = [html_path]
    if pdf:
        pdf_path = out_dir / f"{stem}.pdf"
        write_pdf(html, pdf_path)
        written.append(pdf_path)
    return written
