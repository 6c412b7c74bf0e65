"""What a report page shows, built from the published mart's rows (no statistics of its own).

Colours, ranks, the national median, the similar kommuner's and the county's means and the change from
the previous year are the mart's (`kkik_result`); this module only picks them per kommun and year and
words them. `text` writes the national analysis, `chart` the small SVG.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from pipelines.console import year_ranges
from pipelines.report.chart import sparkline
from pipelines.report.source import MartFrames, ReportDataError
from pipelines.report.text import UNIT_LABEL, YearStats, national_text, number, year_stats

AREAS = ("Barn och unga", "Stöd och omsorg", "Samhälle och miljö")
AREA_INTRO = {
    "Barn och unga": "Förskola, grundskola och gymnasieskola: resultat, upplevd kvalitet och resurser.",
    "Stöd och omsorg": "Äldreomsorg, individ- och familjeomsorg och stöd till personer med funktionsnedsättning.",
    "Samhälle och miljö": "Kommunen som samhällsutvecklare: arbete, miljö, delaktighet och service.",
}
GENDER_LABEL = {"K": "Kvinnor", "M": "Män"}
DIRECTION_LABEL = {"higher": "högt värde är bra", "lower": "lågt värde är bra", "none": "ingen färg: varken högt eller lågt är bättre"}
SOURCE_LABEL = {
    "kolada": "Kolada", "insikt": "SKR:s Insikt (inlämnad fil)", "servicematningen": "Servicemätningen (inlämnad fil)",
    "brukarundersokning_ifo": "Brukarundersökning IFO (inlämnad fil)",
    "brukarundersokning_funktionshinder": "Brukarundersökning funktionshinder (inlämnad fil)",
    "egen_rapportering": "kommunens egen rapportering (inlämnad fil)",
}
NOTE_MISSING = "– Värde saknas: kommunen har inte rapporterat eller uppgiften publicerades inte."
NOTE_NO_NATIONAL = "∅ Ingen kommun har värde för året: det finns ingen nationell statistik för det året."
NOT_LOADED = ".."
NOTE_NOT_LOADED = (f"{NOT_LOADED} Året finns inte i den publicerade marten (inte laddat): värdena för det året har "
                   "inte lästs in, vilket inte betyder att de saknas.")
NOTE_NO_RIKET = ("– under Riket: Kolada har inget eget värde för riket för nyckeltalet det året (vanligt för "
                 "kommunernas egen rapportering och för undersökningar som redovisas per kommun); jämför med "
                 "medianen för alla kommuner.")
NOTE_SYNTHETIC = ("* Genererat värde i den medföljande testdatabasen (syntetiskt), inte publicerat av någon: "
                  "ersätts av verkliga värden vid en riktig inläsning.")


@dataclass
class Cell:
    text: str
    colour: str
    mark: str = ""
    title: str = ""


@dataclass
class FigureRow:
    kpi_id: str
    title: str
    unit: str
    category: str
    direction: str
    cells: list[Cell]
    gender_rows: list[tuple[str, list[Cell]]]
    trend: tuple[str, str, str]
    trend_year: str
    similar: str
    similar_label: str
    county: str
    riket: str
    chart: str
    source: str
    text: str


@dataclass
class AreaSection:
    name: str
    intro: str
    figures: list[FigureRow] = field(default_factory=list)


@dataclass
class KommunReport:
    municipality_id: str
    name: str
    county_name: str
    year: int
    years: list[int]
    areas: list[AreaSection]
    notes: list[str]
    n_figures: int
    #: a sentence when the year's figures are not all released yet (``coverage_text``), else ""
    coverage: str = ""
    #: a sentence when whole columns (KKiK years) are not in the mart (``not_loaded_text``), else ""
    not_loaded: str = ""


@dataclass
class CountyColumn:
    number: int
    kpi_id: str
    title: str
    unit: str
    direction: str

    @property
    def label(self) -> str:
        """"(N15428)" or "(antal; N11102)": the unit only where the title does not already say it."""
        shown = self.unit.casefold() in self.title.casefold()
        return f"({self.kpi_id})" if shown else f"({self.unit}; {self.kpi_id})"


@dataclass
class CountyArea:
    name: str
    columns: list[CountyColumn]
    rows: list[tuple[str, list[Cell]]]
    reference_rows: list[tuple[str, list[Cell]]]


@dataclass
class CountyReport:
    county_code: str
    county_name: str
    year: int
    kommuner: list[str]
    areas: list[CountyArea]
    notes: list[str]
    coverage: str = ""


def coverage_text(frames: MartFrames) -> str:
    """The report's word that its KKiK year is still being released (``MartFrames.is_partial``), from the count
    ``kkik report`` prints too (the mart's figures of the year's set with a kommun value,
    ``report/source.year_coverage``); "" for any other year."""
    if not frames.is_partial:
        return ""
    return (f"KKiK {frames.year} är inte komplett: {frames.figures_with_values} av årets {frames.figures_in_set} "
            f"nyckeltal har värden för kommunerna hittills. De övriga är inte publicerade ännu (∅, eller "
            f"{NOT_LOADED} när perioden inte är inläst) eller redovisas inte för året.")


def not_loaded_text(frames: MartFrames) -> str:
    """The report's word that some of its KKiK years are not in the published mart at all (no figure's period of
    the year loaded, ``MartFrames.years_not_loaded``), so their columns are no result; "" when none is."""
    missing = frames.years_not_loaded()
    if not missing:
        return ""
    loaded = year_ranges(sorted(frames.loaded_periods)) or "inga"
    many = len(missing) > 1
    return (f"KKiK {year_ranges(missing)} finns inte i den publicerade marten "
            f"(inte {'laddade' if many else 'laddat'}; marten har perioderna {loaded}): "
            f"{'kolumnerna visar' if many else 'kolumnen visar'} {NOT_LOADED}, inga resultat.")


def _present(value) -> bool:
    return value is not None and not pd.isna(value)


def _records(frame: pd.DataFrame) -> list[dict]:
    """``frame.to_dict("records")`` (the same plain values, NA as None) built column by column: a third of
    its time on the ≈ 67,000 result rows of a report year."""
    names = list(frame.columns)
    columns = [[None if value is pd.NA else value for value in frame[name].tolist()] for name in names]
    return [dict(zip(names, values)) for values in zip(*columns)]


class ReportData:
    """The mart's rows indexed for reports of one KKiK year; the national numbers computed once."""

    def __init__(self, frames: MartFrames):
        self.frames = frames
        self.kpis = frames.kpis.set_index("kpi_id", drop=False)
        #: each area's figures as plain dicts, in the mart's order: every report walks them (290 kommuner)
        self.area_kpis: dict[str, list[dict]] = {
            area: frames.kpis[frames.kpis["area"] == area].to_dict("records") for area in AREAS}
        self.municipalities = frames.municipalities.set_index("municipality_id", drop=False)
        results = frames.results
        self.rows = {key: row for key, row in zip(
            zip(results["kpi_id"], results["municipality_id"], results["kkik_year"], results["gender"]),
            _records(results),
        )}
        totals = results[results["gender"] == "T"]
        self.national: dict[str, list[YearStats]] = {}
        self.has_values: dict[tuple[str, int], bool] = {}
        for kpi_id, kpi in self.kpis.iterrows():
            rows = totals[totals["kpi_id"] == kpi_id]
            stats = [year_stats(rows[rows["kkik_year"] == y], y, kpi["direction"]) for y in frames.years]
            self.national[kpi_id] = stats
            for stat in stats:
                self.has_values[(kpi_id, stat.kkik_year)] = stat.n > 0
        self.national_text = {
            kpi_id: national_text(self.national[kpi_id], kpi["direction"], kpi["unit"], frozenset(
                y for y in frames.years if not frames.is_loaded(y, kpi["kkik_year_offset"])))
            for kpi_id, kpi in self.kpis.iterrows()}

    def kommun(self, municipality_id: str) -> dict:
        if municipality_id not in self.municipalities.index or not self.municipalities.loc[municipality_id, "is_kommun"]:
            raise ReportDataError(f"{municipality_id!r} is not a kommun code in the published mart "
                                  "(four digits, e.g. 1441)")
        return self.municipalities.loc[municipality_id].to_dict()

    def row(self, kpi_id: str, municipality_id: str, kkik_year: int, gender: str = "T") -> dict | None:
        return self.rows.get((kpi_id, municipality_id, kkik_year, gender))


