"""Build the bundled SCB snapshot (``snapshot/scb/``) from ``../shared/data`` — deterministic, no network.

    python tools/build_scb_snapshot.py --shared /work/shared/data [--out snapshot/scb]

What goes in (see the README this writes):

* SCB's real recorded responses, byte for byte: ``/config``, the first page of ``/tables``, a search,
  the codelist ``agg_Ålder10årJ``, and table TAB6471 (metadata and one data response);
* TAB638 (BE0101N1, population on 31 December per region and sex, 2017–2022): SCB's figures as Kolada
  re-publishes them (``kolada/values.parquet``, KPI N01951 "Invånare totalt, antal", gender K and M),
  re-shaped to SCB's json-stat2 with the dimension metadata of a real TAB638 response;
* AM0207_andel_20_64 (share % of inhabitants 20–64 who are förvärvsarbetande, per region and kön incl. the
  total ``1+2``, 2017–2021): SCB's RAMS/BAS figures as Kolada re-publishes them (KPI N00914, gender K, M
  and T), re-shaped to json-stat2. The table id, v1 path and contents code are placeholders, not verified;
* BE0101D1 (live births per region, mother's age and child's sex, 2002–2003) and TAB005 (land use per
  kommun, 2010 and 2015, with real ``..`` cells): SCB's PX files, re-shaped to json-stat2.

Each served table is a folder ``tables/<ID>/`` with ``metadata.json`` (the json-stat2 metadata response),
``table.json`` (the ``/tables/{id}`` entry, where it is not a recorded one) and ``cube.json.gz`` (the
values the emulator slices: dimensions, codes, row-major values, status symbols).
"""

from __future__ import annotations

import argparse
import copy
import gzip
import hashlib
import io
import json
import math
import re
import shutil
import sys
from pathlib import Path

import pandas as pd

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = PROJECT_ROOT / "snapshot" / "scb"

POPULATION_YEARS = list(range(2017, 2023))
POPULATION_KPI = "N01951"

EMPLOYMENT_YEARS = list(range(2017, 2022))  # Kolada's N00914 ends with 2021
EMPLOYMENT_KPI = "N00914"
# Not verified against SCB (no network when this was written): placeholders named after SCB's RAMS product
# AM0207. They must equal EMPLOYMENT_SHARE in pipelines/sources/scb.py.
EMPLOYMENT_TABLE_ID = "AM0207_andel_20_64"
EMPLOYMENT_V1_PATH = "AM/AM0207/AM0207Z/AndelForvarvsarb2064KN"
EMPLOYMENT_CONTENTS = "AM0207F1"

RECORDED = {  # snapshot file ← shared file (copied byte for byte)
    "config.json": "scb/responses/v2_config.json",
    "tables.json": "scb/responses/tables.json",
    "search.json": "scb/responses/search.json",
    "codelists/agg_Alder10arJ.json": "scb/responses/codelist_agg_Alder10arJ.json",
    "tables/TAB6471/metadata.json": "scb/responses/TAB6471_metadata.json",
    "tables/TAB6471/data.json": "scb/responses/TAB6471_data.json",
}
TAB638_TEMPLATE = "scb/responses/v2_TAB638_data_POST_riket_OG_0_men_2024.json"
BIRTHS_PX = "scb/px/PxWeb_example_BE0101D1_live_births_by_municipality_2002_2003.px"
LANDUSE_PX = "scb/px/PxWebApi_TAB005_landuse_by_municipality_2010_2015.px"
KOLADA_VALUES = "kolada/values.parquet"

SNAPSHOT_NOTE_638 = (
    "Snapshot: the values are SCB's population on 31 December (BE0101N1) as re-published by Kolada "
    "(KPI N01951 'Invånare totalt, antal', gender K and M, fetched 2024-08-30), re-shaped to json-stat2. "
    "Only totals over civilstånd and ålder exist here: select Alder=tot and leave Civilstand out "
    "(eliminated). Years 2017-2022."
)

SNAPSHOT_NOTE_EMPLOYMENT = (
    "Snapshot: the values are SCB's share of inhabitants 20-64 years who are förvärvsarbetande (RAMS to 2018, "
    "BAS from 2019) as re-published by Kolada (KPI N00914 'Förvärvsarbetande invånare 20-64 år, andel (%)', "
    "gender K, M and T, fetched 2024-08-30), re-shaped to json-stat2: Kolada M -> Kon 1, K -> Kon 2, T -> Kon 1+2 "
    "(the share for both sexes, its own figure: not K + M). Years 2017-2021. The table id "
    f"{EMPLOYMENT_TABLE_ID}, the v1 path and the contents code {EMPLOYMENT_CONTENTS} are placeholders, not SCB's "
    "verified ids."
)


# --------------------------------------------------------------------------------------------------
# Writing deterministically
# --------------------------------------------------------------------------------------------------


def dump_json(obj: object, path: Path, *, indent: int | None = 1) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(obj, ensure_ascii=False, indent=indent, separators=None if indent else (",", ":"))
    path.write_text(text + "\n", encoding="utf-8")


