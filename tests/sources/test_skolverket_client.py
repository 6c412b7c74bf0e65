"""SkolverketClient and the Sök statistik parsers, on excerpts of the real export files.

Fixtures (``tests/fixtures/skolverket/``, see its README) are the real exports cut down to ten kommuner by
``tools/build_skolverket_snapshot.py``; every number checked below was looked up in the full real file named
in the comment. HTTP tests run against pytest-httpserver and against ``SkolverketApp`` behind
``SnapshotServer`` (the bundled snapshot, the same files in full).
"""

from __future__ import annotations

import dataclasses
import socket
import threading
from pathlib import Path

import pandas as pd
import pytest

from pipelines.snapshot.server import SnapshotServer
from pipelines.snapshot.skolverket_app import SkolverketApp
from pipelines.sources.http import SourceResponseError
from pipelines.sources.skolverket import (
    COLUMNS,
    EXPORTS,
    SkolverketClient,
    parse_export,
    parse_value,
    school_year_to_year,
    to_frame,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "skolverket"
SNAPSHOT = Path(__file__).resolve().parents[2] / "snapshot" / "skolverket"
FAST = {"max_retries": 2, "backoff_factor": 0, "calls_per_second": 1000, "timeout": (2, 5)}


def fixture_bytes(key: str) -> bytes:
    name = Path(EXPORTS[key].path).name.replace("_Kommun", "_Kommun_excerpt")
    return (FIXTURES / name).read_bytes()


def frame(key: str) -> pd.DataFrame:
    return to_frame(parse_export(EXPORTS[key], fixture_bytes(key), url=f"fixture:{key}"))


def one(df: pd.DataFrame, **where) -> pd.Series:
    sel = df
    for column, value in where.items():
        sel = sel[sel[column] == value]
    assert len(sel) == 1, f"{where}: {len(sel)} rows"
    return sel.iloc[0]


# ------------------------------------------------------------------------------------ values and years


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("83,2", (83.2, None)),
        ("4 102", (4102.0, None)),  # space thousands separator
        ("4\u00a0102", (4102.0, None)),  # nbsp
        ("3 919,8", (3919.8, None)),
        ("526708", (526708.0, None)),
        (224.5, (224.5, None)),  # xlsx numbers arrive as floats
        ("..", (None, "..")),
        (".", (None, ".")),
        ("~100", (None, "~100")),  # never 100: 1-4 pupils did not make it
        (" .. ", (None, "..")),
    ],
)
def test_parse_value(cell, expected):
    assert parse_value(cell) == expected


@pytest.mark.parametrize("cell", ["", "  ", "abc", "12,3,4", "1.234", "~95", "-", None, float("nan")])
def test_parse_value_rejects_anything_else(cell):
    with pytest.raises(ValueError):
        parse_value(cell)


def test_school_year_maps_to_the_year_it_ends():
    assert school_year_to_year("2015/16") == 2016
    assert school_year_to_year("2024/25") == 2025
    assert school_year_to_year("1999/00") == 2000
    for bad in ("2024/26", "2024-25", "2024"):
        with pytest.raises(ValueError):
            school_year_to_year(bad)


# ------------------------------------------------------------------------------- the real exports


