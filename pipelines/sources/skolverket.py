"""Skolverket client: kommun-level school statistics from "Sök statistik" export files.

Skolverket's open JSON API (Planned Educations v4) has statistics per school unit and for the whole
country only; kommun-level results are published as **"Sök statistik" exports** (the former SIRIS):
CSV files (UTF-8 with BOM, title lines, a header row starting ``Kommun;``, ``;``-separated with a trailing
``;``, decimal comma, space as thousands separator, footnotes after a blank line) and, for results over
time, an xlsx workbook with one sheet per type of huvudman. This module downloads those files over HTTP
and turns them into tidy rows.

Where the files live
--------------------
The exports are described as data in :data:`EXPORTS` (export key → relative path, format, expected title,
sheet names and the column → measure table). A client is ``base_url`` + path: the bundled snapshot serves
the files at ``<snapshot server>/skolverket/siris/<file name>``; **in production the URLs of the Sök
statistik exports must be set by configuration** (``base_url`` and, where the file names differ, the
``paths`` override, which also accepts absolute URLs). We do not know the production export URLs
offline, so none is written here: this module never invents a Skolverket URL.

Tidy rows
---------
One row per kommun × huvudman × kön × school year × measure, with the columns in :data:`COLUMNS`:

``export``            the export key in :data:`EXPORTS` the row came from
``municipality_id``   4-digit kommun code as a string, leading zero kept (``"0764"`` Alvesta)
``municipality_name`` the name as Skolverket writes it
``school_year``       ``"2024/25"``; ``None`` for exports published per calendar year (costs)
``year``              int. For a school year: the calendar year the school year **ends** (``2024/25`` → 2025),
                      i.e. the spring term the grades are given in. This is the Kolada convention for
                      school results (verified: Skolverket 2016/17 = Kolada period 2017 for N15505, N15436,
                      N15419 …). For ``Valt år: 2024`` exports (costs) the year itself. The same rule is
                      applied to the exports measured in the autumn (pupils per grade: October; teachers:
                      15 October), so their ``year`` is one more than the autumn they describe
                      (2024/25 → 2025); whoever lines them up with Kolada must check that KPI's convention.
``measure``           a stable measure name (see :data:`EXPORTS`), e.g. ``meritvarde_17``
``gender``            ``T`` (all pupils), ``K`` (Flickor), ``M`` (Pojkar); only the eligibility export is split
``huvudman``          ``samtliga`` / ``kommunal`` / ``enskild``; some exports also have ``statlig`` (sameskolor),
                      ``region`` and ``internationella_skolor`` (pupil counts: a group of its own, also
                      inside ``samtliga``)
``population``        ``lageskommun``: pupils (or teachers) in schools *located in* the kommun, whatever their home
                      kommun, including newly immigrated pupils and pupils with unknown background — Kolada's
                      "lägeskommun" / "kommunala skolor" / "fristående skolor", not "hemkommun".
                      ``kommunal_huvudman``: the kommun's own schools (costs).
``value``             float, or ``None`` when Skolverket shows a marker instead of a number
``status``            ``None`` for a number, else the marker exactly as published:
                      ``..`` too few pupils (suppressed), ``.`` no data, ``~100`` "nearly 100 %" (1–4 pupils
                      did not reach the criterion; Skolverket hides the exact share).
``unit``              ``procent``, ``meritvarde``, ``antal``, ``heltidstjanster``, ``kr``, ``tkr``
``source_label``      the column header (CSV) or ``Uppgift`` text (xlsx) the measure was read from

Markers are never mapped to a number. In particular ``~100`` keeps ``value=None``: the true share lies
strictly below 100 (1–4 pupils are *not* counted in it) and depends on a denominator the export does not
give, so any number would be invented. (Kolada, for comparison, publishes 95.0 in its school-located KPIs
where Skolverket shows ``~100`` — see ``snapshot/skolverket/kolada_kpi_map.csv``.) Downstream code that needs a
number can decide a convention on ``status == "~100"`` explicitly.

Errors
------
Every problem with a response raises :class:`~pipelines.sources.http.SourceResponseError` naming the URL:
an HTML page instead of CSV/xlsx, a file that is not UTF-8 or not a readable workbook (garbled or
truncated), the wrong export (title not found), a missing header row or expected column/sheet/``Uppgift``,
a row with the wrong number of fields, a data table that runs to the end of the file (truncated: every
real export has a blank line and footnotes after the table), or a cell that is neither a number nor a
known marker.
"""

