"""SCB's statistical database through the PxWeb API: v2 by default, v1 as a setting; json-stat2 → tidy rows.

What the client does for every table:

* reads ``/config`` once (``maxDataCells``, ``maxCallsPerTimeWindow`` / ``timeWindow``; SCB's own values are the
  defaults: 150,000 cells, 30 calls per 10 s) and paces its calls with a ``RateLimiter`` built from it;
* reads the table's metadata once, resolves the selection against it (explicit codes, ``*`` and PxWeb's
  selection expressions), and splits a query whose cell count (product of the selected values) is over the
  limit into several queries along the largest of region and time, then merges the rows;
* sends a GET (``valueCodes[VAR]=a,b``) unless the URL would be longer than about 2,000 characters, then a POST
  with the same selection; v1 always POSTs its JSON query;
* if SCB still answers 400 or 403 "too many cells" (its limit may be lower than ``/config`` says), halves
  the query and tries again;
* 429 (``Retry-After``) and 5xx are retried by the shared session (``make_session``), not here.

json-stat2 is decoded by :func:`decode_jsonstat2` (``pyjstat`` is not used: it drops ``status``). SCB's
symbols for special values are kept as ``status``: ``..`` (not available) and ``.`` (logically impossible)
give ``value=None`` and are never turned into 0; ``-`` (nothing to report) gives ``value=0.0`` with status
``-``. Region codes stay strings: ``00`` is Riket (``region_level == "riket"``), two digits a län, four
digits a kommun.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Self
from urllib.parse import quote

import pandas as pd
import requests

from pipelines.sources.http import (
    FetchedPage,
    RateLimiter,
    SourceResponseError,
    check_status,
    make_session,
    parse_json,
)

log = logging.getLogger(__name__)

LIVE_SCB_V2_URL = "https://statistikdatabasen.scb.se/api/v2"
LIVE_SCB_V1_URL = "https://api.scb.se/OV0104/v1/doris/sv/ssd"
#: Where each API version lives below a host root (the snapshot server mounts both under ``/scb``).
V2_ROOT_PATH = "/api/v2"
V1_ROOT_PATH = "/OV0104/v1/doris/sv/ssd"

DEFAULT_MAX_CELLS = 150_000
DEFAULT_MAX_CALLS = 30
DEFAULT_TIME_WINDOW = 10.0
#: PxWeb answers 404 past about 2,100 characters; stay well below.
MAX_GET_URL_LENGTH = 2000

NOT_AVAILABLE = ".."  # not available or too uncertain to publish
LOGICALLY_IMPOSSIBLE = "."
NOTHING_TO_REPORT = "-"  # zero
MISSING_SYMBOLS = frozenset({NOT_AVAILABLE, LOGICALLY_IMPOSSIBLE})

REGION_LEVELS = ("riket", "lan", "kommun")


# --------------------------------------------------------------------------------------------------
# Rows and regions
# --------------------------------------------------------------------------------------------------


def region_level(code: str | None) -> str | None:
    """``riket`` for ``00`` / ``0000``, ``lan`` for two digits, ``kommun`` for four digits, else ``other``."""
    if code is None:
        return None
    if code in ("00", "0000"):
        return "riket"
    if code.isdigit() and len(code) == 2:
        return "lan"
    if code.isdigit() and len(code) == 4:
        return "kommun"
    return "other"


def kolada_region_id(code: str) -> str:
    """Kolada's id for an SCB region code: Riket ``00`` → ``0000``, län ``01`` → ``0001``, kommuner unchanged."""
    level = region_level(code)
    if level == "riket":
        return "0000"
    if level == "lan":
        return "00" + code
    return code


@dataclass(frozen=True)
class ScbRow:
    """One cell of a json-stat2 response. ``dims`` holds the variables other than region, time and contents."""

    table_id: str
    region: str | None
    time: str | None
    contents_code: str | None
    dims: dict[str, str]
    value: float | None
    status: str | None

    @property
    def region_level(self) -> str | None:
        return region_level(self.region)


ROW_COLUMNS = ["table_id", "region", "region_level", "time", "contents_code", "value", "status"]


def rows_to_frame(rows: Iterable[ScbRow]) -> pd.DataFrame:
    """Rows as a DataFrame: ``ROW_COLUMNS`` with each ``dims`` variable as its own column before ``value``."""
    rows = list(rows)
    dim_names: list[str] = []
    for row in rows:
        for name in row.dims:
            if name not in dim_names:
                dim_names.append(name)
    columns = ROW_COLUMNS[:5] + dim_names + ROW_COLUMNS[5:]
    records = [
        {
            "table_id": r.table_id,
            "region": r.region,
            "region_level": r.region_level,
            "time": r.time,
            "contents_code": r.contents_code,
            **{name: r.dims.get(name) for name in dim_names},
            "value": r.value,
            "status": r.status,
        }
        for r in rows
    ]
    frame = pd.DataFrame.from_records(records, columns=columns)
    frame["value"] = frame["value"].astype("float64")
    frame["status"] = frame["status"].astype("str")  # missing status: NA
    return frame


# --------------------------------------------------------------------------------------------------
# json-stat2
# --------------------------------------------------------------------------------------------------


