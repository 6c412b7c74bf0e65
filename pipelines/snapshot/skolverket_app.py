"""SkolverketApp: serves the bundled Sök statistik export files byte for byte, like a static file host.

Mounted at ``/skolverket``; a GET of ``/skolverket/<path>`` answers the file ``snapshot/skolverket/<path>``
for every path the client's export table (:data:`pipelines.sources.skolverket.EXPORTS`) uses, with the
Content-Type of the format (``text/csv; charset=utf-8`` or the xlsx MIME type). Anything else is a 404
(an HTML page, as a real web server sends); a method other than GET is a 405.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pipelines.config import SNAPSHOT_DIR
from pipelines.snapshot.server import Reply
from pipelines.sources.skolverket import CSV_MIME, EXPORTS, XLSX_MIME, ExportSpec

CONTENT_TYPES = {
    "csv": f"{CSV_MIME}; charset=utf-8",
    "xlsx": XLSX_MIME,
}


def _html(status: int, title: str) -> Reply:
    body = f"<!DOCTYPE html><html><head><title>{status} {title}</title></head><body><h1>{title}</h1></body></html>"
    return Reply(status, body.encode(), {"Content-Type": "text/html; charset=utf-8"})


class SkolverketApp:
    """Answers ``/skolverket/<export path>`` from ``snapshot/skolverket/`` (the files are real exports)."""

    name = "skolverket"

    def __init__(self, root: Path | str | None = None, exports: Mapping[str, ExportSpec] | None = None):
        self.root = Path(root) if root is not None else SNAPSHOT_DIR / "skolverket"
        specs = exports if exports is not None else EXPORTS
        # Only the files of the export table are served: the README and the Kolada map are not part of the API.
        self.routes: dict[str, ExportSpec] = {"/" + spec.path.lstrip("/"): spec for spec in specs.values()}

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: bytes, base_url: str) -> Reply:
        spec = self.routes.get(path)
        if spec is None:
            return _html(404, "Not Found")
        if method != "GET":
            return _html(405, "Method Not Allowed")
        file = self.root / spec.path
        if not file.is_file():
            return _html(404, "Not Found")
        return Reply(200, file.read_bytes(), {"Content-Type": CONTENT_TYPES[spec.format]})