from __future__ import annotations

import io
import logging
import math
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd
import requests

from pipelines.sources.http import FetchedPage, HttpClient, SourceResponseError

log = logging.getLogger(__name__)

CSV_MIME = "text/csv"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: Column order of :func:`to_frame` (and the keys of every row dict).
COLUMNS: tuple[str, ...] = (
    "export",
    "municipality_id",
    "municipality_name",
    "school_year",
    "year",
    "measure",
    "gender",
    "huvudman",
    "population",
    "value",
    "status",
    "unit",
    "source_label",
)

#: Markers Skolverket prints instead of a number; kept in ``status``, never turned into a value.
MARKERS: frozenset[str] = frozenset({"..", ".", "~100"})

#: Skolverket's summary measure of eligibility for upper secondary school ("behörig till gymnasiet"):
#: the export footnote says "Som ett sammanfattande mått på gymnasiebehörighet … är det behörighet till
#: yrkesprogrammet som ska användas". KKiK/Kolada N15428 is this measure (for the hemkommun population).
ELIGIBILITY_SUMMARY_MEASURE = "andel_behoriga_yrkesprogram"

GENDERS: Mapping[str, str] = {"Samtliga": "T", "Flickor": "K", "Pojkar": "M"}
HUVUDMAN: Mapping[str, str] = {
    "Samtliga": "samtliga",
    "Kommunal": "kommunal",
    "Enskild": "enskild",
    "Statlig": "statlig",
    "Region": "region",
    # Pupil counts list international schools as their own group (they are also inside "Samtliga").
    "Internationella skolor": "internationella_skolor",
}

_ID_COLUMNS = ("Kommun-kod", "Kommunkod")
_SCHOOL_YEAR_RE = re.compile(r"^(\d{4})/(\d{2})$")
_NUMBER_RE = re.compile(r"^-?\d+(?:,\d+)?$")  # decimal comma; a "." would be ambiguous
_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009")


@dataclass(frozen=True)
class Measure:
    """What one source column (CSV) or ``Uppgift`` row (xlsx) becomes."""

    measure: str
    unit: str


@dataclass(frozen=True)
class ExportSpec:
    """One Sök statistik export file: where it is (relative to the base URL) and how to read it.

    ``measures`` maps the source label to a :class:`Measure`: the column header for CSV (for a header under
    a group row, ``"<group> / <column>"``, e.g. ``"Heltidstjänster / Totalt antal"``), the ``Uppgift`` text
    for the xlsx. Every label listed must be present; extra labels are logged and skipped.
    ``sheets`` (xlsx only) maps sheet name → huvudman.
    """

    key: str
    path: str
    format: str  # "csv" | "xlsx"
    title: str  # text the export's title lines must contain (guards against the wrong file at a URL)
    measures: Mapping[str, Measure]
    population: str = "lageskommun"
    sheets: Mapping[str, str] = field(default_factory=dict)
    description: str = ""

    @property
    def mime(self) -> str:
        return XLSX_MIME if self.format == "xlsx" else CSV_MIME


def _m(measure: str, unit: str) -> Measure:
    return Measure(measure, unit)