class Notes:
    """Footnotes in the order they are first needed."""

    def __init__(self):
        self.items: list[str] = []

    def use(self, note: str) -> None:
        if note not in self.items:
            self.items.append(note)


def _cell(data: ReportData, notes: Notes, kpi: dict, municipality_id: str, kkik_year: int, gender: str) -> Cell:
    row = data.row(kpi["kpi_id"], municipality_id, kkik_year, gender)
    if row is None or not _present(row["value"]):
        if not data.frames.is_loaded(kkik_year, kpi["kkik_year_offset"]):
            return _not_loaded(notes, kpi, kkik_year)
        if not data.has_values.get((kpi["kpi_id"], kkik_year), False):
            notes.use(NOTE_NO_NATIONAL)
            return Cell("∅", "grey", title=f"Ingen nationell statistik för KKiK {kkik_year}")
        notes.use(NOTE_MISSING)
        return Cell("–", "grey", title="Värde saknas")
    mark = ""
    if row["is_synthetic"]:
        notes.use(NOTE_SYNTHETIC)
        mark = "*"
    rank = (f"plats {int(row['national_rank'])} av {int(row['n_ranked'])}"
            if _present(row["national_rank"]) and kpi["direction"] != "none" else "")
    return Cell(number(row["value"], kpi["unit"]), row["colour"], mark,
                title=f"KKiK {kkik_year} (period {int(row['year'])}) {rank}".strip())


