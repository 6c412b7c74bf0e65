"""The Kolada API, answered from the bundled snapshot (``snapshot/kolada/``).

Mounted by ``SnapshotServer`` at ``/kolada``; answers under both ``/v3/...`` and ``/v2/...`` in the API's
format (facts and sources: ``../shared/data/kolada/API.md``):

* metadata: ``/kpi``, ``/kpi/{ids}``, ``/kpi_groups``, ``/kpi_groups/{ids}``, ``/municipality``,
  ``/municipality/{ids}``, ``/municipality_groups``, ``/municipality_groups/{ids}``; ``?title=`` filters
  (case-insensitive substring of the title);
* data: ``/data/kpi/{ids}/municipality/{ids}/year/{years}`` and any two of the three dimensions
  (``/data/kpi/{ids}/year/{years}``, ``/data/kpi/{ids}/municipality/{ids}``,
  ``/data/municipality/{ids}/year/{years}``). A municipality group id (``G…``) in the municipality segment
  gets the group's unweighted mean with ``count`` = the members that have a value, as Kolada does;
* envelope ``{"count": total, "values": [this page], "next_url": …}`` (v3) or ``…"previous_page",
  "next_page"`` (v2): absolute links, present only when there is such a page; ``per_page`` (1–5000, default
  5000) and ``page`` (1-based);
* errors: more than 25 ids in a path segment, a bad ``per_page``/``page``/year/``from_date`` → 400 with
  ``{"error": …}``; an unknown route → 404; a method other than GET → 405.

``from_date`` is accepted and checked, but the snapshot has no change dates: everything is served (nothing is
``isdeleted``). Years outside the snapshot simply match no records. Generated records carry
``"synthetic": true`` (an extra key the real API does not send).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable
from urllib.parse import unquote, urlencode

from pipelines.snapshot.server import Reply

DEFAULT_SNAPSHOT_DIR = Path(__file__).resolve().parents[2] / "snapshot" / "kolada"

MAX_PER_PAGE = 5000
MAX_IDS_PER_SEGMENT = 25
VERSIONS = ("v2", "v3")
JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}
METADATA_FILES = {
    "kpi": "kpi.json.gz",
    "kpi_groups": "kpi_groups.json.gz",
    "municipality": "municipality.json.gz",
    "municipality_groups": "municipality_groups.json.gz",
}
#: The data routes Kolada documents: the dimensions in their path order.
DATA_FORMS = {("kpi", "municipality", "year"), ("kpi", "year"), ("kpi", "municipality"), ("municipality", "year")}


def snapshot_latest_year(snapshot_dir: Path = DEFAULT_SNAPSHOT_DIR) -> int:
    """The snapshot's latest year (``latest_year`` in ``manifest.json``): 2022 for the bundled snapshot."""
    manifest = json.loads((Path(snapshot_dir) / "manifest.json").read_text(encoding="utf-8"))
    return int(manifest["latest_year"])


class BadRequest(Exception):
    """A request the API answers with 400."""