def test_betygsresultat_over_tid_xlsx():
    df = frame("betygsresultat_over_tid_ak9")
    assert list(df.columns) == list(COLUMNS)
    assert set(df["huvudman"]) == {"samtliga", "kommunal", "enskild"}
    assert set(df["gender"]) == {"T"}  # the workbook has no gender split
    assert sorted(df["school_year"].unique()) == [f"{y}/{(y + 1) % 100:02d}" for y in range(2015, 2025)]
    assert sorted(df["year"].unique()) == list(range(2016, 2026))
    assert set(df["measure"]) >= {"meritvarde_17", "meritvarde_16", "andel_behoriga_yrkesprogram",
                                  "andel_godkand_alla_amnen", "antal_elever_avslutat_ak9"}
    # Grundskola_Jamforelse_av_betygsresultat_over_tid_2025_Kommun_Ak9.xlsx, sheet Samtliga, Ale (1440)
    ale = df[(df["municipality_id"] == "1440") & (df["huvudman"] == "samtliga")]
    assert one(ale, measure="meritvarde_17", school_year="2024/25")["value"] == 224.5
    assert one(ale, measure="meritvarde_17", school_year="2015/16")["value"] == 204.3
    assert one(ale, measure="meritvarde_17", year=2016)["school_year"] == "2015/16"
    assert one(ale, measure="meritvarde_16", school_year="2024/25")["value"] == 216.4
    assert one(ale, measure="andel_behoriga_yrkesprogram", school_year="2024/25")["value"] == 81.6
    assert one(ale, measure="antal_elever_avslutat_ak9", school_year="2024/25")["value"] == 434.0
    assert one(ale, measure="meritvarde_17", school_year="2024/25")["unit"] == "meritvarde"
    # sheet Kommunal, Ale: 223.7; sheet Enskild, Ale: yrkesprogram ~100 in 2024/25, a plain 100.0 in 2022/23
    assert one(df, municipality_id="1440", huvudman="kommunal", measure="meritvarde_17",
               school_year="2024/25")["value"] == 223.7
    tilde = one(df, municipality_id="1440", huvudman="enskild", measure="andel_behoriga_yrkesprogram",
                school_year="2024/25")
    assert pd.isna(tilde["value"]) and tilde["status"] == "~100"
    assert one(df, municipality_id="1440", huvudman="enskild", measure="andel_behoriga_yrkesprogram",
               school_year="2022/23")["value"] == 100.0
    # Övertorneå (2518) Samtliga: yrkesprogram 2022/23 '~100'; Överkalix (2513) Enskild meritvärde 2022/23 '..'
    assert one(df, municipality_id="2518", huvudman="samtliga", measure="andel_behoriga_yrkesprogram",
               school_year="2022/23")["status"] == "~100"
    dots = one(df, municipality_id="2513", huvudman="enskild", measure="meritvarde_17", school_year="2022/23")
    assert pd.isna(dots["value"]) and dots["status"] == ".."
    # Övertorneå Enskild 2017/18: '.' (no data)
    assert one(df, municipality_id="2518", huvudman="enskild", measure="meritvarde_17",
               school_year="2017/18")["status"] == "."
    # Alvesta keeps its leading zero (Kommunkod '0764' in the workbook)
    assert "0764" in set(df["municipality_id"])
    assert df["municipality_id"].str.fullmatch(r"\d{4}").all()


def test_markers_are_never_values():
    for key in EXPORTS:
        df = frame(key)
        marked = df[df["status"].notna()]
        assert marked["value"].isna().all(), key
        assert set(marked["status"]) <= {"..", ".", "~100"}
        assert df.loc[df["status"].isna(), "value"].notna().all(), key


