"""``--kpis``: parsed and resolved against Kolada's KPI list and groups, always with the KKiK catalogue."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from pipelines.catalogue import kkik_kpi_ids
from pipelines.config import SNAPSHOT_DIR
from pipelines.kpi_selection import (
    KpiSelection,
    KpiSelectionError,
    check_against_bundled,
    parse_kpis,
    resolve_kpis,
)
from pipelines.partitions import FIRST_YEAR, yearly_partitions

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "kolada"
KKIK = kkik_kpi_ids()
#: Kolada's real KPI list (6,099 ids) as the bundled snapshot has it, and the fixture's KPI groups
with gzip.open(SNAPSHOT_DIR / "kolada" / "kpi.json.gz", "rt", encoding="utf-8") as _handle:
    KPIS = json.load(_handle)["values"]
GROUPS = json.loads((FIXTURES / "kpi_groups.json").read_text(encoding="utf-8"))


def test_the_default_is_the_kkik_catalogue_only():
    for text in (None, "kkik", " KKiK "):
        selection = parse_kpis(text)
        assert selection.is_kkik_only and selection.spec == "kkik"
        assert resolve_kpis(selection, KPIS, GROUPS, KKIK) == KKIK


def test_a_list_of_ids_is_united_with_the_catalogue():
    # N15428 is a KKiK figure, N01724 and N00230 are not; a repeated id counts once
    selection = parse_kpis("N01724, N15428,N00230,N01724")
    assert selection.kpi_ids == ("N01724", "N15428", "N00230") and selection.spec == "N01724,N15428,N00230"
    resolved = resolve_kpis(selection, KPIS, GROUPS, KKIK)
    assert "N15428" in KKIK and not {"N01724", "N00230"} & set(KKIK)
    assert resolved == sorted({*KKIK, "N01724", "N00230"}) and len(resolved) == len(KKIK) + 2


def test_a_group_id_gives_its_members():
    group = next(g for g in GROUPS if g["id"] == "GTEST001")  # the 2015 KKiK list: 41 members
    members = {m["member_id"] for m in group["members"]}
    resolved = resolve_kpis(parse_kpis("GTEST001"), KPIS, GROUPS, KKIK)
    assert len(members) == 41 and len(members - set(KKIK)) > 20
    assert set(resolved) == set(KKIK) | members
    assert parse_kpis("GTEST001").group_ids == ("GTEST001",)


def test_all_is_every_id_of_kolada_s_kpi_list_and_the_catalogue():
    selection = parse_kpis("all")
    assert selection.everything and selection.spec == "all"
    assert resolve_kpis(selection, KPIS, GROUPS, KKIK) == sorted({*KKIK, *(k["id"] for k in KPIS)})


def test_all_on_the_bundled_snapshot_is_its_whole_catalogue():
    resolved = check_against_bundled(KpiSelection(everything=True), SNAPSHOT_DIR / "kolada")
    kolada = {k["id"] for k in KPIS}
    assert len(kolada) == 6099 and set(resolved) == kolada | set(KKIK)
    # the catalogue's own-reported U11401 is not in Kolada's list, and is landed (asked for) all the same
    assert "U11401" in resolved and "U11401" not in kolada


@pytest.mark.parametrize("text, named", [
    ("N99999", "KPI id(s) N99999 not in Kolada's KPI list"),
    ("N01724,X12345,N99998", "KPI id(s) X12345, N99998 not in Kolada's KPI list"),
    ("GNOPE", "KPI group(s) GNOPE not among Kolada's KPI groups"),
])
def test_an_unknown_id_or_group_is_an_error_naming_it(text, named):
    with pytest.raises(KpiSelectionError, match=named.replace("(", r"\(").replace(")", r"\)")):
        resolve_kpis(parse_kpis(text), KPIS, GROUPS, KKIK)


@pytest.mark.parametrize("text", ["N1234", "n00914", "N00914;U07451", "", "1994"])
def test_a_malformed_value_is_refused_naming_it(text):
    with pytest.raises(KpiSelectionError, match="neither a Kolada KPI id"):
        parse_kpis(text)


def test_the_partitions_start_in_kolada_s_first_year():
    assert FIRST_YEAR == "1994" and yearly_partitions.get_first_partition_key() == "1994"
    assert "1994" in yearly_partitions.get_partition_keys()


def test_a_repeated_kpis_option_lands_the_ids_of_both(tmp_path, monkeypatch):
    """`--kpis N01724 --kpis N00230` kept only N00230, silently."""
    from pipelines import cli
    from pipelines.config import Settings

    monkeypatch.setenv("KKIK_SOURCES", "snapshot")
    args = cli.build_parser().parse_args(["load", "--year", "2022", "--kpis", "N01724", "--kpis", "N00230,N01724"])
    assert cli.kpis_asked(args.kpis, Settings.from_env()) == "N01724,N00230"


def test_a_g_and_five_digits_is_a_group_id():
    """`--kpis G99999` was read as a KPI id ("not in Kolada's KPI list")."""
    from pipelines.kpi_selection import parse_kpis

    selection = parse_kpis("G99999,N00914")
    assert selection.group_ids == ("G99999",) and selection.kpi_ids == ("N00914",)