#: The exports, as data. Paths are relative to the client's ``base_url`` (the snapshot layout); production
#: sets ``base_url`` and, if the file names differ, ``paths`` by configuration.
EXPORTS: dict[str, ExportSpec] = {
    spec.key: spec
    for spec in (
        ExportSpec(
            key="betygsresultat_over_tid_ak9",
            path="siris/Grundskola_Jamforelse_av_betygsresultat_over_tid_2025_Kommun_Ak9.xlsx",
            format="xlsx",
            title="Grundskola - Jämförelse av betygsresultat över tid",
            sheets={"Samtliga": "samtliga", "Kommunal": "kommunal", "Enskild": "enskild"},
            measures={
                "Totalt antal elever årskurs 9": _m("antal_elever_avslutat_ak9", "antal"),
                "- andel (%) flickor": _m("andel_flickor_ak9", "procent"),
                "- andel (%) pojkar": _m("andel_pojkar_ak9", "procent"),
                "- andel (%) elever med utländsk bakgrund": _m("andel_utlandsk_bakgrund_ak9", "procent"),
                "- andel (%) med föräldrar med eftergymnasial utbildning": _m(
                    "andel_foraldrar_eftergymnasial_ak9", "procent"
                ),
                "Genomsnittligt meritvärde (17 ämnen)": _m("meritvarde_17", "meritvarde"),
                "Genomsnittligt meritvärde (16 ämnen)": _m("meritvarde_16", "meritvarde"),
                "Andel (%) behöriga till yrkesprogram": _m(ELIGIBILITY_SUMMARY_MEASURE, "procent"),
                "Andel (%) som fått godkänt betyg i alla ämnen": _m("andel_godkand_alla_amnen", "procent"),
            },
            description="Åk 9 grade results, school years 2015/16–2024/25, all pupils (gender T only), "
            "one sheet per huvudman.",
        ),
        ExportSpec(
            key="behorighet_gymnasiet_ak9",
            path="siris/Grundskola_Behorighet_till_gymnasieskolan_2024-25_Kommun.csv",
            format="csv",
            title="Grundskola - Behörighet till gymnasieskolan",
            measures={
                "Antal elever": _m("antal_elever_avslutat_ak9", "antal"),
                "Andel (%) elever behöriga till yrkesprog.": _m(ELIGIBILITY_SUMMARY_MEASURE, "procent"),
                "Andel elever (%) behöriga till estetiskt program": _m("andel_behoriga_estetiskt", "procent"),
                "Andel elever (%) behöriga till Ekonomi-, humanistiska och samhällsvetenskaps- program": _m(
                    "andel_behoriga_ek_hu_sa", "procent"
                ),
                "Andel elever (%) behöriga till Naturvetenskapligt och tekniskt program": _m(
                    "andel_behoriga_na_te", "procent"
                ),
            },
            description="Åk 9 eligibility for upper secondary (yrkesprogram and the three "
            "högskoleförberedande groups) by huvudman × kön, one school year.",
        ),
        ExportSpec(
            key="betyg_ak6",
            path="siris/Grundskola_Betyg_ak6_andel_godkant_A-E_samtliga_2025_Kommun.csv",
            format="csv",
            title="Grundskola - Betyg årskurs 6",
            measures={
                "Antal elever": _m("antal_elever_med_betyg_ak6", "antal"),
                "Antal ämnesbetyg (genomsnitt)": _m("antal_amnesbetyg_ak6", "antal"),
                "Andel (%) elever som fått godkänt betyg i alla ämnen": _m("andel_godkand_alla_amnen_ak6", "procent"),
                "Andel (%) elever som ej fått godkänt betyg i ett ämne": _m("andel_ej_godkand_ett_amne_ak6", "procent"),
                "Andel (%) elever som ej fått godkänt betyg i fler, alternativt alla ämnen": _m(
                    "andel_ej_godkand_flera_amnen_ak6", "procent"
                ),
            },
            description="Åk 6 share with passing grades (A–E) in all subjects, by huvudman, one school year.",
        ),
        ExportSpec(
            key="elever_per_arskurs",
            path="siris/Grundskola_Antal_elever_per_arskurs_2024_Kommun.csv",
            format="csv",
            title="Grundskola - Antal elever per årskurs",
            measures={
                "Andel (%) flickor, årskurs 1-9": _m("andel_flickor_ak1_9", "procent"),
                "Andel (%) elever med utländsk bakgrund, åk 1-9": _m("andel_utlandsk_bakgrund_ak1_9", "procent"),
                "Andel (%) elever med föräldrar med eftergymnasial utb., åk 1-9": _m(
                    "andel_foraldrar_eftergymnasial_ak1_9", "procent"
                ),
                **{f"Elever, årskurs {g}": _m(f"antal_elever_ak{g}", "antal") for g in range(1, 10)},
                "Elever, årskurs 1-9": _m("antal_elever_ak1_9", "antal"),
            },
            description="Pupils per grade (October of the school year's autumn), by huvudman.",
        ),
        ExportSpec(
            key="kostnader",
            path="siris/Grundskola_Kostnader_per_kommun_2024_Kommun.csv",
            format="csv",
            title="Grundskola - Kostnader per kommun",
            population="kommunal_huvudman",
            measures={
                "Genomsnittligt elevantal": _m("genomsnittligt_elevantal", "antal"),
                "Totalt": _m("kostnad_totalt", "tkr"),
                "Undervisning": _m("kostnad_undervisning", "tkr"),
                "Totalt per elev": _m("kostnad_per_elev", "kr"),
                "Undervisning per elev": _m("kostnad_undervisning_per_elev", "kr"),
                "Lokaler per elev": _m("kostnad_lokaler_per_elev", "kr"),
                "Måltider per elev": _m("kostnad_maltider_per_elev", "kr"),
                "Lärverktyg per elev": _m("kostnad_larverktyg_per_elev", "kr"),
                "Elevhälsa per elev": _m("kostnad_elevhalsa_per_elev", "kr"),
                "Övrigt per elev": _m("kostnad_ovrigt_per_elev", "kr"),
            },
            description="Costs of the kommun's own schools for one calendar year (Valt år), kommunal huvudman only.",
        ),
        ExportSpec(
            key="personal_larlegitimation",
            path="siris/Grundskola_Personalstatistik_larlegitimation_behorighet_2024_Kommun.csv",
            format="csv",
            title="Grundskola - Personalstatistik med lärarlegitimation och behörighet",
            measures={
                "Heltidstjänster / Totalt antal": _m("larare_heltidstjanster", "heltidstjanster"),
                "Heltidstjänster / Antal med lärarlegitimation och behörighet": _m(
                    "larare_heltidstjanster_leg_beh", "heltidstjanster"
                ),
                "Heltidstjänster / Andel med lärarlegitimation och behörighet": _m(
                    "andel_heltidstjanster_leg_beh", "procent"
                ),
                "Heltidstjänster / Förstelärare": _m("forstelarare_heltidstjanster", "heltidstjanster"),
                "Tjänstgörande lärare / Totalt antal": _m("larare_antal", "antal"),
                "Tjänstgörande lärare / Antal med lärarlegitimation och behörighet i minst ett ämne": _m(
                    "larare_antal_leg_beh", "antal"
                ),
                "Tjänstgörande lärare / Andel med lärarlegitimation och behörighet i minst ett ämne": _m(
                    "andel_larare_leg_beh", "procent"
                ),
                "Tjänstgörande lärare / Förstelärare": _m("forstelarare_antal", "antal"),
            },
            description="Teachers (15 October of the school year's autumn) with certification, by huvudman.",
        ),
    )
}


