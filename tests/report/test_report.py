"""The KKiK report on a small hand-made published mart: the right cells in the right columns."""

from __future__ import annotations

import shutil
from html.parser import HTMLParser

import duckdb
import pytest

from pipelines.report import build
from pipelines.report.source import ReportDataError
from tests.report.conftest import KOMMUNER


class Rows(HTMLParser):
    """Table rows as lists of (class, text) cells."""

    def __init__(self):
        super().__init__()
        self.rows: list[list[tuple[str, str]]] = []
        self._cell: list | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th") and self.rows:
            self._cell = [dict(attrs).get("class", ""), ""]

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append((self._cell[0], self._cell[1].strip()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1] += data


def table_rows(html: str) -> list[list[tuple[str, str]]]:
    parser = Rows()
    parser.feed(html)
    return parser.rows


def figure_row(rows, title_start: str):
    index = next(i for i, row in enumerate(rows) if row and row[0][1].startswith(title_start))
    return index, rows[index]


@pytest.fixture(scope="module")
def kommun_html(mart, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    data = build.load(mart, None)
    files = build.write_kommun(data, "0114", out, pdf=False)
    return data, files[0].read_text(encoding="utf-8")


def test_report_year_and_columns(kommun_html):
    data, html = kommun_html
    assert data.frames.year == 2022 and data.frames.years == [2019, 2020, 2021, 2022]
    header = next(row for row in table_rows(html) if row and row[0][1] == "Nyckeltal")
    assert [text for _, text in header[1:5]] == ["KKiK 2019", "KKiK 2020", "KKiK 2021", "KKiK 2022"]


def test_colours_missing_and_gender_split(kommun_html):
    _, html = kommun_html
    rows = table_rows(html)
    index, row = figure_row(rows, "Väntetid särskilt boende")
    cells = row[1:5]
    assert [c.split()[-1] for c, _ in cells] == ["green", "yellow", "grey", "red"]
    assert [t for _, t in cells] == ["40", "55", "–", "90"]  # 2021: the kommun has no value, others do
    assert row[5][1] == ""  # no trend: the mart has no change from 2021, which has no value
    assert row[6][1] == "47" and row[7][1] == "48" and row[8][1] == "66"  # similar, county, Riket (2022)
    women, men = rows[index + 1], rows[index + 2]
    assert women[0][1] == "Kvinnor" and women[4] == ("v red", "95")
    assert men[0][1] == "Män" and men[4] == ("v yellow", "70")


def test_trend_follows_the_direction(kommun_html):
    _, html = kommun_html
    _, row = figure_row(table_rows(html), "Kommunalt avfall")
    assert row[5] == ("trend up", "▲")  # 45 → 60 %, higher is better
    assert [t for _, t in row[1:5]] == ["30", "∅", "45", "60"]  # no kommun value at all in 2020


def test_no_direction_and_report_year_offset(kommun_html):
    _, html = kommun_html
    _, row = figure_row(table_rows(html), "Kostnad förskola")
    # offset 1: period 2018 sits in KKiK 2019, period 2021 in KKiK 2022; no kommun value for KKiK 2020/2021
    assert [t for _, t in row[1:5]] == ["150\u00a0000", "∅", "∅", "161\u00a0234*"]
    assert [c.split()[-1] for c, _ in row[1:5]] == ["white", "grey", "grey", "white"]
    assert "Genererat värde" in html  # the synthetic footnote for the marked value
    assert "Ingen kommun har värde för året" in html


def test_reads_only_the_published_schema(kommun_html):
    _, html = kommun_html
    assert "1\u00a0040" not in html and "1040" not in html  # kkik_audit has 40 + 1000


def test_national_text_comes_from_the_data(kommun_html):
    _, html = kommun_html
    assert "Medianen för kommunerna" in html
    # the figure with a gap year describes its own numbers, not a fixed sentence per figure
    assert "Hälften av kommunerna ligger mellan" in html


def test_national_spread_is_the_marts(mart, tmp_path):
    """The text quotes kkik_result's quartiles, min and max (defined once, in dbt), not its own."""
    copy = tmp_path / "mart.duckdb"
    shutil.copy(mart, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("""update kkik.kkik_result set national_q1 = 11.25, national_q3 = 88.75,
            national_min = 3.5, national_max = 97.5 where gender = 'T'""")
    data = build.load(copy, None)
    html = build.write_kommun(data, "0114", tmp_path, pdf=False)[0].read_text(encoding="utf-8")
    assert "Hälften av kommunerna ligger mellan 11 och 89 %; lägst är 3,5 och högst 98 %." in html


def test_county_lists_every_kommun_of_the_county(mart, tmp_path):
    data = build.load(mart, 2022)
    html = build.write_county(data, "01", tmp_path, pdf=False)[0].read_text(encoding="utf-8")
    names = [row[0][1] for row in table_rows(html) if row]
    for (name, county, _) in KOMMUNER.values():
        assert (name in names) == (county == "01"), name
    for label in ("Bästa kommun i riket", "Sämsta kommun i riket", "Median, alla kommuner",
                  "Kommunerna i länet, ovägt medel"):
        assert any(n.startswith(label) for n in names)


def test_bad_input_names_the_problem(mart, tmp_path):
    data = build.load(mart, 2022)
    with pytest.raises(ReportDataError, match="'9999' is not a kommun"):
        build.write_kommun(data, "9999", tmp_path)
    with pytest.raises(ReportDataError, match="'99' is not a county"):
        build.write_county(data, "99", tmp_path)
    with pytest.raises(ReportDataError, match="no such DuckDB file"):
        build.load(tmp_path / "nothing.duckdb", None)


@pytest.mark.parametrize("year", [2018, 2030, 1890])
def test_a_year_without_published_values_is_refused_before_anything_is_written(mart, tmp_path, year):
    # the hand-made mart has kommun values in KKiK 2019–2022 only; an empty year must not make a grey report
    with pytest.raises(ReportDataError, match=rf"KKiK {year} has no published values .*2019–2022"):
        build.load(mart, year)
    assert build.load(mart, 2019).frames.year == 2019


def test_pdf_renders_with_few_pages(mart, tmp_path):
    from pypdf import PdfReader

    data = build.load(mart, 2022)
    files = build.write_kommun(data, "0114", tmp_path)
    pdf = files[1]
    assert pdf.read_bytes()[:5] == b"%PDF-"
    pages = [page.extract_text() for page in PdfReader(pdf).pages]
    # one page per area: the title and Barn och unga, then each further area on a page of its own
    assert len(pages) == 3
    assert "Upplands Väsby" in pages[0] and "2022" in pages[0]  # the kommun's report, as text, not a picture
    assert "Barn och unga" in pages[0]
    assert pages[1].startswith("Stöd och omsorg") and pages[2].startswith("Samhälle och miljö")


def test_trend_of_an_older_year_says_which_and_missing_riket_is_explained(kommun_html):
    _, html = kommun_html
    rows = table_rows(html)
    _, row = figure_row(rows, "Väntetid försörjningsstöd")
    assert [t for _, t in row[1:5]] == ["∅", "20", "15", "–"]  # 2022: the others reported, this kommun not
    assert row[5] == ("trend up", "▲2021")  # 20 → 15 days, lower is better; the mark is for KKiK 2021
    assert row[8][1] == "–"  # Kolada has no Riket value for the figure
    assert "under Riket: Kolada har inget eget värde för riket" in html
    assert "· dagar ·" in html and "· days ·" not in html  # the unit in Swedish
    _, current = figure_row(rows, "Kommunalt avfall")
    assert current[5] == ("trend up", "▲")  # the newest value is the report year's: no year beside the mark


def test_every_area_has_the_colour_legend(kommun_html, mart, tmp_path):
    _, html = kommun_html
    assert html.count("Färg jämfört med landets kommuner") == 3  # one per area: each area starts a PDF page
    county = build.write_county(build.load(mart, 2022), "01", tmp_path, pdf=False)[0].read_text(encoding="utf-8")
    assert county.count("Färg jämfört med landets kommuner") == 3
    assert "Trend:" not in county  # the county compilation has no trend marks


def test_similar_kommuner_column_names_the_areas_group(kommun_html):
    _, html = kommun_html
    # the mean is the mart's (area group, tests/dbt/test_report_domain.py); the report says which group it is
    assert 'title="Liknande kommuner äldreomsorg, 4 kommuner">47</td>' in html
    assert 'title="Liknande kommuner förskola, 4 kommuner"' in html
    assert "Liknande kommuner övergripande" in html  # U07414 is in the overall group


@pytest.mark.parametrize(("year", "unreleased"), [(2019, None), (2022, None), (2022, "U07414")],
                         ids=["older-year-without-a-figure", "newest-year-complete", "newest-year-partial"])
def test_kkik_report_says_when_the_year_has_values_for_only_some_figures(mart, tmp_path, capsys, year, unreleased):
    """`kkik report --year` of the newest KKiK year, in which some figures have no kommun value yet, says how
    many do, on the page and in the command's output, counted as the mart has them (figures of the year's set
    with a kommun value in that year's column). An older year with a figure without values (discontinued, or
    not measured that year: 2019 here, N15535 in KKiK 2022 on the snapshot) is not said to be partial.
    ``unreleased``: a figure whose values of the newest year are taken out, as before its release."""
    from pipelines.report.command import run_report

    copy = tmp_path / "mart.duckdb"
    shutil.copy(mart, copy)
    with duckdb.connect(str(copy)) as con:
        if unreleased:
            con.execute("update kkik.kkik_result set value = null where kpi_id = ? and kkik_year = ?",
                        [unreleased, year])
        with_values = con.execute("""
            select count(distinct r.kpi_id) from kkik.kkik_result as r
            join kkik.dim_municipality as m using (municipality_id)
            where m.is_kommun and r.is_in_kkik_set and r.kkik_year = ? and r.value is not null""", [year]).fetchone()[0]
        in_set = con.execute("""select count(*) from kkik.dim_kpi
            where first_kkik_year <= ? and coalesce(last_kkik_year, 9999) >= ?""", [year, year]).fetchone()[0]
    partial = unreleased is not None
    assert (with_values < in_set) == (year == 2019 or partial)  # 2019 lacks U31402's values
    out_dir = tmp_path / "out"
    assert run_report("0114", None, year, out_dir, copy, pdf=False) == 0
    out = capsys.readouterr().out
    note = f"note: KKiK {year} has kommun values for {with_values} of its {in_set} key figures so far"
    assert (note in out) == partial, out
    # and the report itself says so, for the kommun that receives it
    html = (out_dir / f"kkik_0114_{year}.html").read_text(encoding="utf-8")
    sentence = f"KKiK {year} är inte komplett: {with_values} av årets {in_set} nyckeltal har värden för kommunerna"
    assert (sentence in html) == partial
    assert ("är inte komplett" in html) == partial


def test_every_report_written_in_two_processes_is_what_the_serial_writers_write(mart, tmp_path):
    """The load's step writes half the kommuner in a forked process: the same files, byte for byte, in the
    same order as kkik report --all and the county reports (5 kommuner: an odd split). PDFs carry their time
    of creation, so only the HTML is compared byte for byte."""
    data = build.load(mart, 2022)
    serial_kommuner = build.write_all(data, tmp_path / "serial")
    serial_counties = build.write_counties(data, tmp_path / "serial")
    kommuner, counties = build.write_every_report(data, tmp_path / "forked")
    assert [p.name for p in kommuner] == [p.name for p in serial_kommuner]
    assert [p.name for p in counties] == [p.name for p in serial_counties]
    assert len(kommuner) == 2 * len(KOMMUNER)  # HTML and PDF of each
    for path in [*serial_kommuner, *serial_counties]:
        forked = (tmp_path / "forked" / path.name).read_bytes()
        if path.suffix == ".html":
            assert forked == path.read_bytes()
        else:
            assert forked.startswith(b"%PDF")


def test_a_report_that_fails_in_the_forked_half_fails_the_step(mart, tmp_path):
    data = build.load(mart, 2022)
    out = tmp_path / "reports"
    out.mkdir()
    blocked = max(build.kommun_ids(data))  # the last kommun: always in the forked half
    (out / f"{build.kommun_stem(blocked, 2022)}.html").mkdir()  # a folder where its file must go
    with pytest.raises(Exception, match=build.kommun_stem(blocked, 2022)):
        build.write_every_report(data, out, pdf=False)