def _not_loaded(notes: Notes, kpi: dict, kkik_year: int) -> Cell:
    """A figure-year whose period the mart does not hold: not loaded, which is no statement about its values."""
    notes.use(NOTE_NOT_LOADED)
    period = MartFrames.period(kkik_year, kpi["kkik_year_offset"])
    return Cell(NOT_LOADED, "grey", title=f"KKiK {kkik_year} (period {period}) finns inte i den publicerade "
                                           "marten (inte laddat)")


def unit_label(unit: str) -> str:
    return UNIT_LABEL.get(unit, unit)


def _trend(data: ReportData, kpi: dict, municipality_id: str) -> tuple[str, str, str]:
    """▲ better / ▼ worse / ► unchanged against the previous year, for the newest column with a value
    (``trend_year`` says which, when it is not the report's year)."""
    for kkik_year in reversed(data.frames.years):
        row = data.row(kpi["kpi_id"], municipality_id, kkik_year)
        if row is not None and _present(row["value"]):
            change = row["change_from_previous_year"]
            if not _present(change):
                return ("", "", "ingen jämförelse med föregående år")
            if change == 0 or number(row["value"], kpi["unit"]) == number(row["previous_value"], kpi["unit"]):
                return ("►", "flat", f"oförändrat {kkik_year}")
            if kpi["direction"] == "none":
                return ("▲" if change > 0 else "▼", "neutral", f"{'ökat' if change > 0 else 'minskat'} {kkik_year}")
            better = change > 0 if kpi["direction"] == "higher" else change < 0
            return ("▲" if better else "▼", "up" if better else "down",
                    f"{'förbättrat' if better else 'försämrat'} {kkik_year}")
    return ("", "", "")


def _source(data: ReportData, kpi: dict, municipality_id: str) -> str:
    """Who produces the figure and where this kommun's values were read from."""
    names = []
    for kkik_year in data.frames.years:
        row = data.row(kpi["kpi_id"], municipality_id, kkik_year)
        if row is not None and _present(row.get("source")):
            label = SOURCE_LABEL.get(row["source"], row["source"])
            if label not in names:
                names.append(label)
    agency = kpi["source_agency"] if _present(kpi["source_agency"]) else ""
    if not names:  # no value for this kommun: who produces the figure, not a guess at where it was read
        return agency or "Kolada"
    via = ", ".join(names)
    return f"{agency} via {via}" if agency else via


def _trend_year(data: ReportData, kpi: dict, municipality_id: str) -> str:
    """The KKiK year the trend mark is for, when that is not the report's year ("" otherwise)."""
    for kkik_year in reversed(data.frames.years):
        row = data.row(kpi["kpi_id"], municipality_id, kkik_year)
        if row is not None and _present(row["value"]):
            return "" if kkik_year == data.frames.year else str(kkik_year)
    return ""


def _riket(notes: Notes, kpi: dict, row: dict) -> str:
    """Kolada's own value for Riket; a footnote where Kolada has none although kommuner have values."""
    text = number(row.get("riket_value"), kpi["unit"])
    if text == "–" and _present(row.get("national_median")):
        notes.use(NOTE_NO_RIKET)
    return text


