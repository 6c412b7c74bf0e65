"""Build the survey inbox samples (``snapshot/inbox/``) and test fixtures (``tests/fixtures/surveys/``).

    python tools/build_survey_samples.py --shared /work/shared/data

No per-kommun survey file could be found offline (``../shared/data/surveys/SOURCES.md``): SKR publishes the
per-kommun results of Servicemätningen, the user surveys and Insikt in Kolada. The samples are therefore
laid out as SKR's exports and the input-form export plausibly look (title lines, Swedish headers, decimal
comma, Windows-1252 or UTF-8, xlsx) and filled with the **real per-kommun values that Kolada publishes**
(``kolada/values.parquet``), KPI by KPI. Where Kolada has no value (the number of answers, the telephone
measures of Servicemätningen, U11401) nothing is invented in the real files; the one file with generated
values (U11401) is named ``*made_up_sample*`` and carries a ``Syntetisk`` column. The test fixtures are
excerpts of these files (a few kommuner), made-up files for cases with no real data (the old Servicemätningen
measures), and bad variants, each with one defect.

Deterministic: the same input gives byte-identical files (fixed seed, fixed zip timestamps). A developer
tool: it reads ``../shared/data`` and is never run by users or tests.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from build_skolverket_snapshot import write_xlsx

SNAPSHOT = ROOT / "snapshot" / "inbox"
FIXTURES = ROOT / "tests" / "fixtures" / "surveys"
SEED = 20221231

INSIKT_AREAS = [  # myndighetsområde as SKR names it -> Kolada KPI with the real NKI per kommun
    ("Totalt", "U07451"),
    ("Brandskydd", "U07446"),
    ("Bygglov", "U07447"),
    ("Markupplåtelse", "U07448"),
    ("Miljö- och hälsoskydd", "U07449"),
    ("Serveringstillstånd", "U07450"),
    ("Livsmedelskontroll", "U07455"),
    ("Upphandling", "U07459"),
]
SERVICE_COLUMNS = [("E-post tydlighet (index)", "N00673"), ("E-post enkelhet (index)", "N00674")]
IFO_AREAS = [  # (område, [(fråga, KPI)])
    ("Individ- och familjeomsorg totalt", [
        ("Få kontakt", "U30447"), ("Tydlig information", "U30448"), ("Visar förståelse", "U30449"),
        ("Inflytande", "U30450"), ("Påverka hjälp", "U30451"), ("Helhetssyn", "U30452"),
        ("Förbättrad situation", "U30453")]),
    ("Ekonomiskt bistånd", [
        ("Få kontakt", "U31500"), ("Tydlig information", "U31501"), ("Visar förståelse", "U31502"),
        ("Inflytande", "U31503"), ("Påverka hjälp", "U31504"), ("Helhetssyn", "U31505"),
        ("Förbättrad situation", "U31506")]),
]
FUNKTIONSHINDER_KPIS = ["U28532", "U28533", "U28534", "U28535", "U28536", "U28537", "U28538", "U28561",
                        "U28562", "U28658"]  # daglig verksamhet LSS, lägeskommun
OWN_REPORTING_KPIS = ["U21401", "U23401", "U31402"]
GENDER_LABEL = {"K": "Kvinnor", "M": "Män", "T": "Totalt"}
#: U11401 is not in the 2026 Kolada catalogue; its title and definition are in RKA's introduction for new
#: KKiK project leaders (../shared/seeds/002_*.txt, "Att läsa verktygslådan").
U11401_TITLE = "Plats på förskola på önskat placeringsdatum, andel barn (%)"
EXCERPT = ["1490", "0180", "1480", "1280", "2580", "0114", "1441", "0604", "1885", "2513"]


# ------------------------------------------------------------------------------------------- sources


class Shared:
    def __init__(self, shared: Path):
        import duckdb

        self.shared = shared
        self.kpis = {k["id"]: k for k in json.loads((shared / "kolada" / "kpi.json").read_text(encoding="utf-8"))}
        municipalities = json.loads((shared / "kolada" / "municipality.json").read_text(encoding="utf-8"))
        self.kommuner = {m["id"]: m["title"] for m in municipalities if m["type"] == "K"}
        self.con = duckdb.connect()
        self.values_path = str(shared / "kolada" / "values.parquet")

    def values(self, kpis: list[str], years: list[int]) -> dict[tuple[str, str, int, str], float]:
        """(kpi, kommun, year, gender) -> value, kommuner only, nulls left out."""
        rows = self.con.execute(
            f"select kpi, municipality, period, gender, value from read_parquet(?) where kpi in "
            f"({','.join('?' * len(kpis))}) and period in ({','.join('?' * len(years))}) and value is not null",
            [self.values_path, *kpis, *years],
        ).fetchall()
        return {(k, m, int(p), g): float(v) for k, m, p, g, v in rows if m in self.kommuner}

    def title(self, kpi: str) -> str:
        return self.kpis[kpi]["title"] if kpi in self.kpis else ""


def question_of(title: str) -> str:
    """'Brukarbedömning daglig verksamhet LSS - Brukaren får ..., lägeskommun, andel (%)' -> 'Brukaren får ...'."""
    text = title.split(" - ", 1)[1] if " - " in title else title
    text = re.split(r"\s*[-,]\s*lägeskommun", text)[0]
    text = re.sub(r",\s*andel \(%\)$", "", text)
    return " ".join(text.split())


# -------------------------------------------------------------------------------------------- writers


def decimal_comma(value: float | None) -> str:
    if value is None:
        return ""
    text = repr(float(value))
    text = text.removesuffix(".0")
    return text.replace(".", ",")


def decimal_point(value: float | None) -> str:
    if value is None:
        return ""
    text = repr(float(value))
    return text.removesuffix(".0")


def csv_bytes(lines: list[list[str]], *, delimiter: str, encoding: str, newline: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline)
    for line in lines:
        writer.writerow(line)
    return buffer.getvalue().encode(encoding)


def write(path: Path, data: bytes, written: list) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    written.append((path, len(data)))


# -------------------------------------------------------------------------------------------- samples


def insikt_lines(src: Shared, year: int, only: list[str] | None = None) -> list[list[str]]:
    values = src.values([k for _, k in INSIKT_AREAS], [year])
    lines = [
        ["Insikt – SKR:s servicemätning av kommunernas myndighetsutövning (företagsklimat)"],
        [f"Nöjd Kund Index (NKI) per kommun och myndighetsområde, mätår {year}"],
        ["Exempelfil: värdena är de som Kolada publicerar (U07451, U07446–U07459); layouten är ett antaget exportformat"],
        [],
        ["Kommunkod", "Kommun", "År", "Myndighetsområde", "NKI", "Antal svar"],
    ]
    for mid in sorted(only or src.kommuner):
        for area, kpi in INSIKT_AREAS:
            value = values.get((kpi, mid, year, "T"))
            if value is not None:
                lines.append([mid, src.kommuner[mid], str(year), area, decimal_comma(value), ""])
    lines += [[], ["Källa: Kolada (RKA), SKR Insikt. Antal svar finns inte i källan och är tomt."]]
    return lines


def servicematningen_lines(src: Shared, year: int, only: list[str] | None = None) -> list[list[str]]:
    values = src.values([k for _, k in SERVICE_COLUMNS], [year])
    lines = [
        [f"Servicemätningen {year} – e-post, resultat per kommun (index 0–100)"],
        ["Källa: Kolada (RKA) N00673 och N00674; SKR och Brilliant Future. Telefonresultat finns inte i källan."],
        [],
        ["Kommunkod", "Kommun", "År", *[label for label, _ in SERVICE_COLUMNS]],
    ]
    kommuner = sorted({m for (_, m, _, _) in values})
    for mid in kommuner:
        if only and mid not in only:
            continue
        lines.append([mid, src.kommuner[mid], str(year),
                      *[decimal_comma(values.get((kpi, mid, year, "T"))) for _, kpi in SERVICE_COLUMNS]])
    return lines


def ifo_grid(src: Shared, year: int, only: list[str] | None = None, numeric_codes: bool = False) -> list[list]:
    kpis = [k for _, questions in IFO_AREAS for _, k in questions]
    values = src.values(kpis, [year])
    grid: list[list] = [
        [f"Brukarundersökning individ- och familjeomsorg {year}"],
        ["Andel positiva svar per kommun, område, fråga och kön"],
        ["Exempelfil: andelarna är de som Kolada publicerar (U30447–U30453, U31500–U31506); antal svarande per fråga finns inte i källan"],
        [],
        ["Kommunkod", "Kommun", "År", "Område", "Fråga", "Kön", "Andel positiva svar (%)", "Antal svarande"],
    ]
    for mid in sorted(only or src.kommuner):
        for area, questions in IFO_AREAS:
            for question, kpi in questions:
                for gender in ("T", "K", "M"):
                    value = values.get((kpi, mid, year, gender))
                    if value is not None:
                        code = int(mid) if numeric_codes else mid
                        grid.append([code, src.kommuner[mid], year, area, question, GENDER_LABEL[gender], value, ""])
    return grid


def ifo_about() -> list[list]:
    return [
        ["Om undersökningen"],
        ["SKR:s brukarundersökning inom individ- och familjeomsorgen. Vet inte/ingen åsikt är exkluderade ur nämnaren."],
        ["Värdena i denna exempelfil kommer från Kolada (RKA)."],
    ]


def funktionshinder_lines(src: Shared, year: int, only: list[str] | None = None) -> list[list]:
    values = src.values(FUNKTIONSHINDER_KPIS, [year])
    lines: list[list] = [
        [f"Brukarundersökning funktionshinderområdet {year}, daglig verksamhet LSS"],
        ["Exempelfil: andelarna är de som Kolada publicerar (lägeskommun); antal svarande per fråga finns inte i källan"],
        [],
        ["Kommunkod", "Kommun", "År", "Verksamhet", "Fråga", "Kön", "Andel positiva svar (%)", "Antal svarande"],
    ]
    for mid in sorted(only or src.kommuner):
        for kpi in FUNKTIONSHINDER_KPIS:
            for gender in ("T", "K", "M"):
                value = values.get((kpi, mid, year, gender))
                if value is not None:
                    lines.append([mid, src.kommuner[mid], year, "Daglig verksamhet LSS", question_of(src.title(kpi)),
                                  GENDER_LABEL[gender], value, ""])
    return lines


def own_reporting_lines(src: Shared, year: int, only: list[str] | None = None) -> list[list[str]]:
    values = src.values(OWN_REPORTING_KPIS, [year])
    lines = [["Kommunkod", "Kommun", "Nyckeltal", "Nyckeltalsnamn", "År", "Kön", "Värde", "Kommentar"]]
    for mid in sorted(only or src.kommuner):
        for kpi in OWN_REPORTING_KPIS:
            for gender in ("T", "K", "M"):
                value = values.get((kpi, mid, year, gender))
                if value is not None:
                    lines.append([mid, src.kommuner[mid], kpi, src.title(kpi), str(year), GENDER_LABEL[gender],
                                  decimal_point(value), ""])
    return lines


def u11401_made_up_lines(src: Shared, year: int, only: list[str] | None = None) -> list[list[str]]:
    """MADE UP (no real U11401 value is available offline): per kommun a number of children who asked for a
    place (nämnare) and how many got it on the wished date (täljare), by gender; T is the sum."""
    rng = random.Random(SEED)
    lines = [
        ["Egen rapportering (inmatning) – U11401, PÅHITTADE EXEMPELVÄRDEN (made-up sample, not real figures)"],
        [],
        ["Kommunkod", "Kommun", "Nyckeltal", "Nyckeltalsnamn", "År", "Kön", "Värde", "Täljare", "Nämnare", "Syntetisk"],
    ]
    for mid in sorted(src.kommuner):
        level = rng.uniform(0.45, 0.98)
        counts = {}
        for gender in ("K", "M"):
            asked = rng.randint(8, 400)
            got = min(asked, max(0, round(asked * (level + rng.uniform(-0.06, 0.06)))))
            counts[gender] = (got, asked)
        counts["T"] = (counts["K"][0] + counts["M"][0], counts["K"][1] + counts["M"][1])
        if only and mid not in only:
            continue
        for gender in ("T", "K", "M"):
            got, asked = counts[gender]
            lines.append([mid, src.kommuner[mid], "U11401", U11401_TITLE, str(year), GENDER_LABEL[gender],
                          decimal_comma(round(100 * got / asked, 1)), str(got), str(asked), "ja"])
    return lines


def old_servicematningen_made_up(only: list[str], names: dict[str, str]) -> list[list]:
    """MADE UP: the older KKiK Servicemätningen shares and today's telephone indices, for a few kommuner."""
    rng = random.Random(SEED + 1)
    grid: list[list] = [
        ["Servicemätningen 2016 – PÅHITTADE EXEMPELVÄRDEN (made-up sample, not real figures)"],
        [],
        ["Kommunkod", "Kommun", "År", "E-post svar inom två arbetsdagar (%)", "Telefon svar på enkel fråga (%)",
         "Telefon gott bemötande (%)", "Telefon bemötande (index)", "Antal svar telefon", "Syntetisk"],
    ]
    for mid in only:
        grid.append([mid, names[mid], 2016, rng.randint(60, 100), rng.randint(30, 80), rng.randint(57, 90),
                     round(rng.uniform(70, 92), 1), rng.randint(100, 180), "ja"])
    return grid


