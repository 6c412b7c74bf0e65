"""SCB's PxWeb API (v2 and v1) answered from the bundled snapshot (``snapshot/scb/``).

Mounted at ``/scb``: ``/scb/api/v2/{config,tables,tables/{id},tables/{id}/metadata,tables/{id}/data,codelists/{id}}``
and ``/scb/OV0104/v1/doris/sv/ssd/<path>`` (GET: variables; POST: a query; ``?config``). Data come back in
json-stat2 as SCB shapes it. SCB's limits are enforced: more than ``maxDataCells`` cells → 400 problem+json
(403 if asked), more than ``maxCallsPerTimeWindow`` calls per ``timeWindow`` → 429 problem+json with
``Retry-After``. What each table holds and where it comes from: ``snapshot/scb/README.md``.
"""

from __future__ import annotations

import gzip
import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from pipelines.config import SNAPSHOT_DIR
from pipelines.snapshot.server import Reply
from pipelines.sources.scb import V1_ROOT_PATH, V2_ROOT_PATH, resolve_value_codes, split_value_list

JSON = "application/json; charset=utf-8"
PROBLEM = "application/problem+json; charset=utf-8"
PROBLEM_TYPES = {
    400: ("https://tools.ietf.org/html/rfc9110#section-15.5.1", "Bad Request"),
    403: ("https://tools.ietf.org/html/rfc9110#section-15.5.4", "Forbidden"),
    404: ("https://tools.ietf.org/html/rfc9110#section-15.5.5", "Not Found"),
    429: ("https://tools.ietf.org/html/rfc6585#section-4", "Too many requests"),
}


def problem(status: int, detail: str, headers: Mapping[str, str] | None = None, title: str | None = None) -> Reply:
    kind, default_title = PROBLEM_TYPES.get(status, ("about:blank", "Error"))
    body = {"type": kind, "title": title or default_title, "status": status, "detail": detail}
    return Reply(status, json.dumps(body, ensure_ascii=False).encode("utf-8"), {"Content-Type": PROBLEM, **(headers or {})})


def json_reply(obj: object, status: int = 200) -> Reply:
    return Reply(status, json.dumps(obj, ensure_ascii=False, indent=2).encode("utf-8"), {"Content-Type": JSON})


class QueryError(Exception):
    """A query SCB would refuse: turned into a problem reply (or an empty 500, like SCB's repeated codes)."""

    def __init__(self, status: int, detail: str, title: str | None = None):
        super().__init__(detail)
        self.status, self.detail, self.title = status, detail, title


@dataclass
class Table:
    """One served table: its metadata response, its ``/tables/{id}`` entry and the cube of values."""

    table_id: str
    metadata: dict
    entry: dict | None
    cube: dict
    v1_path: str | None

    def __post_init__(self) -> None:
        self.ids: list[str] = list(self.metadata["id"])
        dims = self.metadata["dimension"]
        self.codes = {d: _ordered(dims[d]["category"]["index"]) for d in self.ids}
        roles = self.metadata.get("role") or {}
        self.time_var = (roles.get("time") or [None])[0]
        self.contents_var = (roles.get("metric") or [None])[0]
        ext = {d: dims[d].get("extension") or {} for d in self.ids}
        self.elimination = {d: bool(ext[d].get("elimination")) for d in self.ids}
        self.elimination_value = {d: ext[d].get("eliminationValueCode") for d in self.ids}
        self.cube_dims: list[str] = self.cube["dims"]
        self.cube_codes: dict[str, list[str]] = self.cube["codes"]
        self.cube_pos = {d: {c: i for i, c in enumerate(self.cube_codes[d])} for d in self.cube_dims}
        self.outside: dict[str, str | None] = self.cube.get("outside", {})
        self.values: list = self.cube["values"]
        self.status = {int(k): v for k, v in self.cube.get("status", {}).items()}
        stride, self.strides = 1, {}
        for d in reversed(self.cube_dims):
            self.strides[d] = stride
            stride *= len(self.cube_codes[d])


def _ordered(index: Mapping[str, int] | list) -> list[str]:
    return list(index) if isinstance(index, list) else [c for c, _ in sorted(index.items(), key=lambda kv: kv[1])]


def _load_json(path: Path) -> object:
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            return json.load(fh)
    return json.loads(path.read_text(encoding="utf-8"))