def _read_gz_json(path: Path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return json.load(f)


@dataclass
class _Snapshot:
    metadata: dict[str, list[dict]]
    #: (kpi, year) -> {municipality: record}, municipalities in code order
    data: dict[tuple[str, int], dict[str, dict]]
    #: kpi -> its years, ascending
    years_of: dict[str, list[int]]
    #: municipality group id -> member municipality ids
    group_members: dict[str, list[str]] = field(default_factory=dict)

    @property
    def kpis_with_data(self) -> list[str]:
        return sorted(self.years_of)

    @classmethod
    def load(cls, snapshot_dir: Path) -> "_Snapshot":
        if not (snapshot_dir / "manifest.json").exists():
            raise FileNotFoundError(
                f"no Kolada snapshot in {snapshot_dir}: run python tools/build_kolada_snapshot.py --shared ../shared/data"
            )
        metadata = {}
        for entity, name in METADATA_FILES.items():
            payload = _read_gz_json(snapshot_dir / name)
            metadata[entity] = payload["values"]
        data: dict[tuple[str, int], dict[str, dict]] = {}
        files = sorted((snapshot_dir / "data" / "real").glob("*.json.gz")) + sorted(
            (snapshot_dir / "data" / "synthetic").glob("*.synthetic.json.gz")
        )
        for path in files:
            for record in _read_gz_json(path):
                by_municipality = data.setdefault((record["kpi"], int(record["period"])), {})
                if record["municipality"] in by_municipality:
                    raise ValueError(f"{path}: {record['kpi']} {record['municipality']} {record['period']} twice")
                by_municipality[record["municipality"]] = record
        data = {key: dict(sorted(recs.items())) for key, recs in data.items()}
        years_of: dict[str, list[int]] = {}
        for kpi, year in data:
            years_of.setdefault(kpi, []).append(year)
        years_of = {kpi: sorted(years) for kpi, years in years_of.items()}
        group_members = {
            g["id"]: [m.get("member_id", m.get("id")) for m in g.get("members") or []]
            for g in metadata["municipality_groups"]
        }
        return cls(metadata, data, years_of, group_members)


class KoladaApp:
    """``SourceApp`` for Kolada: loads the snapshot on the first request (once, thread-safe)."""

    name = "kolada"

    def __init__(self, snapshot_dir: Path = DEFAULT_SNAPSHOT_DIR):
        self.snapshot_dir = Path(snapshot_dir)
        self._snapshot: _Snapshot | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ loading

    @property
    def snapshot(self) -> _Snapshot:
        if self._snapshot is None:
            with self._lock:
                if self._snapshot is None:
                    self._snapshot = _Snapshot.load(self.snapshot_dir)
        return self._snapshot

    # ------------------------------------------------------------------ the protocol

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: bytes, base_url: str) -> Reply:
        if method != "GET":
            return _error(405, f"method {method} not allowed: the Kolada API is read-only", {"Allow": "GET"})
        raw_segments = [s for s in path.split("/") if s]
        segments = [unquote(s) for s in raw_segments]
        if not segments or segments[0] not in VERSIONS:
            return _error(404, f"no route for {path}")
        version, route = segments[0], segments[1:]
        try:
            items = self._route(route, query)
            if items is None:
                return _error(404, f"no route for {path}")
            per_page, page = _paging(query)
            _check_from_date(query)
        except BadRequest as exc:
            return _error(400, str(exc))
        return self._page_reply(items, version, "/".join(raw_segments), query, per_page, page, base_url)

    # ------------------------------------------------------------------ routing

    def _route(self, route: list[str], query: dict[str, list[str]]) -> list[dict] | None:
        if not route:
            return None
        head = route[0]
        if head in METADATA_FILES and len(route) <= 2:
            ids = _ids(route[1], head) if len(route) == 2 else None
            return self._metadata(head, ids, _one(query, "title"))
        if head == "data":
            return self._data(route[1:])
        return None

    def _metadata(self, entity: str, ids: list[str] | None, title: str | None) -> list[dict]:
        items = self.snapshot.metadata[entity]
        if ids is not None:
            wanted = set(ids)
            items = [item for item in items if item["id"] in wanted]
        if title:
            needle = title.casefold()
            items = [item for item in items if needle in (item.get("title") or "").casefold()]
        return items

    def _data(self, parts: list[str]) -> list[dict] | None:
        if len(parts) % 2 or not parts:
            return None
        dims = {}
        for key, value in zip(parts[::2], parts[1::2]):
            if key in dims:
                return None
            dims[key] = value
        if tuple(dims) not in DATA_FORMS:
            return None
        kpis = _ids(dims["kpi"], "kpi") if "kpi" in dims else None
        municipalities = _ids(dims["municipality"], "municipality") if "municipality" in dims else None
        years = _years(dims["year"]) if "year" in dims else None
        return self.data_records(kpis, municipalities, years)

    def data_records(self, kpis: list[str] | None, municipalities: list[str] | None,
                     years: list[int] | None) -> list[dict]:
        """The records for those KPIs × municipalities × years (None = all), ordered by KPI, year, municipality."""
        snap = self.snapshot
        kpi_list = sorted(set(kpis)) if kpis is not None else snap.kpis_with_data
        wanted_years = set(years) if years is not None else None
        plain = groups = None
        if municipalities is not None:
            plain = sorted({m for m in municipalities if m not in snap.group_members})
            groups = sorted({m for m in municipalities if m in snap.group_members})
        out: list[dict] = []
        for kpi in kpi_list:
            for year in snap.years_of.get(kpi, ()):
                if wanted_years is not None and year not in wanted_years:
                    continue
                by_municipality = snap.data[(kpi, year)]
                if plain is None:
                    out.extend(by_municipality.values())
                    continue
                out.extend(by_municipality[m] for m in plain if m in by_municipality)
                for group in groups:
                    record = _group_record(kpi, year, group, snap.group_members[group], by_municipality)
                    if record is not None:
                        out.append(record)
        return out

    # ------------------------------------------------------------------ paging

    def _page_reply(self, items: list[dict], version: str, route_path: str, query: dict[str, list[str]],
                    per_page: int, page: int, base_url: str) -> Reply:
        total = len(items)
        start = (page - 1) * per_page
        payload: dict = {"count": total, "values": items[start:start + per_page]}
        has_next = start + per_page < total
        has_previous = page > 1

        def link(to_page: int) -> str:
            params = {k: v for k, v in query.items() if k != "page"}
            params["page"] = [str(to_page)]
            return f"{base_url.rstrip('/')}/{route_path}?{urlencode(params, doseq=True)}"

        if version == "v3":
            if has_next:
                payload["next_url"] = link(page + 1)
        else:
            if has_previous:
                payload["previous_page"] = link(page - 1)
            if has_next:
                payload["next_page"] = link(page + 1)
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return Reply(200, body, dict(JSON_HEADERS))