def test_behorighet_csv_gender_and_huvudman():
    df = frame("behorighet_gymnasiet_ak9")
    assert set(df["gender"]) == {"T", "K", "M"}
    assert set(df["huvudman"]) == {"samtliga", "kommunal", "enskild"}
    assert set(df["school_year"]) == {"2024/25"} and set(df["year"]) == {2025}
    assert set(df["population"]) == {"lageskommun"}
    # Grundskola_Behorighet_till_gymnasieskolan_2024-25_Kommun.csv, lines 11-13 (Ale;1440;…;Samtliga;…)
    ale = df[(df["municipality_id"] == "1440") & (df["huvudman"] == "samtliga")]
    yrkes = ale[ale["measure"] == "andel_behoriga_yrkesprogram"].set_index("gender")["value"]
    assert yrkes.to_dict() == {"K": 83.2, "M": 80.0, "T": 81.6}
    antal = ale[ale["measure"] == "antal_elever_avslutat_ak9"].set_index("gender")["value"]
    assert antal["K"] + antal["M"] == antal["T"] == 434.0
    assert one(ale, measure="andel_behoriga_na_te", gender="K")["value"] == 79.0
    assert one(ale, measure="andel_behoriga_ek_hu_sa", gender="T")["value"] == 79.0
    assert one(ale, measure="andel_behoriga_estetiskt", gender="M")["value"] == 79.5
    # Aneby (0604): Samtliga Flickor '~100'; Enskild Pojkar antal '.'; Alingsås Enskild Flickor '..'
    aneby = one(df, municipality_id="0604", huvudman="samtliga", gender="K", measure="andel_behoriga_yrkesprogram")
    assert aneby["municipality_name"] == "Aneby" and aneby["status"] == "~100" and pd.isna(aneby["value"])
    assert one(df, municipality_id="0604", huvudman="enskild", gender="M",
               measure="antal_elever_avslutat_ak9")["status"] == "."
    assert one(df, municipality_id="1489", huvudman="enskild", gender="K",
               measure="andel_behoriga_yrkesprogram")["status"] == ".."
    assert one(df, municipality_id="1489", huvudman="enskild", gender="K",
               measure="andel_behoriga_na_te")["value"] == 81.4
    # Alvesta has no Enskild rows; codes keep their zero
    assert set(df.loc[df["municipality_id"] == "0764", "huvudman"]) == {"samtliga", "kommunal"}


def test_xlsx_and_csv_agree_where_they_overlap():
    """2024/25, gender T: the workbook and the eligibility CSV carry the same two measures."""
    keys = ["antal_elever_avslutat_ak9", "andel_behoriga_yrkesprogram"]
    a = frame("betygsresultat_over_tid_ak9")
    b = frame("behorighet_gymnasiet_ak9")
    a = a[(a["year"] == 2025) & a["measure"].isin(keys)]
    b = b[(b["gender"] == "T") & b["measure"].isin(keys)]
    merged = a.merge(b, on=["municipality_id", "huvudman", "measure"], suffixes=("_x", "_c"))
    assert len(merged) >= 40
    assert (merged["status_x"].fillna("") == merged["status_c"].fillna("")).all()
    both = merged[merged["value_x"].notna()]
    assert (both["value_x"] == both["value_c"]).all()


def test_betyg_ak6_csv():
    df = frame("betyg_ak6")
    # Grundskola_Betyg_ak6_andel_godkant_A-E_samtliga_2025_Kommun.csv, Ale rows
    assert one(df, municipality_id="1440", huvudman="samtliga", measure="andel_godkand_alla_amnen_ak6")["value"] == 75.7
    assert one(df, municipality_id="1440", huvudman="samtliga", measure="antal_amnesbetyg_ak6")["value"] == 17.1
    enskild = df[(df["municipality_id"] == "1440") & (df["huvudman"] == "enskild")].set_index("measure")
    assert enskild.loc["antal_elever_med_betyg_ak6", "value"] == 25.0
    assert enskild.loc["andel_godkand_alla_amnen_ak6", "status"] == "~100"
    assert enskild.loc["andel_ej_godkand_ett_amne_ak6", "status"] == ".."
    assert enskild.loc["andel_ej_godkand_flera_amnen_ak6", "status"] == "."
    assert set(df["gender"]) == {"T"}


def test_elever_per_arskurs_csv():
    df = frame("elever_per_arskurs")
    # Grundskola_Antal_elever_per_arskurs_2024_Kommun.csv: Borås Samtliga 1 300 in åk 1, 12 483 in åk 1-9
    boras = df[(df["municipality_id"] == "1490") & (df["huvudman"] == "samtliga")].set_index("measure")["value"]
    assert boras["antal_elever_ak1"] == 1300.0 and boras["antal_elever_ak1_9"] == 12483.0
    # Danderyd: international schools are a group of their own and inside Samtliga (3 167 + 880 + 303 = 4 350)
    dand = df[(df["municipality_id"] == "0162") & (df["measure"] == "antal_elever_ak1_9")].set_index("huvudman")["value"]
    assert dand.to_dict() == {"samtliga": 4350.0, "kommunal": 3167.0, "enskild": 880.0, "internationella_skolor": 303.0}
    assert set(df["school_year"]) == {"2024/25"}