def _category_codes(url: str, dim_id: str, dim: Mapping, size: int) -> list[str]:
    category = dim.get("category")
    if not isinstance(category, Mapping):
        raise SourceResponseError(url, f"json-stat2 dimension {dim_id!r} has no category")
    index = category.get("index")
    if index is None:
        labels = category.get("label")
        if isinstance(labels, Mapping) and len(labels) == 1 == size:
            return [next(iter(labels))]
        raise SourceResponseError(url, f"json-stat2 dimension {dim_id!r} has no category.index")
    if isinstance(index, list):
        codes = [str(c) for c in index]
    elif isinstance(index, Mapping):
        ordered = sorted(index.items(), key=lambda item: item[1])
        if [pos for _, pos in ordered] != list(range(len(ordered))):
            raise SourceResponseError(url, f"json-stat2 dimension {dim_id!r}: category.index positions are not 0..n-1")
        codes = [str(code) for code, _ in ordered]
    else:
        raise SourceResponseError(url, f"json-stat2 dimension {dim_id!r}: category.index is neither a list nor an object")
    if len(codes) != size:
        raise SourceResponseError(url, f"json-stat2 dimension {dim_id!r} has {len(codes)} categories but size says {size}")
    return codes


def _status_lookup(url: str, status: object, n: int) -> dict[int, str]:
    if status is None:
        return {}
    if isinstance(status, str):  # one status for every value
        return {i: status for i in range(n)}
    if isinstance(status, list):
        if len(status) == 1 and n != 1:
            return {i: str(status[0]) for i in range(n)} if status[0] is not None else {}
        if len(status) != n:
            raise SourceResponseError(url, f"json-stat2 status list has {len(status)} entries for {n} values")
        return {i: str(s) for i, s in enumerate(status) if s is not None}
    if isinstance(status, Mapping):
        try:
            return {int(k): str(v) for k, v in status.items() if v is not None}
        except ValueError as exc:
            raise SourceResponseError(url, f"json-stat2 status has a key that is not an index ({exc})") from exc
    raise SourceResponseError(url, f"json-stat2 status is a {type(status).__name__}")


def _cell_value(url: str, raw: object, status: str | None) -> tuple[float | None, str | None]:
    """SCB's rule for one cell: ``..`` and ``.`` → None (status kept), ``-`` → 0.0 (status kept)."""
    if isinstance(raw, str):  # json-stat2 sends numbers; tolerate a symbol or number sent as a string
        text = raw.strip()
        if text in MISSING_SYMBOLS or text == NOTHING_TO_REPORT:
            status = status or text
            raw = None
        else:
            try:
                raw = float(text.replace(",", "."))
            except ValueError as exc:
                raise SourceResponseError(url, f"json-stat2 value {raw!r} is neither a number nor a symbol") from exc
    if status in MISSING_SYMBOLS:
        return None, status
    if status == NOTHING_TO_REPORT:
        return 0.0, status
    if raw is None:
        return None, status
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise SourceResponseError(url, f"json-stat2 value {raw!r} is not a number")
    return float(raw), status


def _role_dim(payload: Mapping, role: str) -> str | None:
    roles = payload.get("role") or {}
    found = roles.get(role) if isinstance(roles, Mapping) else None
    return found[0] if isinstance(found, list) and found else None


def _guess_region_dim(payload: Mapping, ids: Sequence[str]) -> str | None:
    geo = _role_dim(payload, "geo")
    if geo:
        return geo
    for dim_id in ids:
        label = str((payload["dimension"][dim_id] or {}).get("label", "")).lower()
        if dim_id.lower() == "region" or label == "region":
            return dim_id
    return None


def decode_jsonstat2(
    payload: object, *, table_id: str, url: str = "<json-stat2>", region_dim: str | None = None
) -> list[ScbRow]:
    """Decode one json-stat2 dataset (as SCB's PxWeb sends it) into tidy rows, in the response's order.

    ``value`` is row-major over ``id`` (the last dimension varies fastest); ``status`` maps a value's index
    (or a list, or one string for all) to a symbol. Anything else raises ``SourceResponseError``.
    """
    if not isinstance(payload, Mapping):
        raise SourceResponseError(url, f"expected a json-stat2 dataset object, got a {type(payload).__name__}")
    if payload.get("class") != "dataset" or not str(payload.get("version", "")).startswith("2"):
        keys = sorted(payload)[:8]
        raise SourceResponseError(
            url,
            f"not json-stat2 (class={payload.get('class')!r}, version={payload.get('version')!r}, keys {keys})",
        )
    ids, sizes, dimensions = payload.get("id"), payload.get("size"), payload.get("dimension")
    if not isinstance(ids, list) or not isinstance(sizes, list) or not isinstance(dimensions, Mapping):
        raise SourceResponseError(url, "json-stat2 dataset lacks id, size or dimension")
    if len(ids) != len(sizes):
        raise SourceResponseError(url, f"json-stat2 id has {len(ids)} entries but size has {len(sizes)}")
    missing = [d for d in ids if d not in dimensions]
    if missing:
        raise SourceResponseError(url, f"json-stat2 dimension lacks {missing}")
    codes = [_category_codes(url, d, dimensions[d], int(s)) for d, s in zip(ids, sizes)]
    n = math.prod(int(s) for s in sizes) if ids else 0
    values = payload.get("value")
    if isinstance(values, Mapping):  # sparse form
        try:
            sparse = {int(k): v for k, v in values.items()}
        except ValueError as exc:
            raise SourceResponseError(url, f"json-stat2 value has a key that is not an index ({exc})") from exc
        values = [sparse.get(i) for i in range(n)]
    if not isinstance(values, list):
        raise SourceResponseError(url, "json-stat2 dataset has no value list")
    if len(values) != n:
        raise SourceResponseError(
            url, f"json-stat2 value has {len(values)} entries, size {sizes} needs {n} (truncated or wrong shape)"
        )
    statuses = _status_lookup(url, payload.get("status"), n)

    time_dim = _role_dim(payload, "time") or next((d for d in ids if d in ("Tid", "TIME", "time")), None)
    contents_dim = _role_dim(payload, "metric") or next((d for d in ids if d == "ContentsCode"), None)
    region_dim = region_dim or _guess_region_dim(payload, ids)
    special = {region_dim, time_dim, contents_dim}
    positions = {d: i for i, d in enumerate(ids)}
    other = [d for d in ids if d not in special]

    rows: list[ScbRow] = []
    counters = [0] * len(ids)
    for flat in range(n):
        cell = [codes[i][counters[i]] for i in range(len(ids))]
        value, status = _cell_value(url, values[flat], statuses.get(flat))
        rows.append(
            ScbRow(
                table_id=table_id,
                region=cell[positions[region_dim]] if region_dim in positions else None,
                time=cell[positions[time_dim]] if time_dim in positions else None,
                contents_code=cell[positions[contents_dim]] if contents_dim in positions else None,
                dims={d: cell[positions[d]] for d in other},
                value=value,
                status=status,
            )
        )
        for i in range(len(ids) - 1, -1, -1):  # odometer, last dimension fastest
            counters[i] += 1
            if counters[i] < len(codes[i]):
                break
            counters[i] = 0
    return rows