# ------------------------------------------------------------------------------------------- provenance

BORAS_PAGE_QUESTIONS = {  # the Borås page's wording -> the Kolada KPI (daglig verksamhet LSS, lägeskommun)
    "Är aldrig rädd för något på sin dagliga verksamhet": "U28537",
    "Får bestämma om saker som är viktiga": "U28532",
    "Personalen pratar så att brukaren förstår": "U28535",
    "Får den hjälp hen vill ha i sin dagliga verksamhet": "U28533",
    "Personalen bryr sig om brukaren": "U28534",
    "Trivs alltid på sin dagliga verksamhet": "U28538",
    "Känner sig trygg med alla i personalen": "U28536",
    "Vet vem hen ska prata med om något är dåligt på den dagliga verksamheten": "U28562",
}


def boras_cross_check(src: Shared) -> tuple[int, int, list[str]]:
    """Compare the Borås page's real survey table (../shared/data/surveys) with Kolada's values for 1490."""
    path = src.shared / "surveys" / "brukarundersokning_funktionshinder_daglig_verksamhet_LSS_boras.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    values = src.values(sorted(set(BORAS_PAGE_QUESTIONS.values())), list(range(2016, 2023)))
    equal, compared, differ = 0, 0, []
    for row in rows:
        kpi = BORAS_PAGE_QUESTIONS[row["fraga"]]
        for year in range(2016, 2023):
            page = row[f"boras_{year}"]
            if page == "-":
                continue
            kolada = values.get((kpi, "1490", year, "T"))
            compared += 1
            if kolada is not None and abs(kolada - float(page)) < 0.5:
                equal += 1
            else:
                differ.append(f"{kpi} {year}: page {page}, Kolada {decimal_point(kolada)}")
    return equal, compared, differ