def test_kostnader_csv():
    df = frame("kostnader")
    assert set(df["huvudman"]) == {"kommunal"} and set(df["population"]) == {"kommunal_huvudman"}
    assert df["school_year"].isna().all() and set(df["year"]) == {2024}  # "Valt år: 2024"
    # Grundskola_Kostnader_per_kommun_2024_Kommun.csv: Ale "Totalt" 526708 has no separator, "Undervisning" 302 227
    ale = df[df["municipality_id"] == "1440"].set_index("measure")
    assert ale.loc["kostnad_totalt", "value"] == 526708.0 and ale.loc["kostnad_totalt", "unit"] == "tkr"
    assert ale.loc["kostnad_undervisning", "value"] == 302227.0
    assert ale.loc["kostnad_per_elev", "value"] == 137600.0 and ale.loc["kostnad_per_elev", "unit"] == "kr"
    gbg = df[df["municipality_id"] == "1480"].set_index("measure")["value"]
    assert gbg["genomsnittligt_elevantal"] == 42649.0 and gbg["kostnad_undervisning"] == 3787623.0


def test_personal_csv_group_header():
    df = frame("personal_larlegitimation")
    # Grundskola_Personalstatistik_larlegitimation_behorighet_2024_Kommun.csv: the header repeats "Totalt antal"
    # under "#Heltidstjänster" and "#Tjänstgörande lärare"; Göteborg Samtliga 3 919,8 FTE and 4 381 teachers
    gbg = df[(df["municipality_id"] == "1480") & (df["huvudman"] == "samtliga")].set_index("measure")
    assert gbg.loc["larare_heltidstjanster", "value"] == 3919.8
    assert gbg.loc["larare_heltidstjanster", "source_label"] == "Heltidstjänster / Totalt antal"
    assert gbg.loc["larare_antal", "value"] == 4381.0
    assert gbg.loc["andel_larare_leg_beh", "value"] == 84.8
    assert one(df, municipality_id="2513", huvudman="enskild", measure="forstelarare_antal")["status"] == "."


# ------------------------------------------------------------------------------------ malformed files


def csv_text(key: str) -> str:
    return fixture_bytes(key).decode("utf-8-sig")


def test_html_instead_of_csv_or_xlsx():
    page = b"<!DOCTYPE html><html><body>Sidan kunde inte hittas</body></html>"
    for key in ("behorighet_gymnasiet_ak9", "betygsresultat_over_tid_ak9"):
        with pytest.raises(SourceResponseError, match="HTML page") as err:
            parse_export(EXPORTS[key], page, url="http://example.test/x")
        assert err.value.url == "http://example.test/x"
    # an HTML Content-Type is enough, whatever the body
    with pytest.raises(SourceResponseError, match="HTML"):
        parse_export(EXPORTS["kostnader"], fixture_bytes("kostnader"), url="u", content_type="text/html")


def test_missing_header_row():
    text = csv_text("kostnader").replace("Kommun;Kommunkod;", "Namn;Kommunkod;")
    with pytest.raises(SourceResponseError, match="no header row starting 'Kommun;'"):
        parse_export(EXPORTS["kostnader"], text.encode(), url="u")


def test_missing_expected_column():
    text = csv_text("behorighet_gymnasiet_ak9").replace(";Andel (%) elever behöriga till yrkesprog.;", ";Andel yrkes;")
    with pytest.raises(SourceResponseError, match="missing expected column 'Andel \\(%\\) elever behöriga"):
        parse_export(EXPORTS["behorighet_gymnasiet_ak9"], text.encode(), url="u")
    text = csv_text("kostnader").replace(";Typ av huvudman;", ";Huvudman;")
    with pytest.raises(SourceResponseError, match="missing expected column 'Typ av huvudman'"):
        parse_export(EXPORTS["kostnader"], text.encode(), url="u")


