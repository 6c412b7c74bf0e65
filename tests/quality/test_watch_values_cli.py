"""``kkik watch --values FILE --out FILE`` on a real key figure from the bundled snapshot: exit codes,
the output formats, and clear errors for a bad file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipelines.cli import main


def test_real_values_with_no_error_in_the_checked_year_exit_0(real_values, tmp_path):
    _, path = real_values
    out = tmp_path / "flags.parquet"
    assert main(["watch", "--values", str(path), "--out", str(out), "--year", "2022"]) == 0
    flags = pd.read_parquet(out)
    assert {"kpi_id", "municipality_id", "year", "gender", "rule_id", "severity", "message"} <= set(flags.columns)
    assert set(flags["year"].dropna()) <= {2022} and not (flags["severity"] == "error").any()


def test_a_0_to_1_share_is_an_open_error_exit_1(real_values, tmp_path):
    frame, _ = real_values
    frame = frame.copy()
    slip = (frame["municipality_id"] == "0180") & (frame["year"] == 2022) & (frame["gender"] == "T")
    frame.loc[slip, "value"] = frame.loc[slip, "value"] / 100  # 0.89 instead of 89 %
    path = tmp_path / "with_slip.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "flags.csv"
    html = tmp_path / "report.html"
    assert main(["watch", "--values", str(path), "--out", str(out), "--html", str(html)]) == 1
    flags = pd.read_csv(out, dtype={"municipality_id": str}, encoding="utf-8-sig")
    top = flags.iloc[0]
    assert (top["municipality_id"], top["severity"]) == ("0180", "error")
    assert set(flags[(flags["municipality_id"] == "0180") & (flags["severity"] == "error")]["rule_id"]) >= {
        "range.share_scale", "range.magnitude_slip"}
    assert "0180" in html.read_text(encoding="utf-8")


@pytest.mark.parametrize("content, problem", [
    ("kpi_id,municipality_id,year,value\nN15428,0180,2022,89.5\n", "missing column(s) gender"),
    ("kpi_id,municipality_id,year,gender,value\nN15428,0180,2022,T,\"89,5 %\"\n", "row 2, column value"),
    ("kpi_id,municipality_id,year,gender,value\n", "no rows"),
    ("", "the file is empty (expected a header kpi_id"),
    ("\n  \n", "the file is empty"),
    # the same mistake in several rows: all of them named at once, so the file is fixed in one go
    (("kpi_id,municipality_id,year,gender,value\nN15428,0180,2022,T,\"89,5\"\nN15428,0180,2022,K,90.1\n"
     "N15428,0180,2022,M,\"88,2\"\nN15428,0114,2022,T,\"70,0\"\n"),
     ("row 2, column value: '89,5' is not a number (use a decimal point and no thousands separator); "
     "2 more rows like it (rows 4, 5)")),
])
def test_a_bad_file_exits_2_and_says_why(tmp_path, capsys, content, problem):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    assert main(["watch", "--values", str(path), "--out", str(tmp_path / "f.csv")]) == 2
    error = capsys.readouterr().err
    assert str(path) in error and problem in error


def test_a_missing_file_and_an_unknown_output_type_exit_2(real_values, tmp_path, capsys):
    _, path = real_values
    assert main(["watch", "--values", str(tmp_path / "nope.parquet"), "--out", str(tmp_path / "f.csv")]) == 2
    assert main(["watch", "--values", str(path), "--out", str(tmp_path / "f.xlsx")]) == 2
    assert "use .csv or .parquet" in capsys.readouterr().err


# --------------------------------------------------------------- malformed files: exit 2, a message, no traceback

HEADER = "kpi_id,municipality_id,year,gender,value\n"
GOOD_ROW = "N15428,0180,2022,T,89.5\n"

BAD_CSV = [
    ("fractional_year", HEADER + GOOD_ROW + "N15428,0180,2021.5,T,88.0\n",
     "row 3, column year: 2021.5 is not a year (a whole number such as 2022)"),
    ("infinite_year", HEADER + "N15428,0180,inf,T,88.0\n", "row 2, column year: inf is not a year"),
    ("inf_value", HEADER + GOOD_ROW + "N15428,0114,2022,T,inf\n",
     "row 3, column value: inf is infinite: an infinite value is not a value"),
    ("Infinity_value", HEADER + "N15428,0114,2022,T,Infinity\n", "row 2, column value: inf is infinite"),
    ("minus_inf_value", HEADER + "N15428,0114,2022,T,-inf\n", "row 2, column value: -inf is infinite"),
    ("duplicate_column", "kpi_id,municipality_id,year,year,gender,value\nN15428,0180,2022,2022,T,89.5\n",
     "column 'year' appears more than once ('year', 'year')"),
    ("duplicate_column_by_case", "kpi_id,municipality_id,Year,year,gender,value\nN15428,0180,2022,2021,T,89.5\n",
     "column 'year' appears more than once ('Year', 'year')"),
    ("empty_municipality", HEADER + GOOD_ROW + "N15428,,2022,T,89.5\n",
     "row 3, column municipality_id: the cell is empty"),
    ("empty_gender", HEADER + "N15428,0180,2022,,89.5\n", "row 2, column gender: the cell is empty"),
    ("empty_year", HEADER + "N15428,0180,,T,89.5\n", "row 2, column year: the cell is empty"),
    ("three_digit_code", HEADER + "N15428,180,2022,T,89.5\n",
     "row 2, column municipality_id: '180' is not a 4-digit municipality code"),
]


@pytest.mark.parametrize("content, problem", [c[1:] for c in BAD_CSV], ids=[c[0] for c in BAD_CSV])
def test_a_malformed_csv_exits_2_naming_row_and_column(tmp_path, capsys, content, problem):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    out = tmp_path / "flags.csv"
    assert main(["watch", "--values", str(path), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"kkik watch: {path}: ") and problem in error
    assert not out.exists()


def _frame(**overrides):
    frame = pd.DataFrame({"kpi_id": ["N15428", "N15428"], "municipality_id": ["0180", "0114"], "year": [2022, 2022],
                          "gender": ["T", "T"], "value": [89.5, 71.0]})
    for column, values in overrides.items():
        frame[column] = values
    return frame


BAD_PARQUET = [
    ("integer_codes", _frame(municipality_id=[180, 114]),
     ("row 1, column municipality_id: 180 is a number, not text (the column's type is int64): municipality codes "
     "must be 4-digit text, e.g. '0180'")),
    ("integer_gender", _frame(gender=[1, 1]), "row 1, column gender: 1 is a number, not text"),
    ("fractional_year", _frame(year=[2022.0, 2021.5]), "row 2, column year: 2021.5 is not a year"),
    ("infinite_value", _frame(value=[89.5, float("inf")]), "row 2, column value: inf is infinite"),
    ("null_code", _frame(municipality_id=["0180", None]), "row 2, column municipality_id: the cell is empty"),
]


@pytest.mark.parametrize("frame, problem", [c[1:] for c in BAD_PARQUET], ids=[c[0] for c in BAD_PARQUET])
def test_a_malformed_parquet_exits_2_naming_row_and_column(tmp_path, capsys, frame, problem):
    path = tmp_path / "bad.parquet"
    frame.to_parquet(path, index=False)
    assert main(["watch", "--values", str(path), "--out", str(tmp_path / "flags.parquet")]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"kkik watch: {path}: ") and problem in error


def test_a_parquet_with_a_repeated_column_exits_2(tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "dup.parquet"
    pq.write_table(pa.Table.from_arrays(
        [pa.array(["N15428"]), pa.array(["0180"]), pa.array([2022]), pa.array([2021]), pa.array(["T"]),
         pa.array([89.5])], names=["kpi_id", "municipality_id", "year", "year", "gender", "value"]), path)
    assert main(["watch", "--values", str(path), "--out", str(tmp_path / "f.csv")]) == 2
    assert "column 'year' appears more than once ('year', 'year')" in capsys.readouterr().err


def test_an_output_path_that_cannot_be_written_exits_2_before_any_work(tmp_path, capsys):
    """The output is checked first: the values file (here missing) is not even opened."""
    missing = tmp_path / "not_read.csv"
    (tmp_path / "reports").mkdir()
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "reports.csv").mkdir()  # a directory with a file's name
    cases = {
        tmp_path / "reports.csv": "is a directory; give a file name",
        tmp_path / "a_file" / "sub" / "flags.csv": f"its folder cannot be created: {tmp_path / 'a_file'} is a file",
        tmp_path / ("f" * 300 + ".csv"): "cannot be written: File name too long",  # was OSError's traceback
    }
    for out, problem in cases.items():
        assert main(["watch", "--values", str(missing), "--out", str(out)]) == 2
        error = capsys.readouterr().err
        assert error.startswith(f"kkik watch: {out}: ") and problem in error and "no such file" not in error
    html_dir = tmp_path / "reports"
    assert main(["watch", "--values", str(missing), "--out", str(tmp_path / "f.csv"), "--html", str(html_dir)]) == 2
    assert f"{html_dir}: is a directory" in capsys.readouterr().err


def test_the_kkik_script_exits_2_without_a_traceback(tmp_path):
    """Through the installed ``kkik`` entry point, as a user runs it: exit status 2 and one line on stderr."""
    import os
    import shutil
    import subprocess
    import sys

    from pipelines.config import PROJECT_ROOT

    frame = _frame(municipality_id=[180, 114])
    path = tmp_path / "codes_as_numbers.parquet"
    frame.to_parquet(path, index=False)
    kkik = shutil.which("kkik", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    assert kkik, "the kkik script is not installed in this environment"
    done = subprocess.run([kkik, "watch", "--values", str(path), "--out", str(tmp_path / "flags.csv")],
                          check=False, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        (f"kkik watch: {path}: row 1, column municipality_id: 180 is a number, not text (the column's type is int64): "
        "municipality codes must be 4-digit text, e.g. '0180' (as a number, 0180 loses its leading zero and "
        "becomes 180); 1 more row like it (row 2)")]


def test_the_console_shows_the_open_errors_first_and_an_unknown_kpi_names_its_rows(real_values, tmp_path, capsys):
    """A file whose only error is an unknown figure id (which ranks below many warnings): the console's
    five lines start with that error, which names the municipalities of its rows, and say how many more
    flags the output file holds."""
    frame, _ = real_values
    unknown = pd.DataFrame([{"kpi_id": "N99999", "municipality_id": "0192", "year": 2022, "gender": "T",
                             "value": 12.0}])
    path = tmp_path / "with_unknown.csv"
    pd.concat([frame, unknown], ignore_index=True).to_csv(path, index=False)
    out = tmp_path / "flags.csv"
    assert main(["watch", "--values", str(path), "--out", str(out), "--year", "2022"]) == 1
    lines = capsys.readouterr().out.splitlines()
    flags = pd.read_csv(out, dtype={"municipality_id": str}, encoding="utf-8-sig")
    assert (flags["severity"] == "error").sum() == 1 and flags.iloc[0]["severity"] != "error"  # ranked lower
    assert lines[1] == ("  [error] N99999 2022: unknown KPI id in 1 row, file row 4682 (municipalities 0192); it is neither in "
                        "the KKiK catalogue nor in Kolada's metadata. Check the id.")
    assert lines[-1] == f"  … {len(flags) - 5} more in {out}"


def test_a_row_typed_in_the_future_does_not_move_the_checked_year(real_values, tmp_path, capsys):
    """Without --year the file's newest year that is not in the future is checked; the typo is an error."""
    frame, _ = real_values
    typo = frame[(frame["municipality_id"] == "0180") & (frame["year"] == 2022) & (frame["gender"] == "T")]
    path = tmp_path / "typo.csv"
    pd.concat([frame, typo.assign(year=2031)], ignore_index=True).to_csv(path, index=False)
    out = tmp_path / "flags.csv"
    assert main(["watch", "--values", str(path), "--out", str(out)]) == 1
    assert f"{path} (2022):" in capsys.readouterr().out
    flags = pd.read_csv(out, dtype={"municipality_id": str}, encoding="utf-8-sig")
    future = flags[flags["rule_id"] == "integrity.future_year"]
    assert future["year"].tolist() == [2031] and "a year after 2026 " in future.iloc[0]["message"]
    assert (flags["year"] == 2022).any()  # 2022 was checked


