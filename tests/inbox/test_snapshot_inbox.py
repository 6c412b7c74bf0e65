"""The bundled inbox samples (snapshot/inbox): they land whole with Kolada's real values, only the made-up
file is marked synthetic, the KPI mapping seed agrees with the schemas and Kolada's catalogue, and dbt
conforms them into int_survey_kpi_values."""

from __future__ import annotations

import csv
import gzip
import json

import pytest

from pipelines.config import DBT_PROJECT_DIR, PROJECT_ROOT
from pipelines.inbox import land_inbox, load_schemas
from pipelines.inbox.schemas import normalize_label
from tests.inbox.conftest import SNAPSHOT_INBOX, query

SCHEMAS = load_schemas()
SEED = list(csv.DictReader((DBT_PROJECT_DIR / "seeds" / "survey_kpi_map.csv").open(encoding="utf-8")))
ROWS = {  # file -> data rows (as in snapshot/inbox/README.md)
    "insikt/Insikt_NKI_per_kommun_2021.csv": 915,
    "insikt/Insikt_NKI_per_kommun_2022.csv": 1057,
    "servicematningen/Servicematningen_2022_e-post.csv": 33,
    "brukarundersokning_ifo/Brukarundersokning_IFO_2022.xlsx": 4237,
    "brukarundersokning_funktionshinder/Brukarundersokning_funktionshinder_2022.xlsx": 4644,
    "egen_rapportering/Inmatning_export_2022.xlsx": 1817,
    "egen_rapportering/Inmatning_U11401_2022_made_up_sample.csv": 870,
}


@pytest.fixture(scope="module")
def snapshot_db(tmp_path_factory, municipality_ids):
    db = tmp_path_factory.mktemp("snapshot_inbox") / "warehouse.duckdb"
    summary = land_inbox(SNAPSHOT_INBOX, db, municipality_ids=municipality_ids, load_id="snapshot")
    return db, summary


def test_every_bundled_file_lands_whole(snapshot_db):
    _, summary = snapshot_db
    assert {f.file_name: (f.status, f.rows_landed, f.rows_quarantined) for f in summary.files} == {
        name: ("accepted", rows, 0) for name, rows in ROWS.items()}


@pytest.mark.parametrize("table, where, value", [
    ("insikt", "municipality_id = '1490' and year = 2021 and area = 'Totalt'", 77.36948726),  # U07451
    ("insikt", "municipality_id = '0180' and year = 2022 and area = 'Bygglov'", 58.00500297),  # U07447
    ("servicematningen", "municipality_id = '0186'", 83.25),  # N00673 e-post tydlighet, Lidingö 2022
    ("brukarundersokning_ifo", ("municipality_id = '1490' and area = 'Ekonomiskt bistånd' and question = 'Få kontakt' "
                                "and gender = 'M'"), 93.0),  # U31500
    ("brukarundersokning_funktionshinder", ("municipality_id = '1490' and gender = 'T' and "
                                            "question = 'Brukaren är aldrig rädd för något på sin dagliga verksamhet'"),
     84.0),  # U28537 (= Borås's own page)
    ("egen_rapportering", "municipality_id = '1480' and kpi_id = 'U23401' and gender = 'M'", 48.0),
    ("egen_rapportering", "municipality_id = '1490' and kpi_id = 'U31402' and gender = 'T'", 16.2),
])
def test_real_values_as_kolada_publishes_them(snapshot_db, table, where, value):
    db, _ = snapshot_db
    column = {"insikt": "nki", "servicematningen": "epost_tydlighet_index", "egen_rapportering": "value"}.get(table, "share")
    assert query(db, f"select {column}, is_synthetic from raw.inbox__{table} where {where}") == [(value, False)]


def test_only_the_made_up_sample_is_synthetic(snapshot_db):
    db, _ = snapshot_db
    flagged = query(db, "select file_name, is_synthetic from raw.inbox_files order by file_name")
    assert [name for name, synthetic in flagged if synthetic] == ["egen_rapportering/Inmatning_U11401_2022_made_up_sample.csv"]
    assert query(db, "select bool_and(is_synthetic), count(*) from raw.inbox__egen_rapportering where kpi_id = 'U11401'") \
        == [(True, 870)]


def test_every_staged_question_and_area_of_the_samples_has_a_kpi(snapshot_db):
    db, _ = snapshot_db
    mapped = {(r["file_type"], r["area"], r["measure"]) for r in SEED if r["kpi_id"]}
    for file_type in ("brukarundersokning_ifo", "brukarundersokning_funktionshinder"):
        for area, question in query(db, f"select distinct area, question from raw.inbox__{file_type}"):
            assert (file_type, normalize_label(area), normalize_label(question)) in mapped
    for area, in query(db, "select distinct area from raw.inbox__insikt"):
        assert ("insikt", normalize_label(area), "nki") in mapped


def _catalogue() -> dict[str, str]:
    body = json.loads(gzip.decompress((PROJECT_ROOT / "snapshot" / "kolada" / "kpi.json.gz").read_bytes()))
    return {k["id"]: k["title"] for k in (body["values"] if isinstance(body, dict) else body)}


def test_the_seed_uses_real_kolada_ids_and_titles():
    titles = _catalogue()
    for row in SEED:
        assert row["file_type"] in SCHEMAS
        if row["id_source"] == "kolada_2026":
            assert titles.get(row["kpi_id"]) == row["kpi_title"], row
        if not row["kpi_id"]:
            assert row["id_source"] == "unknown" and row["note"]
    assert "U11401" not in titles  # known from RKA's material only (id_source rka_verktygslada)


def test_seed_areas_and_measures_are_what_the_schemas_produce():
    for row in SEED:
        schema = SCHEMAS[row["file_type"]]
        assert row["area"] == normalize_label(row["area"]) and row["measure"] == normalize_label(row["measure"])
        if row["area"]:
            targets = {normalize_label(v) for v in schema.column("area").value_map.values()}
            assert row["area"] in targets, row
        if row["file_type"] == "servicematningen":
            assert schema.column(row["measure"]).type in ("number", "integer")


@pytest.mark.slow
def test_dbt_conforms_the_samples_into_int_survey_kpi_values(snapshot_db, tmp_path):
    from tests.dbt_runner import run_dbt

    db, _ = snapshot_db
    result = run_dbt(db, "build", "--select", "+int_survey_kpi_values", target_path=tmp_path / "target")
    assert result.returncode == 0, result.stdout[-3000:]
    rows = query(db, "select source, count(*), count(distinct kpi_id), bool_or(is_synthetic) "
                     "from intermediate.int_survey_kpi_values group by source order by source")
    assert rows == [("brukarundersokning_funktionshinder", 4644, 10, False), ("brukarundersokning_ifo", 4237, 14, False),
                    ("egen_rapportering", 2687, 4, True), ("insikt", 1972, 8, False), ("servicematningen", 66, 2, False)]
    assert query(db, "select kpi_id, value, status, is_synthetic from intermediate.int_survey_kpi_values "
                     "where municipality_id = '1490' and year = 2022 and gender = 'T' and kpi_id in ('U07451', 'U11401')"
                     " order by kpi_id") == [("U07451", 72.89359462, None, False), ("U11401", 78.5, None, True)]
    assert "WARN" not in result.stdout.split("Done.")[-1].split("ERROR")[0].replace("WARN=0", "")
