"""Inbox files that must not poison a load: workbook bombs, a truncated workbook, links out of the inbox, a
file named with SQL and shell characters, an oversized file. For each: what ``raw.inbox_files`` says,
that nothing of the bad file landed, and that the good files beside it landed in the same load."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

from pipelines.inbox import find_new_files, land_inbox, landing, load_schemas, workbook
from pipelines.inbox.readers import read_bytes
from tests.inbox import hostile_files
from tests.inbox.conftest import FIXTURES, query

SCHEMAS = load_schemas()
GOOD_INSIKT = "good/insikt/insikt_2022_excerpt_windows1252.csv"  # 55 rows
GOOD_IFO = "good/brukarundersokning_ifo/brukarundersokning_ifo_2022_excerpt.xlsx"


def land(inbox, tmp_path, ids, **kw):
    return land_inbox(inbox, tmp_path / "warehouse.duckdb", municipality_ids=ids, **kw)


def raw(tmp_path, sql, params=None):
    return query(tmp_path / "warehouse.duckdb", sql, params)


def registry(tmp_path):
    return {name: (status, reason, load_id) for name, status, reason, load_id in
            raw(tmp_path, "select file_name, status, reason, load_id from raw.inbox_files")}


def landed_rows(tmp_path, file_name):
    """Rows of ``file_name`` anywhere in the raw inbox tables or the quarantine."""
    return sum(raw(tmp_path, f"select count(*) from {s.table} where file_name = ?", [file_name])[0][0]
               for s in SCHEMAS.values()) + raw(
        tmp_path, "select count(*) from raw.inbox_quarantine where file_name = ?", [file_name])[0][0]


def test_the_committed_fixtures_are_what_the_builder_writes():
    for file_name, build in hostile_files.BUILT.items():
        assert (hostile_files.BAD_IFO / file_name).read_bytes() == build(), file_name
    assert len(hostile_files.dimension_bomb()) < 2000


def test_the_far_cell_bomb_really_aborts_an_unguarded_reader(tmp_path):
    """Without the child process the load itself would die: calamine asks for 512 GiB and aborts (rc −6)."""
    bomb = tmp_path / "bomb.xlsx"
    bomb.write_bytes(hostile_files.far_cell_bomb())
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)); "
            "from python_calamine import CalamineWorkbook; "
            "CalamineWorkbook.from_path(sys.argv[1]).get_sheet_by_name('Resultat').to_python()")
    done = subprocess.run([sys.executable, "-c", code, str(bomb)], check=False, capture_output=True, text=True,
                          env={**os.environ, "RUST_BACKTRACE": "0"}, timeout=60)
    assert done.returncode == -6 and "memory allocation of 549755813888 bytes failed" in done.stderr


# ------------------------------------------------------------------------------------------ workbooks

BAD_WORKBOOKS = [
    ("ifo_dimension_bomb.xlsx", ("sheet 'Resultat', row –, column –: the sheet claims 1,048,576 rows × 16,384 "
                                "columns (17,179,869,184 cells; its <dimension> element), more than the 5,000,000 "
                                "cells the inbox reads")),
    ("ifo_far_cell_bomb.xlsx", ("sheet 'Resultat', row –, column –: reading the workbook needs more than the 1 GiB "
                               "memory budget (it asked for 512 GiB)")),
    ("ifo_truncated.xlsx", ("sheet –, row –, column –: the workbook is truncated or corrupt: not a complete zip "
                           "archive (File is not a zip file; 2625 bytes)")),
]


@pytest.mark.parametrize("fixture, reason", BAD_WORKBOOKS, ids=[b[0] for b in BAD_WORKBOOKS])
def test_a_workbook_the_reader_cannot_read_is_rejected_registered_and_the_load_goes_on(
        fixture, reason, make_inbox, tmp_path, municipality_ids):
    inbox = make_inbox(GOOD_INSIKT, GOOD_IFO, f"bad/brukarundersokning_ifo/{fixture}")
    name = f"brukarundersokning_ifo/{fixture}"
    summary = land(inbox, tmp_path, municipality_ids)

    rows = registry(tmp_path)
    status, stored_reason, load_id = rows[name]
    assert status == "rejected" and stored_reason.startswith(f"file {name!r}, {reason}")
    assert landed_rows(tmp_path, name) == 0
    # the good files beside it landed in the same load
    assert {n: (s, lid) for n, (s, _, lid) in rows.items() if n != name} == {
        "insikt/insikt_2022_excerpt_windows1252.csv": ("accepted", summary.load_id),
        "brukarundersokning_ifo/brukarundersokning_ifo_2022_excerpt.xlsx": ("accepted", summary.load_id)}
    assert load_id == summary.load_id
    assert raw(tmp_path, "select count(*) from raw.inbox__insikt") == [(55,)]
    assert raw(tmp_path, "select count(*) from raw.inbox__brukarundersokning_ifo") == [(84,)]

    # the next load skips it (and does not die on it again)
    again = land(inbox, tmp_path, municipality_ids)
    assert [(f.file_name, f.status) for f in again.files if f.file_name == name] == [(name, "skipped")]
    assert raw(tmp_path, "select count(*) from raw.inbox_files") == [(3,)]


def test_a_workbook_over_the_time_budget_is_rejected(monkeypatch):
    monkeypatch.setattr(workbook, "WORKBOOK_TIMEOUT_SECONDS", 0.001)
    data = (FIXTURES / GOOD_IFO).read_bytes()
    with pytest.raises(landing.InboxFileRejected, match=r"reading the workbook took longer than 0.001 s"):
        read_bytes(data, SCHEMAS["brukarundersokning_ifo"], file_name="a.xlsx")


def test_a_dimension_within_the_budget_is_read(tmp_path):
    """The check is on the claimed size, not on the element: a normal ``A1:H2`` is read as before."""
    sheet = hostile_files._sheet(dimension=True).replace("A1:XFD1048576", "A1:H2").replace(
        '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>', "")
    parsed = read_bytes(hostile_files._xlsx(sheet), SCHEMAS["brukarundersokning_ifo"], file_name="a.xlsx")
    assert parsed.sheet == "Resultat" and parsed.rows == [(2, hostile_files.ROW)]


def test_child_process_overhead(capsys):
    """Prints the cost of the child process per workbook (a figure, not a pass/fail threshold)."""
    from io import BytesIO

    from python_calamine import CalamineWorkbook

    data = (FIXTURES / GOOD_IFO).read_bytes()
    runs = 5
    start = time.perf_counter()
    for _ in range(runs):
        direct = CalamineWorkbook.from_filelike(BytesIO(data)).get_sheet_by_name("Resultat").to_python()
    in_process = (time.perf_counter() - start) / runs
    start = time.perf_counter()
    for _ in range(runs):
        with workbook.WorkbookReader(data, "a.xlsx") as reader:
            reader.sheet_names()
            child = reader.read("Resultat")
    in_child = (time.perf_counter() - start) / runs
    assert child == [list(r) for r in direct]
    with capsys.disabled():
        print(f"\n  workbook {GOOD_IFO.split('/')[-1]}: in-process {in_process * 1000:.0f} ms, "
              f"in a child process {in_child * 1000:.0f} ms (+{(in_child - in_process) * 1000:.0f} ms per file)")


# ------------------------------------------------------------------------------------------------ links


def test_a_link_to_a_file_outside_the_inbox_is_not_read(make_inbox, tmp_path, municipality_ids):
    inbox = make_inbox(GOOD_IFO)
    outside = tmp_path / "elsewhere" / "insikt_2022.csv"
    outside.parent.mkdir()
    shutil.copyfile(FIXTURES / GOOD_INSIKT, outside)
    (inbox / "insikt").mkdir()
    (inbox / "insikt" / "linked.csv").symlink_to(outside)

    assert [p.name for p in find_new_files(inbox, tmp_path / "warehouse.duckdb")] == [
        "brukarundersokning_ifo_2022_excerpt.xlsx", "linked.csv"]
    summary = land(inbox, tmp_path, municipality_ids, raw_dir=tmp_path / "raw")
    status, reason, load_id = registry(tmp_path)["insikt/linked.csv"]
    assert status == "rejected" and load_id == summary.load_id
    assert reason == (f"file 'insikt/linked.csv', sheet –, row –, column –: a symbolic link to {str(outside)!r}, "
                      f"outside the inbox: the inbox reads only files inside it ({inbox.resolve()}), so the link "
                      "was not followed. Copy the file into the inbox instead")
    assert raw(tmp_path, "select file_format, file_bytes from raw.inbox_files where file_name = 'insikt/linked.csv'"
               ) == [("symlink", 0)]
    assert landed_rows(tmp_path, "insikt/linked.csv") == 0
    assert not (tmp_path / "raw" / "inbox" / summary.load_id / "insikt").exists()  # no copy of what it points to
    assert registry(tmp_path)["brukarundersokning_ifo/brukarundersokning_ifo_2022_excerpt.xlsx"][0] == "accepted"

    # registered: the sensor and the next load skip it; the same content as a real file still lands
    assert find_new_files(inbox, tmp_path / "warehouse.duckdb") == []
    assert [f.status for f in land(inbox, tmp_path, municipality_ids).files] == ["skipped", "skipped"]
    shutil.copyfile(outside, inbox / "insikt" / "copied.csv")
    copied = land(inbox, tmp_path, municipality_ids)
    assert [(f.file_name, f.status, f.rows_landed) for f in copied.files if f.status == "accepted"] == [
        ("insikt/copied.csv", "accepted", 55)]


def test_a_link_to_a_folder_outside_the_inbox_is_not_followed(make_inbox, tmp_path, municipality_ids):
    inbox = make_inbox(GOOD_INSIKT)
    outside = tmp_path / "other_share"
    (outside / "deeper").mkdir(parents=True)
    shutil.copyfile(FIXTURES / GOOD_INSIKT, outside / "deeper" / "x.csv")
    (inbox / "insikt" / "shared").symlink_to(outside, target_is_directory=True)
    (inbox / "servicematningen").symlink_to(outside, target_is_directory=True)  # a whole file-type folder

    summary = land(inbox, tmp_path, municipality_ids)
    rows = registry(tmp_path)
    assert {n: s for n, (s, _, _) in rows.items()} == {
        "insikt/insikt_2022_excerpt_windows1252.csv": "accepted", "insikt/shared": "rejected",
        "servicematningen": "rejected"}
    assert f"a symbolic link to {str(outside)!r}, outside the inbox" in rows["insikt/shared"][1]
    assert raw(tmp_path, "select count(*) from raw.inbox__insikt") == [(55,)]  # x.csv (same content) not read
    assert raw(tmp_path, "select count(*) from raw.inbox__servicematningen") == [(0,)]
    assert len(summary.rejected) == 2


def test_a_link_inside_the_inbox_is_read_as_its_file(make_inbox, tmp_path, municipality_ids):
    inbox = make_inbox(GOOD_INSIKT)
    (inbox / "insikt" / "alias.csv").symlink_to(inbox / "insikt" / "insikt_2022_excerpt_windows1252.csv")
    summary = land(inbox, tmp_path, municipality_ids)
    assert [(f.file_name, f.status) for f in summary.files] == [
        ("insikt/alias.csv", "accepted"), ("insikt/insikt_2022_excerpt_windows1252.csv", "skipped")]


# -------------------------------------------------------------------------------------- names and sizes


def test_a_file_named_with_sql_and_shell_characters_lands_normally(make_inbox, tmp_path, municipality_ids,
                                                                   monkeypatch):
    monkeypatch.chdir(tmp_path)
    inbox = make_inbox(GOOD_IFO)
    hostile = "x'; drop table raw.inbox_files; --$(touch pwned)`touch pwned2`\".csv"
    (inbox / "insikt").mkdir()
    shutil.copyfile(FIXTURES / GOOD_INSIKT, inbox / "insikt" / hostile)
    summary = land(inbox, tmp_path, municipality_ids, raw_dir=tmp_path / "raw")

    name = f"insikt/{hostile}"
    assert registry(tmp_path)[name][0] == "accepted"
    assert raw(tmp_path, "select count(*), any_value(file_name) from raw.inbox__insikt") == [(55, name)]
    assert registry(tmp_path)["brukarundersokning_ifo/brukarundersokning_ifo_2022_excerpt.xlsx"][0] == "accepted"
    assert (tmp_path / "raw" / "inbox" / summary.load_id / "insikt" / hostile).read_bytes() == (
        FIXTURES / GOOD_INSIKT).read_bytes()
    assert not list(tmp_path.rglob("pwned*")) and not list(inbox.rglob("pwned*"))
    # the tables the name talks about are all still there
    assert raw(tmp_path, "select count(*) from raw.inbox_files") == [(2,)]


def test_a_file_over_the_size_limit_is_rejected_unparsed(make_inbox, tmp_path, municipality_ids, monkeypatch):
    monkeypatch.setattr(landing, "MAX_FILE_BYTES", 10_000)
    inbox = make_inbox(GOOD_INSIKT, GOOD_IFO)  # the workbook (5 kB) stays under the limit
    big = inbox / "insikt" / "insikt_2022_excerpt_windows1252.csv"
    big.write_bytes(big.read_bytes() + b"\r\n" * 5_000)
    land(inbox, tmp_path, municipality_ids)
    status, reason, _ = registry(tmp_path)["insikt/insikt_2022_excerpt_windows1252.csv"]
    size = big.stat().st_size
    assert status == "rejected" and f"the file has {size / 2**20:,.1f} MiB, more than the " in reason
    assert raw(tmp_path, "select file_bytes from raw.inbox_files where file_type = 'insikt'") == [(size,)]
    assert landed_rows(tmp_path, "insikt/insikt_2022_excerpt_windows1252.csv") == 0
    assert registry(tmp_path)["brukarundersokning_ifo/brukarundersokning_ifo_2022_excerpt.xlsx"][0] == "accepted"