class ScbApp:
    """The SCB source app: PxWeb v2 under ``/api/v2`` and v1 under ``/OV0104/v1/doris/sv/ssd``."""

    name = "scb"

    def __init__(
        self,
        snapshot_dir: Path | None = None,
        *,
        max_calls: int | None = None,
        time_window: float | None = None,
        max_cells: int | None = None,
        cell_limit_status: int = 400,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.root = Path(snapshot_dir) if snapshot_dir else SNAPSHOT_DIR / "scb"
        self.config_body = (self.root / "config.json").read_bytes()
        config = json.loads(self.config_body)
        self.max_calls = int(max_calls or config["maxCallsPerTimeWindow"])
        self.time_window = float(time_window or config["timeWindow"])
        self.max_cells = int(max_cells or config["maxDataCells"])
        if (self.max_calls, self.time_window, self.max_cells) != (
            config["maxCallsPerTimeWindow"], config["timeWindow"], config["maxDataCells"]
        ):  # announce the limits actually enforced
            window = int(self.time_window) if float(self.time_window).is_integer() else self.time_window
            config.update(maxDataCells=self.max_cells, maxCallsPerTimeWindow=self.max_calls, timeWindow=window)
            self.config_body = json.dumps(config, ensure_ascii=False, indent=4).encode("utf-8")
        if cell_limit_status not in (400, 403):
            raise ValueError("SCB answers 400 or 403 to too many cells")
        self.cell_limit_status = cell_limit_status
        self.clock = clock
        self._calls: deque[float] = deque()
        self._lock = threading.Lock()
        self.throttled = 0  # how many 429 were answered (for tests and benchmarks)
        self.tables: dict[str, Table] = {}
        for folder in sorted((self.root / "tables").iterdir()):
            if not folder.is_dir():
                continue
            cube = _load_json(folder / "cube.json.gz")
            entry = _load_json(folder / "table.json") if (folder / "table.json").exists() else None
            table = Table(folder.name, _load_json(folder / "metadata.json"), entry, cube, cube.get("v1_path"))
            self.tables[folder.name] = table
        self.v1_paths = {t.v1_path: t for t in self.tables.values() if t.v1_path}
        self.recorded_list = self.root / "tables.json"
        self.recorded_entries = [
            entry
            for name in ("tables.json", "search.json")
            for entry in _load_json(self.root / name)["tables"]
        ]
        self.codelists = {}
        for path in sorted((self.root / "codelists").glob("*.json")):
            codelist = _load_json(path)
            self.codelists[codelist["id"]] = path

    # -- dispatch ---------------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: bytes, base_url: str) -> Reply:
        throttled = self._throttle()
        if throttled:
            return throttled
        if path == V2_ROOT_PATH or path.startswith(V2_ROOT_PATH + "/"):
            return self._v2(method, path[len(V2_ROOT_PATH) :].strip("/"), query, body, base_url)
        if path == V1_ROOT_PATH or path.startswith(V1_ROOT_PATH + "/"):
            return self._v1(method, path[len(V1_ROOT_PATH) :].strip("/"), query, body)
        return problem(404, f"No route for {path}")

    def _throttle(self) -> Reply | None:
        with self._lock:
            now = self.clock()
            while self._calls and now - self._calls[0] >= self.time_window:
                self._calls.popleft()
            if len(self._calls) >= self.max_calls:
                self.throttled += 1
                wait = max(1, math.ceil(self.time_window - (now - self._calls[0])))
                return problem(
                    429,
                    f"You have reached the threshold for request limiting. {self.max_calls} requests per "
                    f"{self.time_window:g} seconds.",
                    {"Retry-After": str(wait), "X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": str(wait)},
                )
            self._calls.append(now)
        return None

    # -- v2 ---------------------------------------------------------------------------------------

    def _v2(self, method: str, rest: str, query: dict[str, list[str]], body: bytes, base_url: str) -> Reply:
        parts = [unquote(p) for p in rest.split("/")] if rest else []
        if parts == ["config"] and method == "GET":
            return Reply(200, self.config_body, {"Content-Type": JSON})
        if parts == ["tables"] and method == "GET":
            return self._list_tables(query, base_url)
        if len(parts) == 2 and parts[0] == "codelists" and method == "GET":
            path = self.codelists.get(parts[1])
            if path is None:
                return problem(404, f"Codelist with id, {parts[1]} can not be found")
            return Reply(200, path.read_bytes(), {"Content-Type": JSON})
        if len(parts) >= 2 and parts[0] == "tables":
            table = self._table(parts[1])
            if len(parts) == 2 and method == "GET":
                if table is None:
                    entry = self._recorded_entry(parts[1])
                    if entry is None:
                        return problem(404, f"Non-existent table {parts[1]}")
                    return json_reply({"language": "sv", **entry})
                return json_reply(self._entry(table, base_url))
            if table is None:
                return problem(404, f"Non-existent table {parts[1]}")
            if parts[2:] == ["metadata"] and method == "GET":
                return json_reply(table.metadata)
            if parts[2:] == ["data"] and method in ("GET", "POST"):
                fmt = (query.get("outputFormat") or query.get("outputformat") or ["json-stat2"])[0]
                if fmt.lower() != "json-stat2":
                    return problem(400, f"The snapshot serves json-stat2 only, not {fmt}")
                try:
                    selection = self._v2_selection(method, query, body)
                    return json_reply(self._data(table, selection))
                except QueryError as exc:
                    return self._error(exc)
        return problem(404, f"No route for /api/v2/{rest} ({method})")

    def _table(self, table_id: str) -> Table | None:
        if table_id in self.tables:
            return self.tables[table_id]
        return next((t for k, t in self.tables.items() if k.lower() == table_id.lower()), None)

    def _recorded_entry(self, table_id: str) -> dict | None:
        return next((e for e in self.recorded_entries if e["id"].lower() == table_id.lower()), None)

    def _entry(self, table: Table, base_url: str) -> dict:
        if table.entry is None:  # a recorded table (TAB6471): an entry from its metadata
            meta = table.metadata
            times = table.codes[table.time_var] if table.time_var else [""]
            entry = {
                "language": "sv", "id": table.table_id, "label": meta.get("label"), "description": "",
                "updated": meta.get("updated"), "firstPeriod": times[0], "lastPeriod": times[-1],
                "category": "public", "variableNames": [meta["dimension"][d]["label"] for d in table.ids],
                "source": meta.get("source"), "links": [],
            }
        else:
            entry = json.loads(json.dumps(table.entry))
        for link in entry.get("links", []):
            if link["href"].startswith("/api/v2/"):
                link["href"] = base_url + link["href"]
        return entry

    def _list_tables(self, query: dict[str, list[str]], base_url: str) -> Reply:
        text = (query.get("query") or [""])[0].strip().lower()
        if not text:
            return Reply(200, self.recorded_list.read_bytes(), {"Content-Type": JSON})
        entries = [self._entry(t, base_url) for t in self.tables.values()]
        seen = {e["id"] for e in entries}
        for entry in self.recorded_entries:
            if entry["id"] not in seen:
                entries.append(entry)
                seen.add(entry["id"])
        hits = [
            e for e in entries
            if text in e["id"].lower() or text in str(e.get("label", "")).lower()
            or any(text in str(v).lower() for v in e.get("variableNames", []))
        ]
        size = int((query.get("pageSize") or query.get("pagesize") or ["20"])[0])
        number = int((query.get("pageNumber") or query.get("pagenumber") or ["1"])[0])
        page = hits[(number - 1) * size : number * size]
        return json_reply({
            "language": "sv",
            "tables": [{k: v for k, v in e.items() if k != "language"} for e in page],
            "page": {"pageNumber": number, "pageSize": size, "totalElements": len(hits),
                     "totalPages": max(1, math.ceil(len(hits) / size)), "links": []},
            "links": [],
        })

    @staticmethod
    def _v2_selection(method: str, query: dict[str, list[str]], body: bytes) -> dict[str, list[str]]:
        selection: dict[str, list[str]] = {}
        if method == "POST" and body.strip():
            try:
                doc = json.loads(body)
                items = doc.get("selection") or []
                for item in items:
                    selection[str(item["variableCode"])] = [str(v) for v in item.get("valueCodes") or []]
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise QueryError(400, f"The query body is not a valid selection ({exc})") from exc
            return selection
        for key, values in query.items():
            if key.lower().startswith("valuecodes[") and key.endswith("]"):
                selection[key[len("valueCodes[") : -1]] = [c for v in values for c in split_value_list(v)]
        return selection

    # -- v1 ---------------------------------------------------------------------------------------

    def _v1(self, method: str, rest: str, query: dict[str, list[str]], body: bytes) -> Reply:
        if not rest and "config" in query:
            return json_reply({"maxValues": self.max_cells, "maxCalls": self.max_calls,
                               "timeWindow": int(self.time_window) if float(self.time_window).is_integer() else self.time_window,
                               "CORS": True})
        path = unquote(rest)
        path = path.removeprefix("START/")
        table = self.v1_paths.get(path)
        if table is None:
            return problem(404, f"Non-existent table {path}")
        if method == "GET":
            variables = []
            for d in table.ids:
                dim = table.metadata["dimension"][d]
                var = {"code": d, "text": dim["label"], "values": table.codes[d],
                       "valueTexts": [dim["category"]["label"].get(c, c) for c in table.codes[d]]}
                if table.elimination[d]:
                    var["elimination"] = True
                if d == table.time_var:
                    var["time"] = True
                variables.append(var)
            return json_reply({"title": table.metadata.get("label"), "variables": variables})
        if method != "POST":
            return problem(404, f"No route for {path} ({method})")
        try:
            doc = json.loads(body or b"{}")
            fmt = ((doc.get("response") or {}).get("format") or "json").lower()
            if fmt != "json-stat2":
                raise QueryError(400, f"The snapshot serves the response format json-stat2 only, not {fmt}")
            selection: dict[str, list[str]] = {}
            for item in doc.get("query") or []:
                sel = item["selection"]
                filt, values = str(sel.get("filter", "item")).lower(), [str(v) for v in sel.get("values") or []]
                if filt == "top":
                    values = [f"top({values[0]})"]
                selection[str(item["code"])] = values  # item, all (wildcards), vs:/agg: (codes)
        except QueryError as exc:
            return self._error(exc)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return problem(400, f"The query is not valid ({exc})")
        try:
            return json_reply(self._data(table, selection, v1=True))
        except QueryError as exc:
            if exc.status == 400 and exc.title == "Too many cells selected" and self.cell_limit_status == 400:
                exc.status = 403  # v1 answered 403 to too large queries
            return self._error(exc)

    # -- the data engine --------------------------------------------------------------------------

    def _error(self, exc: QueryError) -> Reply:
        if exc.status == 500:  # SCB: a repeated value code gives a 500 with an empty body
            return Reply(500, b"", {"Content-Type": "text/plain"})
        return problem(exc.status, exc.detail, title=exc.title)

    def _resolve(self, table: Table, selection: dict[str, list[str]]) -> dict[str, list[str]]:
        """Selected codes per variable (unselected, eliminable variables are left out)."""
        for code in selection:
            if code not in table.codes:
                raise QueryError(400, f"Non-existent variable {code}")
        if not selection:  # PxWeb's default selection, approximated: latest period, mandatory variables in full
            selection = {}
            for d in table.ids:
                if d == table.time_var:
                    selection[d] = [table.cube_codes.get(d, table.codes[d])[-1]]
                elif not table.elimination[d]:
                    selection[d] = (
                        [table.outside[d]] if table.outside.get(d) else table.cube_codes.get(d, table.codes[d])
                    )
        resolved: dict[str, list[str]] = {}
        for d in table.ids:
            if d not in selection:
                if not table.elimination[d]:
                    raise QueryError(400, f"Missing selection for mandatory variable {d}")
                continue
            items = selection[d]
            plain = [i for i in items if not any(ch in i for ch in "*?(")]
            if len(plain) != len(set(plain)):
                raise QueryError(500, f"Repeated value code in {d}")
            try:
                codes = resolve_value_codes(items, table.codes[d], is_time=d == table.time_var)
            except ValueError as exc:
                raise QueryError(400, f"{exc} for variable {d}") from exc
            if not codes:
                raise QueryError(400, f"The selection {items} for variable {d} matches no value")
            resolved[d] = codes
        cells = math.prod(len(v) for v in resolved.values())
        if cells > self.max_cells:
            raise QueryError(
                self.cell_limit_status,
                f"Too many cells selected: the query gives {cells} cells, the limit is {self.max_cells}.",
                title="Too many cells selected",
            )
        for d, codes in resolved.items():  # what the snapshot holds
            if d in table.cube_pos:
                absent = [c for c in codes if c not in table.cube_pos[d]]
                if absent:
                    raise QueryError(
                        400, f"Value(s) {absent[:5]} of {d} are not in the bundled snapshot of {table.table_id} "
                        f"(see snapshot/scb/README.md)"
                    )
            elif table.outside.get(d) is None or codes != [table.outside[d]]:
                held = f"only {table.outside[d]}" if table.outside.get(d) else "no breakdown (leave it out)"
                raise QueryError(400, f"The bundled snapshot of {table.table_id} holds {held} for {d}")
        return resolved

    def _data(self, table: Table, selection: dict[str, list[str]], *, v1: bool = False) -> dict:
        resolved = self._resolve(table, selection)
        out_dims = [d for d in table.ids if d in resolved]
        # each cube dimension: the selected codes, the elimination value, or all codes (summed)
        plan: list[tuple[str, list[int], bool]] = []  # (dim, cube positions, summed?)
        for d in table.cube_dims:
            if d in resolved:
                plan.append((d, [table.cube_pos[d][c] for c in resolved[d]], False))
            elif table.elimination_value.get(d) in table.cube_pos[d]:
                plan.append((d, [table.cube_pos[d][table.elimination_value[d]]], True))
            else:
                plan.append((d, list(range(len(table.cube_codes[d]))), True))
        out_sizes = [len(resolved[d]) for d in out_dims]
        values: list = []
        status: dict[str, str] = {}
        counters = [0] * len(out_dims)
        n = math.prod(out_sizes)
        for flat in range(n):
            chosen = {d: counters[k] for k, d in enumerate(out_dims)}
            offsets = [0]
            for d, positions, summed in plan:
                if not summed:
                    pos = positions[chosen[d]]
                    offsets = [o + pos * table.strides[d] for o in offsets]
                else:
                    offsets = [o + p * table.strides[d] for o in offsets for p in positions]
            total, symbols = 0.0, set()
            for o in offsets:
                v = table.values[o]
                if o in table.status:
                    symbols.add(table.status[o])
                if v is None:
                    total = None
                elif total is not None:
                    total += v
            if total is not None and symbols <= {"-"}:
                value = int(total) if float(total).is_integer() else total
                if symbols:
                    status[str(flat)] = "-"
            else:
                value = None
                status[str(flat)] = min(symbols) if symbols else ".."
            values.append(value)
            for k in range(len(out_dims) - 1, -1, -1):
                counters[k] += 1
                if counters[k] < out_sizes[k]:
                    break
                counters[k] = 0
        return self._dataset(table, out_dims, resolved, values, status, v1=v1)

    def _dataset(self, table, out_dims, resolved, values, status, *, v1: bool) -> dict:
        meta = table.metadata
        doc: dict = {"version": "2.0", "class": "dataset", "label": table.cube.get("data_label") or meta.get("label")}
        for key in ("source", "updated", "note"):
            if key in meta:
                doc[key] = meta[key]
        roles = {}
        if table.time_var in out_dims:
            roles["time"] = [table.time_var]
        if table.contents_var in out_dims:
            roles["metric"] = [table.contents_var]
        if roles:
            doc["role"] = roles
        doc["id"] = out_dims
        doc["size"] = [len(resolved[d]) for d in out_dims]
        doc["dimension"] = {d: _dimension(meta["dimension"][d], resolved[d]) for d in out_dims}
        if not v1 and "extension" in meta:
            extension = json.loads(json.dumps(meta["extension"]))
            extension.setdefault("discontinued", None)
            doc["extension"] = extension
        if status:
            doc["status"] = status
        doc["value"] = values
        return doc


def _dimension(dim: Mapping, codes: Sequence[str]) -> dict:
    """A metadata dimension cut down to the selected codes (as in SCB's data responses: no codelists)."""
    keep = set(codes)
    out: dict = {}
    for key, value in dim.items():
        if key == "category":
            category = {"index": {c: i for i, c in enumerate(codes)}}
            for ckey, cvalue in value.items():
                if ckey != "index" and isinstance(cvalue, Mapping):
                    category[ckey] = {c: cvalue[c] for c in codes if c in cvalue}
            out["category"] = category
        elif key == "extension":
            extension = {}
            for ekey, evalue in value.items():
                if ekey == "codelists":
                    continue
                if isinstance(evalue, Mapping) and evalue and set(evalue) <= set(dim["category"]["index"]):
                    evalue = {c: v for c, v in evalue.items() if c in keep}
                extension[ekey] = evalue
            out["extension"] = extension
        else:
            out[key] = value
    return out
