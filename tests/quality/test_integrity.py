"""Duplicates, unknown codes, future years, invalid genders."""

import pandas as pd

from tests.quality.conftest import kommun_ids

A, B = kommun_ids(2)


def test_duplicate_key(watch):
    rows = [("P1", A, 2022, "T", 45.0), ("P1", A, 2022, "T", 46.0), ("P1", B, 2022, "T", 45.0)]
    flags = watch("integrity.duplicate", rows)
    assert flags["municipality_id"].tolist() == [A]
    assert "2 times and the values differ" in flags.iloc[0].message
    assert watch("integrity.duplicate", rows[1:]).empty


def test_unknown_kpi_one_flag_per_code(watch):
    rows = [("X9", A, 2022, "T", 1.0), ("X9", B, 2022, "T", 2.0), ("P1", A, 2022, "T", 45.0)]
    flags = watch("integrity.unknown_kpi", rows)
    assert flags["kpi_id"].tolist() == ["X9"] and "2 rows" in flags.iloc[0].message
    assert watch("integrity.unknown_kpi", rows[2:]).empty


def test_unknown_municipality_and_zero_padding(watch):
    rows = [("P1", "9999", 2022, "T", 1.0), ("P1", 101, 2022, "T", 45.0)]  # 101 → '0101' is known
    flags = watch("integrity.unknown_municipality", rows)
    assert flags["municipality_id"].tolist() == ["9999"]
    assert pd.isna(flags.iloc[0].kpi_id)


def test_future_year_relative_to_today(watch):
    # today is 2023-06-01 (conftest)
    rows = [("P1", A, 2024, "T", 45.0), ("P1", A, 2023, "T", 44.0)]
    flags = watch("integrity.future_year", rows, years=[2023])
    assert flags["year"].tolist() == [2024]
    assert watch("integrity.future_year", rows[1:], years=[2023]).empty


def test_invalid_gender(watch):
    flags = watch("integrity.invalid_gender", [("P1", A, 2022, "X", 45.0), ("P1", A, 2022, "k", 45.0)])
    assert flags["gender"].tolist() == ["X"]  # 'k' is read as K


def test_history_rows_are_checked_too(watch):
    """A values file's earlier years are its history: a repeated key there would silently pick one of two
    histories, an unknown code or gender would drop the row. Flagged with their own year."""
    rows = [("P1", A, 2019, "T", 40.0), ("P1", A, 2019, "T", 41.0), ("P1", A, 2022, "T", 45.0),
            ("X9", B, 2020, "T", 1.0), ("P1", B, 2018, "X", 3.0), ("P1", "9999", 2021, "T", 2.0)]
    assert watch("integrity.duplicate", rows)[["municipality_id", "year"]].values.tolist() == [[A, 2019]]
    assert watch("integrity.unknown_kpi", rows)[["kpi_id", "year"]].values.tolist() == [["X9", 2020]]
    gender = watch("integrity.invalid_gender", rows)
    assert gender["year"].tolist() == [2018]
    assert f"the gender code 'X' in 1 row (municipalities {B})" in gender.iloc[0].message
    assert watch("integrity.unknown_municipality", rows)["year"].tolist() == [2021]


def test_future_year_message_names_the_limit_as_a_year(watch):
    flags = watch("integrity.future_year", [("P1", A, 2031, "T", 45.0), ("P1", A, 2023, "T", 44.0)], years=[2023])
    assert "a year after 2023 (today is 2023-06-01) in 1 row." in flags.iloc[0].message
