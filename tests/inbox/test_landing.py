"""Landing the inbox: every file type with real numbers, every bad input, the hash, the transaction,
and the promise that nothing a user dropped is deleted."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from pipelines.inbox import (
    InboxFileRejected,
    create_raw_tables,
    find_new_files,
    land_inbox,
    landing,
    load_schemas,
    municipality_ids_from_warehouse,
)
from pipelines.inbox.readers import read_table
from pipelines.inbox.validate import validate_rows
from tests.inbox.conftest import FIXTURES, query

GOOD = sorted(p.relative_to(FIXTURES).as_posix() for p in (FIXTURES / "good").rglob("*") if p.is_file())
SCHEMAS = load_schemas()


def land(inbox, tmp_path, ids, **kw):
    return land_inbox(inbox, tmp_path / "warehouse.duckdb", municipality_ids=ids, **kw)


def raw(tmp_path, sql, params=None):
    return query(tmp_path / "warehouse.duckdb", sql, params)


# ------------------------------------------------------------------------------------- every file type


@pytest.fixture(scope="module")
def good_landed(tmp_path_factory, municipality_ids):
    """Every good fixture landed once for the tests of this section (they only read)."""
    tmp_path = tmp_path_factory.mktemp("good")
    for fixture in GOOD:
        target = tmp_path / "inbox" / fixture.split("/", 1)[1]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / fixture, target)
    return land(tmp_path / "inbox", tmp_path, municipality_ids), tmp_path


def test_every_good_file_is_accepted_whole(good_landed):
    summary, tmp_path = good_landed
    assert len(summary.accepted) == len(GOOD) == 7
    assert summary.rejected == [] and summary.rows_quarantined == 0
    registry = raw(tmp_path, "select file_name, status, rows_landed, data_rows, rows_quarantined from raw.inbox_files")
    assert all(status == "accepted" and landed == rows and bad == 0 for _, status, landed, rows, bad in registry)


def test_insikt_windows1252_csv_lands_real_nki(good_landed):
    _, tmp_path = good_landed
    rows = raw(tmp_path, "select municipality_id, municipality_name, year, area, nki, respondents, sheet, row_number, "
                         "file_name from raw.inbox__insikt where municipality_id in ('0180', '0114') order by row_number")
    # Kolada's real NKI (U07451 Totalt, U07449 miljö- och hälsoskydd), 2022
    assert rows[0] == ("0114", "Upplands Väsby", 2022, "Totalt", 78.70306161, None, None, 6,
                       "insikt/insikt_2022_excerpt_windows1252.csv")
    assert ("0114", "Miljö- och hälsoskydd", 73.99177754) in {(r[0], r[3], r[4]) for r in rows}
    assert ("0180", "Totalt", 75.50292909) in {(r[0], r[3], r[4]) for r in rows}
    assert raw(tmp_path, "select encoding, delimiter, header_row from raw.inbox_files where file_type = 'insikt'") == [
        ("windows-1252", ";", 5)]


def test_servicematningen_lands_real_email_indices_and_made_up_old_measures(good_landed):
    _, tmp_path = good_landed
    real = raw(tmp_path, "select epost_tydlighet_index, epost_enkelhet_index, telefon_bemotande_index, is_synthetic "
                         "from raw.inbox__servicematningen where municipality_id = '0123'")
    assert real == [(79.5, 76.375, None, False)]  # Järfälla 2022, Kolada N00673 / N00674
    old = raw(tmp_path, "select count(*), bool_and(is_synthetic), min(year), count(epost_svar_inom_tva_dagar_andel), "
                        "count(telefon_antal_svar), any_value(sheet) from raw.inbox__servicematningen where year = 2016")
    assert old == [(8, True, 2016, 8, 8, "Resultat")]


def test_ifo_xlsx_lands_real_shares_by_gender_with_numeric_codes_padded(good_landed):
    _, tmp_path = good_landed
    rows = dict(raw(
        tmp_path, "select gender, share from raw.inbox__brukarundersokning_ifo where municipality_id = '1490' "
                  "and area = 'Individ- och familjeomsorg totalt' and question = 'Få kontakt'"))
    assert rows == {"K": 89.55223881, "M": 93.22033898, "T": 91.47286822}  # Borås 2022, Kolada U30447
    assert raw(tmp_path, "select distinct sheet from raw.inbox__brukarundersokning_ifo") == [("Resultat",)]


def test_funktionshinder_comma_csv_lands_real_shares(good_landed):
    _, tmp_path = good_landed
    assert raw(tmp_path, "select gender, share from raw.inbox__brukarundersokning_funktionshinder where "
                         "municipality_id = '1490' and question = 'Brukaren får bestämma om saker som är viktiga' "
                         "order by gender") == [("K", 79.0), ("M", 78.0), ("T", 77.0)]  # Kolada U28532, Borås 2022


def test_own_reporting_lands_real_and_made_up_values(good_landed):
    _, tmp_path = good_landed
    rows = raw(tmp_path, "select kpi_id, gender, value, is_synthetic from raw.inbox__egen_rapportering "
                         "where municipality_id = '0114' order by kpi_id, gender")
    assert ("U21401", "T", 12.0, False) in rows and ("U23401", "K", 47.0, False) in rows  # Kolada, 2022
    made_up = [r for r in rows if r[0] == "U11401"]
    assert made_up == [("U11401", "K", 92.2, True), ("U11401", "M", 92.6, True), ("U11401", "T", 92.5, True)]
    assert raw(tmp_path, "select numerator, denominator from raw.inbox__egen_rapportering where kpi_id = 'U11401' "
                         "and municipality_id = '0114' and gender = 'T'") == [(297.0, 321.0)]


# ---------------------------------------------------------------------------------------- bad files

REJECTED = [
    ("bad/insikt/insikt_missing_column_nki.csv", None, 5, "NKI", "missing column 'NKI'"),
    ("bad/brukarundersokning_ifo/ifo_renamed_sheet.xlsx", "Om undersökningen, Blad1", None, None,
     "no sheet with an accepted name ('Resultat'"),
    ("bad/servicematningen/servicematningen_empty.csv", None, None, None, "the file is empty (0 bytes)"),
    ("bad/servicematningen/servicematningen_no_header_row.csv", None, "1–30", None, "no header row found"),
    ("bad/insikt/insikt_header_only.csv", None, 6, None, "no data rows below the header (row 5)"),
    ("bad/insikt/insikt_undecodable.csv", None, 8, None, "cannot decode the text (neither UTF-8 nor Windows-1252)"),
    ("bad/insikt/insikt_wrong_layout_too_many_bad_rows.csv", None, 6, "Myndighetsområde",
     "55 of 55 data rows (100%) have problems, more than the 20% the schema allows"),
]


@pytest.mark.parametrize("fixture, sheet, row, column, problem", REJECTED, ids=[r[0].split("/")[-1] for r in REJECTED])
def test_file_level_problems_reject_the_whole_file_naming_file_sheet_row_column(
        fixture, sheet, row, column, problem, make_inbox, tmp_path, municipality_ids):
    inbox = make_inbox(fixture)
    name = "/".join(fixture.split("/")[1:])
    schema = SCHEMAS[fixture.split("/")[1]]
    with pytest.raises(InboxFileRejected) as err:
        validate_rows(read_table(inbox / name, schema, file_name=name), schema, municipality_ids)
    assert (err.value.file, err.value.sheet, err.value.row, err.value.column) == (name, sheet, row, column)
    dash = "–"
    expected_where = (f"file {name!r}, sheet {dash if sheet is None else repr(sheet)}, row {dash if row is None else row}, "
                      f"column {dash if column is None else repr(column)}: ")
    assert str(err.value).startswith(expected_where) and problem in str(err.value)

    summary = land(inbox, tmp_path, municipality_ids)
    assert [(f.status, f.reason) for f in summary.files] == [("rejected", str(err.value))]
    table = SCHEMAS[fixture.split("/")[1]].table
    assert raw(tmp_path, f"select count(*) from {table}") == [(0,)]
    assert raw(tmp_path, "select status, reason, rows_landed from raw.inbox_files") == [("rejected", str(err.value), 0)]


def test_too_many_bad_rows_still_lists_every_problem_in_quarantine(make_inbox, tmp_path, municipality_ids):
    land(make_inbox("bad/insikt/insikt_wrong_layout_too_many_bad_rows.csv"), tmp_path, municipality_ids)
    rows = raw(tmp_path, "select count(*), count(distinct row_number), any_value(file_status), any_value(column_name) "
                         "from raw.inbox_quarantine")
    assert rows == [(55, 55, "rejected", "Myndighetsområde")]
    assert raw(tmp_path, "select rows_quarantined from raw.inbox_files") == [(55,)]


QUARANTINED = [
    ("bad/brukarundersokning_ifo/ifo_unknown_municipality_code.xlsx", "Resultat", 8, "Kommunkod", "9999",
     "unknown municipality code '9999' (not in Kolada's municipality list)", "unknown_municipality"),
    ("bad/brukarundersokning_funktionshinder/funktionshinder_text_in_number_column.csv", None, 7,
     "Andel positiva svar (%)", "sjuttiosju", "'sjuttiosju' is not a number", "not_a_number"),
    ("bad/brukarundersokning_ifo/ifo_share_over_100.csv", None, 11, "Andel positiva svar (%)", "104,5",
     "104.5 is outside 0–100", "out_of_range"),
    ("bad/egen_rapportering/egen_rapportering_U11401_share_over_100_made_up_sample.csv", None, 5, "Värde", "130",
     "130 is outside 0–100: a share (%) must lie within 0–100", "out_of_range"),
]


@pytest.mark.parametrize("fixture, sheet, row, column, value, reason, reason_code", QUARANTINED,
                         ids=[q[0].split("/")[-1] for q in QUARANTINED])
def test_row_level_problems_send_the_row_to_quarantine_and_the_rest_lands(
        fixture, sheet, row, column, value, reason, reason_code, make_inbox, tmp_path, municipality_ids):
    inbox = make_inbox(fixture)
    name = "/".join(fixture.split("/")[1:])
    schema = SCHEMAS[fixture.split("/")[1]]
    data_rows = len(read_table(inbox / name, schema, file_name=name).rows)

    summary = land(inbox, tmp_path, municipality_ids)
    [outcome] = summary.files
    assert (outcome.status, outcome.rows_landed, outcome.rows_quarantined) == ("accepted", data_rows - 1, 1)
    dash = "–"
    where = f"file {name!r}, sheet {dash if sheet is None else repr(sheet)}, row {row}, column {column!r}"
    assert raw(tmp_path, "select file_name, file_status, sheet, row_number, column_name, value, reason, reason_code "
                         "from raw.inbox_quarantine") == [(name, "accepted", sheet, row, column, value,
                                                          f"{where}: {reason}", reason_code)]
    assert raw(tmp_path, f"select count(*) from {schema.table} where row_number = ?", [row]) == [(0,)]
    assert raw(tmp_path, f"select count(*) from {schema.table}") == [(data_rows - 1,)]


def test_duplicate_rows_repeat_and_conflict(make_inbox, tmp_path, municipality_ids):
    summary = land(make_inbox("bad/egen_rapportering/egen_rapportering_duplicate_rows.csv"), tmp_path, municipality_ids)
    assert (summary.rows_landed, summary.rows_quarantined) == (31, 3)
    rows = raw(tmp_path, "select row_number, column_name, reason, reason_code from raw.inbox_quarantine "
                         "order by row_number")
    assert [(r[0], r[3]) for r in rows] == [(5, "duplicate_row"), (7, "conflicting_rows"), (35, "conflicting_rows")]
    assert rows[0][1] == "Kommunkod, Nyckeltal, År, Kön"
    assert rows[0][2].endswith("duplicate row: the same as row 3")  # the repeat goes, the first copy stays
    assert rows[1][2].endswith("rows 7, 35 have the same Kommunkod, Nyckeltal, År, Kön but different values")
    assert raw(tmp_path, "select count(*) from raw.inbox__egen_rapportering where row_number in (3, 7, 35)") == [(1,)]


def test_too_many_bad_rows_threshold_is_the_schemas(make_inbox, tmp_path, municipality_ids):
    """Two bad rows of six (33 %) reject a file under a 20 % threshold, not under a 50 % one."""
    inbox = make_inbox("good/servicematningen/servicematningen_2022_excerpt.csv")
    path = inbox / "servicematningen" / "servicematningen_2022_excerpt.csv"
    text = path.read_text(encoding="utf-8-sig").replace("0115;", "9115;").replace("0123;", "9123;")
    path.write_text(text, encoding="utf-8-sig")
    schema = SCHEMAS["servicematningen"]
    parsed = read_table(path, schema, file_name="s.csv")
    with pytest.raises(InboxFileRejected, match=r"2 of 6 data rows \(33%\)"):
        validate_rows(parsed, schema, municipality_ids)
    relaxed = schema.__class__(**{**schema.__dict__, "max_bad_row_share": 0.5})
    assert len(validate_rows(parsed, relaxed, municipality_ids).rows) == 4


# ------------------------------------------------------------------------------- identity, transaction


def test_the_same_file_twice_is_loaded_once(make_inbox, tmp_path, municipality_ids):
    inbox = make_inbox("good/insikt/insikt_2022_excerpt_windows1252.csv")
    first = land(inbox, tmp_path, municipality_ids)
    again = land(inbox, tmp_path, municipality_ids)
    assert [f.status for f in first.files] == ["accepted"] and [f.status for f in again.files] == ["skipped"]
    assert again.files[0].reason == f"already processed in load {first.load_id}"
    # the same bytes under another name, dropped later: still the same file
    shutil.copyfile(inbox / "insikt" / "insikt_2022_excerpt_windows1252.csv", inbox / "insikt" / "kopia av insikt.csv")
    third = land(inbox, tmp_path, municipality_ids)
    assert sorted(f.status for f in third.files) == ["skipped", "skipped"]
    assert raw(tmp_path, "select count(*) from raw.inbox__insikt") == [(55,)]
    assert raw(tmp_path, "select count(*) from raw.inbox_files") == [(1,)]


def test_two_copies_in_one_drop_are_loaded_once(make_inbox, tmp_path, municipality_ids):
    inbox = make_inbox("good/insikt/insikt_2022_excerpt_windows1252.csv")
    shutil.copyfile(inbox / "insikt" / "insikt_2022_excerpt_windows1252.csv", inbox / "insikt" / "z_copy.csv")
    summary = land(inbox, tmp_path, municipality_ids)
    assert [(f.file_name, f.status) for f in summary.files] == [
        ("insikt/insikt_2022_excerpt_windows1252.csv", "accepted"), ("insikt/z_copy.csv", "skipped")]
    assert "as 'insikt/insikt_2022_excerpt_windows1252.csv'" in summary.files[1].reason


def test_a_rejected_file_is_not_retried_until_its_content_changes(make_inbox, tmp_path, municipality_ids):
    inbox = make_inbox("bad/insikt/insikt_missing_column_nki.csv")
    path = inbox / "insikt" / "insikt_missing_column_nki.csv"
    assert land(inbox, tmp_path, municipality_ids).files[0].status == "rejected"
    assert land(inbox, tmp_path, municipality_ids).files[0].status == "skipped"
    path.write_bytes((FIXTURES / "good" / "insikt" / "insikt_2022_excerpt_windows1252.csv").read_bytes())  # fixed
    fixed = land(inbox, tmp_path, municipality_ids)
    assert [(f.status, f.rows_landed) for f in fixed.files] == [("accepted", 55)]
    assert raw(tmp_path, "select status from raw.inbox_files order by landed_at") == [("rejected",), ("accepted",)]


def test_nothing_the_user_dropped_is_deleted_moved_or_changed(make_inbox, tmp_path, municipality_ids):
    bad = sorted(p.relative_to(FIXTURES).as_posix() for p in (FIXTURES / "bad").rglob("*") if p.is_file())
    inbox = make_inbox(*GOOD, *bad)
    (inbox / "insikt" / "~$open_in_excel.xlsx").write_bytes(b"lock")  # Excel's lock file: ignored, kept
    (inbox / "okänd_mapp").mkdir()
    (inbox / "okänd_mapp" / "x.csv").write_text("a;b\n")
    (inbox / "stray.csv").write_text("a;b\n")  # not in a file type's folder
    (inbox / "README.md").write_text("what goes where\n")  # documentation, not a misplaced data file

    def state():
        return {p.relative_to(inbox).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
                for p in inbox.rglob("*") if p.is_file()}

    before = state()
    summary = land(inbox, tmp_path, municipality_ids, raw_dir=tmp_path / "raw")
    land(inbox, tmp_path, municipality_ids)
    assert state() == before
    assert len(summary.files) == len(GOOD) + len(bad)
    assert summary.unknown_folders == ["okänd_mapp"] and summary.stray_files == ["stray.csv"]
    assert summary.ignored() == "folder okänd_mapp/ (no such file type); stray.csv (not in a file type's folder)"


def test_a_failed_write_leaves_nothing_of_that_file(make_inbox, tmp_path, municipality_ids, monkeypatch):
    """Rows, quarantine and registry commit together: a failure in the middle leaves no trace of the file."""
    from pipelines.inbox import landing

    create_raw_tables(tmp_path / "warehouse.duckdb")
    monkeypatch.setattr(landing, "REGISTRY", "raw.no_such_table")
    with pytest.raises(Exception, match="no_such_table"):
        land(make_inbox("bad/brukarundersokning_ifo/ifo_share_over_100.csv"), tmp_path, municipality_ids)
    monkeypatch.undo()
    assert raw(tmp_path, "select count(*) from raw.inbox__brukarundersokning_ifo") == [(0,)]
    assert raw(tmp_path, "select count(*) from raw.inbox_quarantine") == [(0,)]
    assert raw(tmp_path, "select count(*) from raw.inbox_files") == [(0,)]


def test_an_empty_inbox_creates_the_empty_raw_tables(tmp_path, municipality_ids):
    summary = land(tmp_path / "no_inbox_yet", tmp_path, municipality_ids)
    assert summary.files == []
    tables = dict(raw(tmp_path, "select table_name, estimated_size from duckdb_tables() where schema_name = 'raw'"))
    assert set(tables) == {f"inbox__{t}" for t in SCHEMAS} | {"inbox_files", "inbox_quarantine"}
    for file_type, schema in SCHEMAS.items():
        assert raw(tmp_path, f"select count(*) from {schema.table}") == [(0,)]
        columns = [c for (c,) in raw(tmp_path, "select column_name from information_schema.columns where "
                                               "table_schema = 'raw' and table_name = ? order by ordinal_position",
                                     [f"inbox__{file_type}"])]
        assert columns == [c for c, _ in schema.raw_columns()]


def test_find_new_files_for_a_sensor(make_inbox, tmp_path, municipality_ids):
    inbox = make_inbox("good/insikt/insikt_2022_excerpt_windows1252.csv",
                       "good/servicematningen/servicematningen_2022_excerpt.csv")
    db = tmp_path / "warehouse.duckdb"
    assert [p.name for p in find_new_files(inbox, db)] == ["insikt_2022_excerpt_windows1252.csv",
                                                           "servicematningen_2022_excerpt.csv"]
    land(inbox, tmp_path, municipality_ids)
    assert find_new_files(inbox, db) == []
    shutil.copyfile(FIXTURES / "bad" / "servicematningen" / "servicematningen_empty.csv",
                    inbox / "servicematningen" / "tom.csv")
    assert [p.name for p in find_new_files(inbox, db)] == ["tom.csv"]


def test_raw_copies_keep_the_exact_bytes_with_a_manifest(make_inbox, tmp_path, municipality_ids):
    inbox = make_inbox("good/insikt/insikt_2022_excerpt_windows1252.csv", "bad/servicematningen/servicematningen_empty.csv")
    summary = land(inbox, tmp_path, municipality_ids, raw_dir=tmp_path / "raw", load_id="L1")
    root = tmp_path / "raw" / "inbox" / "L1"
    manifest = [json.loads(line) for line in (root / "manifest.jsonl").read_text().splitlines()]
    assert [m["file"] for m in manifest] == [f.file_name for f in summary.files]
    for entry in manifest:
        assert hashlib.sha256((root / entry["file"]).read_bytes()).hexdigest() == entry["sha256"]
    assert (root / "_SUCCESS").exists()
    assert raw(tmp_path, "select distinct load_id from raw.inbox__insikt") == [("L1",)]


def test_municipality_ids_from_the_latest_kolada_load(tmp_path):
    import duckdb

    db = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(db))
    con.execute("create schema raw; create table raw.kolada__municipality (load_id varchar, record json)")
    con.execute("""insert into raw.kolada__municipality values ('L1', '{"id": "0180"}'), ('L1', '{"id": "9999"}'),
                   ('L2', '{"id": "0180", "title": "Stockholm"}'), ('L2', '{"id": "1490"}')""")
    con.close()
    assert municipality_ids_from_warehouse(db) == {"0180", "1490"}


def test_a_quarantine_from_before_reason_code_gains_the_column(tmp_path, make_inbox, municipality_ids):
    """Warehouses created before ``reason_code`` existed get the column; their old rows keep NULL."""
    import duckdb

    db = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(db))
    con.execute("create schema raw")
    con.execute(landing.QUARANTINE_DDL.replace(" reason_code varchar,", ""))
    con.execute("insert into raw.inbox_quarantine (load_id, file_sha256, file_type, file_name, file_status, reason, "
                "quarantined_at) values ('L0', 'abc', 'insikt', 'insikt/old.csv', 'accepted', 'old reason', now())")
    con.close()
    land(make_inbox("bad/brukarundersokning_ifo/ifo_unknown_municipality_code.xlsx"), tmp_path, municipality_ids)
    assert raw(tmp_path, "select load_id = 'L0', reason_code from raw.inbox_quarantine order by quarantined_at") == [
        (True, None), (False, "unknown_municipality")]


def test_a_missing_empty_or_other_inbox_folder_names_the_folder_earlier_loads_read(make_inbox, tmp_path, municipality_ids,
                                                                     monkeypatch):
    """A mistyped KKIK_INBOX_DIR (or an empty mount point) would pass for an empty inbox, and another folder's
    files of the same names are new versions of the last load's: the banner says so, naming the folder the
    warehouse's last load landed files from."""
    from pipelines.config import Settings
    from pipelines.load_command import banner

    inbox = make_inbox("good/insikt/insikt_2022_excerpt_windows1252.csv")
    db = tmp_path / "warehouse.duckdb"
    land_inbox(inbox, db, municipality_ids=municipality_ids, load_id="first")
    monkeypatch.setenv("KKIK_DUCKDB_PATH", str(db))
    monkeypatch.setenv("KKIK_INBOX_DIR", str(tmp_path / "inbxo"))
    (line,) = [line for line in banner([2022], Settings.from_env(), tmp_path / "kkik.log") if "inbox:" in line]
    assert line.endswith(f"inbxo  (folder missing: no files to land; earlier loads read {inbox.resolve()}: "
                         "check KKIK_INBOX_DIR)")
    (tmp_path / "inbxo" / "insikt").mkdir(parents=True)  # there, but empty (an unmounted share, say)
    (line,) = [line for line in banner([2022], Settings.from_env(), tmp_path / "kkik.log") if "inbox:" in line]
    assert line.endswith(f"inbxo  (empty: no files to land; earlier loads read {inbox.resolve()}: check "
                         "KKIK_INBOX_DIR)")
    other = make_inbox("good/insikt/insikt_2022_excerpt_windows1252.csv", name="other")  # files, another folder
    monkeypatch.setenv("KKIK_INBOX_DIR", str(other))
    (line,) = [line for line in banner([2022], Settings.from_env(), tmp_path / "kkik.log") if "inbox:" in line]
    assert line.endswith(f"other  (the last load read {inbox.resolve()}: a file here under a name of a file there "
                         "is a new version of it)")
    monkeypatch.setenv("KKIK_INBOX_DIR", str(inbox))  # the folder the last load read: nothing to add
    (line,) = [line for line in banner([2022], Settings.from_env(), tmp_path / "kkik.log") if "inbox:" in line]
    assert line.endswith(f"{inbox}")
    monkeypatch.setenv("KKIK_INBOX_DIR", str(tmp_path / "inbxo2"))
    monkeypatch.setenv("KKIK_DUCKDB_PATH", str(tmp_path / "new.duckdb"))  # no earlier load: nothing to name
    (line,) = [line for line in banner([2022], Settings.from_env(), tmp_path / "kkik.log") if "inbox:" in line]
    assert line.endswith("inbxo2  (folder missing: no files to land)")