def kommun_report(data: ReportData, municipality_id: str) -> KommunReport:
    """The kommun's report of the data's KKiK year."""
    kommun = data.kommun(municipality_id)
    notes = Notes()
    years = data.frames.years
    year = data.frames.year
    areas = []
    for area in AREAS:
        section = AreaSection(area, AREA_INTRO[area])
        for kpi in data.area_kpis[area]:
            cells = [_cell(data, notes, kpi, municipality_id, y, "T") for y in years]
            gender_rows = []
            if kpi["is_divided_by_gender"] or any(
                    data.row(kpi["kpi_id"], municipality_id, y, "K") for y in years):
                gender_rows = [(GENDER_LABEL[g], [_cell(data, notes, kpi, municipality_id, y, g) for y in years])
                               for g in ("K", "M")]
            latest = data.row(kpi["kpi_id"], municipality_id, year) or {}
            own = [(data.row(kpi["kpi_id"], municipality_id, y) or {}).get("value") for y in years]
            colours = [(data.row(kpi["kpi_id"], municipality_id, y) or {}).get("colour", "grey") for y in years]
            medians = [stat.median for stat in data.national[kpi["kpi_id"]]]
            similar = [(data.row(kpi["kpi_id"], municipality_id, y) or {}).get("similar_group_mean") for y in years]
            section.figures.append(FigureRow(
                kpi_id=kpi["kpi_id"],
                title=kpi["title"],
                unit=unit_label(kpi["unit"]),
                category=kpi["category"] or "",
                direction=kpi["direction"],
                cells=cells,
                gender_rows=gender_rows,
                trend=_trend(data, kpi, municipality_id),
                trend_year=_trend_year(data, kpi, municipality_id),
                similar=number(latest.get("similar_group_mean"), kpi["unit"]),
                similar_label=f"Liknande kommuner {kpi['similar_group_kind']}"
                              + (f", {int(latest['similar_group_n'])} kommuner"
                                 if _present(latest.get("similar_group_n")) else ""),
                county=number(latest.get("county_mean"), kpi["unit"]),
                riket=_riket(notes, kpi, latest),
                chart=sparkline(years, own, colours, medians, similar,
                                f"{kommun['municipality_name']}: {kpi['title']}"),
                source=_source(data, kpi, municipality_id),
                text=data.national_text[kpi["kpi_id"]],
            ))
        areas.append(section)
    return KommunReport(municipality_id=municipality_id, name=kommun["municipality_name"],
                        county_name=kommun["county_region_name"] or "", year=year, years=years, areas=areas,
                        notes=notes.items, n_figures=len(data.kpis), coverage=coverage_text(data.frames),
                        not_loaded=not_loaded_text(data.frames))


def county_report(data: ReportData, county_code: str) -> CountyReport:
    """The county network's compilation: its kommuner side by side with Riket's best, worst and median."""
    municipalities = data.municipalities
    members = municipalities[(municipalities["is_kommun"]) & (municipalities["county_code"] == county_code)]
    if members.empty:
        raise ReportDataError(f"{county_code!r} is not a county code with kommuner in the published mart "
                              "(two digits, e.g. 23)")
    members = members.sort_values("municipality_name")
    notes = Notes()
    year = data.frames.year
    areas = []
    for area in AREAS:
        kpis = data.area_kpis[area]
        columns = [CountyColumn(i + 1, k["kpi_id"], k["title"], unit_label(k["unit"]), k["direction"])
                   for i, k in enumerate(kpis)]
        rows = [(m["municipality_name"], [_cell(data, notes, k, m["municipality_id"], year, "T") for k in kpis])
                for _, m in members.iterrows()]
        first = members["municipality_id"].iloc[0]

        def reference(kind: str, kpi: dict, first: str = first) -> Cell:
            row = data.row(kpi["kpi_id"], first, year)
            if row is None:
                if not data.frames.is_loaded(year, kpi["kkik_year_offset"]):
                    return _not_loaded(notes, kpi, year)
                return Cell("∅", "grey")
            low, high = row["national_min"], row["national_max"]
            value = {
                "best": low if kpi["direction"] == "lower" else high,
                "worst": high if kpi["direction"] == "lower" else low,
                "median": row["national_median"],
                "riket": row["riket_value"],
                "county": row["county_mean"],
            }[kind]
            if kind == "riket":
                return Cell(_riket(notes, kpi, row), "ref")
            return Cell(number(value, kpi["unit"]), "ref")

        reference_rows = [
            ("Bästa kommun i riket (högst värde om ingen riktning)", [reference("best", k) for k in kpis]),
            ("Sämsta kommun i riket (lägst värde om ingen riktning)", [reference("worst", k) for k in kpis]),
            ("Median, alla kommuner", [reference("median", k) for k in kpis]),
            ("Riket (eget värde)", [reference("riket", k) for k in kpis]),
            ("Kommunerna i länet, ovägt medel", [reference("county", k) for k in kpis]),
        ]
        areas.append(CountyArea(area, columns, rows, reference_rows))
    return CountyReport(county_code=county_code, county_name=members["county_region_name"].iloc[0] or county_code,
                        year=year, kommuner=list(members["municipality_name"]), areas=areas, notes=notes.items,
                        coverage=coverage_text(data.frames))