# --------------------------------------------------------------------------------------------- values


def school_year_to_year(school_year: str) -> int:
    """``"2024/25"`` → 2025: the calendar year the school year ends (the spring term of the grades).

    This is how Kolada dates school results: Skolverket's 2016/17 value is Kolada's period 2017.
    Raises ``ValueError`` for anything that is not ``YYYY/YY`` with consecutive years.
    """
    match = _SCHOOL_YEAR_RE.match(school_year.strip())
    if not match:
        raise ValueError(f"not a school year like '2024/25': {school_year!r}")
    start = int(match.group(1))
    if int(match.group(2)) != (start + 1) % 100:
        raise ValueError(f"school year {school_year!r} does not span two consecutive years")
    return start + 1


def parse_value(cell: object) -> tuple[float | None, str | None]:
    """One cell → ``(value, status)``.

    Numbers come as floats (xlsx) or text with a decimal comma and space/nbsp thousands separators
    (``"4 102"``, ``"83,2"``). The markers ``..``, ``.`` and ``~100`` give ``(None, marker)``.
    Anything else (an empty cell, text) raises ``ValueError``; the parser turns it into a
    ``SourceResponseError`` naming the URL, row and column.
    """
    if isinstance(cell, bool):
        raise ValueError(f"unexpected boolean cell {cell!r}")  # noqa: TRY004 - the parser names the cell
    if isinstance(cell, (int, float)):
        if math.isnan(cell):
            raise ValueError("empty (NaN) cell")
        return float(cell), None
    if not isinstance(cell, str):
        raise ValueError(f"unexpected cell {cell!r}")  # noqa: TRY004 - the parser names the cell
    text = cell.strip()
    if text in MARKERS:
        return None, text
    compact = text.translate(_SPACES)
    if not compact:
        raise ValueError("empty cell (neither a number nor a marker)")
    if not _NUMBER_RE.match(compact):
        raise ValueError(f"not a number or a known marker: {cell!r}")
    return float(compact.replace(",", ".")), None


