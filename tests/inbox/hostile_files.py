"""Hand-made hostile inbox files, built byte for byte (fixed zip timestamps) so the committed fixtures can be
checked against this script: ``python -m tests.inbox.hostile_files`` rewrites them in
``tests/fixtures/surveys/bad/brukarundersokning_ifo/``.

* ``ifo_dimension_bomb.xlsx`` (~1.8 kB): a valid IFO header and one real row (Borås 2022, Kolada U30447),
  a ``<dimension ref="A1:XFD1048576">`` and one cell at XFD1048576. Read as it is, calamine asks for 512 GiB
  (the dense range from A1 to the last cell) and aborts the process.
* ``ifo_far_cell_bomb.xlsx``: the same without the ``<dimension>`` element, so only the reader's memory
  limit in its child process can stop it.
* ``ifo_truncated.xlsx``: the good IFO excerpt cut to half its bytes, as an interrupted copy leaves it.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "surveys"
BAD_IFO = FIXTURES / "bad" / "brukarundersokning_ifo"
GOOD_IFO = FIXTURES / "good" / "brukarundersokning_ifo" / "brukarundersokning_ifo_2022_excerpt.xlsx"

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'),
    "_rels/.rels": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG}">'
        f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
    "xl/workbook.xml": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
        '<sheets><sheet name="Resultat" sheetId="1" r:id="rId1"/></sheets></workbook>'),
    "xl/_rels/workbook.xml.rels": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{_PKG}">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'),
}
HEADER = ["Kommunkod", "Kommun", "År", "Område", "Fråga", "Kön", "Andel positiva svar (%)", "Antal svar"]
ROW = ["1490", "Borås", 2022, "Individ- och familjeomsorg totalt", "Få kontakt", "T", 91.47286822, 129]


def _cell(ref: str, value) -> str:
    if isinstance(value, str):
        return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'
    return f'<c r="{ref}"><v>{value}</v></c>'


def _sheet(*, dimension: bool) -> str:
    rows = "".join(
        f'<row r="{r}">' + "".join(_cell(f"{chr(65 + i)}{r}", v) for i, v in enumerate(cells)) + "</row>"
        for r, cells in ((1, HEADER), (2, ROW)))
    far = '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    dim = '<dimension ref="A1:XFD1048576"/>' if dimension else ""
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_MAIN}">{dim}'
            f"<sheetData>{rows}{far}</sheetData></worksheet>")


def _xlsx(sheet: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in [*_PARTS.items(), ("xl/worksheets/sheet1.xml", sheet)]:
            archive.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), text.encode("utf-8"),
                             compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def dimension_bomb() -> bytes:
    return _xlsx(_sheet(dimension=True))


def far_cell_bomb() -> bytes:
    return _xlsx(_sheet(dimension=False))


def truncated_xlsx() -> bytes:
    data = GOOD_IFO.read_bytes()
    return data[: len(data) // 2]


BUILT = {
    "ifo_dimension_bomb.xlsx": dimension_bomb,
    "ifo_far_cell_bomb.xlsx": far_cell_bomb,
    "ifo_truncated.xlsx": truncated_xlsx,
}

if __name__ == "__main__":
    for file_name, build in BUILT.items():
        (BAD_IFO / file_name).write_bytes(build())
        print(f"wrote {BAD_IFO / file_name} ({len(build())} bytes)")