def write_snapshot_readme(src: Shared, written: list) -> None:
    equal, compared, differ = boras_cross_check(src)
    lines = [
        "# snapshot/inbox — the bundled survey and own-reporting files",
        "",
        "The files data staff would drop in the inbox (`<inbox>/<file_type>/`), one folder per file type with a",
        "schema in `expectations/inbox/`. The main job lands them with `pipelines.inbox.land_inbox` (validated on",
        "arrival, identified by content hash: loading them twice loads them once). Rebuild with",
        "`python tools/build_survey_samples.py --shared ../shared/data` (deterministic). Do not edit by hand.",
        "",
        "**Where the figures come from.** No per-kommun survey export could be found offline (SKR publishes the",
        "per-kommun results of these surveys in Kolada; `../shared/data/surveys/SOURCES.md`). So the files are",
        "laid out as such an export plausibly looks (title lines, Swedish headers, decimal comma, Windows-1252 or",
        "UTF-8, xlsx; **the layout is an assumption**) and filled with the **real per-kommun values Kolada",
        "publishes** (`../shared/data/kolada/values.parquet`, the 2024 scrape of the Kolada API; \"Källa: Kolada\"),",
        "KPI by KPI, unchanged (full precision). Columns Kolada has no values for (number of answers per",
        "question, Servicemätningen's telephone measures) are left **empty**, not invented. The one file with",
        "invented values is named `*made_up_sample*` and has a `Syntetisk` column (`ja`): it lands with",
        "`is_synthetic = true`.",
        "",
        "| file | format | values | Kolada KPIs (kommuner only) | rows |",
        "| --- | --- | --- | --- | ---: |",
    ]
    described = {
        "Insikt_NKI_per_kommun_2021.csv": ("CSV, Windows-1252, `;`, decimal comma, CRLF, title lines, footnote",
                                           "**real** (NKI per myndighetsområde; `Antal svar` empty)",
                                           "U07451 (Totalt), U07446, U07447, U07448, U07449, U07450, U07455, U07459; 2021"),
        "Insikt_NKI_per_kommun_2022.csv": ("as 2021", "**real** (as 2021)", "the same; 2022"),
        "Servicematningen_2022_e-post.csv": ("CSV, UTF-8 with BOM, `;`, decimal comma, title lines",
                                             "**real** (the kommuner Kolada has e-post indices for; no telephone values in the source)",
                                             "N00673, N00674; 2022"),
        "Brukarundersokning_IFO_2022.xlsx": ("xlsx, sheets `Om undersökningen` + `Resultat`, title rows",
                                             "**real** shares by kön (`Antal svarande` empty)",
                                             "U30447–U30453 (IFO totalt), U31500–U31506 (ekonomiskt bistånd); 2022"),
        "Brukarundersokning_funktionshinder_2022.xlsx": ("xlsx, sheet `Resultat`, title rows",
                                                         "**real** shares by kön (`Antal svarande` empty)",
                                                         "U28532–U28538, U28561, U28562, U28658 (daglig verksamhet LSS, lägeskommun); 2022"),
        "Inmatning_export_2022.xlsx": ("xlsx, sheet `Inmatning`, no title rows",
                                       "**real** (the kommuner's own figures as Kolada publishes them)",
                                       "U21401, U23401, U31402; 2022"),
        "Inmatning_U11401_2022_made_up_sample.csv": ("CSV, UTF-8, `;`, decimal comma, `Syntetisk` column",
                                                     "**MADE UP** (fixed seed; no real U11401 value is available offline)",
                                                     "U11401; 2022"),
    }
    for path, size in written:
        fmt, values, kpis = described[path.name]
        rel = path.relative_to(SNAPSHOT).as_posix()
        rows = _count_rows(path)
        lines.append(f"| `{rel}` | {fmt} | {values} | {kpis} | {rows:,} |")
    lines += [
        "",
        "Cross-check with a real published table: the Borås page in `../shared/data/surveys/` (daglig verksamhet",
        f"LSS, 2016–2022) agrees with Kolada's values for Borås (1490) in {equal} of {compared} cells"
        + (f"; the exception: {'; '.join(differ)} (the page's \"Sverige 2022\" column shows 92)." if differ else "."),
        "",
        "Overlap with the Kolada snapshot: `snapshot/kolada` also serves U07451, U21401, U23401 and U31402 for",
        "these years (the same real values). Where both feed `fct_kpi_value`, one source must take precedence.",
        "",
        "U11401 (\"Plats på förskola på önskat placeringsdatum, andel barn (%)\") is not in Kolada's 2024 or 2026",
        "catalogue; its title and definition are from RKA's introduction for new KKiK project leaders",
        "(`../shared/seeds/`). The made-up file draws, per kommun, the number of children who asked for a place",
        "(Nämnare) and how many got it on the wished date (Täljare), for girls and boys; Totalt is their sum.",
    ]
    (SNAPSHOT / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _count_rows(path: Path) -> int:
    from pipelines.inbox import load_schema
    from pipelines.inbox.readers import read_table

    schema = load_schema(ROOT / "expectations" / "inbox" / f"{path.parent.name}.yml")
    return len(read_table(path, schema).rows)


# ----------------------------------------------------------------------------------------------- build


def build_snapshot(src: Shared) -> list:
    written: list = []
    if SNAPSHOT.exists():
        for child in SNAPSHOT.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
    for year in (2021, 2022):
        write(SNAPSHOT / "insikt" / f"Insikt_NKI_per_kommun_{year}.csv",
              csv_bytes(insikt_lines(src, year), delimiter=";", encoding="cp1252", newline="\r\n"), written)
    write(SNAPSHOT / "servicematningen" / "Servicematningen_2022_e-post.csv",
          csv_bytes(servicematningen_lines(src, 2022), delimiter=";", encoding="utf-8-sig", newline="\n"), written)
    write(SNAPSHOT / "brukarundersokning_ifo" / "Brukarundersokning_IFO_2022.xlsx",
          write_xlsx({"Om undersökningen": ifo_about(), "Resultat": ifo_grid(src, 2022)}), written)
    write(SNAPSHOT / "brukarundersokning_funktionshinder" / "Brukarundersokning_funktionshinder_2022.xlsx",
          write_xlsx({"Resultat": funktionshinder_lines(src, 2022)}), written)
    own = [[float(c) if i == 6 and c else (int(c) if i == 4 and c.isdigit() else c) for i, c in enumerate(line)]
           if n else line for n, line in enumerate(own_reporting_lines(src, 2022))]
    write(SNAPSHOT / "egen_rapportering" / "Inmatning_export_2022.xlsx", write_xlsx({"Inmatning": own}), written)
    write(SNAPSHOT / "egen_rapportering" / "Inmatning_U11401_2022_made_up_sample.csv",
          csv_bytes(u11401_made_up_lines(src, 2022), delimiter=";", encoding="utf-8", newline="\n"), written)
    write_snapshot_readme(src, written)
    return written


def build_fixtures(src: Shared) -> list:
    written: list = []
    if FIXTURES.exists():
        shutil.rmtree(FIXTURES)
    good, bad = FIXTURES / "good", FIXTURES / "bad"

    insikt = insikt_lines(src, 2022, EXCERPT)
    write(good / "insikt" / "insikt_2022_excerpt_windows1252.csv",
          csv_bytes(insikt, delimiter=";", encoding="cp1252", newline="\r\n"), written)
    service = servicematningen_lines(src, 2022)
    kept = service[:4] + service[4:10]
    write(good / "servicematningen" / "servicematningen_2022_excerpt.csv",
          csv_bytes(kept, delimiter=";", encoding="utf-8-sig", newline="\n"), written)
    write(good / "servicematningen" / "servicematningen_2016_old_measures_made_up_sample.xlsx",
          write_xlsx({"Resultat": old_servicematningen_made_up(EXCERPT[:8], src.kommuner)}), written)
    ifo = ifo_grid(src, 2022, ["1490", "0180", "1480", "2580"], numeric_codes=True)
    write(good / "brukarundersokning_ifo" / "brukarundersokning_ifo_2022_excerpt.xlsx",
          write_xlsx({"Om undersökningen": ifo_about(), "Resultat": ifo}), written)
    fh = funktionshinder_lines(src, 2022, ["1490", "0180", "1480"])
    fh_text = [[decimal_point(c) if isinstance(c, float) else str(c) for c in line] for line in fh]
    write(good / "brukarundersokning_funktionshinder" / "brukarundersokning_funktionshinder_2022_excerpt.csv",
          csv_bytes(fh_text, delimiter=",", encoding="utf-8", newline="\n"), written)
    own = own_reporting_lines(src, 2022, EXCERPT[:6])
    write(good / "egen_rapportering" / "egen_rapportering_2022_excerpt.csv",
          csv_bytes(own, delimiter=",", encoding="utf-8", newline="\r\n"), written)
    u11401 = u11401_made_up_lines(src, 2022, EXCERPT)
    write(good / "egen_rapportering" / "egen_rapportering_U11401_2022_made_up_sample.csv",
          csv_bytes(u11401, delimiter=";", encoding="cp1252", newline="\r\n"), written)

    # ---- bad variants: one defect each
    header_at = insikt.index(["Kommunkod", "Kommun", "År", "Myndighetsområde", "NKI", "Antal svar"])
    no_nki = [line if i < header_at or len(line) < 6 else line[:4] + line[5:] for i, line in enumerate(insikt)]
    write(bad / "insikt" / "insikt_missing_column_nki.csv",
          csv_bytes(no_nki, delimiter=";", encoding="cp1252", newline="\r\n"), written)
    shifted = [line if i <= header_at or len(line) < 6 else line[:3] + [line[1]] + line[4:]
               for i, line in enumerate(insikt)]
    write(bad / "insikt" / "insikt_wrong_layout_too_many_bad_rows.csv",
          csv_bytes(shifted, delimiter=";", encoding="cp1252", newline="\r\n"), written)
    write(bad / "insikt" / "insikt_header_only.csv",
          csv_bytes(insikt[: header_at + 1], delimiter=";", encoding="cp1252", newline="\r\n"), written)
    write(bad / "insikt" / "insikt_undecodable.csv",
          csv_bytes(insikt[:header_at + 3], delimiter=";", encoding="cp1252", newline="\r\n")
          + b"0180;Stockholm;2022;Bygglov;\x81\x8d\x9d;\r\n", written)

    unknown = [list(line) for line in ifo]
    unknown[7][0] = 9999  # the third data row (header at index 4)
    write(bad / "brukarundersokning_ifo" / "ifo_unknown_municipality_code.xlsx",
          write_xlsx({"Om undersökningen": ifo_about(), "Resultat": unknown}), written)
    write(bad / "brukarundersokning_ifo" / "ifo_renamed_sheet.xlsx",
          write_xlsx({"Om undersökningen": ifo_about(), "Blad1": ifo}), written)
    over = [[decimal_comma(c) if isinstance(c, float) else str(c) for c in line] for line in ifo]
    over[10][6] = "104,5"
    write(bad / "brukarundersokning_ifo" / "ifo_share_over_100.csv",
          csv_bytes(over, delimiter=";", encoding="utf-8", newline="\n"), written)

    text = [list(line) for line in fh_text]
    text[6][6] = "sjuttiosju"
    write(bad / "brukarundersokning_funktionshinder" / "funktionshinder_text_in_number_column.csv",
          csv_bytes(text, delimiter=",", encoding="utf-8", newline="\n"), written)

    duplicated = own[:4] + [own[2]] + own[4:]  # an exact repeat of the second data row
    conflict = list(own[5])
    conflict[6] = decimal_point(float(conflict[6]) + 1)
    duplicated.append(conflict)  # the same kommun, KPI, year and gender as own[5], another value
    write(bad / "egen_rapportering" / "egen_rapportering_duplicate_rows.csv",
          csv_bytes(duplicated, delimiter=",", encoding="utf-8", newline="\r\n"), written)
    share = [list(line) for line in u11401]
    share[4][6] = "130"
    write(bad / "egen_rapportering" / "egen_rapportering_U11401_share_over_100_made_up_sample.csv",
          csv_bytes(share, delimiter=";", encoding="cp1252", newline="\r\n"), written)

    write(bad / "servicematningen" / "servicematningen_empty.csv", b"", written)
    write(bad / "servicematningen" / "servicematningen_no_header_row.csv",
          "Servicemätningen 2022\nResultaten publiceras i Kolada.\nSe skr.se för mer information.\n".encode(),
          written)
    (FIXTURES / "README.md").write_text(FIXTURES_README, encoding="utf-8")
    return written


FIXTURES_README = """# tests/fixtures/surveys — inbox test files

Written by `tools/build_survey_samples.py` (do not edit by hand). `good/<file_type>/` are files that land;
`bad/<file_type>/` have one defect each. Real values are Kolada's published per-kommun values
(`../shared/data/kolada/values.parquet`, "Källa: Kolada"), laid out as an export would be; files named
`*made_up_sample*` hold invented values (and a `Syntetisk` column).

| file | values | what it tests |
| --- | --- | --- |
| `good/insikt/insikt_2022_excerpt_windows1252.csv` | real (U07451, U07446–U07459; 2022; 10 kommuner) | Windows-1252, `;`, decimal comma, CRLF, title lines, footnote |
| `good/servicematningen/servicematningen_2022_excerpt.csv` | real (N00673, N00674; 2022) | UTF-8 with BOM, `;`, decimal comma, optional columns |
| `good/servicematningen/servicematningen_2016_old_measures_made_up_sample.xlsx` | made up | xlsx, the older share measures and telephone columns |
| `good/brukarundersokning_ifo/brukarundersokning_ifo_2022_excerpt.xlsx` | real (U30447–U30453, U31500–U31506; 2022) | xlsx with two sheets, kommunkod stored as numbers (leading zero lost) |
| `good/brukarundersokning_funktionshinder/brukarundersokning_funktionshinder_2022_excerpt.csv` | real (U28532–U28538, U28561, U28562, U28658; 2022) | UTF-8, `,`, decimal point |
| `good/egen_rapportering/egen_rapportering_2022_excerpt.csv` | real (U21401, U23401, U31402; 2022) | `,` with quoted titles containing commas |
| `good/egen_rapportering/egen_rapportering_U11401_2022_made_up_sample.csv` | made up | Windows-1252, synthetic marker |
| `bad/insikt/insikt_missing_column_nki.csv` | real | missing column → file rejected |
| `bad/insikt/insikt_wrong_layout_too_many_bad_rows.csv` | real | kommun names in the area column: every row bad → file rejected |
| `bad/insikt/insikt_header_only.csv` | real | header, no data rows → file rejected |
| `bad/insikt/insikt_undecodable.csv` | real + 3 bytes undefined in Windows-1252 | not UTF-8, not Windows-1252 → file rejected |
| `bad/brukarundersokning_ifo/ifo_unknown_municipality_code.xlsx` | real, one code set to 9999 | row to quarantine |
| `bad/brukarundersokning_ifo/ifo_renamed_sheet.xlsx` | real | sheet `Resultat` renamed `Blad1` → file rejected |
| `bad/brukarundersokning_ifo/ifo_share_over_100.csv` | real, one share set to 104,5 | row to quarantine |
| `bad/brukarundersokning_funktionshinder/funktionshinder_text_in_number_column.csv` | real, one share set to `sjuttiosju` | row to quarantine |
| `bad/egen_rapportering/egen_rapportering_duplicate_rows.csv` | real + an exact repeat + a conflicting row | repeat and both conflicting rows to quarantine |
| `bad/egen_rapportering/egen_rapportering_U11401_share_over_100_made_up_sample.csv` | made up, one value 130 | row rule (share ≤ 100) → quarantine |
| `bad/servicematningen/servicematningen_empty.csv` | – | empty file → rejected |
| `bad/servicematningen/servicematningen_no_header_row.csv` | – | no header row → rejected |
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data",
                        help="the shared data folder (default ../shared/data)")
    parser.add_argument("--no-fixtures", action="store_true", help="do not (re)write tests/fixtures/surveys")
    args = parser.parse_args(argv)
    src = Shared(args.shared)
    written = build_snapshot(src)
    if not args.no_fixtures:
        written += build_fixtures(src)
    for path, size in written:
        print(f"{path.relative_to(ROOT)}: {size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