def _municipality_id(raw: object) -> str:
    if isinstance(raw, float) and raw.is_integer():  # a code Excel stored as a number loses its zero
        raw = str(int(raw))
    text = str(raw).strip()
    if not text.isdigit() or not 3 <= len(text) <= 4:
        raise ValueError(f"not a kommun code: {raw!r}")
    return text.zfill(4)


# ------------------------------------------------------------------------------------------- parsing


def _looks_like_html(body: bytes, content_type: str) -> bool:
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:15].lower()
    return "html" in content_type.lower() or head.startswith(b"<")


def _snippet(body: bytes, n: int = 80) -> str:
    return body[:n].decode("utf-8", "replace").replace("\n", " ").replace("\r", " ")


def parse_export(spec: ExportSpec, body: bytes, *, url: str = "<bytes>", content_type: str = "") -> list[dict]:
    """Parse one export file (the bytes as served) into tidy row dicts (keys :data:`COLUMNS`).

    ``url`` only labels errors, so the raw landing can re-parse a stored file with the URL it came from.
    """
    if not body:
        raise SourceResponseError(url, f"empty response, expected a {spec.format.upper()} export")
    if _looks_like_html(body, content_type):
        raise SourceResponseError(
            url, f"expected a {spec.format.upper()} export, got an HTML page: {_snippet(body)!r}"
        )
    if spec.format == "csv":
        return parse_csv_export(spec, body, url=url)
    if spec.format == "xlsx":
        return parse_xlsx_export(spec, body, url=url)
    raise ValueError(f"export {spec.key}: unknown format {spec.format!r}")


def _row(spec: ExportSpec, mid: str, name: str, school_year: str | None, year: int, measure: Measure,
         gender: str, huvudman: str, value: float | None, status: str | None, label: str) -> dict:
    return {
        "export": spec.key,
        "municipality_id": mid,
        "municipality_name": name,
        "school_year": school_year,
        "year": year,
        "measure": measure.measure,
        "gender": gender,
        "huvudman": huvudman,
        "population": spec.population,
        "value": value,
        "status": status,
        "unit": measure.unit,
        "source_label": label,
    }


def _period_from_titles(lines: Sequence[str], url: str) -> tuple[str | None, int]:
    for line in lines:
        text = line.strip().strip(";").strip()
        if text.startswith("Valt läsår:"):
            school_year = text.split(":", 1)[1].strip()
            try:
                return school_year, school_year_to_year(school_year)
            except ValueError as exc:
                raise SourceResponseError(url, f"title line {text!r}: {exc}") from exc
        if text.startswith("Valt år:"):
            raw = text.split(":", 1)[1].strip()
            if not re.fullmatch(r"\d{4}", raw):
                raise SourceResponseError(url, f"title line {text!r} does not name a year")
            return None, int(raw)
    raise SourceResponseError(url, "no 'Valt läsår:' or 'Valt år:' line before the header row")