def dump_gzip_json(obj: object, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as gz:
        gz.write(raw)
    path.write_bytes(buffer.getvalue())


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def number(value: float | None) -> int | float | None:
    """Integral floats as ints, as SCB writes counts (``50937``, not ``50937.0``)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value) if float(value).is_integer() else float(value)


# --------------------------------------------------------------------------------------------------
# PX files
# --------------------------------------------------------------------------------------------------

_KEY = re.compile(r'^([A-Z0-9-]+)(?:\[([a-z]{2})\])?(?:\("(.*)"\))?$')


def _split_statements(text: str) -> list[str]:
    out, current, quoted = [], [], False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            out.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    if "".join(current).strip():
        out.append("".join(current).strip())
    return out


def _parse_values(text: str) -> list[str]:
    """``"a","b"`` → [a, b]; quoted pieces split only by line breaks are one string; bare words kept."""
    items: list[str] = []
    i, n, joining = 0, len(text), False
    while i < n:
        ch = text[i]
        if ch == '"':
            end = text.index('"', i + 1)
            piece = text[i + 1 : end]
            if joining and items:
                items[-1] += piece
            else:
                items.append(piece)
            joining = True  # a following quoted piece without a comma continues this one
            i = end + 1
        elif ch == ",":
            joining = False
            i += 1
        elif ch.isspace():
            i += 1
        else:
            end = i
            while end < n and text[end] not in ',"' and not text[end].isspace():
                end += 1
            items.append(text[i:end])
            joining = False
            i = end
    return items


def parse_px(path: Path) -> dict:
    """A PX file as {keyword: {(lang, variable): [values]}} plus its ``DATA`` tokens."""
    raw = path.read_bytes()
    head_raw, _, data_raw = raw.partition(b"\nDATA=")
    encoding = "cp1252"
    match = re.search(rb'CODEPAGE="([^"]+)"', head_raw)
    if match:
        encoding = match.group(1).decode("ascii")
    head = head_raw.decode(encoding)
    data_text, _, tail = data_raw.decode(encoding).partition(";")
    keywords: dict[str, dict[tuple[str | None, str | None], list[str]]] = {}
    for statement in _split_statements(head) + _split_statements(tail):
        key, sep, value = statement.partition("=")
        if not sep:
            continue
        m = _KEY.match(key.strip())
        if not m:
            raise ValueError(f"{path.name}: cannot read the keyword {key!r}")
        keywords.setdefault(m.group(1), {})[(m.group(2), m.group(3))] = _parse_values(value)
    tokens = data_text.split()
    return {"keywords": keywords, "data": tokens}


def px_get(px: dict, keyword: str, variable: str | None = None, lang: str | None = None) -> list[str] | None:
    return px["keywords"].get(keyword, {}).get((lang, variable))


def px_cell(token: str) -> tuple[float | None, str | None]:
    token = token.strip()
    if token.startswith('"'):
        symbol = token.strip('"')
        if symbol == "-":
            return 0.0, "-"
        return None, symbol
    return float(token), None


def px_timestamp(text: str | None) -> str:
    """``20040212 16:33`` → ``2004-02-12T16:33:00Z`` (the form SCB's ``updated`` has)."""
    if not text:
        return "1970-01-01T00:00:00Z"
    m = re.match(r"(\d{4})(\d{2})(\d{2})\s+(\d{2}):(\d{2})", text)
    return f"{m.group(1)}-{m.group(2)}-{m.group(3)}T{m.group(4)}:{m.group(5)}:00Z" if m else text


def px_cube(px: dict) -> tuple[list[str], dict[str, list[str]], list, dict[int, str]]:
    """(variables in stub+heading order, their codes, row-major values, status by index)."""
    variables = (px_get(px, "STUB") or []) + (px_get(px, "HEADING") or [])
    codes = {v: px_get(px, "CODES", v) or px_get(px, "VALUES", v) for v in variables}
    n = math.prod(len(codes[v]) for v in variables)
    if len(px["data"]) != n:
        raise ValueError(f"PX data has {len(px['data'])} cells, the variables need {n}")
    values, status = [], {}
    for i, token in enumerate(px["data"]):
        value, symbol = px_cell(token)
        values.append(number(value))
        if symbol:
            status[i] = symbol
    return variables, codes, values, status


def reorder(values: list, status: dict[int, str], dims: list[str], sizes: dict[str, int], order: list[str]):
    """Transpose a row-major cube from ``dims`` order to ``order`` (same dimensions)."""
    strides_old, acc = {}, 1
    for d in reversed(dims):
        strides_old[d] = acc
        acc *= sizes[d]
    new_values, new_status = [None] * len(values), {}
    counters = [0] * len(order)
    for flat in range(len(values)):
        old = sum(counters[k] * strides_old[d] for k, d in enumerate(order))
        new_values[flat] = values[old]
        if old in status:
            new_status[flat] = status[old]
        for k in range(len(order) - 1, -1, -1):
            counters[k] += 1
            if counters[k] < sizes[order[k]]:
                break
            counters[k] = 0
    return new_values, new_status


# --------------------------------------------------------------------------------------------------
# json-stat2 pieces
# --------------------------------------------------------------------------------------------------


def dimension(label: str, codes: list[str], labels: list[str], extension: dict, **extra) -> dict:
    dim = {"label": label}
    if "note" in extra:
        dim["note"] = extra.pop("note")
    dim["category"] = {"index": {c: i for i, c in enumerate(codes)}, "label": dict(zip(codes, labels))}
    if "unit" in extra:
        dim["category"]["unit"] = extra.pop("unit")
    dim["extension"] = extension
    dim.update(extra)
    return dim


def metadata_document(*, label, source, updated, notes, time_dim, ids, dims, extension) -> dict:
    doc = {"version": "2.0", "class": "dataset", "label": label, "source": source, "updated": updated}
    if notes:
        doc["note"] = notes
    doc["role"] = {"time": [time_dim], "metric": ["ContentsCode"]}
    doc["id"] = ids
    doc["size"] = [len(dims[d]["category"]["index"]) for d in ids]
    doc["dimension"] = {d: dims[d] for d in ids}
    doc["extension"] = extension
    doc["value"] = []
    return doc


def table_entry(*, table_id, label, updated, first, last, variable_names, subject, paths, time_unit="Annual") -> dict:
    """The ``/tables/{id}`` entry, in the shape of SCB's (links relative; the emulator makes them absolute)."""
    return {
        "language": "sv",
        "id": table_id,
        "label": label,
        "description": "",
        "sortCode": table_id,
        "updated": updated,
        "firstPeriod": first,
        "lastPeriod": last,
        "category": "public",
        "variableNames": variable_names,
        "source": "SCB",
        "subjectCode": subject,
        "timeUnit": time_unit,
        "paths": [paths],
        "links": [
            {"rel": "self", "hreflang": "sv", "href": f"/api/v2/tables/{table_id}?lang=sv"},
            {"rel": "alternate", "hreflang": "en", "href": f"/api/v2/tables/{table_id}?lang=en"},
            {"rel": "metadata", "hreflang": "sv", "href": f"/api/v2/tables/{table_id}/metadata?lang=sv"},
            {"rel": "data", "hreflang": "sv", "href": f"/api/v2/tables/{table_id}/data?lang=sv&outputFormat=json-stat2"},
        ],
    }


def cube_document(*, table_id, v1_path, data_label, dims, codes, values, status, outside=None, provenance) -> dict:
    return {
        "table_id": table_id,
        "v1_path": v1_path,
        "data_label": data_label,
        "dims": dims,
        "codes": codes,
        "values": values,
        "status": {str(k): v for k, v in sorted(status.items())},
        # variables of the metadata that the cube does not break down: the code the cube's values stand for
        # (null: only elimination is possible)
        "outside": outside or {},
        "provenance": provenance,
    }


# --------------------------------------------------------------------------------------------------
# The tables
# --------------------------------------------------------------------------------------------------


def scb_regions(shared: Path) -> tuple[list[str], dict[str, str]]:
    meta = json.loads((shared / RECORDED["tables/TAB6471/metadata.json"]).read_text(encoding="utf-8"))
    region = meta["dimension"]["Region"]["category"]
    codes = [c for c, _ in sorted(region["index"].items(), key=lambda kv: kv[1])]
    return codes, region["label"]


def build_population(shared: Path, out: Path) -> dict:
    codes, labels = scb_regions(shared)
    template = json.loads((shared / TAB638_TEMPLATE).read_text(encoding="utf-8"))
    frame = pd.read_parquet(
        shared / KOLADA_VALUES,
        filters=[("kpi", "==", POPULATION_KPI), ("period", ">=", POPULATION_YEARS[0]), ("period", "<=", POPULATION_YEARS[-1])],
    )
    wide = frame.pivot_table(index=["municipality", "period"], columns="gender", values="value", aggfunc="first")
    if wide[["T", "K", "M"]].isna().any().any():
        raise SystemExit("Kolada N01951 has gaps for 2017-2022; the snapshot expects every region, year and gender")
    bad = wide[(wide["T"] - wide["K"] - wide["M"]).abs() > 0]
    if len(bad):
        raise SystemExit(f"Kolada N01951: T != K + M in {len(bad)} rows, e.g. {bad.head(3)}")

    def scb_code(kolada_id: str) -> str:
        if kolada_id == "0000":
            return "00"
        if kolada_id.startswith("00"):
            return kolada_id[2:]
        return kolada_id

    wide = wide.reset_index()
    wide["region"] = wide["municipality"].map(scb_code)
    if set(wide["region"]) != set(codes):
        raise SystemExit(
            f"Kolada regions and SCB's region list differ: {sorted(set(wide['region']) ^ set(codes))[:10]}"
        )
    lookup = {(r, int(p)): (k, m) for r, p, k, m in zip(wide["region"], wide["period"], wide["K"], wide["M"])}

    years = [str(y) for y in POPULATION_YEARS]
    sex_codes = ["1", "2"]
    values = []
    for region in codes:  # cube order Region, Kon, ContentsCode, Tid (as the metadata)
        for sex in sex_codes:
            for year in years:
                k, m = lookup[(region, int(year))]
                values.append(number(m if sex == "1" else k))

    t = template["dimension"]
    dims = {
        "Region": dimension(
            "region", codes, [labels[c] for c in codes], copy.deepcopy(t["Region"]["extension"]), note=t["Region"]["note"]
        ),
        "Civilstand": dimension(
            "civilstånd",
            ["OG", "G", "SK", "ÄNKL"],
            ["ogifta", "gifta", "skilda", "änkor/änklingar"],
            # SCB's TAB638 does not let civilstånd be eliminated; the snapshot must (it has totals only)
            {"elimination": True, "show": "value"},
        ),
        "Alder": dimension(
            "ålder",
            [str(a) for a in range(100)] + ["100+", "tot"],
            [f"{a} år" for a in range(100)] + ["100+ år", "totalt ålder"],
            copy.deepcopy(t["Alder"]["extension"]),
            link=t["Alder"]["link"],
        ),
        "Kon": dimension("kön", sex_codes, ["män", "kvinnor"], copy.deepcopy(t["Kon"]["extension"]), link=t["Kon"]["link"]),
        "ContentsCode": dimension(
            "tabellinnehåll",
            ["BE0101N1"],
            ["Folkmängd"],
            copy.deepcopy(t["ContentsCode"]["extension"]),
            unit=t["ContentsCode"]["category"]["unit"],
        ),
        "Tid": dimension("år", years, years, copy.deepcopy(t["Tid"]["extension"])),
    }
    ids = ["Region", "Civilstand", "Alder", "Kon", "ContentsCode", "Tid"]
    extension = copy.deepcopy(template["extension"])
    extension.pop("discontinued", None)
    extension["noteMandatory"] = {**extension.get("noteMandatory", {}), str(len(template["note"])): True}
    meta = metadata_document(
        label="Folkmängden efter region, civilstånd, ålder och kön. År 2017-2022",
        source=template["source"],
        updated=template["updated"],
        notes=template["note"] + [SNAPSHOT_NOTE_638],
        time_dim="Tid",
        ids=ids,
        dims=dims,
        extension=extension,
    )
    folder = out / "tables" / "TAB638"
    dump_json(meta, folder / "metadata.json")
    dump_json(
        table_entry(
            table_id="TAB638",
            label=meta["label"],
            updated=template["updated"],
            first=years[0],
            last=years[-1],
            variable_names=["region", "civilstånd", "ålder", "kön", "tabellinnehåll", "år"],
            subject="BE",
            paths=[
                {"id": "BE", "label": "Befolkning", "sortCode": "Befolkning"},
                {"id": "BE0101", "label": "Befolkningsstatistik", "sortCode": "01"},
                {"id": "BE0101A", "label": "Folkmängd", "sortCode": "01"},
            ],
        ),
        folder / "table.json",
    )
    cube_dims = ["Region", "Kon", "ContentsCode", "Tid"]
    dump_gzip_json(
        cube_document(
            table_id="TAB638",
            v1_path="BE/BE0101/BE0101A/BefolkningNy",
            data_label=template["label"],
            dims=cube_dims,
            codes={"Region": codes, "Kon": sex_codes, "ContentsCode": ["BE0101N1"], "Tid": years},
            values=values,
            status={},
            outside={"Civilstand": None, "Alder": "tot"},
            provenance=f"kolada/values.parquet KPI {POPULATION_KPI}, gender M → Kon 1, K → Kon 2",
        ),
        folder / "cube.json.gz",
    )
    riket = lookup[("00", 2022)]
    return {"regions": len(codes), "years": years, "cells": len(values), "riket_2022": (riket[1], riket[0])}


def scb_region_code(kolada_id: str) -> str:
    """Kolada's ``0000`` → SCB's ``00`` (Riket), ``0001``…``0025`` → ``01``…``25`` (län), kommuner unchanged."""
    if kolada_id == "0000":
        return "00"
    if kolada_id.startswith("00"):
        return kolada_id[2:]
    return kolada_id


def build_employment_share(shared: Path, out: Path) -> dict:
    """N00914 (K, M and T, each its own figure) as SCB's table of shares with kön 1, 2 and 1+2."""
    codes, labels = scb_regions(shared)
    template = json.loads((shared / TAB638_TEMPLATE).read_text(encoding="utf-8"))
    frame = pd.read_parquet(
        shared / KOLADA_VALUES,
        filters=[("kpi", "==", EMPLOYMENT_KPI), ("period", ">=", EMPLOYMENT_YEARS[0]), ("period", "<=", EMPLOYMENT_YEARS[-1])],
    )
    wide = frame.pivot_table(index=["municipality", "period"], columns="gender", values="value", aggfunc="first")
    if wide[["T", "K", "M"]].isna().any().any():
        raise SystemExit(f"Kolada {EMPLOYMENT_KPI} has gaps for {EMPLOYMENT_YEARS[0]}-{EMPLOYMENT_YEARS[-1]}")
    wide = wide.reset_index()
    wide["region"] = wide["municipality"].map(scb_region_code)
    if set(wide["region"]) != set(codes):
        raise SystemExit(
            f"Kolada regions and SCB's region list differ: {sorted(set(wide['region']) ^ set(codes))[:10]}"
        )
    years = [str(y) for y in EMPLOYMENT_YEARS]
    if sorted(str(p) for p in wide["period"].unique()) != years:
        raise SystemExit(f"Kolada {EMPLOYMENT_KPI} lacks some of the years {years}")
    lookup = {
        (r, int(p)): {"1": m, "2": k, "1+2": t}
        for r, p, k, m, t in zip(wide["region"], wide["period"], wide["K"], wide["M"], wide["T"])
    }
    sex_codes = ["1", "2", "1+2"]
    values = []
    for region in codes:  # cube order Region, Kon, ContentsCode, Tid (as the metadata)
        for sex in sex_codes:
            for year in years:
                values.append(number(lookup[(region, int(year))][sex]))

    t = template["dimension"]
    dims = {
        "Region": dimension(
            "region", codes, [labels[c] for c in codes],
            {"elimination": True, "eliminationValueCode": "00", "show": "code_value"},
            note=["Region avser folkbokföringsregion (bostadsregion) i november respektive år."],
        ),
        "Kon": dimension(
            "kön", sex_codes, ["män", "kvinnor", "totalt"],
            # a table of shares: eliminating kön gives the total 1+2, never a sum of the shares
            {"elimination": True, "eliminationValueCode": "1+2", "show": "value"},
            link=t["Kon"]["link"],
        ),
        "ContentsCode": dimension(
            "tabellinnehåll",
            [EMPLOYMENT_CONTENTS],
            ["Förvärvsarbetande 20-64 år, andel (%)"],
            {
                "elimination": False,
                "refperiod": {EMPLOYMENT_CONTENTS: "november respektive år"},
                "show": "value",
                "measuringType": {EMPLOYMENT_CONTENTS: "Other"},
                "priceType": {EMPLOYMENT_CONTENTS: "NotApplicable"},
                "adjustment": {EMPLOYMENT_CONTENTS: "None"},
                "alternativeText": {EMPLOYMENT_CONTENTS: "Andel förvärvsarbetande 20-64 år"},
            },
            unit={EMPLOYMENT_CONTENTS: {"base": "procent", "decimals": 1}},
        ),
        "Tid": dimension("år", years, years, copy.deepcopy(t["Tid"]["extension"])),
    }
    ids = ["Region", "Kon", "ContentsCode", "Tid"]
    label = f"Förvärvsarbetande 20-64 år, andel (%), efter region och kön. År {years[0]}-{years[-1]}"
    updated = "2024-08-30T00:00:00Z"  # when Kolada's values were fetched (SCB's own date is not known here)
    meta = metadata_document(
        label=label,
        source="SCB",
        updated=updated,
        notes=[
            (
                "Förvärvsarbetande enligt SCB:s registerbaserade arbetsmarknadsstatistik (RAMS) t.o.m. 2018 och "
                "befolkningens arbetsmarknadsstatus (BAS) fr.o.m. 2019; andel av befolkningen 20-64 år i november."
            ),
            SNAPSHOT_NOTE_EMPLOYMENT,
        ],
        time_dim="Tid",
        ids=ids,
        dims=dims,
        extension={
            "noteMandatory": {"1": True},
            "px": {"infofile": "AM0207", "tableid": EMPLOYMENT_TABLE_ID, "decimals": 1, "official-statistics": True,
                   "aggregallowed": False, "language": "sv", "contents": "Förvärvsarbetande 20-64 år, andel (%)",
                   "heading": ["ContentsCode", "Tid"], "stub": ["Region", "Kon"], "matrix": EMPLOYMENT_TABLE_ID,
                   "subject-code": "AM", "subject-area": "Arbetsmarknad"},
        },
    )
    folder = out / "tables" / EMPLOYMENT_TABLE_ID
    dump_json(meta, folder / "metadata.json")
    dump_json(
        table_entry(
            table_id=EMPLOYMENT_TABLE_ID, label=label, updated=updated, first=years[0], last=years[-1],
            variable_names=["region", "kön", "tabellinnehåll", "år"], subject="AM",
            paths=[
                {"id": "AM", "label": "Arbetsmarknad", "sortCode": "Arbetsmarknad"},
                {"id": "AM0207", "label": "Registerbaserad arbetsmarknadsstatistik (RAMS)", "sortCode": "07"},
            ],
        ),
        folder / "table.json",
    )
    dump_gzip_json(
        cube_document(
            table_id=EMPLOYMENT_TABLE_ID,
            v1_path=EMPLOYMENT_V1_PATH,
            data_label="Förvärvsarbetande 20-64 år, andel (%), efter region, kön och år",
            dims=ids,
            codes={"Region": codes, "Kon": sex_codes, "ContentsCode": [EMPLOYMENT_CONTENTS], "Tid": years},
            values=values,
            status={},
            provenance=f"kolada/values.parquet KPI {EMPLOYMENT_KPI}, gender M → Kon 1, K → Kon 2, T → Kon 1+2",
        ),
        folder / "cube.json.gz",
    )
    riket = lookup[("00", EMPLOYMENT_YEARS[-1])]
    return {"regions": len(codes), "years": years, "cells": len(values), "riket_last": riket}


def build_births(shared: Path, out: Path) -> dict:
    px = parse_px(shared / BIRTHS_PX)
    variables, codes, values, status = px_cube(px)
    if variables != ["region", "maternal age", "year", "gender"]:
        raise SystemExit(f"unexpected PX layout {variables}")
    names = {"region": "Region", "maternal age": "AlderModer", "gender": "Kon", "year": "Tid"}
    labels = {
        "Region": [re.sub(r"^\d+\s+", "", v) for v in px_get(px, "VALUES", "region")],
        "AlderModer": px_get(px, "VALUES", "maternal age"),
        "Kon": ["män", "kvinnor"],  # PX: men, women (child's sex)
        "Tid": px_get(px, "VALUES", "year"),
    }
    codes = {names[v]: codes[v] for v in variables}
    sizes = {d: len(c) for d, c in codes.items()}
    order = ["Region", "AlderModer", "Kon", "Tid"]
    values, status = reorder(values, status, [names[v] for v in variables], sizes, order)
    # ContentsCode (one value) sits before Tid, as in SCB's tables; a size-1 dimension does not move values
    ids = ["Region", "AlderModer", "Kon", "ContentsCode", "Tid"]
    codes["ContentsCode"] = ["BE0101E2"]
    notes = [px_get(px, "NOTE", "region")[0], px_get(px, "NOTE", "maternal age")[0]]
    dims = {
        "Region": dimension(
            "region", codes["Region"], labels["Region"],
            {"elimination": True, "eliminationValueCode": "00", "show": "code_value"}, note=[notes[0]],
        ),
        "AlderModer": dimension(
            "moderns ålder", codes["AlderModer"], labels["AlderModer"],
            {"elimination": True, "eliminationValueCode": "tot", "show": "value"}, note=[notes[1]],
        ),
        "Kon": dimension("kön", codes["Kon"], labels["Kon"], {"elimination": True, "show": "value"}),
        "ContentsCode": dimension(
            "tabellinnehåll", ["BE0101E2"], ["Levande födda"],
            {"elimination": False, "show": "value", "measuringType": {"BE0101E2": "Flow"}},
            unit={"BE0101E2": {"base": "antal", "decimals": 0}},
        ),
        "Tid": dimension("år", codes["Tid"], labels["Tid"], {"elimination": False, "show": "code"}),
    }
    updated = px_timestamp((px_get(px, "LAST-UPDATED") or [None])[0])
    meta = metadata_document(
        label="Levande födda efter region, moderns ålder och barnets kön. År 2002-2003",
        source="SCB",
        updated=updated,
        notes=[
            ("Snapshot: SCB's PX file BE0101D1 (PxWeb demo database, live births by region, maternal age, year and "
            "gender) re-shaped to json-stat2. Regional division of 2003 (e.g. Heby is 1917). Variable codes as in "
            "SCB's FoddaK (Region, AlderModer, Kon, ContentsCode BE0101E2, Tid); region names as in the PX file.")
        ],
        time_dim="Tid",
        ids=ids,
        dims=dims,
        extension={"px": {"infofile": "BE0101", "tableid": "BE0101D1", "decimals": 0, "matrix": "BE0101D1",
                          "subject-code": "BE", "subject-area": "Befolkning", "language": "sv"}},
    )
    folder = out / "tables" / "BE0101D1"
    dump_json(meta, folder / "metadata.json")
    dump_json(
        table_entry(
            table_id="BE0101D1", label=meta["label"], updated=updated, first=codes["Tid"][0], last=codes["Tid"][-1],
            variable_names=["region", "moderns ålder", "kön", "tabellinnehåll", "år"], subject="BE",
            paths=[
                {"id": "BE", "label": "Befolkning", "sortCode": "Befolkning"},
                {"id": "BE0101", "label": "Befolkningsstatistik", "sortCode": "01"},
                {"id": "BE0101H", "label": "Födda", "sortCode": "08"},
            ],
        ),
        folder / "table.json",
    )
    cube_codes = {d: codes[d] for d in order}
    cube_codes["ContentsCode"] = ["BE0101E2"]
    dump_gzip_json(
        cube_document(
            table_id="BE0101D1", v1_path="BE/BE0101/BE0101H/FoddaK",
            data_label="Levande födda efter region, moderns ålder, kön och år",
            dims=ids, codes={d: cube_codes[d] for d in ids}, values=values, status=status,
            provenance=BIRTHS_PX,
        ),
        folder / "cube.json.gz",
    )
    return {"regions": len(codes["Region"]), "years": codes["Tid"], "cells": len(values)}


def build_landuse(shared: Path, out: Path) -> dict:
    px = parse_px(shared / LANDUSE_PX)
    variables, codes, values, status = px_cube(px)
    sv_vars = (px_get(px, "STUB", lang="sv") or []) + (px_get(px, "HEADING", lang="sv") or [])
    to_code = {v: px_get(px, "VARIABLECODE", v)[0] for v in variables}
    ids = [to_code[v] for v in variables]  # REGION, LANDUSECLASS, ContentsCode, TIME
    dims = {}
    for v, sv in zip(variables, sv_vars):
        code = to_code[v]
        labels = px_get(px, "VALUES", sv, lang="sv") or px_get(px, "VALUES", v)
        extra = {}
        ext = {"elimination": False, "show": "value"}
        if code == "ContentsCode":
            extra["unit"] = {c: {"base": "hektar", "decimals": 0} for c in codes[v]}
            ext["measuringType"] = {c: "Stock" for c in codes[v]}
        if code == "REGION":
            ext["show"] = "code_value"
        if code == "TIME":
            ext["show"] = "code"
        dims[code] = dimension(sv, codes[v], labels, ext, **extra)
    updated = px_timestamp((px_get(px, "LAST-UPDATED", "Land use, hectares") or [None])[0])
    title = (px_get(px, "TITLE", lang="sv") or px_get(px, "TITLE"))[0]
    meta = metadata_document(
        label=title + ". År 2010-2015",
        source="SCB",
        updated=updated,
        notes=[
            ".. = Data not available",
            ("Snapshot: the PX file TAB005 of PxTools/PxWebApi's test database (land use per kommun, 2010 and 2015) "
            "re-shaped to json-stat2; '..' cells are null values with status '..'."),
        ],
        time_dim="TIME",
        ids=ids,
        dims=dims,
        extension={"px": {"infofile": "ENVIRONMENT", "tableid": "TAB005", "decimals": 0, "matrix": "TAB005",
                          "subject-code": "EN", "subject-area": "Miljö", "language": "sv"}},
    )
    folder = out / "tables" / "TAB005"
    dump_json(meta, folder / "metadata.json")
    dump_json(
        table_entry(
            table_id="TAB005", label=meta["label"], updated=updated, first="2010", last="2015",
            variable_names=[dims[c]["label"] for c in ids], subject="MI",
            paths=[{"id": "MI", "label": "Miljö", "sortCode": "Miljö"}],
        ),
        folder / "table.json",
    )
    dump_gzip_json(
        cube_document(
            table_id="TAB005", v1_path=None, data_label=title, dims=ids,
            codes={to_code[v]: codes[v] for v in variables}, values=values, status=status, provenance=LANDUSE_PX,
        ),
        folder / "cube.json.gz",
    )
    return {"regions": len(codes[variables[0]]), "cells": len(values), "not_available": len(status)}


def build_tab6471_cube(shared: Path, out: Path) -> dict:
    data = json.loads((shared / RECORDED["tables/TAB6471/data.json"]).read_text(encoding="utf-8"))
    ids = data["id"]
    codes = {d: [c for c, _ in sorted(data["dimension"][d]["category"]["index"].items(), key=lambda kv: kv[1])] for d in ids}
    status = {int(k): v for k, v in (data.get("status") or {}).items()}
    dump_gzip_json(
        cube_document(
            table_id="TAB6471", v1_path=None, data_label=data["label"], dims=ids, codes=codes,
            values=data["value"], status=status, provenance=RECORDED["tables/TAB6471/data.json"],
        ),
        out / "tables" / "TAB6471" / "cube.json.gz",
    )
    return {"cells": len(data["value"])}


# --------------------------------------------------------------------------------------------------
# README and main
# --------------------------------------------------------------------------------------------------

README = """# SCB snapshot (PxWeb API v2 and v1)

Built by `python tools/build_scb_snapshot.py --shared ../shared/data` (deterministic; do not edit by hand).
Served by `pipelines/snapshot/scb_app.py` (`ScbApp`, mounted at `/scb`): `/scb/api/v2/...` and
`/scb/OV0104/v1/doris/sv/ssd/...`. SCB's data are CC0.

## What is real, and from where

| served as | file | what it is |
| --- | --- | --- |
| `/api/v2/config` | `config.json` | SCB's real `/config` (recorded 2025): 150,000 cells, 30 calls per 10 s. Byte for byte. |
| `/api/v2/tables` (no query) | `tables.json` | SCB's real first page of the table list (4,246 tables). Byte for byte. |
| `/api/v2/tables?query=…` | `search.json` + the tables below | SCB's real search for "befolkning" plus this snapshot's tables, filtered by the query. |
| `/api/v2/codelists/agg_Ålder10årJ` | `codelists/agg_Alder10arJ.json` | SCB's real codelist. Byte for byte. |
| `/api/v2/tables/TAB6471/metadata` | `tables/TAB6471/metadata.json` | SCB's real metadata response (312 regions). Byte for byte. |
| `/api/v2/tables/TAB6471/data` | `tables/TAB6471/data.json`, `cube.json.gz` | SCB's real data response (21 län × 11 age groups × 3 × 2026M01–M04); other selections are sliced from it. |
| `/api/v2/tables/TAB638/…` | `tables/TAB638/` | **SCB's population figures as re-published by Kolada**, re-shaped to json-stat2 (below). |
| `/api/v2/tables/AM0207_andel_20_64/…`, v1 `AM/AM0207/AM0207Z/AndelForvarvsarb2064KN` | `tables/AM0207_andel_20_64/` | **SCB's share of förvärvsarbetande 20–64 år as re-published by Kolada** (N00914), re-shaped to json-stat2; id and path are placeholders (below). |
| `/api/v2/tables/BE0101D1/…`, v1 `BE/BE0101/BE0101H/FoddaK` | `tables/BE0101D1/` | SCB's PX file of live births 2002–2003 (PxWeb demo database), re-shaped to json-stat2. |
| `/api/v2/tables/TAB005/…` | `tables/TAB005/` | Land use per kommun 2010 and 2015 (PX file of PxTools/PxWebApi's test database), with real `..` cells. |

### TAB638: population per region and sex, {years_from}–{years_to}

SCB's own per-kommun population by sex and year is not in `../shared/data`. Kolada re-publishes it:
`kolada/values.parquet`, KPI **N01951 "Invånare totalt, antal"** (population on 31 December, SCB's BE0101N1),
gender K and M, per kommun, län and Riket (scraped from Kolada's API on 2024-08-30). These values are served
as SCB's table TAB638 (BE0101N1 "Folkmängd") in json-stat2: Kolada `M` → `Kon=1` (män), `K` → `Kon=2` (kvinnor),
Kolada's `0000` → SCB's `00` (Riket), `0001`…`0025` → `01`…`25` (län), kommun codes unchanged. Kolada's `T`
was checked to equal `K + M` in every row and is not served (SCB's TAB638 has no total for kön).
{regions} regions × 2 sexes × {n_years} years = {cells} values. The dimension metadata (labels, notes,
extensions, the px block) is copied from a real TAB638 response (`v2_TAB638_data_POST_riket_OG_0_men_2024.json`);
region names are SCB's (from TAB6471's metadata). Example: Riket 2022: män {riket_m:,}, kvinnor {riket_k:,}.

What differs from SCB's TAB638, because only totals exist here:

* `Civilstand` is marked eliminable (SCB's is not): leave it out; selecting it answers 400.
* `Alder` is not eliminable (as at SCB): select `tot`; any other age answers 400.
* Years are {years_from}–{years_to} only (SCB: 1968–2024). The metadata carries a note saying all this.

### AM0207_andel_20_64: förvärvsarbetande 20–64 år, andel (%), per region and sex, {emp_from}–{emp_to}

SCB's share of inhabitants 20–64 years who are förvärvsarbetande (gainfully employed in November; RAMS to
2018, BAS from 2019) is not in `../shared/data` as an SCB response. Kolada re-publishes it:
`kolada/values.parquet`, KPI **N00914 "Förvärvsarbetande invånare 20-64 år, andel (%)"**, gender K, M and T,
per kommun, län and Riket (the series ends 2021). These values are served as an SCB table of shares in
json-stat2: Kolada `M` → `Kon=1` (män), `K` → `Kon=2` (kvinnor), **`T` → `Kon=1+2` (totalt)**. As in SCB's
tables of shares, the total for kön is its own figure (the share among all inhabitants 20–64), not `K + M`
(nor their mean); eliminating `Kon` gives `1+2`, eliminating `Region` gives Riket `00` (nothing is summed).
Values are Kolada's, unrounded (SCB publishes one decimal). {emp_regions} regions × 3 × {emp_n_years} years
= {emp_cells} values. Example: Riket {emp_to}: män {emp_m:.1f} %, kvinnor {emp_k:.1f} %, totalt {emp_t:.1f} %.

**Not verified:** the table id `AM0207_andel_20_64`, the v1 path `AM/AM0207/AM0207Z/AndelForvarvsarb2064KN`
and the contents code `AM0207F1` are placeholders named after SCB's RAMS product (AM0207); SCB's real ids
could not be looked up offline. Look the real table up (`/api/v2/tables?query=förvärvsarbetande`) before
fetching it live, and change `EMPLOYMENT_SHARE` in `pipelines/sources/scb.py` and this tool together.

### BE0101D1: live births 2002–2003

`scb/px/PxWeb_example_BE0101D1_live_births_by_municipality_2002_2003.px` (statisticssweden/PxWeb demo database):
{births_regions} regions (regional division of 2003: Heby is still `1917`) × 37 mother's ages (incl. `tot`) × 2 sexes
× 2 years. Variable codes renamed to those of SCB's FoddaK table (`Region`, `AlderModer`, `Kon`, `ContentsCode`
`BE0101E2`, `Tid`); region names as in the PX file (English, e.g. "Stockholms county"). Served under the PX
file's matrix id `BE0101D1` (v2) and FoddaK's v1 path; SCB's current v2 id for FoddaK is not in `../shared`.

### TAB005: land use 2010 and 2015

`scb/px/PxWebApi_TAB005_landuse_by_municipality_2010_2015.px`: Riket and 290 kommuner × 11 land-use classes × 2
years, {landuse_na} cells `..` (null value, status `..`). Swedish labels from the PX file.

## How the emulator behaves (as SCB does)

* json-stat2 exactly as SCB shapes it (keys, order, `role`, `extension`, `status` as index → symbol, `null` values).
* More than `maxDataCells` cells → 400 `application/problem+json` "Too many cells selected" (configurable 403).
* More than `maxCallsPerTimeWindow` calls per `timeWindow` → 429 `application/problem+json` with `Retry-After`.
* A missing mandatory variable, an unknown variable or value → 400; a repeated value code → 500 with an empty body.
* Eliminated variables are dropped from the response; a cube variable is then summed, or its elimination value taken.

`provenance.json` lists every file with its source and SHA-256.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, required=True, help="the shared data folder (../shared/data)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    shared, out = args.shared.resolve(), args.out.resolve()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)

    provenance = []
    for target, source in RECORDED.items():
        (out / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared / source, out / target)
        provenance.append({"file": target, "source": f"shared/data/{source}", "how": "copied byte for byte"})

    population = build_population(shared, out)
    employment = build_employment_share(shared, out)
    births = build_births(shared, out)
    landuse = build_landuse(shared, out)
    build_tab6471_cube(shared, out)
    derived = {
        "tables/TAB638": f"shared/data/{KOLADA_VALUES} (KPI {POPULATION_KPI}) + template shared/data/{TAB638_TEMPLATE}",
        f"tables/{EMPLOYMENT_TABLE_ID}": f"shared/data/{KOLADA_VALUES} (KPI {EMPLOYMENT_KPI}) + Kon/Tid metadata of shared/data/{TAB638_TEMPLATE}",
        "tables/BE0101D1": f"shared/data/{BIRTHS_PX}",
        "tables/TAB005": f"shared/data/{LANDUSE_PX}",
        "tables/TAB6471/cube.json.gz": f"shared/data/{RECORDED['tables/TAB6471/data.json']}",
    }
    for prefix, source in derived.items():
        for path in sorted((out / prefix).rglob("*") if (out / prefix).is_dir() else [out / prefix]):
            if path.is_file():
                provenance.append({"file": path.relative_to(out).as_posix(), "source": source, "how": "re-shaped to json-stat2"})

    (out / "README.md").write_text(
        README.format(
            years_from=population["years"][0],
            years_to=population["years"][-1],
            n_years=len(population["years"]),
            regions=population["regions"],
            cells=population["cells"],
            riket_m=int(population["riket_2022"][0]),
            riket_k=int(population["riket_2022"][1]),
            emp_from=employment["years"][0],
            emp_to=employment["years"][-1],
            emp_n_years=len(employment["years"]),
            emp_regions=employment["regions"],
            emp_cells=employment["cells"],
            emp_m=employment["riket_last"]["1"],
            emp_k=employment["riket_last"]["2"],
            emp_t=employment["riket_last"]["1+2"],
            births_regions=births["regions"],
            landuse_na=landuse["not_available"],
        ),
        encoding="utf-8",
    )
    for entry in provenance:
        entry["sha256"] = sha256(out / entry["file"])
    dump_json(sorted(provenance, key=lambda e: e["file"]), out / "provenance.json")
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"SCB snapshot in {out}: {len(provenance) + 2} files, {total / 1024:.0f} KiB")
    print(f"  TAB638 {population['cells']} values; {EMPLOYMENT_TABLE_ID} {employment['cells']}; BE0101D1 {births['cells']}; TAB005 {landuse['cells']} ({landuse['not_available']} '..')")
    return 0


if __name__ == "__main__":
    sys.exit(main())