# --------------------------------------------------------------------------------------------------
# Metadata and selections
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScbVariable:
    """One variable (dimension) of a table as its metadata describes it."""

    code: str
    label: str
    values: tuple[str, ...]
    value_labels: tuple[str, ...]
    elimination: bool = False
    elimination_value: str | None = None
    is_time: bool = False
    is_contents: bool = False


@dataclass(frozen=True)
class ScbMetadata:
    """A table's variables, in the table's order."""

    table_id: str
    label: str
    variables: tuple[ScbVariable, ...]
    url: str = ""

    def variable(self, code: str) -> ScbVariable:
        for var in self.variables:
            if var.code == code:
                return var
        raise KeyError(f"table {self.table_id} has no variable {code!r} (it has {[v.code for v in self.variables]})")

    def has(self, code: str) -> bool:
        return any(v.code == code for v in self.variables)

    @property
    def time_variable(self) -> str | None:
        return next((v.code for v in self.variables if v.is_time), None)

    @property
    def contents_variable(self) -> str | None:
        return next((v.code for v in self.variables if v.is_contents), None)

    @property
    def region_variable(self) -> str | None:
        return next((v.code for v in self.variables if v.code.lower() == "region" or v.label.lower() == "region"), None)


def parse_v2_metadata(url: str, table_id: str, payload: object) -> ScbMetadata:
    """``/tables/{id}/metadata``: a json-stat2 dataset with ``"value": []``."""
    if not isinstance(payload, Mapping) or payload.get("class") != "dataset" or "dimension" not in payload:
        raise SourceResponseError(url, "metadata is not a json-stat2 dataset")
    time_dim, contents_dim = _role_dim(payload, "time"), _role_dim(payload, "metric")
    variables = []
    for dim_id, size in zip(payload.get("id", []), payload.get("size", [])):
        dim = payload["dimension"].get(dim_id)
        if not isinstance(dim, Mapping):
            raise SourceResponseError(url, f"metadata lacks dimension {dim_id!r}")
        codes = _category_codes(url, dim_id, dim, int(size))
        labels = dim["category"].get("label") or {}
        ext = dim.get("extension") or {}
        variables.append(
            ScbVariable(
                code=dim_id,
                label=str(dim.get("label", dim_id)),
                values=tuple(codes),
                value_labels=tuple(str(labels.get(c, c)) for c in codes),
                elimination=bool(ext.get("elimination", False)),
                elimination_value=ext.get("eliminationValueCode"),
                is_time=dim_id == time_dim,
                is_contents=dim_id == contents_dim,
            )
        )
    return ScbMetadata(table_id, str(payload.get("label", table_id)), tuple(variables), url)