def parse_csv_export(spec: ExportSpec, body: bytes, *, url: str = "<bytes>") -> list[dict]:
    """A Sök statistik CSV export → tidy rows. See the module docstring for the format and the errors."""
    if body.startswith(b"PK\x03\x04"):
        raise SourceResponseError(url, "expected a CSV export, got a zip/xlsx file")
    if b"\x00" in body:
        raise SourceResponseError(url, "CSV export contains NUL bytes (binary or garbled file)")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceResponseError(url, f"CSV export is not valid UTF-8 (garbled or wrong encoding: {exc})") from exc
    lines = text.splitlines()

    header_at = next((i for i, line in enumerate(lines) if line.split(";", 1)[0].strip() == "Kommun"), None)
    if header_at is None:
        first = lines[0][:80] if lines else ""
        raise SourceResponseError(
            url, f"no header row starting 'Kommun;' in {len(lines)} lines (first line: {first!r})"
        )
    titles = lines[:header_at]
    if not any(spec.title in line for line in titles):
        raise SourceResponseError(
            url, f"title {spec.title!r} not found before the header row: not the {spec.key} export? "
            f"(titles: {[t for t in titles if t.strip()][:3]})"
        )
    school_year, year = _period_from_titles(titles, url)

    raw_header = lines[header_at].split(";")
    width = len(raw_header)
    labels = [h.strip() for h in raw_header]
    # A group row (";;;;;#Heltidstjänster;…") above the header qualifies repeated column names.
    if header_at > 0:
        above = lines[header_at - 1].split(";")
        if len(above) == width and lines[header_at - 1].startswith(";") and any(a.strip() for a in above):
            labels = [f"{g.strip().lstrip('#').strip()} / {h}" if g.strip() else h for g, h in zip(above, labels)]
    trailing = labels[-1] == ""
    columns = labels[:-1] if trailing else labels

    def col(*names: str) -> int:
        for name in names:
            if name in columns:
                return columns.index(name)
        raise SourceResponseError(
            url, f"missing expected column {names[0]!r} in the header row (columns: {columns})"
        )

    i_name, i_id, i_hm = col("Kommun"), col(*_ID_COLUMNS), col("Typ av huvudman")
    i_gender = columns.index("Kön") if "Kön" in columns else None
    measure_cols: list[tuple[int, str, Measure]] = []
    for label, measure in spec.measures.items():
        measure_cols.append((col(label), label, measure))
    known = {columns[i] for i in (i_name, i_id, i_hm)} | {"Län", "Läns-kod", "Kön"} | set(spec.measures)
    extra = [c for c in columns if c not in known]
    if extra:
        log.warning("%s: columns not in the %s table are skipped: %s", url, spec.key, extra)

    rows: list[dict] = []
    end = None
    for n in range(header_at + 1, len(lines)):
        line = lines[n]
        if not line.strip(" ;\t"):
            end = n
            break
        fields = line.split(";")
        if len(fields) != width or (trailing and fields[-1].strip()):
            raise SourceResponseError(
                url, f"line {n + 1}: {len(fields)} fields where the header has {width} "
                f"(garbled or truncated row: {line[:80]!r})"
            )
        try:
            mid = _municipality_id(fields[i_id])
        except ValueError as exc:
            raise SourceResponseError(url, f"line {n + 1}: {exc} in {line[:80]!r}") from exc
        huvudman = HUVUDMAN.get(fields[i_hm].strip(), "")
        if not huvudman:
            raise SourceResponseError(url, f"line {n + 1}: unknown Typ av huvudman {fields[i_hm]!r}")
        gender = "T"
        if i_gender is not None:
            gender = GENDERS.get(fields[i_gender].strip(), "")
            if not gender:
                raise SourceResponseError(url, f"line {n + 1}: unknown Kön {fields[i_gender]!r}")
        name = fields[i_name].strip()
        for i, label, measure in measure_cols:
            try:
                value, status = parse_value(fields[i])
            except ValueError as exc:
                raise SourceResponseError(url, f"line {n + 1}, column {label!r}: {exc}") from exc
            rows.append(_row(spec, mid, name, school_year, year, measure, gender, huvudman, value, status, label))
    if end is None:
        raise SourceResponseError(
            url, f"truncated: the data table runs to the end of the file after {len(rows) // max(len(measure_cols), 1)} "
            "rows (a complete export has a blank line and footnotes after it)"
        )
    if not rows:
        raise SourceResponseError(url, "the export has a header row but no data rows")
    return rows


