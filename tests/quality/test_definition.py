"""Changed definitions between metadata loads, and Kolada against the source agency."""

import pandas as pd

from tests.quality.conftest import kommun_ids

A, B = kommun_ids(2)
ROWS = [("P1", A, 2022, "T", 45.2)]


def _meta(title="Andel behöriga, %", description="Andel elever som är behöriga. Källa: SCB."):
    return pd.DataFrame({"kpi_id": ["P1", "D1"], "title": [title, "Väntetid"], "description": [description, "x"]})


def test_metadata_change_fires_once_per_kpi(watch):
    flags = watch("definition.metadata_changed", ROWS, kpi_metadata_previous=_meta(),
                  kpi_metadata_current=_meta(description="Andel elever i egen regi som är behöriga. Källa: SCB."))
    assert flags["kpi_id"].tolist() == ["P1"]
    flag = flags.iloc[0]
    assert pd.isna(flag.municipality_id) and flag.year == 2022 and flag.contact == "RKA"
    assert "description changed" in flag.message and "egen regi" in flag.message


def test_metadata_unchanged_is_quiet(watch):
    # Whitespace-only differences do not count.
    assert watch("definition.metadata_changed", ROWS, kpi_metadata_previous=_meta(),
                 kpi_metadata_current=_meta(title="Andel  behöriga, % ")).empty


def test_source_mismatch(watch):
    comparison = pd.DataFrame({
        "kpi_id": ["P1", "P1"], "municipality_id": [A, B], "year": [2022, 2022], "gender": ["T", "T"],
        "kolada_value": [45.2, 45.20], "agency_value": [54.2, 45.21],
    })
    flags = watch("definition.source_mismatch", ROWS, source_comparison=comparison)
    assert flags["municipality_id"].tolist() == [A]
    flag = flags.iloc[0]
    assert (flag.observed_value, flag.expected_value, flag.severity) == (45.2, 54.2, "error")
    assert "SCB publishes 54.2 %" in flag.message and flag.source == "Kolada vs SCB"


def test_source_mismatch_is_an_error_only_for_the_same_population(watch):
    comparison = pd.DataFrame({
        "kpi_id": ["P1", "P1"], "municipality_id": [A, B], "year": [2022, 2022], "gender": ["T", "T"],
        "kolada_value": [45.2, 60.0], "agency_value": [54.2, 50.0], "agency": ["skolverket", "skolverket"],
        "same_population": [True, False],
    })
    flags = watch("definition.source_mismatch", ROWS, source_comparison=comparison)
    assert flags["municipality_id"].tolist() == [A]
    assert "Skolverket publishes 54.2 %" in flags.iloc[0].message


def test_a_gap_between_different_populations_warns_only_when_unusual(watch):
    # hemkommun vs lägeskommun: every kommun differs by about +1 point; one differs by +12
    ids = kommun_ids(12)
    kolada = [60.0 + i for i in range(12)]
    agency = [k - 1.0 - 0.1 * (i % 3) for i, k in enumerate(kolada)]
    agency[5] = kolada[5] - 12.0
    comparison = pd.DataFrame({"kpi_id": "P1", "municipality_id": ids, "year": 2022, "gender": "T",
                               "kolada_value": kolada, "agency_value": agency, "agency": "skolverket",
                               "same_population": False})
    assert watch("definition.source_mismatch", ROWS, source_comparison=comparison).empty
    flags = watch("definition.source_gap_unusual", ROWS, source_comparison=comparison)
    assert flags["municipality_id"].tolist() == [ids[5]]
    assert flags.iloc[0].severity == "warning" and "different populations" in flags.iloc[0].message