def parse_v1_metadata(url: str, table_id: str, payload: object) -> ScbMetadata:
    """A v1 table path answered to GET: ``{"title", "variables": [{"code", "text", "values", "valueTexts"}]}``."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("variables"), list):
        raise SourceResponseError(url, "v1 metadata has no variables list")
    variables = []
    for var in payload["variables"]:
        try:
            values, texts = list(var["values"]), list(var.get("valueTexts") or var["values"])
            code = str(var["code"])
        except (KeyError, TypeError) as exc:
            raise SourceResponseError(url, f"v1 metadata variable lacks {exc}") from exc
        variables.append(
            ScbVariable(
                code=code,
                label=str(var.get("text", code)),
                values=tuple(str(v) for v in values),
                value_labels=tuple(str(t) for t in texts),
                elimination=bool(var.get("elimination", False)),
                is_time=bool(var.get("time", False)),
                is_contents=code == "ContentsCode",
            )
        )
    return ScbMetadata(table_id, str(payload.get("title", table_id)), tuple(variables), url)


def split_value_list(text: str) -> list[str]:
    """Split a GET ``valueCodes`` value on commas outside ``()`` and ``[]``; ``[a,b]`` quotes one code."""
    items, depth, current = [], 0, []
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            items.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    items.append("".join(current).strip())
    return [item for item in items if item != ""]


_EXPRESSION = re.compile(r"^(top|bottom|range|from|to)\((.*)\)$", re.IGNORECASE)


def resolve_value_codes(expressions: Sequence[str], codes: Sequence[str], *, is_time: bool = False) -> list[str]:
    """Resolve PxWeb v2 selection items (codes, ``*``/``?`` patterns, ``top``, ``bottom``, ``range``, ``from``,
    ``to``) against a variable's codes; the result keeps the metadata's order. Unknown codes raise ValueError."""
    codes = list(codes)
    position = {c: i for i, c in enumerate(codes)}
    chosen: set[str] = set()
    for raw in expressions:
        item = raw.strip()
        if item.startswith("[") and item.endswith("]"):
            item = item[1:-1]
            if item not in position:
                raise ValueError(f"Non-existent value {item!r}")
            chosen.add(item)
            continue
        match = _EXPRESSION.match(item)
        if match:
            name, args = match.group(1).lower(), [a.strip() for a in match.group(2).split(",")]
            if name in ("top", "bottom"):
                count, offset = int(args[0]), int(args[1]) if len(args) > 1 else 0
                from_start = (name == "top") != is_time  # time: top = latest periods (the end of the list)
                ordered = codes if from_start else codes[::-1]
                chosen.update(ordered[offset : offset + count])
            else:
                for arg in args:
                    if arg not in position:
                        raise ValueError(f"Non-existent value {arg!r} in {item!r}")
                if name == "range":
                    lo, hi = sorted((position[args[0]], position[args[1]]))
                elif name == "from":
                    lo, hi = position[args[0]], len(codes) - 1
                else:
                    lo, hi = 0, position[args[0]]
                chosen.update(codes[lo : hi + 1])
        elif "*" in item or "?" in item:
            pattern = re.compile("^" + re.escape(item).replace(r"\*", ".*").replace(r"\?", ".") + "$")
            chosen.update(c for c in codes if pattern.match(c))
        else:
            if item not in position:
                raise ValueError(f"Non-existent value {item!r}")
            chosen.add(item)
    return [c for c in codes if c in chosen]


Selection = dict[str, list[str]]


def cell_count(selection: Mapping[str, Sequence[str]]) -> int:
    """Cells a query asks for: the product of the number of selected values (eliminated variables count 1)."""
    return math.prod(len(v) for v in selection.values()) if selection else 1


def split_selection(
    selection: Mapping[str, Sequence[str]], max_cells: int, prefer: Sequence[str] = ()
) -> list[Selection]:
    """Split a selection into parts of at most ``max_cells`` cells, cutting the largest of the ``prefer``
    variables (region, time) first, then the largest of the others. Parts do not overlap."""
    selection = {k: list(v) for k, v in selection.items()}
    cells = cell_count(selection)
    if cells <= max_cells:
        return [selection]
    candidates = [v for v in prefer if v in selection and len(selection[v]) > 1]
    if not candidates:
        candidates = [v for v in selection if len(selection[v]) > 1]
    if not candidates:
        raise ValueError(f"a single cell is over the limit of {max_cells} cells")
    dim = max(candidates, key=lambda v: len(selection[v]))
    values = selection[dim]
    rest = cells // len(values)
    per_part = max(1, max_cells // rest)
    parts: list[Selection] = []
    for start in range(0, len(values), per_part):
        parts.extend(split_selection({**selection, dim: values[start : start + per_part]}, max_cells, prefer))
    return parts


# --------------------------------------------------------------------------------------------------
# Table definitions (data)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScbTable:
    """A table the pipeline reads, as data: where it is in v2 and v1 and how to select from it.

    ``fixed`` selects given codes of a variable (e.g. the age total ``tot``); ``summed`` variables are, when
    the table does not let them be eliminated, selected in full and summed over by the fetch helpers.
    Variables named nowhere are eliminated when the table allows it, else selected in full and kept.
    """

    key: str
    table_id: str  # the v2 id
    v1_path: str | None
    label: str
    contents_code: str
    region_var: str = "Region"
    time_var: str = "Tid"
    contents_var: str = "ContentsCode"
    sex_var: str | None = "Kon"
    sex_codes: Mapping[str, str] = field(default_factory=lambda: {"1": "M", "2": "K"})
    total_sex_code: str | None = None
    fixed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    summed: tuple[str, ...] = ()
    note: str = ""
    #: False for an id that could not be checked against SCB offline (a placeholder until someone looks it up)
    verified: bool = True
    #: words for SCB's table search (``/tables?query=…``) that find the table when its id is wrong
    search_query: str = ""

    def selection(
        self, meta: ScbMetadata, *, regions: Sequence[str] | None = None, times: Sequence[str] | None = None
    ) -> Selection:
        """The selection for ``regions`` × ``times`` (None: all) × both sexes, resolved against ``meta``."""
        selection: Selection = {}
        for var in meta.variables:
            all_codes = list(var.values)
            if var.code == self.region_var:
                wanted = list(regions) if regions is not None else all_codes
            elif var.code == self.time_var:
                wanted = list(times) if times is not None else all_codes
            elif var.code == self.contents_var:
                wanted = [self.contents_code]
            elif var.code == self.sex_var:
                if self.total_sex_code is not None and self.total_sex_code not in var.values:
                    raise ValueError(
                        f"{meta.table_id}: {var.code} has no total code {self.total_sex_code!r} (it has {all_codes})"
                    )
                wanted = [c for c in all_codes if c in self.sex_codes or c == self.total_sex_code]
            elif var.code in self.fixed:
                wanted = [c for c in self.fixed[var.code] if c in var.values]
                if not wanted:
                    if var.elimination:
                        continue
                    raise ValueError(f"{meta.table_id}: none of {self.fixed[var.code]} is a value of {var.code}")
            elif var.elimination:
                continue  # summed or not asked for: let the API eliminate it
            else:
                wanted = all_codes
            unknown = [c for c in wanted if c not in var.values]
            if unknown:
                shown = all_codes if len(all_codes) <= 20 else all_codes[:3] + ["…"] + all_codes[-3:]
                raise ValueError(f"{meta.table_id}: {var.code} has no value(s) {unknown[:10]} (it has {shown})")
            selection[var.code] = wanted
        return selection


#: BE0101N1 "Folkmängd" (31 December) per region, civilstånd, ålder, kön and year; v2 TAB638 (1968–2024,
#: continued by TAB5557). Age total ``tot``; civilstånd is summed (SCB does not let it be eliminated).
POPULATION = ScbTable(
    key="population",
    table_id="TAB638",
    v1_path="BE/BE0101/BE0101A/BefolkningNy",
    label="Folkmängden efter region, civilstånd, ålder och kön. År 1968-2024",
    contents_code="BE0101N1",
    fixed={"Alder": ("tot",)},
    summed=("Civilstand",),
    note="The denominator of per-inhabitant key figures.",
)

#: BE0101E2 "Levande födda" per region, mother's age and child's sex (v1: BE0101H/FoddaK). The snapshot
#: serves SCB's PX demo table BE0101D1 (2002–2003) under that id; look up the current v2 TAB id before
#: going online with it.
LIVE_BIRTHS = ScbTable(
    key="live_births",
    table_id="BE0101D1",
    v1_path="BE/BE0101/BE0101H/FoddaK",
    label="Levande födda efter region, moderns ålder och barnets kön",
    contents_code="BE0101E2",
    fixed={"AlderModer": ("tot",)},
    note="Births per kommun (denominator of e.g. förskola and BVC figures).",
    verified=False,
    search_query="levande födda",
)

#: The share (%) of inhabitants 20–64 years who are förvärvsarbetande (gainfully employed) in November, per
#: region (of residence), kön and year: SCB's RAMS (to 2018) and BAS (from 2019) statistics, which Kolada
#: re-publishes as KPI N00914 "Förvärvsarbetande invånare 20-64 år, andel (%)".
#: NOT VERIFIED: the table id, the v1 path and the contents code below are placeholders named after SCB's
#: RAMS product (AM0207); SCB's real ids could not be looked up offline. Look them up (``client.tables(
#: "förvärvsarbetande 20-64")``) before going online with this table. What is modelled on SCB's tables of
#: shares: kön has its own total ``1+2`` (so ``T`` is fetched, not derived), and the values are percent.
EMPLOYMENT_SHARE = ScbTable(
    key="employment_share",
    table_id="AM0207_andel_20_64",  # not verified: a placeholder id
    v1_path="AM/AM0207/AM0207Z/AndelForvarvsarb2064KN",  # not verified: a placeholder path
    label="Förvärvsarbetande 20-64 år, andel (%), efter region och kön",
    contents_code="AM0207F1",  # not verified: a placeholder contents code
    total_sex_code="1+2",
    note="Share (%) of inhabitants 20-64 who are gainfully employed (Kolada N00914, KKiK).",
    verified=False,
    search_query="förvärvsarbetande 20-64",
)

TABLES: dict[str, ScbTable] = {t.key: t for t in (POPULATION, LIVE_BIRTHS, EMPLOYMENT_SHARE)}


class ScbTableNotFound(SourceResponseError):
    """SCB answered 404 for a table's metadata: the id (or v1 path) is wrong or the table was withdrawn.

    The message names the table, says whether its id was ever verified, and how to look the id up.
    """

    def __init__(self, url: str, table: ScbTable | str, base_url: str):
        if isinstance(table, ScbTable):
            what = f"SCB table {table.table_id} ({table.key}: {table.label})"
            verified = "" if table.verified else " Its id is a placeholder that could not be verified offline."
            query = table.search_query or table.label
        else:
            what, verified, query = f"SCB table {table}", "", table
        super().__init__(url, f"{what} was not found (HTTP 404).{verified} Find the real id with "
                              f"GET {base_url}/tables?query={quote(query)}&lang=sv and set it in "
                              f"pipelines/sources/scb.py")
        self.table = table


# --------------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScbConfig:
    """The limits an API instance announces at ``/config`` (v2) or ``?config`` (v1)."""

    max_cells: int = DEFAULT_MAX_CELLS
    max_calls: int = DEFAULT_MAX_CALLS
    time_window: float = DEFAULT_TIME_WINDOW
    source: str = "default"


def _quote_code(code: str) -> str:
    return f"[{code}]" if ("," in code or "(" in code) else code


class ScbClient:
    """PxWeb client for SCB: ``api_version="v2"`` (default) or ``"v1"``; one session, one rate limiter."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_version: str = "v2",
        lang: str = "sv",
        timeout: float = 60.0,
        session: requests.Session | None = None,
        rate_limiter: RateLimiter | None = None,
        max_cells: int | None = None,
        read_config: bool = True,
        max_url_length: int = MAX_GET_URL_LENGTH,
        prefer_post: bool = False,
        total_retries: int = 5,
        backoff_factor: float = 0.5,
    ):
        if api_version not in ("v1", "v2"):
            raise ValueError(f"api_version must be v1 or v2, not {api_version!r}")
        self.api_version = api_version
        self.base_url = (base_url or (LIVE_SCB_V2_URL if api_version == "v2" else LIVE_SCB_V1_URL)).rstrip("/")
        self.lang = lang
        self.timeout = timeout
        self._owns_session = session is None
        self.session = session or make_session(total_retries=total_retries, backoff_factor=backoff_factor)
        self._own_limiter = rate_limiter is None
        self.rate_limiter = rate_limiter or RateLimiter(DEFAULT_MAX_CALLS, DEFAULT_TIME_WINDOW)
        self._max_cells_setting = max_cells
        self.max_cells = max_cells or DEFAULT_MAX_CELLS
        self.read_config = read_config
        self.max_url_length = max_url_length
        self.prefer_post = prefer_post
        self.request_count = 0
        #: Every data response received, in order, so the raw landing can keep them as received.
        self.received_pages: list[FetchedPage] = []
        self._config: ScbConfig | None = None
        self._metadata: dict[str, ScbMetadata] = {}

    @classmethod
    def for_root(cls, root: str, *, api_version: str = "v2", **kwargs) -> ScbClient:
        """A client for a host root such as ``SnapshotServer.source_url("scb")``."""
        path = V2_ROOT_PATH if api_version == "v2" else V1_ROOT_PATH
        return cls(root.rstrip("/") + path, api_version=api_version, **kwargs)

    # -- HTTP -------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the session if this client made it (as the Kolada and Skolverket clients do)."""
        if self._owns_session:
            self.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _send(self, method: str, url: str, body: object | None = None) -> requests.Response:
        self.rate_limiter.wait()
        self.request_count += 1
        try:
            return self.session.request(method, url, json=body, timeout=self.timeout)
        except requests.RequestException as exc:  # retries exhausted on connection/read errors
            raise SourceResponseError(url, f"request failed after retries: {exc}") from exc

    def _get_page(self, url: str) -> FetchedPage:
        response = self._send("GET", url)
        check_status(url, response)
        return FetchedPage(url, response.status_code, time.time(), response.content, parse_json(url, response))

    # -- config, tables, metadata -----------------------------------------------------------------

    def config(self) -> ScbConfig:
        """Read the instance's limits once; fall back to SCB's published defaults if it cannot be read."""
        if self._config is not None:
            return self._config
        config = ScbConfig()
        if self.read_config:
            url = f"{self.base_url}/config" if self.api_version == "v2" else f"{self.base_url}/?config"
            try:
                payload = self._get_page(url).payload
                if not isinstance(payload, Mapping):
                    raise SourceResponseError(url, "config is not a JSON object")
                if self.api_version == "v2":
                    cells, calls, window = (
                        payload.get("maxDataCells"), payload.get("maxCallsPerTimeWindow"), payload.get("timeWindow")
                    )
                else:
                    cells, calls, window = payload.get("maxValues"), payload.get("maxCalls"), payload.get("timeWindow")
                config = ScbConfig(
                    max_cells=int(cells or DEFAULT_MAX_CELLS),
                    max_calls=int(calls or DEFAULT_MAX_CALLS),
                    time_window=float(window or DEFAULT_TIME_WINDOW),
                    source=url,
                )
            except (SourceResponseError, ValueError, TypeError) as exc:
                log.warning("SCB config not read (%s); using SCB's defaults", exc)
        self._config = config
        self.max_cells = min(self._max_cells_setting or config.max_cells, config.max_cells)
        if self._own_limiter and (config.max_calls, config.time_window) != (DEFAULT_MAX_CALLS, DEFAULT_TIME_WINDOW):
            self.rate_limiter = RateLimiter(config.max_calls, config.time_window)
            if config.source != "default":
                self.rate_limiter.wait()  # the /config call itself counts against the new window
        return config

    def tables(self, query: str | None = None, *, page_size: int | None = None, page: int | None = None) -> FetchedPage:
        """``/tables`` (v2 only): one page of the table list, or a search when ``query`` is given."""
        self._require_v2("tables")
        params = [f"lang={self.lang}"]
        if query:
            params.append(f"query={quote(query)}")
        if page_size:
            params.append(f"pageSize={page_size}")
        if page:
            params.append(f"pageNumber={page}")
        return self._get_page(f"{self.base_url}/tables?{'&'.join(params)}")

    def table(self, table_id: str) -> dict:
        """``/tables/{id}`` (v2 only): the table's entry (label, periods, variable names, paths, links)."""
        self._require_v2("tables/{id}")
        page = self._get_page(f"{self.base_url}/tables/{quote(table_id)}?lang={self.lang}")
        if not isinstance(page.payload, dict) or page.payload.get("id") != table_id:
            raise SourceResponseError(page.url, f"expected the entry of table {table_id}")
        return page.payload

    def _require_v2(self, what: str) -> None:
        if self.api_version != "v2":
            raise ValueError(f"{what} is a PxWeb v2 endpoint; this client is set to v1")

    def _ref(self, table: ScbTable | str) -> tuple[str, str]:
        """(table id used in rows, the id or v1 path used in URLs)."""
        if isinstance(table, ScbTable):
            if self.api_version == "v1":
                if not table.v1_path:
                    raise ValueError(f"table {table.key} has no v1 path")
                return table.table_id, table.v1_path
            return table.table_id, table.table_id
        ref = table.strip("/")
        return (ref.rsplit("/", 1)[-1] if self.api_version == "v1" else ref), ref

    def _table_url(self, ref: str) -> str:
        if self.api_version == "v1":
            return f"{self.base_url}/{'/'.join(quote(p) for p in ref.split('/'))}"
        return f"{self.base_url}/tables/{quote(ref)}"

    def metadata(self, table: ScbTable | str) -> ScbMetadata:
        """The table's variables and values (read once per client)."""
        table_id, ref = self._ref(table)
        if ref not in self._metadata:
            self.config()
            url = f"{self._table_url(ref)}/metadata?lang={self.lang}" if self.api_version == "v2" else self._table_url(ref)
            response = self._send("GET", url)
            if response.status_code == 404:
                raise ScbTableNotFound(url, table, self.base_url)
            check_status(url, response)
            page = FetchedPage(url, response.status_code, time.time(), response.content, parse_json(url, response))
            parse = parse_v2_metadata if self.api_version == "v2" else parse_v1_metadata
            self._metadata[ref] = parse(page.url, table_id, page.payload)
        return self._metadata[ref]

    def resolve(self, table: ScbTable | str, selection: Mapping[str, Sequence[str] | str]) -> Selection:
        """Turn a selection (codes, ``"*"``, expressions; a string is split on commas) into explicit codes."""
        meta = self.metadata(table)
        resolved: Selection = {}
        for code, items in selection.items():
            var = meta.variable(code)
            items = split_value_list(items) if isinstance(items, str) else list(items)
            try:
                resolved[code] = resolve_value_codes(items, var.values, is_time=var.is_time)
            except ValueError as exc:
                raise ValueError(f"{meta.table_id}: {code}: {exc}") from exc
            if not resolved[code]:
                raise ValueError(f"{meta.table_id}: the selection {items} of {code} matches no value")
        return resolved

    # -- data -------------------------------------------------------------------------------------

    def _data_request(self, ref: str, meta: ScbMetadata, part: Selection) -> tuple[str, str, object | None]:
        """(method, url, body) for one part; ``*`` stands for "all values" as PxWeb itself writes it."""

        def items(code: str, values: list[str]) -> list[str]:
            full = meta.variable(code).values
            return ["*"] if len(values) > 1 and tuple(values) == full else values

        if self.api_version == "v1":
            query = []
            for code, values in part.items():
                shown = items(code, values)
                filt = "all" if shown == ["*"] else "item"
                query.append({"code": code, "selection": {"filter": filt, "values": shown}})
            return "POST", self._table_url(ref), {"query": query, "response": {"format": "json-stat2"}}
        base = f"{self._table_url(ref)}/data?lang={self.lang}&outputFormat=json-stat2"
        params = [
            f"valueCodes[{quote(code)}]={quote(','.join(_quote_code(v) for v in items(code, values)), safe=',*()[]')}"
            for code, values in part.items()
        ]
        get_url = base + "".join("&" + p for p in params)
        if not self.prefer_post and len(get_url) <= self.max_url_length:
            return "GET", get_url, None
        body = {"selection": [{"variableCode": code, "valueCodes": items(code, values)} for code, values in part.items()]}
        return "POST", base, body

    @staticmethod
    def _is_cell_limit(response: requests.Response) -> bool:
        if response.status_code == 403:
            return True
        if response.status_code != 400:
            return False
        text = response.content[:2000].decode("utf-8", "replace").lower()
        return "cell" in text or "för många" in text or "too many" in text

    def fetch_pages(self, table: ScbTable | str, selection: Mapping[str, Sequence[str] | str]) -> list[FetchedPage]:
        """Fetch a selection as one or more json-stat2 responses (split to stay under the cell limit)."""
        _, ref = self._ref(table)
        meta = self.metadata(table)
        resolved = self.resolve(table, selection)
        prefer = [v for v in (meta.region_variable, meta.time_variable) if v]
        pages: list[FetchedPage] = []
        for part in split_selection(resolved, self.max_cells, prefer):
            pages.extend(self._fetch_part(ref, meta, part, prefer))
        return pages

    def _fetch_part(self, ref: str, meta: ScbMetadata, part: Selection, prefer: list[str]) -> list[FetchedPage]:
        if cell_count(part) > self.max_cells:  # the limit was lowered by a refusal since this part was planned
            pages: list[FetchedPage] = []
            for sub in split_selection(part, self.max_cells, prefer):
                pages.extend(self._fetch_part(ref, meta, sub, prefer))
            return pages
        method, url, body = self._data_request(ref, meta, part)
        response = self._send(method, url, body)
        if self._is_cell_limit(response):
            cells = cell_count(part)
            if cells <= 1:
                check_status(url, response)
            smaller = max(1, cells // 2)
            log.info("SCB refused %d cells (HTTP %d); splitting to %d", cells, response.status_code, smaller)
            self.max_cells = min(self.max_cells, smaller)
            return self._fetch_part(ref, meta, part, prefer)
        check_status(url, response)
        payload = parse_json(url, response)
        if not isinstance(payload, Mapping) or payload.get("class") != "dataset":
            raise SourceResponseError(url, "expected a json-stat2 dataset (class 'dataset')")
        page = FetchedPage(url, response.status_code, time.time(), response.content, payload)
        self.received_pages.append(page)
        return [page]

    def decode(self, table: ScbTable | str, pages: Iterable[FetchedPage]) -> list[ScbRow]:
        table_id, _ = self._ref(table)
        region_dim = table.region_var if isinstance(table, ScbTable) else None
        rows: list[ScbRow] = []
        for page in pages:
            rows.extend(decode_jsonstat2(page.payload, table_id=table_id, url=page.url, region_dim=region_dim))
        return rows

    def fetch_rows(self, table: ScbTable | str, selection: Mapping[str, Sequence[str] | str]) -> list[ScbRow]:
        """Fetch and decode a selection; rows of split queries are merged (they never overlap)."""
        return self.decode(table, self.fetch_pages(table, selection))

    def fetch_frame(self, table: ScbTable | str, selection: Mapping[str, Sequence[str] | str]) -> pd.DataFrame:
        return rows_to_frame(self.fetch_rows(table, selection))


# --------------------------------------------------------------------------------------------------
# Per region × sex × year figures
# --------------------------------------------------------------------------------------------------

GENDERS = ("T", "K", "M")


def _combine(parts: Sequence[tuple[float | None, str | None]]) -> tuple[float | None, str | None]:
    """Sum of parts; a missing part (``..``/``.``/null) makes the sum missing, with the part's symbol kept."""
    missing = sorted({s or NOT_AVAILABLE for v, s in parts if v is None})
    if missing:
        return None, ",".join(missing)
    symbols = sorted({s for _, s in parts if s})
    return float(sum(v for v, _ in parts)), (",".join(symbols) or None)


def fetch_region_sex_year(
    client: ScbClient,
    table: ScbTable,
    years: Iterable[int],
    *,
    regions: Sequence[str] | None = None,
    value_column: str = "value",
) -> pd.DataFrame:
    """One figure per region, year and gender, summed over ``table.summed``.

    ``T`` is the table's own total for kön when it has one (``table.total_sex_code``, e.g. ``1+2`` in a
    table of shares): fetched and served as is, never derived. Otherwise ``T`` = ``K`` + ``M``.

    Columns: ``municipality_id`` (SCB's code: ``00`` Riket, ``01`` län, ``0114`` kommun), ``region_level``
    (riket / lan / kommun), ``year`` (int), ``gender`` (T/K/M), ``value_column`` (float, NaN when missing),
    ``status`` (str: SCB's symbol(s), comma-joined when parts differ; NA when there is none).
    """
    years = sorted({int(y) for y in years})
    meta = client.metadata(table)
    times = [str(y) for y in years]
    available = set(meta.variable(table.time_var).values)
    absent = [t for t in times if t not in available]
    if absent:
        have = sorted(available)
        raise ValueError(f"{meta.table_id} has no year(s) {absent}; it has {have[0]}–{have[-1]}")
    selection = table.selection(meta, regions=regions, times=times)
    rows = client.fetch_rows(table, selection)

    kept = {name: set() for row in rows for name in row.dims if name != table.sex_var and name not in table.summed}
    for row in rows:
        for name, codes in kept.items():
            codes.add(row.dims.get(name))
    broken_down = {name: sorted(map(str, codes))[:5] for name, codes in kept.items() if len(codes) > 1}
    if broken_down:  # summing them would add up parts of different things (or a total and its parts)
        raise ValueError(f"{table.table_id}: {broken_down} are broken down; name them in `fixed` or `summed`")
    cells: dict[tuple[str, str, str], list[tuple[float | None, str | None]]] = {}
    for row in rows:
        if row.contents_code not in (None, table.contents_code):
            continue
        sex = row.dims.get(table.sex_var) if table.sex_var else None
        if sex is None or sex == table.total_sex_code:
            gender = "T"
        elif sex in table.sex_codes:
            gender = table.sex_codes[sex]
        elif table.total_sex_code is not None:
            raise ValueError(f"{table.table_id}: unexpected {table.sex_var} code {sex!r}")
        else:
            gender = "T"
        cells.setdefault((row.region or "00", row.time or "", gender), []).append((row.value, row.status))

    records = []
    keys = sorted({(region, t) for region, t, _ in cells})
    for region, t in keys:
        by_gender = {g: _combine(cells[(region, t, g)]) for g in GENDERS if (region, t, g) in cells}
        if table.total_sex_code is None and "T" not in by_gender and "K" in by_gender and "M" in by_gender:
            by_gender["T"] = _combine([by_gender["K"], by_gender["M"]])
        for g in GENDERS:
            if g in by_gender:
                value, status = by_gender[g]
                records.append((region, region_level(region), int(t[:4]), g, value, status))
    frame = pd.DataFrame.from_records(
        records, columns=["municipality_id", "region_level", "year", "gender", value_column, "status"]
    )
    frame[value_column] = frame[value_column].astype("float64")
    frame["year"] = frame["year"].astype("int64")
    frame["status"] = frame["status"].astype("str")  # missing status: NA
    order = {g: i for i, g in enumerate(GENDERS)}
    frame = frame.sort_values(
        ["municipality_id", "year", "gender"], key=lambda s: s.map(order) if s.name == "gender" else s
    )
    return frame.reset_index(drop=True)


def fetch_population(client: ScbClient, years: Iterable[int], *, regions: Sequence[str] | None = None) -> pd.DataFrame:
    """Population on 31 December (BE0101N1) per region, year and gender T/K/M, summed over civilstånd.

    Columns: ``municipality_id, region_level, year, gender, population, status`` (see ``fetch_region_sex_year``).
    Riket (``00``) and the län stay in the frame, told apart by ``region_level``.
    """
    return fetch_region_sex_year(client, POPULATION, years, regions=regions, value_column="population")


def fetch_live_births(client: ScbClient, years: Iterable[int], *, regions: Sequence[str] | None = None) -> pd.DataFrame:
    """Live births per region, year and child's gender T/K/M (all mothers' ages).

    Columns: ``municipality_id, region_level, year, gender, births, status``.
    """
    return fetch_region_sex_year(client, LIVE_BIRTHS, years, regions=regions, value_column="births")



def fetch_employment_share(
    client: ScbClient, years: Iterable[int], *, regions: Sequence[str] | None = None
) -> pd.DataFrame:
    """Share (%) of inhabitants 20–64 who are förvärvsarbetande, per region, year and gender T/K/M.

    ``T`` is the table's own figure for both sexes (kön ``1+2``), not ``K + M`` nor their mean.
    Columns: ``municipality_id, region_level, year, gender, employment_share, status``.
    """
    return fetch_region_sex_year(client, EMPLOYMENT_SHARE, years, regions=regions, value_column="employment_share")
