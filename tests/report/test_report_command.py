"""`kkik report` as a user runs it: bad --out folders, years the mart does not hold, short kommun codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.report.model import NOTE_NO_NATIONAL, NOTE_NOT_LOADED
from tests.report.test_report import figure_row, table_rows


def report(mart: Path, out: Path, *args: str) -> int:
    return main(["report", *args, "--mart", str(mart), "--no-pdf", "--out", str(out)])


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


@pytest.mark.parametrize("case", ["out-is-a-file", "parent-is-a-file"])
def test_an_out_folder_blocked_by_a_file_is_refused_in_one_line(mart, tmp_path, capsys, case):
    """`--out /tmp/x.csv` (an existing file) crashed with FileExistsError's traceback, exit 1."""
    blocker = tmp_path / "x.csv"
    blocker.write_text("kommun;värde\n", encoding="utf-8")
    out = blocker if case == "out-is-a-file" else blocker / "reports"
    assert report(mart, out, "--kommun", "0114") == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"kkik report: {out}: ")
    assert f"{blocker} is a file, not a folder" in line or "is a file, not a folder: --out names the folder" in line
    assert blocker.read_text(encoding="utf-8") == "kommun;värde\n"  # untouched


def test_an_out_folder_that_cannot_be_created_is_refused_in_one_line(mart, tmp_path, capsys):
    """A folder the system refuses though its parent may be written (a name longer than any file system
    takes, for root too, where /sys was the only such place): one line, not OSError's traceback."""
    out = tmp_path / ("r" * 300)
    assert report(mart, out, "--kommun", "0114") == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"kkik report: {out}: cannot be written: File name too long"), line
    assert list(tmp_path.iterdir()) == []


def test_years_the_mart_does_not_hold_are_not_called_years_without_national_values(mart, tmp_path, capsys):
    """The hand-made mart holds the periods 2018–2022: the KKiK 2019 report's columns 2016–2017 are not loaded
    (a warning, and `..` with its own footnote), while KKiK 2018 is loaded for the figures of offset 0 (period
    2018: no kommun value there is the real ∅) and not for the cost figure of offset 1 (period 2017)."""
    assert report(mart, tmp_path, "--kommun", "0114", "--year", "2019") == 0
    captured = capsys.readouterr()
    warning = one_line(captured.err)
    assert warning.startswith("kkik report: warning: KKiK 2016–2017 of the report are not in the published mart")
    assert "periods 2018–2022" in warning
    html = (tmp_path / "kkik_0114_2019.html").read_text(encoding="utf-8")
    rows = table_rows(html)
    _, waiting = figure_row(rows, "Väntetid särskilt boende")
    assert [t for _, t in waiting[1:5]] == ["..", "..", "∅", "40"]
    _, cost = figure_row(rows, "Kostnad förskola")
    assert [t for _, t in cost[1:5]] == ["..", "..", "..", "150\u00a0000"]
    assert NOTE_NOT_LOADED in html and NOTE_NO_NATIONAL in html
    assert "KKiK 2016–2017 finns inte i den publicerade marten" in html
    assert 'title="KKiK 2018 (period 2017) finns inte i den publicerade marten (inte laddat)"' in html


def test_a_report_of_loaded_years_only_keeps_the_no_national_value_mark(mart, tmp_path, capsys):
    assert report(mart, tmp_path, "--kommun", "0114", "--year", "2022") == 0
    assert capsys.readouterr().err == ""
    html = (tmp_path / "kkik_0114_2022.html").read_text(encoding="utf-8")
    assert NOTE_NO_NATIONAL in html and NOTE_NOT_LOADED not in html
    _, cost = figure_row(table_rows(html), "Kostnad förskola")
    assert [t for _, t in cost[1:5]] == ["150\u00a0000", "∅", "∅", "161\u00a0234*"]


def test_a_kommun_code_without_its_leading_zero_is_read_as_four_digits(mart, tmp_path, capsys):
    """Excel turns 0114 into 114; --county 1 was already read as 01."""
    assert report(mart, tmp_path, "--kommun", "114") == 0
    assert (tmp_path / "kkik_0114_2022.html").exists()
    assert report(mart, tmp_path, "--kommun", "9") == 2  # padded, then refused as before
    assert "'0009' is not a kommun code in the published mart" in one_line(capsys.readouterr().err)
    assert report(mart, tmp_path, "--kommun", "01140") == 2  # five digits are no kommun code either
    assert "'01140' is not a kommun code" in one_line(capsys.readouterr().err)


def test_year_help_and_refusal_name_the_same_default(mart, tmp_path, capsys):
    """`--help` says the default is the newest published year; the refusal of a year said "the newest complete
    one", which is not what the default is (a published year may lack some figures' values)."""
    assert main(["report", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert ("(default: the newest published year, the newest with kommun values for at least half of its key "
            "figures)") in help_text
    assert report(mart, tmp_path, "--kommun", "0114", "--year", "2030") == 2
    line = one_line(capsys.readouterr().err)
    assert "leave out --year for the newest published year (2022: the newest with kommun values for at least " \
           "50% of its key figures)" in line
    assert "complete" not in line