# ============================================================================ helpers


def _error(status: int, message: str, extra_headers: dict[str, str] | None = None) -> Reply:
    body = json.dumps({"error": message}, ensure_ascii=False).encode("utf-8")
    return Reply(status, body, {**JSON_HEADERS, **(extra_headers or {})})


def _one(query: dict[str, list[str]], key: str) -> str | None:
    values = query.get(key)
    return values[-1] if values else None


def _ids(segment: str, what: str) -> list[str]:
    ids = [part.strip() for part in segment.split(",") if part.strip()]
    if not ids:
        raise BadRequest(f"no {what} id given")
    if len(ids) > MAX_IDS_PER_SEGMENT:
        raise BadRequest(f"too many {what} ids: {len(ids)} (at most {MAX_IDS_PER_SEGMENT} per request)")
    return ids


def _years(segment: str) -> list[int]:
    years = []
    for part in _ids(segment, "year"):
        if not (part.isdigit() and len(part) == 4):
            raise BadRequest(f"year {part!r} is not a year (YYYY)")
        years.append(int(part))
    return years


def _positive_int(query: dict[str, list[str]], key: str, default: int) -> int:
    raw = _one(query, key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{key} must be a whole number, not {raw!r}") from None
    if value < 1:
        raise BadRequest(f"{key} must be at least 1, not {value}")
    return value


def _paging(query: dict[str, list[str]]) -> tuple[int, int]:
    per_page = _positive_int(query, "per_page", MAX_PER_PAGE)
    if per_page > MAX_PER_PAGE:
        raise BadRequest(f"per_page may be at most {MAX_PER_PAGE}, not {per_page}")
    return per_page, _positive_int(query, "page", 1)


def _check_from_date(query: dict[str, list[str]]) -> None:
    raw = _one(query, "from_date")
    if raw is None:
        return
    try:
        dt.date.fromisoformat(raw)
        if len(raw) != 10:
            raise ValueError
    except ValueError:
        raise BadRequest(f"from_date must be YYYY-MM-DD, not {raw!r}") from None


def _group_record(kpi: str, year: int, group: str, members: Iterable[str],
                  by_municipality: dict[str, dict]) -> dict | None:
    """A municipality group's record: per gender the unweighted mean of the members that have a value."""
    member_records = [by_municipality[m] for m in members if m in by_municipality]
    if not member_records:
        return None
    per_gender: dict[str, list[float]] = {}
    for record in member_records:
        for entry in record["values"]:
            bucket = per_gender.setdefault(entry["gender"], [])
            if entry["value"] is not None:
                bucket.append(entry["value"])
    values = [
        {"gender": g, "count": len(per_gender[g]), "status": "",
         "value": (sum(per_gender[g]) / len(per_gender[g])) if per_gender[g] else None, "isdeleted": False}
        for g in ("T", "K", "M") if g in per_gender
    ]
    record = {"kpi": kpi, "municipality": group, "period": year, "values": values}
    if any(r.get("synthetic") for r in member_records):
        record["synthetic"] = True
    return record