def test_a_rejected_file_moved_to_its_right_folder_lands(tmp_path, municipality_ids):
    """A file dropped in the wrong type's folder is rejected (its columns are another type's); moved to the right
    folder it is read anew and lands, where before its content, once registered, was skipped under any name and
    the load called it a copy of the rejected file. Dropped again in the wrong folder it stays skipped there, and
    the sensor sees only the move."""
    from pipelines.inbox import find_new_files

    sample = FIXTURES / "good" / "egen_rapportering" / "egen_rapportering_2022_excerpt.csv"
    inbox, db = tmp_path / "inbox", tmp_path / "warehouse.duckdb"
    wrong = inbox / "insikt" / sample.name
    wrong.parent.mkdir(parents=True)
    shutil.copyfile(sample, wrong)
    first = land_inbox(inbox, db, municipality_ids=municipality_ids, load_id="first")
    assert [f.status for f in first.files] == ["rejected"]
    assert find_new_files(inbox, db) == []  # rejected here: not new again

    right = inbox / "egen_rapportering" / sample.name
    right.parent.mkdir(parents=True)
    wrong.rename(right)
    assert find_new_files(inbox, db) == [right]
    second = land_inbox(inbox, db, municipality_ids=municipality_ids, load_id="second")
    assert [(f.file_name, f.status, f.copy_of) for f in second.files] == [
        (f"egen_rapportering/{sample.name}", "accepted", None)]
    assert second.files[0].rows_landed > 0

    shutil.copyfile(sample, wrong)  # the same content back in the wrong folder: a copy of the landed one now
    third = land_inbox(inbox, db, municipality_ids=municipality_ids, load_id="third")
    assert {f.file_name: (f.status, f.copy_of) for f in third.files} == {
        f"egen_rapportering/{sample.name}": ("skipped", None),
        f"insikt/{sample.name}": ("skipped", f"egen_rapportering/{sample.name}")}