def test_a_year_the_file_does_not_hold_exits_2(real_values, tmp_path, capsys):
    _, path = real_values
    assert main(["watch", "--values", str(path), "--out", str(tmp_path / "f.csv"), "--year", "2030"]) == 2
    assert f"{path}: no rows for 2030 (the file's years: 2018–2022)" in capsys.readouterr().err
    assert not (tmp_path / "f.csv").exists()


def test_a_repeated_key_among_the_history_rows_is_an_error(real_values, tmp_path, capsys):
    frame, _ = real_values
    history = frame[(frame["municipality_id"] == "0180") & (frame["year"] == 2019) & (frame["gender"] == "T")]
    path = tmp_path / "dup.csv"
    pd.concat([frame, history.assign(value=history["value"] + 1)], ignore_index=True).to_csv(path, index=False)
    out = tmp_path / "flags.csv"
    assert main(["watch", "--values", str(path), "--out", str(out)]) == 1
    flags = pd.read_csv(out, dtype={"municipality_id": str}, encoding="utf-8-sig")
    dup = flags[flags["rule_id"] == "integrity.duplicate"]
    assert dup[["municipality_id", "year"]].values.tolist() == [["0180", 2019]]


def test_integrity_messages_name_the_file_rows(tmp_path, capsys):
    """A values file's duplicate, unknown code and bad gender say in which rows of the file they are."""
    path = tmp_path / "rows.csv"
    path.write_text(HEADER + GOOD_ROW + "N15428,0114,2022,T,70.0\n" + GOOD_ROW + "N15428,9999,2022,T,1.0\n"
                    "N15428,0114,2022,X,70.0\n", encoding="utf-8")
    out = tmp_path / "flags.csv"
    assert main(["watch", "--values", str(path), "--out", str(out)]) == 1
    messages = pd.read_csv(out, encoding="utf-8-sig").set_index("rule_id")["message"]
    assert "(89.5, 89.5), file rows 2, 4; keep exactly one row" in messages["integrity.duplicate"]
    assert "unknown municipality code in 1 row, file row 5 (KPIs N15428)" in messages["integrity.unknown_municipality"]
    assert "the gender code 'X' in 1 row, file row 6 (municipalities 0114)" in messages["integrity.invalid_gender"]
