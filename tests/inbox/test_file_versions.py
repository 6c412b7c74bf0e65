"""A file dropped again under the same name is a new version of it (int_inbox_file_years): for the years it
holds it replaces the earlier version, whose values and quarantined unknown codes then no longer count; a
name reused for another year leaves the earlier year alone, and a rejected file replaces nothing.

One real Insikt excerpt (tests/fixtures/surveys/good/insikt, Kolada's 2022 values) is landed in versions
made from it in the test: the first with Upplands Väsby's code mistyped (0114 → 9114, so its five rows are
quarantined as an unknown code), the corrected one without Stockholm's rows (the provider withdrew them).
dbt builds the models once; the views then read each new landing, and the table kkik_unknown_code is
queried through the SQL dbt compiled for it."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines.config import SNAPSHOT_DIR
from pipelines.inbox import land_inbox
from pipelines.landing.schema import ensure_raw_tables
from tests.inbox.conftest import FIXTURES

pytestmark = pytest.mark.slow
EXCERPT = FIXTURES / "good" / "insikt" / "insikt_2022_excerpt_windows1252.csv"
NAME = "insikt/Insikt_NKI_2022.csv"  # the name every version is dropped under


def _text(path: Path) -> str:
    return path.read_bytes().decode("cp1252")


def _drop(inbox: Path, text: str, name: str = NAME) -> None:
    target = inbox / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(text.encode("cp1252"))


def _mistyped(text: str) -> str:
    return text.replace("\n0114;", "\n9114;")


def _without_stockholm(text: str) -> str:
    return "\n".join(line for line in text.split("\n") if not line.startswith("0180;"))


@pytest.fixture(scope="module")
def world(tmp_path_factory, municipality_ids):
    from tests.dbt_runner import run_dbt

    tmp = tmp_path_factory.mktemp("file_versions")
    db, inbox = tmp / "warehouse.duckdb", tmp / "inbox"
    with duckdb.connect(str(db)) as con:
        ensure_raw_tables(con)
    result = run_dbt(db, "build", "--select", "+int_survey_kpi_values", "+kkik_unknown_code",
                     target_path=tmp / "target")
    assert result.returncode == 0, result.stdout[-3000:]
    compiled = next((tmp / "target" / "compiled").rglob("kkik_unknown_code.sql")).read_text(encoding="utf-8")

    def land(load_id: str):
        return land_inbox(inbox, db, municipality_ids=municipality_ids, load_id=load_id)

    def read(sql: str) -> list[tuple]:
        with duckdb.connect(str(db), read_only=True) as con:
            return con.execute(sql).fetchall()

    def unknown_codes() -> list[tuple]:
        return read(f"select code, year, value_count, origin from ({compiled}) where source = 'inbox'")

    def insikt_values() -> dict[tuple[str, str], float]:
        rows = read("select municipality_id, kpi_id, value from intermediate.int_survey_kpi_values "
                    "where source = 'insikt' and year = 2022")
        return {(m, k): v for m, k, v in rows}

    return {"inbox": inbox, "land": land, "read": read, "unknown_codes": unknown_codes, "values": insikt_values}


def test_a_corrected_file_replaces_the_earlier_version_and_its_quarantine(world):
    original = _text(EXCERPT)
    _drop(world["inbox"], _mistyped(original))
    first = world["land"]("v1")
    assert [(f.status, f.rows_quarantined) for f in first.files] == [("accepted", 5)]
    origin = ", ".join(f"{NAME} row {row}" for row in range(6, 11))  # the five rows of Upplands Väsby
    assert world["unknown_codes"]() == [("9114", 2022, 5, origin)]
    values = world["values"]()
    assert ("0114", "U07451") not in values and values[("0180", "U07451")] == pytest.approx(75.50292909)

    _drop(world["inbox"], _without_stockholm(original))  # the corrected file, under the same name
    second = world["land"]("v2")
    assert [(f.status, f.rows_quarantined) for f in second.files] == [("accepted", 0)]
    assert world["unknown_codes"]() == []  # the mistyped code no longer blocks
    values = world["values"]()
    assert values[("0114", "U07451")] == pytest.approx(78.70306161)  # Upplands Väsby, Totalt
    assert not [key for key in values if key[0] == "0180"]  # withdrawn with the version that had them
    # raw keeps every version: the first file's rows and its quarantine are still there
    assert world["read"]("select count(*) from raw.inbox_quarantine where load_id = 'v1'") == [(5,)]
    assert world["read"]("select count(*) from raw.inbox__insikt where load_id = 'v1' and municipality_id = '0180'"
                         ) != [(0,)]
    assert world["read"]("select year, count(*) filter (where is_current), count(*) from "
                         "intermediate.int_inbox_file_years group by year") == [(2022, 1, 2)]


def test_a_name_reused_for_another_year_and_a_rejected_file_replace_nothing_else(world):
    before = world["values"]()
    assert before  # the corrected 2022 version of the first test
    # next year's file under the same name: the real 2021 Insikt file of the snapshot (another year)
    _drop(world["inbox"], _text(SNAPSHOT_DIR / "inbox" / "insikt" / "Insikt_NKI_per_kommun_2021.csv"))
    assert [f.status for f in world["land"]("v3").files] == ["accepted"]
    assert world["values"]() == before  # 2022 stays with the version that holds it
    # every value of the 2021 file counts (915, as the snapshot's load has them)
    assert world["read"]("select count(*) from intermediate.int_survey_kpi_values where source = 'insikt' "
                         "and year = 2021") == [(915,)]
    # a file under the same name that cannot be read lands nothing and replaces nothing
    _drop(world["inbox"], _text(FIXTURES / "bad" / "insikt" / "insikt_header_only.csv"))
    assert [f.status for f in world["land"]("v4").files] == ["rejected"]
    assert world["values"]() == before
    assert world["read"]("select count(*) from intermediate.int_survey_kpi_values where source = 'insikt' "
                         "and year = 2021") == [(915,)]
    # nor does a rejected file's quarantine block: every code mistyped, so too many bad rows to land any
    _drop(world["inbox"], _text(EXCERPT).replace("\n0", "\n9"), name="insikt/Insikt_fel.csv")
    outcome = {f.file_name: (f.status, f.rows_landed) for f in world["land"]("v5").files}
    assert outcome["insikt/Insikt_fel.csv"] == ("rejected", 0)
    assert world["read"]("select count(*) > 0 from raw.inbox_quarantine where load_id = 'v5' "
                         "and reason_code = 'unknown_municipality'") == [(True,)]
    assert world["unknown_codes"]() == []


def test_an_earlier_version_put_back_is_current_again(world):
    """A correction undone: the first (mistyped) content dropped again under its name is reinstated (registered
    anew, its rows not landed twice), so its quarantined code blocks again and its values count; putting the
    corrected content back makes that one current again. Before, both were skipped as known content and the
    mart kept whichever version had landed last, without a word."""
    original = _text(EXCERPT)
    _drop(world["inbox"], _mistyped(original))  # the first test's first version, as it was
    outcome = world["land"]("v6")
    assert [(f.file_name, f.status) for f in outcome.files if f.file_name == NAME] == [(NAME, "reinstated")]
    assert "the content landed in load v1" in outcome.reinstated[0].reason
    origin = ", ".join(f"{NAME} row {row}" for row in range(6, 11))
    assert world["unknown_codes"]() == [("9114", 2022, 5, origin)]
    values = world["values"]()
    assert ("0114", "U07451") not in values and values[("0180", "U07451")] == pytest.approx(75.50292909)
    assert world["read"]("select count(*) from raw.inbox_quarantine where reason_code = 'unknown_municipality' "
                         "and file_name = 'insikt/Insikt_NKI_2022.csv'") == [(5,)]  # not quarantined twice

    _drop(world["inbox"], _without_stockholm(original))  # the correction again
    assert [f.status for f in world["land"]("v7").files if f.file_name == NAME] == ["reinstated"]
    assert world["unknown_codes"]() == []
    assert not [key for key in world["values"]() if key[0] == "0180"]
    # the current version dropped once more is no new version: skipped, as before
    assert [f.status for f in world["land"]("v8").files if f.file_name == NAME] == ["skipped"]
    # the reinstatement's registry row is a copy of the version's own (nothing made up, no 'nan' text)
    assert world["read"]("select count(*) from raw.inbox_files where load_id = 'v7' and status = 'accepted' "
                         "and reason like 'reinstated: the content landed in load v2 %' and (rows_landed, encoding, "
                         "delimiter, sheet) is not distinct from (select (rows_landed, encoding, delimiter, sheet) "
                         "from raw.inbox_files where load_id = 'v2')") == [(1,)]


def test_a_main_file_dropped_again_keeps_a_correction_made_in_another_file(world):
    """Files of other names: the newest *value* wins, not the newest file. A main file corrected in a separate
    small file and then dropped again for another reason (a second cell fixed) keeps the correction, where
    before its new landing made all its values the newest and undid the correction without a word; a version
    of the main file that changes the corrected cell is newer than the correction and wins; an earlier
    version put back restores the state it had (the correction in force then). Stockholm's rows only (the
    first tests' current version has none), under names of their own."""
    head, rows = _header_and_rows(_text(EXCERPT), "0180;")
    main, correction = "insikt/Insikt_Stockholm_2022.csv", "insikt/Insikt_rattelse_2022.csv"

    def stockholm() -> dict[str, float]:
        return {kpi: value for (m, kpi), value in world["values"]().items() if m == "0180"}

    _drop(world["inbox"], head + rows, name=main)
    world["land"]("s1")
    first = stockholm()
    assert first["U07451"] == pytest.approx(75.50292909)  # Totalt
    (brandskydd,) = [kpi for kpi, value in first.items() if value == pytest.approx(83.7320361)]

    _drop(world["inbox"], head + "0180;Stockholm;2022;Totalt;76,5;\n", name=correction)
    world["land"]("s2")
    assert stockholm()["U07451"] == 76.5

    # the main file again, Brandskydd fixed, Totalt as before: the correction stands, the new fix counts
    _drop(world["inbox"], head + rows.replace(";Brandskydd;83,7320361;", ";Brandskydd;84,25;"), name=main)
    world["land"]("s3")
    after = stockholm()
    assert (after["U07451"], after[brandskydd]) == (76.5, 84.25)
    assert {k: v for k, v in after.items() if k not in ("U07451", brandskydd)} == {
        k: v for k, v in first.items() if k not in ("U07451", brandskydd)}

    # a version of the main file that gives Totalt a new value is newer than the correction
    _drop(world["inbox"], head + rows.replace(";Brandskydd;83,7320361;", ";Brandskydd;84,25;")
          .replace(";Totalt;75,50292909;", ";Totalt;77,25;"), name=main)
    world["land"]("s4")
    assert stockholm()["U07451"] == 77.25

    # the second version put back (reinstated): the state it had, the correction in force under it included
    _drop(world["inbox"], head + rows.replace(";Brandskydd;83,7320361;", ";Brandskydd;84,25;"), name=main)
    assert [f.status for f in world["land"]("s5").files if f.file_name == main] == ["reinstated"]
    assert (stockholm()["U07451"], stockholm()[brandskydd]) == (76.5, 84.25)


def _header_and_rows(text: str, prefix: str) -> tuple[str, str]:
    """The excerpt's lines up to its column header, and its data rows starting with ``prefix``."""
    lines = text.split("\n")
    header_end = next(i for i, line in enumerate(lines) if line.startswith("Kommunkod;")) + 1
    rows = [line for line in lines[header_end:] if line.startswith(prefix)]
    return "\n".join(lines[:header_end]) + "\n", "\n".join(rows) + "\n"