def parse_xlsx_export(spec: ExportSpec, body: bytes, *, url: str = "<bytes>") -> list[dict]:
    """The "Jämförelse av betygsresultat över tid" workbook → tidy rows, one sheet per huvudman.

    Layout per sheet: title lines (title, ``Typ av huvudman: X``, ``Valt läsår: …``), a header row
    ``Kommun | Kommunkod | Län | Länskod | Uppgift | 2024/25 | 2023/24 | …``, then one row per kommun ×
    ``Uppgift``. Cells are numbers or the markers as text.
    """
    from python_calamine import CalamineWorkbook  # imported here: only the xlsx export needs it

    if not body.startswith(b"PK\x03\x04"):
        raise SourceResponseError(url, f"expected an xlsx workbook (zip), got {_snippet(body, 40)!r}")
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(body))
        names = list(workbook.sheet_names)
    except Exception as exc:  # calamine raises its own error types for corrupt zips/xml
        raise SourceResponseError(url, f"xlsx workbook is unreadable (truncated or corrupt: {exc})") from exc

    rows: list[dict] = []
    for sheet, huvudman in spec.sheets.items():
        if sheet not in names:
            raise SourceResponseError(url, f"missing expected sheet {sheet!r} (sheets: {names})")
        try:
            grid = workbook.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        except Exception as exc:
            raise SourceResponseError(url, f"sheet {sheet!r} is unreadable (truncated or corrupt: {exc})") from exc
        rows.extend(_parse_sheet(spec, grid, sheet, huvudman, url))
    return rows


def _parse_sheet(spec: ExportSpec, grid: list[list], sheet: str, huvudman: str, url: str) -> list[dict]:
    where = f"sheet {sheet!r}"
    first = [str(r[0]).strip() if r else "" for r in grid]
    header_at = next((i for i, c in enumerate(first) if c == "Kommun"), None)
    if header_at is None:
        raise SourceResponseError(url, f"{where}: no header row starting 'Kommun'")
    titles = first[:header_at]
    if not any(spec.title in t for t in titles):
        raise SourceResponseError(url, f"{where}: title {spec.title!r} not found (titles: {titles[:3]})")
    stated = next((t.split(":", 1)[1].strip() for t in titles if t.startswith("Typ av huvudman:")), None)
    if stated is not None and HUVUDMAN.get(stated) != huvudman:
        raise SourceResponseError(url, f"{where}: says 'Typ av huvudman: {stated}', expected {huvudman}")

    header = [str(c).strip() for c in grid[header_at]]
    for name in ("Kommun", "Kommunkod", "Uppgift"):
        if name not in header:
            raise SourceResponseError(url, f"{where}: missing expected column {name!r} (header: {header})")
    i_name, i_id, i_task = header.index("Kommun"), header.index("Kommunkod"), header.index("Uppgift")
    year_cols: list[tuple[int, str, int]] = []
    for i, label in enumerate(header):
        if _SCHOOL_YEAR_RE.match(label):
            try:
                year_cols.append((i, label, school_year_to_year(label)))
            except ValueError as exc:
                raise SourceResponseError(url, f"{where}: header {label!r}: {exc}") from exc
    if not year_cols:
        raise SourceResponseError(url, f"{where}: no school-year columns (like '2024/25') in the header: {header}")

    rows: list[dict] = []
    seen: set[str] = set()
    skipped: set[str] = set()
    width = len(header)
    for n in range(header_at + 1, len(grid)):
        cells = list(grid[n]) + [""] * (width - len(grid[n]))
        if not any(str(c).strip() for c in cells):
            break  # end of the table
        task = str(cells[i_task]).strip()
        measure = spec.measures.get(task)
        if measure is None:
            skipped.add(task)
            continue
        seen.add(task)
        try:
            mid = _municipality_id(cells[i_id])
        except ValueError as exc:
            raise SourceResponseError(url, f"{where}, row {n + 1}: {exc}") from exc
        name = str(cells[i_name]).strip()
        for i, school_year, year in year_cols:
            try:
                value, status = parse_value(cells[i])
            except ValueError as exc:
                raise SourceResponseError(url, f"{where}, row {n + 1}, column {school_year}: {exc}") from exc
            rows.append(_row(spec, mid, name, school_year, year, measure, "T", huvudman, value, status, task))
    missing = [label for label in spec.measures if label not in seen]
    if missing:
        raise SourceResponseError(url, f"{where}: missing expected Uppgift rows {missing}")
    if skipped:
        log.warning("%s %s: Uppgift rows not in the %s table are skipped: %s", url, where, spec.key, sorted(skipped))
    return rows


