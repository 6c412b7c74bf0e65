"""``kkik watch --values FILE --out FILE`` on a real key figure from the bundled snapshot: exit codes,
the output formats, and clear errors for a bad file."""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest

from pipelines.cli import main
from pipelines.config import SNAPSHOT_DIR


@pytest.fixture(scope="module")
def real_values(tmp_path_factory):
    """N15428 (behöriga till yrkesprogram, real Kolada values) for every kommun, 2018–2022, T/K/M."""
    with gzip.open(SNAPSHOT_DIR / "kolada" / "data" / "real" / "N15428.json.gz") as handle:
        records = json.load(handle)
    rows = [{"kpi_id": r["kpi"], "municipality_id": r["municipality"], "year": r["period"], "gender": v["gender"],
             "value": v["value"]} for r in records if 2018 <= r["period"] <= 2022 for v in r["values"]]
    frame = pd.DataFrame(rows)
    path = tmp_path_factory.mktemp("values") / "n15428.csv"
    frame.to_csv(path, index=False)
    return frame, path


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