def test_wrong_export_at_the_url():
    with pytest.raises(SourceResponseError, match="title 'Grundskola - Kostnader per kommun' not found"):
        parse_export(EXPORTS["kostnader"], fixture_bytes("betyg_ak6"), url="u")


def test_truncated_csv():
    body = fixture_bytes("behorighet_gymnasiet_ak9")
    cut_mid_row = body[: body.index(b"Alings\xc3\xa5s;1489") + 30]
    with pytest.raises(SourceResponseError, match="fields where the header has 12"):
        parse_export(EXPORTS["behorighet_gymnasiet_ak9"], cut_mid_row, url="u")
    cut_at_line = body[: body.index(b"Alings\xc3\xa5s;1489")]
    with pytest.raises(SourceResponseError, match="truncated"):
        parse_export(EXPORTS["behorighet_gymnasiet_ak9"], cut_at_line, url="u")


def test_garbled_csv():
    body = fixture_bytes("betyg_ak6")
    with pytest.raises(SourceResponseError, match="not valid UTF-8"):
        parse_export(EXPORTS["betyg_ak6"], body.decode("utf-8-sig").encode("latin-1"), url="u")
    text = csv_text("betyg_ak6").replace(";445;17,1;75,7;", ";445;17,1;7x5;")
    with pytest.raises(SourceResponseError, match="column 'Andel \\(%\\) elever som fått godkänt betyg i alla ämnen'"):
        parse_export(EXPORTS["betyg_ak6"], text.encode(), url="u")
    text = csv_text("betyg_ak6").replace("Ale;1440;", "Ale;14x0;")
    with pytest.raises(SourceResponseError, match="not a kommun code"):
        parse_export(EXPORTS["betyg_ak6"], text.encode(), url="u")
    with pytest.raises(SourceResponseError, match="expected a CSV export, got a zip/xlsx"):
        parse_export(EXPORTS["betyg_ak6"], fixture_bytes("betygsresultat_over_tid_ak9"), url="u")


