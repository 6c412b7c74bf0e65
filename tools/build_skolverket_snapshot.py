"""Build ``snapshot/skolverket/`` (and the test excerpts) from ``../shared/data``.

    python tools/build_skolverket_snapshot.py --shared /work/shared/data

Writes:

* ``snapshot/skolverket/siris/*`` — the real Sök statistik export files, copied unchanged (checked by hash);
* ``snapshot/skolverket/kolada_kpi_map.csv`` — which Kolada KPIs the export measures line up with, and how
  well they agree on the years both have (computed here with the production parser from the copied files
  and ``kolada/values.parquet``);
* ``snapshot/skolverket/README.md`` — provenance and the agreement figures;
* ``tests/fixtures/skolverket/*`` (unless ``--no-fixtures``) — excerpts of the real exports for the unit
  tests: the CSVs keep every title, header and footnote line byte for byte and only the data rows of a
  few kommuner; the xlsx excerpt is a small workbook with the real sheets, title rows, header and the real
  rows of those kommuner (written by a minimal xlsx writer; no extra dependency).

A developer tool: it reads ``../shared/data`` and is never run by users or tests.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import shutil
import sys
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.sources.skolverket import EXPORTS, parse_export, to_frame

SNAPSHOT = ROOT / "snapshot" / "skolverket"
FIXTURES = ROOT / "tests" / "fixtures" / "skolverket"

#: Kommuner kept in the test excerpts: leading-zero codes, markers (~100, .., .), huvudman mixes, big and small.
EXCERPT_KOMMUNER = (
    "1440",  # Ale: Enskild ~100 in eligibility and åk 6
    "1489",  # Alingsås: '..' for Enskild flickor
    "0764",  # Alvesta: leading zero
    "0604",  # Aneby: leading zero, '.', '..', '~100' by gender
    "0162",  # Danderyd: leading zero, international schools
    "1480",  # Göteborg: large numbers with space thousands separators
    "1490",  # Borås
    "1860",  # Laxå: the largest 2016 Kolada difference
    "2513",  # Överkalix: many markers in Enskild
    "2518",  # Övertorneå: '~100' in the xlsx
)

PROVENANCE = {
    # file in ../shared/data/skolverket/siris -> (original name in MMO85/skolverket_examen raw_data/, commit)
    "Grundskola_Jamforelse_av_betygsresultat_over_tid_2025_Kommun_Ak9.xlsx": (
        "Grundskola - Jämförelse av betygsresultat över tid 2025 Kommun_Åk9.xlsx",
        "707aa4c41fc54c411c630a2de2586ec80b930a96",
    ),
    "Grundskola_Behorighet_till_gymnasieskolan_2024-25_Kommun.csv": (
        "behorighet_grundskola_2024_25.csv",
        "9398befdc89c45983083a15196d0c60fbce76ad8",
    ),
    "Grundskola_Betyg_ak6_andel_godkant_A-E_samtliga_2025_Kommun.csv": (
        "Grundskola - Betyg årskurs 6, andel som fått godkänt betyg (A-E), samtliga elever 2025 Kommun.csv",
        "0de6e9da8e825ff7c21300ab85a6c0168cabf3a0",
    ),
    "Grundskola_Antal_elever_per_arskurs_2024_Kommun.csv": (
        "Grundskola - Antal elever per årskurs 2024 Kommun.csv",
        "e4ecbb3a347189944bd64c5b93f5a0fb49595f81",
    ),
    "Grundskola_Kostnader_per_kommun_2024_Kommun.csv": (
        "Grundskola - Kostnader per kommun 2024 Kommun.csv",
        "e4ecbb3a347189944bd64c5b93f5a0fb49595f81",
    ),
    "Grundskola_Personalstatistik_larlegitimation_behorighet_2024_Kommun.csv": (
        "Grundskola - Personalstatistik med lärarlegitimation och behörighet 2024 Kommun.csv",
        "15d7125e5eb4467b7caf582fd2595306e0a7411f",
    ),
}

# kpi_id, measure, export, Skolverket huvudman, Kolada population, relation
KOLADA_MAP = [
    ("N15504", "meritvarde_17", "betygsresultat_over_tid_ak9", "samtliga", "lägeskommun (all schools located in the kommun)", "same population"),
    ("N15505", "meritvarde_17", "betygsresultat_over_tid_ak9", "kommunal", "kommunala skolor (located in the kommun)", "same population"),
    ("N15506", "meritvarde_17", "betygsresultat_over_tid_ak9", "enskild", "fristående skolor (located in the kommun)", "same population"),
    ("N15507", "meritvarde_17", "betygsresultat_over_tid_ak9", "samtliga", "hemkommun (pupils registered in the kommun, any school; excl. unknown background)", "different population"),
    ("N15566", "meritvarde_17", "betygsresultat_over_tid_ak9", "samtliga", "lägeskommun excl. newly immigrated and unknown background", "different population"),
    ("N15567", "meritvarde_17", "betygsresultat_over_tid_ak9", "kommunal", "kommunala skolor excl. newly immigrated and unknown background", "different population"),
    ("N15568", "meritvarde_17", "betygsresultat_over_tid_ak9", "enskild", "fristående skolor excl. newly immigrated and unknown background", "different population"),
    ("N15424", "andel_behoriga_yrkesprogram", "betygsresultat_over_tid_ak9", "samtliga", "lägeskommun", "same population"),
    ("N15436", "andel_behoriga_yrkesprogram", "betygsresultat_over_tid_ak9", "kommunal", "kommunala skolor", "same population"),
    ("N15432", "andel_behoriga_yrkesprogram", "betygsresultat_over_tid_ak9", "enskild", "fristående skolor", "same population"),
    ("N15428", "andel_behoriga_yrkesprogram", "betygsresultat_over_tid_ak9", "samtliga", "hemkommun (KKiK key figure; pupils registered in the kommun, any school)", "different population"),
    ("N15563", "andel_behoriga_yrkesprogram", "betygsresultat_over_tid_ak9", "samtliga", "lägeskommun excl. newly immigrated and unknown background", "different population"),
    ("N15564", "andel_behoriga_yrkesprogram", "betygsresultat_over_tid_ak9", "kommunal", "kommunala skolor excl. newly immigrated and unknown background", "different population"),
    ("N15565", "andel_behoriga_yrkesprogram", "betygsresultat_over_tid_ak9", "enskild", "fristående skolor excl. newly immigrated and unknown background", "different population"),
    ("N15418", "andel_godkand_alla_amnen", "betygsresultat_over_tid_ak9", "samtliga", "lägeskommun", "same population"),
    ("N15419", "andel_godkand_alla_amnen", "betygsresultat_over_tid_ak9", "kommunal", "kommunala skolor", "same population"),
    ("N15420", "andel_godkand_alla_amnen", "betygsresultat_over_tid_ak9", "enskild", "fristående skolor", "same population"),
    ("N15508", "andel_godkand_alla_amnen", "betygsresultat_over_tid_ak9", "samtliga", "hemkommun", "different population"),
    ("N15560", "andel_godkand_alla_amnen", "betygsresultat_over_tid_ak9", "samtliga", "lägeskommun excl. newly immigrated and unknown background", "different population"),
    ("N15561", "andel_godkand_alla_amnen", "betygsresultat_over_tid_ak9", "kommunal", "kommunala skolor excl. newly immigrated and unknown background", "different population"),
    ("N15562", "andel_godkand_alla_amnen", "betygsresultat_over_tid_ak9", "enskild", "fristående skolor excl. newly immigrated and unknown background", "different population"),
    ("N15421", "andel_behoriga_na_te", "behorighet_gymnasiet_ak9", "samtliga", "lägeskommun", "same population"),
    ("N15433", "andel_behoriga_na_te", "behorighet_gymnasiet_ak9", "kommunal", "kommunala skolor", "same population"),
    ("N15429", "andel_behoriga_na_te", "behorighet_gymnasiet_ak9", "enskild", "fristående skolor", "same population"),
    ("N15425", "andel_behoriga_na_te", "behorighet_gymnasiet_ak9", "samtliga", "hemkommun", "different population"),
    ("N15422", "andel_behoriga_ek_hu_sa", "behorighet_gymnasiet_ak9", "samtliga", "lägeskommun", "same population"),
    ("N15434", "andel_behoriga_ek_hu_sa", "behorighet_gymnasiet_ak9", "kommunal", "kommunala skolor", "same population"),
    ("N15430", "andel_behoriga_ek_hu_sa", "behorighet_gymnasiet_ak9", "enskild", "fristående skolor", "same population"),
    ("N15426", "andel_behoriga_ek_hu_sa", "behorighet_gymnasiet_ak9", "samtliga", "hemkommun", "different population"),
    ("N15423", "andel_behoriga_estetiskt", "behorighet_gymnasiet_ak9", "samtliga", "lägeskommun", "same population"),
    ("N15435", "andel_behoriga_estetiskt", "behorighet_gymnasiet_ak9", "kommunal", "kommunala skolor", "same population"),
    ("N15431", "andel_behoriga_estetiskt", "behorighet_gymnasiet_ak9", "enskild", "fristående skolor", "same population"),
    ("N15427", "andel_behoriga_estetiskt", "behorighet_gymnasiet_ak9", "samtliga", "hemkommun", "different population"),
    ("N15539", "andel_godkand_alla_amnen_ak6", "betyg_ak6", "samtliga", "lägeskommun", "same population"),
    ("N15540", "andel_godkand_alla_amnen_ak6", "betyg_ak6", "kommunal", "kommunala skolor", "same population"),
    ("N15541", "andel_godkand_alla_amnen_ak6", "betyg_ak6", "enskild", "fristående skolor", "same population"),
    ("N15543", "andel_godkand_alla_amnen_ak6", "betyg_ak6", "samtliga", "hemkommun (KKiK 2026 measure 16A)", "different population"),
    ("N17461", "", "", "", "hemkommun: gymnasieelever med examen inom 4 år (KKiK)", "not in the exports"),
]

GENDER_HANDLING = {
    "betygsresultat_over_tid_ak9": "export has totals only (gender T); compare Kolada gender T",
    "behorighet_gymnasiet_ak9": "export Kön Flickor/Pojkar/Samtliga -> K/M/T, the same codes as Kolada",
    "betyg_ak6": "export is 'samtliga elever' (gender T); Skolverket has a separate 'per kön' export",
    "": "",
}
PERIOD_MAPPING = "Kolada period = calendar year the school year ends (2015/16 -> 2016, 2024/25 -> 2025)"
TOL = 0.05 + 1e-9  # both publish one decimal


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copy_exports(shared: Path) -> list[tuple[str, int, str]]:
    out = []
    for spec in EXPORTS.values():
        src = shared / "skolverket" / spec.path
        dst = SNAPSHOT / spec.path
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        if _sha(src) != _sha(dst):
            raise SystemExit(f"copy of {src} differs")
        out.append((spec.path, dst.stat().st_size, _sha(dst)))
    return out


def _fmt(x, digits=2) -> str:
    return "" if x is None else f"{x:.{digits}f}"


def kolada_map(shared: Path):
    import pandas as pd

    frames = {}
    for key in {e for _, _, e, *_ in KOLADA_MAP if e}:
        spec = EXPORTS[key]
        frames[key] = to_frame(parse_export(spec, (SNAPSHOT / spec.path).read_bytes(), url=spec.path))
    values = pd.read_parquet(shared / "kolada" / "values.parquet")
    ids = [k for k, *_ in KOLADA_MAP]
    values = values[values["kpi"].isin(ids)]
    titles = {k["id"]: k["title"] for k in json.loads((shared / "kolada" / "kpi.json").read_text()) if k["id"] in ids}

    out, examples = [], {}
    for kpi, measure, export, huvudman, population, relation in KOLADA_MAP:
        kv = values[(values["kpi"] == kpi) & (values["gender"] == "T")]
        row = {
            "kpi_id": kpi, "kpi_title": titles.get(kpi, ""), "measure": measure, "export": export,
            "skolverket_huvudman": huvudman, "skolverket_population": "lageskommun (all pupils)" if export else "",
            "kolada_population": population, "relation": relation,
            "gender_handling": GENDER_HANDLING[export], "period_mapping": PERIOD_MAPPING,
            "kolada_years_in_values_parquet": f"{kv['period'].min()}-{kv['period'].max()}" if len(kv) else "none",
        }
        stats = dict.fromkeys(["overlap_years", "n_compared", "share_equal_2017_2022", "mean_abs_diff_2017_2022",
                               "max_abs_diff_2017_2022", "mean_diff_kolada_minus_skolverket_2017_2022",
                               "share_equal_2016", "mean_abs_diff_2016", "kolada_value_where_skolverket_tilde100"], "")
        if export and len(kv):
            sv = frames[export]
            sv = sv[(sv["measure"] == measure) & (sv["huvudman"] == huvudman) & (sv["gender"] == "T")]
            merged = sv.merge(kv, left_on=["municipality_id", "year"], right_on=["municipality", "period"])
            both = merged[merged["value_x"].notna() & merged["value_y"].notna()].copy()
            both["diff"] = both["value_y"] - both["value_x"]
            years = sorted(merged["year"].unique())
            stats["overlap_years"] = f"{years[0]}-{years[-1]}" if years else "none"
            stats["n_compared"] = str(len(both))
            late = both[both["year"] >= 2017]
            early = both[both["year"] == 2016]
            if len(late):
                stats["share_equal_2017_2022"] = _fmt((late["diff"].abs() <= TOL).mean(), 3)
                stats["mean_abs_diff_2017_2022"] = _fmt(late["diff"].abs().mean())
                stats["max_abs_diff_2017_2022"] = _fmt(late["diff"].abs().max(), 1)
                stats["mean_diff_kolada_minus_skolverket_2017_2022"] = _fmt(late["diff"].mean())
            if len(early):
                stats["share_equal_2016"] = _fmt((early["diff"].abs() <= TOL).mean(), 3)
                stats["mean_abs_diff_2016"] = _fmt(early["diff"].abs().mean())
            tilde = merged[(merged["status"] == "~100") & merged["value_y"].notna()]
            if len(tilde):
                vals = sorted({round(v, 1) for v in tilde["value_y"]})
                shown = vals if len(vals) <= 3 else [vals[0], "...", vals[-1]]
                stats["kolada_value_where_skolverket_tilde100"] = f"n={len(tilde)}: {' '.join(map(str, shown))}"
            if kpi in ("N15428", "N15505", "N15507"):
                examples[kpi] = merged[(merged["year"] == 2022)].set_index("municipality_id")
        row.update(stats)
        row["note"] = _note(kpi, relation, export, population, len(kv), stats)
        out.append(row)
    return out, examples


def _note(kpi, relation, export, population, n_kolada, stats) -> str:
    if not export:
        return ("Gymnasieexamen within 4 years is not in the Skolverket exports we have (they are all grundskola); "
                "load it from Kolada.")
    if not n_kolada:
        return "no values for this KPI in kolada/values.parquet (the 2024 scrape), so no comparison"
    if stats["overlap_years"] in ("", "none"):
        return "no overlapping years: the export is 2024/25 only and values.parquet ends in 2022"
    parts = []
    if relation == "same population":
        parts.append("identical figures 2017-2022 apart from suppressed cells")
        parts.append("2016 differs: Kolada's 2016 values exclude pupils with unknown background "
                     "(KPI description: '2016 exkluderades elever med okänd bakgrund'); the 2025 export includes them")
        if stats["kolada_value_where_skolverket_tilde100"]:
            parts.append("where Skolverket shows ~100 Kolada publishes 95")
    elif population.startswith("hemkommun"):
        parts.append("population differs: hemkommun counts pupils registered in the kommun wherever they go to "
                     "school (incl. other kommuner's and independent schools); the export counts pupils in schools "
                     "located in the kommun")
    else:
        parts.append("population differs: the export includes newly immigrated pupils and pupils with unknown background")
    return "; ".join(parts)


def write_map(rows) -> None:
    path = SNAPSHOT / "kolada_kpi_map.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


# ------------------------------------------------------------------------------------------- fixtures


def csv_excerpt(body: bytes) -> bytes:
    """Keep the title/header/footnote lines byte for byte and only the data rows of EXCERPT_KOMMUNER."""
    lines = body.splitlines(keepends=True)
    start = next(i for i, l in enumerate(lines) if l.lstrip(b"\xef\xbb\xbf").startswith(b"Kommun;"))
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].strip(b" ;\t\r\n"))
    keep = [l for l in lines[start + 1:end] if l.split(b";")[1].strip() in {k.encode() for k in EXCERPT_KOMMUNER}]
    return b"".join(lines[: start + 1] + keep + lines[end:])


def _col(i: int) -> str:
    name = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        name = chr(65 + r) + name
    return name


def _sheet_xml(grid: list[list]) -> str:
    rows = []
    for r, cells in enumerate(grid, start=1):
        cs = []
        for c, v in enumerate(cells):
            ref = f"{_col(c)}{r}"
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                cs.append(f'<c r="{ref}"><v>{v!r}</v></c>')
            elif v not in ("", None):
                cs.append(f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(str(v))}</t></is></c>')
        rows.append(f'<row r="{r}">{"".join(cs)}</row>')
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f'<sheetData>{"".join(rows)}</sheetData></worksheet>')


def write_xlsx(sheets: dict[str, list[list]]) -> bytes:
    """A minimal, deterministic xlsx (inline strings, no styles) that calamine and Excel read."""
    ns_r = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    names = list(sheets)
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
                      'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                      for i in range(1, len(names) + 1))
            + "</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{ns_r}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="{ns_r}"><sheets>'
            + "".join(f'<sheet name="{escape(n)}" sheetId="{i}" r:id="rId{i}"/>' for i, n in enumerate(names, 1))
            + "</sheets></workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            + "".join(f'<Relationship Id="rId{i}" Type="{ns_r}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                      for i in range(1, len(names) + 1))
            + "</Relationships>"
        ),
    }
    for i, n in enumerate(names, 1):
        parts[f"xl/worksheets/sheet{i}.xml"] = _sheet_xml(sheets[n])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in parts.items():
            info = zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, text.encode("utf-8"))
    return buf.getvalue()


def xlsx_excerpt(body: bytes) -> bytes:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_filelike(io.BytesIO(body))
    sheets = {}
    for name in wb.sheet_names:
        grid = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        header = next((i for i, r in enumerate(grid) if r and r[0] == "Kommun"), None)
        if header is None:  # the definitions sheet: keep it whole
            sheets[name] = grid
            continue
        sheets[name] = grid[: header + 1] + [r for r in grid[header + 1:] if str(r[1]) in EXCERPT_KOMMUNER]
    return write_xlsx(sheets)


def write_fixtures() -> list[tuple[str, int]]:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    out = []
    for spec in EXPORTS.values():
        body = (SNAPSHOT / spec.path).read_bytes()
        name = Path(spec.path).name.replace("_Kommun", "_Kommun_excerpt")
        data = csv_excerpt(body) if spec.format == "csv" else xlsx_excerpt(body)
        parse_export(spec, data, url=name)  # the excerpt must still be a valid export
        (FIXTURES / name).write_bytes(data)
        out.append((name, len(data)))
    (FIXTURES / "README.md").write_text(
        "# tests/fixtures/skolverket — excerpts of the real Sök statistik exports\n\n"
        "Written by `tools/build_skolverket_snapshot.py` from `snapshot/skolverket/siris/` (real files, see the\n"
        "README there). CSV excerpts keep the title, header and footnote lines byte for byte (BOM, trailing `;`)\n"
        "and only the data rows of the kommuner " + ", ".join(EXCERPT_KOMMUNER) + ".\n"
        "The xlsx excerpt is a small workbook with the real sheet names, title rows, header and the real rows of\n"
        "those kommuner (cell values unchanged: numbers as numbers, markers as text), written by the tool's\n"
        "minimal xlsx writer. Nothing is synthetic.\n",
        encoding="utf-8",
    )
    return out


# --------------------------------------------------------------------------------------------- README


def write_readme(files, rows, examples) -> None:
    total = sum(size for _, size, _ in files)
    lines = [
        "# snapshot/skolverket — Skolverket \"Sök statistik\" kommun exports (real files)",
        "",
        "Served byte for byte by `pipelines/snapshot/skolverket_app.py` at `/skolverket/<path>`; read by",
        "`pipelines/sources/skolverket.py` (`SkolverketClient`). Rebuild with",
        "`python tools/build_skolverket_snapshot.py --shared ../shared/data`.",
        "",
        "## Files",
        "",
        "Nothing here is synthetic. The export files are copied unchanged from `../shared/data/skolverket/siris/`,",
        "which holds real Sök statistik exports for all 290 kommuner from the public repository",
        "**MMO85/skolverket_examen** (`raw_data/`; see `../shared/data/README.md`), renamed there. The original",
        "names and the commits they are stored at in that repository (the text of the cost export was compared",
        "with the repository's file and agrees):",
        "",
        "| file | bytes | sha256 (first 16) | original name in MMO85/skolverket_examen | commit |",
        "| --- | ---: | --- | --- | --- |",
    ]
    for path, size, sha in files:
        orig, commit = PROVENANCE.get(Path(path).name, ("?", "?"))
        lines.append(f"| `{path}` | {size:,} | `{sha[:16]}` | {orig} | `{commit[:10]}` |")
    lines += [
        "",
        f"Total {total:,} bytes. The Sök statistik production URLs are not known offline: the client takes",
        "`base_url` (and per-export `paths`) from configuration; the paths here are the snapshot layout only.",
        "",
        "Format (all CSVs): UTF-8 with BOM, LF line ends, title lines (`Valt läsår: 2024/25` or `Valt år: 2024`),",
        "a header row starting `Kommun;`, `;`-separated with a trailing `;`, decimal comma, space as thousands",
        "separator (not always: the cost file's `Totalt` column has none), a blank line and footnotes after the",
        "table. Markers: `..` too few pupils, `.` no data, `~100` 1-4 pupils did not reach the criterion.",
        "The xlsx has sheets Samtliga / Kommunal / Enskild (+ a definitions sheet), school years 2015/16-2024/25.",
        "",
        "## kolada_kpi_map.csv",
        "",
        "Which Kolada KPI each export measure lines up with, computed from these files and",
        "`../shared/data/kolada/values.parquet` (Kolada v2 scrape 2024-08, periods up to 2022; gender T).",
        "`share_equal` counts |Kolada - Skolverket| <= 0.05 among kommuner where both have a number.",
        "",
        "* Period: Kolada's period is the calendar year the school year ends (2015/16 -> 2016). With this mapping",
        "  the school-located KPIs agree exactly 2017-2022; shifted by one year they agree for < 1 %.",
        "* Population: the exports count pupils in schools located in the kommun (Kolada \"lägeskommun\";",
        "  huvudman Kommunal = \"kommunala skolor\", Enskild = \"fristående skolor\"), all pupils. Kolada's",
        "  hemkommun KPIs (KKiK's N15428) count pupils registered in the kommun wherever they study; they differ.",
        "* 2016: Kolada's 2016 values exclude pupils with unknown background (stated in the KPI descriptions);",
        "  the 2025 export's 2015/16 column includes them, so 2016 disagrees.",
        "* `~100`: Kolada's school-located KPIs publish 95 where Skolverket shows `~100`.",
        "",
        "| kpi | measure | huvudman | relation | years | n | equal 2017-22 | mean abs diff 2017-22 | equal 2016 |",
        "| --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['kpi_id']} | {r['measure']} | {r['skolverket_huvudman']} | {r['relation']} | {r['overlap_years']} "
            f"| {r['n_compared']} | {r['share_equal_2017_2022']} | {r['mean_abs_diff_2017_2022']} | {r['share_equal_2016']} |"
        )
    if examples:
        lines += ["", "A few kommuner, 2022 (school year 2021/22):", "",
                  ("| kommun | Skolverket yrkesprogram samtliga (lägeskommun) | Kolada N15428 (hemkommun) | diff "
                  "| Skolverket meritvärde kommunal | Kolada N15505 | Skolverket meritvärde samtliga | Kolada N15507 (hemkommun) |"),
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        a, b, c = examples.get("N15428"), examples.get("N15505"), examples.get("N15507")
        for mid in ("0180", "1480", "1280", "0162", "1440", "1860", "0604"):
            def cell(df, col, mid=mid):
                if df is None or mid not in df.index:
                    return ""
                v = df.loc[mid, col]
                return "" if v != v else f"{v:.1f}"  # noqa: PLR0124 - NaN
            diff = ""
            if a is not None and mid in a.index and a.loc[mid, "value_x"] == a.loc[mid, "value_x"]:
                diff = f"{a.loc[mid, 'value_y'] - a.loc[mid, 'value_x']:+.1f}"
            name = a.loc[mid, "municipality_name"] if a is not None and mid in a.index else mid
            lines.append(f"| {mid} {name} | {cell(a, 'value_x')} | {cell(a, 'value_y')} | {diff} | {cell(b, 'value_x')} "
                         f"| {cell(b, 'value_y')} | {cell(c, 'value_x')} | {cell(c, 'value_y')} |")
    (SNAPSHOT / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data",
                        help="the shared data folder (default ../shared/data)")
    parser.add_argument("--no-fixtures", action="store_true", help="do not (re)write tests/fixtures/skolverket")
    args = parser.parse_args(argv)
    files = copy_exports(args.shared)
    rows, examples = kolada_map(args.shared)
    write_map(rows)
    write_readme(files, rows, examples)
    print(f"snapshot/skolverket: {len(files)} export files, {sum(s for _, s, _ in files):,} bytes; "
          f"kolada_kpi_map.csv: {len(rows)} KPIs")
    if not args.no_fixtures:
        for name, size in write_fixtures():
            print(f"tests/fixtures/skolverket/{name}: {size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