def to_frame(rows: Iterable[dict]) -> pd.DataFrame:
    """Tidy rows → a DataFrame with :data:`COLUMNS` and stable dtypes.

    ``year`` int64, ``value`` float64 (NaN where ``status`` holds a marker), text columns as strings with
    missing ``school_year``/``status`` as missing values.
    """
    frame = pd.DataFrame(list(rows), columns=list(COLUMNS))
    frame["year"] = frame["year"].astype("int64")
    frame["value"] = pd.to_numeric(frame["value"], errors="raise").astype("float64")
    for name in COLUMNS:
        if name not in ("year", "value"):
            frame[name] = frame[name].astype("string")
    return frame


# -------------------------------------------------------------------------------------------- client


class SkolverketClient(HttpClient):
    """Downloads Sök statistik export files and parses them into tidy rows.

    ``base_url`` is configuration: the snapshot server's ``…/skolverket`` in tests and the default run; in
    production the location of the export files (Skolverket's export URLs, or a mirror of them), which
    must be configured — it is not known offline and not hard-coded here. ``paths`` overrides
    :attr:`ExportSpec.path` per export key (relative to ``base_url``, or an absolute ``http(s)://`` URL).

    One ``requests.Session`` from :func:`~pipelines.sources.http.make_session` (urllib3 retries on connection
    and read errors, 429 honouring ``Retry-After`` and 5xx, with ``max_retries``/``backoff_factor``); a
    ``(connect, read)`` ``timeout`` on every call; at least ``1/calls_per_second`` seconds between calls.
    A ``session`` passed in is used as is and is not closed by ``close()``.
    """

    def __init__(
        self,
        base_url: str,
        *,
        paths: Mapping[str, str] | None = None,
        exports: Mapping[str, ExportSpec] | None = None,
        timeout: tuple[float, float] = (10, 120),
        max_retries: int = 5,
        backoff_factor: float = 0.5,
        calls_per_second: float = 2.0,
        session: requests.Session | None = None,
    ):
        if not base_url:
            raise ValueError("SkolverketClient needs a base_url (the location of the Sök statistik exports)")
        super().__init__(timeout=timeout, max_retries=max_retries, backoff_factor=backoff_factor,
                         calls_per_second=calls_per_second, session=session)
        self.base_url = base_url.rstrip("/")
        self.exports: dict[str, ExportSpec] = dict(exports if exports is not None else EXPORTS)
        self.paths = {key: spec.path for key, spec in self.exports.items()}
        for key, path in (paths or {}).items():
            self.spec(key)
            self.paths[key] = path

    def spec(self, key: str) -> ExportSpec:
        """The :class:`ExportSpec` of export ``key`` (``KeyError`` naming the known keys otherwise)."""
        try:
            return self.exports[key]
        except KeyError:
            raise KeyError(f"unknown Skolverket export {key!r} (known: {sorted(self.exports)})") from None

    def url(self, key: str) -> str:
        """The URL export ``key`` is downloaded from."""
        self.spec(key)
        path = self.paths[key]
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def fetch(self, key: str) -> FetchedPage:
        """Download and parse one export.

        ``body`` is the file byte for byte (for the raw landing); ``payload`` is the list of tidy row dicts
        (keys :data:`COLUMNS`). Anything retries did not cure, and any malformed file, raises
        :class:`~pipelines.sources.http.SourceResponseError` naming the URL.
        """
        spec, url = self.spec(key), self.url(key)
        response = self._get(url, headers={"Accept": f"{spec.mime}, */*;q=0.5"})
        rows = parse_export(spec, response.content, url=url, content_type=response.headers.get("Content-Type", ""))
        log.info("skolverket %s: %d rows from %s", key, len(rows), url)
        return FetchedPage(url, response.status_code, time.time(), response.content, rows)

    def rows(self, key: str) -> list[dict]:
        """The tidy rows of one export (a list of dicts with keys :data:`COLUMNS`)."""
        return self.fetch(key).payload  # type: ignore[return-value]

    def frame(self, keys: Iterable[str] | None = None) -> pd.DataFrame:
        """All (or the given) exports as one tidy DataFrame with :data:`COLUMNS` (see :func:`to_frame`)."""
        rows: list[dict] = []
        for key in keys if keys is not None else list(self.exports):
            rows.extend(self.rows(key))
        return to_frame(rows)


