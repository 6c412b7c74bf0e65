"""Reading files as published: encodings, delimiters, decimal commas, title lines above the header, sheets."""

from __future__ import annotations

import codecs

import pytest

from pipelines.inbox import InboxFileRejected, load_schemas
from pipelines.inbox.readers import read_bytes
from pipelines.inbox.validate import CellError, parse_municipality, parse_number

SCHEMAS = load_schemas()
INSIKT = SCHEMAS["insikt"]
TEXT = "Insikt 2022 – NKI\nKälla: SKR\n\nKommunkod;Kommun;År;Myndighetsområde;NKI;Antal svar\n0180;Stockholm;2022;Miljö- och hälsoskydd;72,5;31\n"


@pytest.mark.parametrize("encoding, prefix", [("utf-8", b""), ("utf-8", codecs.BOM_UTF8), ("cp1252", b""),
                                              ("utf-16", b"")])
def test_encodings_are_detected(encoding, prefix):
    parsed = read_bytes(prefix + TEXT.encode(encoding), INSIKT, file_name="a.csv")
    assert parsed.rows[0][1][3] == "Miljö- och hälsoskydd"
    assert parsed.header_row == 4  # the title lines above are skipped
    assert parsed.encoding == {"utf-8": "utf-8-sig" if prefix else "utf-8", "cp1252": "windows-1252",
                               "utf-16": "utf-16"}[encoding]


@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
def test_delimiter_is_the_one_that_finds_the_header(delimiter):
    text = TEXT.replace(";", delimiter).replace("72,5", '"72,5"' if delimiter == "," else "72,5")
    parsed = read_bytes(text.encode(), INSIKT, file_name="a.csv")
    assert parsed.delimiter == delimiter
    assert parsed.columns["nki"] == 4 and parsed.rows[0][1][4] == "72,5"


def test_header_aliases_ignore_case_spacing_and_dashes():
    text = "kommunkod ; KOMMUN;år;Myndighetsområde:;Nöjd\u00a0Kund\u2013Index;antal  svar\n0180;Stockholm;2022;Bygglov;70;20\n"
    text = text.replace("Nöjd\u00a0Kund\u2013Index", "Nöjd-Kund-Index")
    parsed = read_bytes(text.encode(), INSIKT, file_name="a.csv")
    assert set(parsed.columns) == {"municipality_id", "municipality_name", "year", "area", "nki", "respondents"}


def test_footnotes_after_a_blank_line_are_not_data():
    parsed = read_bytes((TEXT + "\nKälla: SKR Insikt\nNot: minst 7 svar\n").encode(), INSIKT, file_name="a.csv")
    assert len(parsed.rows) == 1 and parsed.footnote_rows == 2


def test_extra_columns_are_ignored_and_reported():
    text = "Kommunkod;Kommun;Län;År;Myndighetsområde;NKI;Antal svar\n0180;Stockholm;Stockholms län;2022;Bygglov;70;20\n"
    assert read_bytes(text.encode(), INSIKT, file_name="a.csv").ignored_columns == ["Län"]


def test_a_column_given_twice_rejects_the_file():
    text = "Kommunkod;Kommun;År;Myndighetsområde;NKI;Nöjd Kund Index;Antal svar\n0180;S;2022;Bygglov;70;71;20\n"
    with pytest.raises(InboxFileRejected, match="appears more than once"):
        read_bytes(text.encode(), INSIKT, file_name="a.csv")


def test_a_text_file_named_xlsx_is_rejected():
    with pytest.raises(InboxFileRejected, match=r"named \.xlsx but not a workbook") as err:
        read_bytes(TEXT.encode(), INSIKT, file_name="insikt/a.xlsx", suffix=".xlsx")
    assert err.value.file == "insikt/a.xlsx"


def test_a_corrupt_workbook_is_rejected():
    with pytest.raises(InboxFileRejected, match="the workbook is truncated or corrupt: not a complete zip archive"):
        read_bytes(b"PK\x03\x04" + b"\x00" * 50, INSIKT, file_name="a.xlsx", suffix=".xlsx")


@pytest.mark.parametrize("cell, expected", [
    ("72,5", (72.5, None)), ("72.5", (72.5, None)), ("1 234,5", (1234.5, None)), ("1\u00a0234", (1234.0, None)),
    ("85 %", (85.0, None)), (" 7 ", (7.0, None)), (72, (72.0, None)), (72.25, (72.25, None)), ("", (None, None)),
    (None, (None, None)), ("..", (None, "..")), ("-", (None, "-")),
])
def test_numbers_with_decimal_comma_spaces_and_markers(cell, expected):
    assert parse_number(cell, ("..", "-")) == expected


@pytest.mark.parametrize("cell", ["sjuttio", "7,5,1", "12a", True])
def test_text_is_not_a_number(cell):
    with pytest.raises(CellError, match="not a number"):
        parse_number(cell, ("..",))


@pytest.mark.parametrize("cell, code", [("0180", "0180"), (180, "0180"), (180.0, "0180"), ("180", "0180"),
                                        ("0180 Stockholm", "0180"), (" 1490 ", "1490")])
def test_municipality_codes_keep_or_regain_the_leading_zero(cell, code, municipality_ids):
    assert parse_municipality(cell, municipality_ids) == code


@pytest.mark.parametrize("cell, message", [("9999", "unknown municipality code '9999'"),
                                           ("Stockholm", "not a four-digit municipality code"),
                                           (180.5, "not a four-digit municipality code")])
def test_bad_municipality_codes(cell, message, municipality_ids):
    with pytest.raises(CellError, match=message):
        parse_municipality(cell, municipality_ids)