def test_bad_xlsx():
    spec = EXPORTS["betygsresultat_over_tid_ak9"]
    body = fixture_bytes("betygsresultat_over_tid_ak9")
    with pytest.raises(SourceResponseError, match="unreadable"):
        parse_export(spec, body[: len(body) // 2], url="u")
    with pytest.raises(SourceResponseError, match="expected an xlsx workbook"):
        parse_export(spec, fixture_bytes("kostnader"), url="u")
    missing_sheet = dataclasses.replace(spec, sheets={"Fristående": "enskild"})
    with pytest.raises(SourceResponseError, match="missing expected sheet 'Fristående'"):
        parse_export(missing_sheet, body, url="u")
    missing_task = dataclasses.replace(spec, measures={**spec.measures, "Andel (%) med examen": spec.measures[
        "Genomsnittligt meritvärde (17 ämnen)"]})
    with pytest.raises(SourceResponseError, match="missing expected Uppgift rows"):
        parse_export(missing_task, body, url="u")


# -------------------------------------------------------------------------------------------- HTTP


def test_html_page_over_http_names_the_url(httpserver):
    httpserver.expect_request("/skolverket/siris/x.csv").respond_with_data(
        "<html><body>Underhåll pågår</body></html>", content_type="text/html; charset=utf-8"
    )
    client = SkolverketClient(httpserver.url_for("/skolverket"), paths={"kostnader": "siris/x.csv"}, **FAST)
    with client, pytest.raises(SourceResponseError) as err:
        client.rows("kostnader")
    assert err.value.url == httpserver.url_for("/skolverket/siris/x.csv")
    assert "HTML page" in str(err.value) and err.value.url in str(err.value)


def test_500_then_success(httpserver):
    path = "/skolverket/" + EXPORTS["betyg_ak6"].path
    httpserver.expect_ordered_request(path).respond_with_data("boom", status=500)
    httpserver.expect_ordered_request(path).respond_with_data(
        fixture_bytes("betyg_ak6"), content_type="text/csv; charset=utf-8"
    )
    with SkolverketClient(httpserver.url_for("/skolverket"), **FAST) as client:
        page = client.fetch("betyg_ak6")
        assert client.request_count == 1 and client.retry_count == 1
    assert page.status == 200 and page.body == fixture_bytes("betyg_ak6")
    assert len(page.payload) == len(parse_export(EXPORTS["betyg_ak6"], fixture_bytes("betyg_ak6")))


def test_404_and_persistent_503(httpserver):
    httpserver.expect_request("/skolverket/missing.csv").respond_with_data("not here", status=404)
    httpserver.expect_request("/skolverket/busy.csv").respond_with_data("busy", status=502)
    client = SkolverketClient(httpserver.url_for("/skolverket"),
                              paths={"kostnader": "missing.csv", "betyg_ak6": "busy.csv"}, **FAST)
    with client:
        with pytest.raises(SourceResponseError, match="HTTP 404"):
            client.rows("kostnader")
        with pytest.raises(SourceResponseError, match="HTTP 502 after retries"):
            client.rows("betyg_ak6")


def test_absolute_path_override_and_accept_header(httpserver):
    httpserver.expect_request("/elsewhere/export", headers={"Accept": "text/csv, */*;q=0.5"}).respond_with_data(
        fixture_bytes("kostnader"), content_type="text/csv"
    )
    url = httpserver.url_for("/elsewhere/export")
    with SkolverketClient("http://unused.invalid", paths={"kostnader": url}, **FAST) as client:
        assert client.url("kostnader") == url
        assert len(client.rows("kostnader")) == 10 * 10  # ten kommuner × ten cost measures
    with pytest.raises(KeyError, match="unknown Skolverket export"):
        SkolverketClient("http://x", paths={"nope": "a.csv"})


def test_body_cut_off_mid_transfer():
    """A server that promises 100 000 bytes and closes after 40: a truncated download, never parsed."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]

    def serve() -> None:
        for _ in range(3):  # the first try and up to two retries
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nContent-Length: 100000\r\n\r\n"
                             + fixture_bytes("kostnader")[:40])

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        client = SkolverketClient(f"http://127.0.0.1:{port}", **FAST)
        with client, pytest.raises(SourceResponseError, match="no complete answer"):
            client.rows("kostnader")
    finally:
        listener.close()


def test_connection_refused_is_a_source_error():
    client = SkolverketClient("http://127.0.0.1:9", **FAST)  # discard port: nothing listens
    with client, pytest.raises(SourceResponseError, match="no complete answer"):
        client.rows("kostnader")


def test_client_against_the_snapshot_server():
    with (SnapshotServer([SkolverketApp()]) as server,
          SkolverketClient(server.source_url("skolverket"), calls_per_second=1000) as client):
        pages = {key: client.fetch(key) for key in EXPORTS}
        df = client.frame(["behorighet_gymnasiet_ak9", "kostnader"])
    for key, page in pages.items():
        assert page.body == (SNAPSHOT / EXPORTS[key].path).read_bytes(), key
    counts = {key: len(page.payload) for key, page in pages.items()}
    assert counts == {
        "betygsresultat_over_tid_ak9": 64710,  # (290 + 290 + 139 kommuner) × 9 Uppgift × 10 school years
        "behorighet_gymnasiet_ak9": 10695,  # 2139 rows × 5 measures
        "betyg_ak6": 3805,
        "elever_per_arskurs": 10114,
        "kostnader": 2900,
        "personal_larlegitimation": 6152,
    }
    xlsx = to_frame(pages["betygsresultat_over_tid_ak9"].payload)
    assert xlsx[xlsx["huvudman"] == "samtliga"]["municipality_id"].nunique() == 290
    # Grundskola_Jamforelse_…_Ak9.xlsx, sheet Samtliga, last row: Övertorneå (2518) meritvärde 17 2024/25 = 197.9
    assert one(xlsx, municipality_id="2518", huvudman="samtliga", measure="meritvarde_17",
               school_year="2024/25")["value"] == 197.9
    assert set(df["export"]) == {"behorighet_gymnasiet_ak9", "kostnader"}
    assert len(df) == 10695 + 2900
