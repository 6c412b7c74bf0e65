"""Reading an inbox file into a grid and finding its header row: xlsx/xls/ods and CSV in the shapes
publishers and spreadsheet programs produce.

* **Format by content**, not by name: a zip (``PK``) is an xlsx/ods workbook, an OLE2 file an xls workbook
  (both read with python-calamine, in a child process within a memory and time budget: see
  :mod:`pipelines.inbox.workbook`); anything else is text. A file named ``.xlsx`` that is not a workbook is
  rejected as such.
* **Encoding** (text): UTF-8 with BOM, UTF-16 with BOM (Excel's "Unicode text"), UTF-8 without BOM, else
  Windows-1252 (what Excel on Swedish Windows saves as "CSV (semikolonavgränsad)"). Bytes that are none of
  these reject the file, naming the line of the first undecodable byte.
* **Delimiter**: ``;``, ``,`` and tab are each tried; the one under which a header row is found with the
  most declared columns wins (ties: ``;`` first, the Swedish default).
* **Header row**: the row within the first ``header_search_rows`` rows whose cells match the most declared
  columns by alias (case, spacing and dashes ignored). Title lines above it ("Insikt 2022", "Källa: SKR")
  are skipped; footnotes below the table (rows with a single filled cell after a blank row) are dropped.
* **Sheets**: the first sheet, in workbook order, whose name is one of the schema's ``sheets``.

Decimal commas and thousands separators are handled where cells are parsed (``validate.py``).
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.inbox.errors import InboxFileRejected
from pipelines.inbox.schemas import InboxSchema, normalize_label
from pipelines.inbox.workbook import WorkbookReader, check_sheet_size, check_zip

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".xlsb")
DELIMITERS = (";", ",", "\t")
_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass
class ParsedFile:
    """A file's table as read: the header found, and the data rows with their row numbers as a
    spreadsheet program shows them (CSV: the line number)."""

    file_name: str
    file_format: str  # csv | xlsx | xls
    sheet: str | None
    encoding: str | None
    delimiter: str | None
    header_row: int
    columns: dict[str, int]  # our column name -> index in the row
    headers: dict[str, str]  # our column name -> the header text as published
    rows: list[tuple[int, list]]
    ignored_columns: list[str] = field(default_factory=list)
    footnote_rows: int = 0

    def column_label(self, name: str) -> str:
        """The published header text of a column, for messages (our name if the column is absent)."""
        return self.headers.get(name, name)


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA (as a spreadsheet names columns)."""
    name, i = "", index + 1
    while i:
        i, r = divmod(i - 1, 26)
        name = chr(65 + r) + name
    return name


def _is_empty(cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _filled(cells: list) -> int:
    return sum(not _is_empty(c) for c in cells)


# ------------------------------------------------------------------------------------------------ bytes


def decode_text(data: bytes, file_name: str) -> tuple[str, str]:
    """The text of a CSV file and the encoding it was read with."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8):].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise _undecodable(data, exc, file_name, "it starts with a UTF-8 byte order mark") from exc
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise _undecodable(data, exc, file_name, "it starts with a UTF-16 byte order mark") from exc
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise InboxFileRejected(file_name, "not a text file or workbook (it contains NUL bytes); "
                                "save it as xlsx or CSV", row=line)
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError as exc:
        raise _undecodable(data, exc, file_name, "neither UTF-8 nor Windows-1252") from exc


def _undecodable(data: bytes, exc: UnicodeDecodeError, file_name: str, why: str) -> InboxFileRejected:
    line = data[: exc.start].count(b"\n") + 1
    return InboxFileRejected(
        file_name, f"cannot decode the text ({why}): byte 0x{data[exc.start]:02x} at offset {exc.start}; "
        "save it as UTF-8 or as Excel's CSV", row=line)


def _csv_grid(text: str, delimiter: str) -> list[tuple[int, list]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    grid: list[tuple[int, list]] = []
    start = 1
    try:
        for cells in reader:
            grid.append((start, cells))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InboxFileRejected("", f"malformed CSV: {exc}", row=reader.line_num) from exc
    return grid


def _workbook_grid(data: bytes, schema: InboxSchema, file_name: str) -> tuple[str, list[tuple[int, list]]]:
    """The chosen sheet's cells, read by calamine in a child process within a memory and time budget
    (:mod:`pipelines.inbox.workbook`); an xlsx's zip and the chosen sheet's declared size are checked first."""
    archive = check_zip(data, file_name) if data.startswith(_ZIP) else None
    with WorkbookReader(data, file_name) as reader:
        names = reader.sheet_names()
        accepted = {normalize_label(s) for s in schema.sheets}
        chosen = next((n for n in names if not accepted or normalize_label(n) in accepted), None)
        if chosen is None:
            expected = ", ".join(repr(s) for s in schema.sheets)
            raise InboxFileRejected(
                file_name, f"no sheet with an accepted name ({expected}); the workbook has "
                f"{', '.join(repr(n) for n in names) or 'no sheets'}. Was the sheet renamed? If the new name is "
                f"right, add it to `sheets` in expectations/inbox/{schema.file_type}.yml",
                sheet=", ".join(names) or None)
        if archive is not None:
            check_sheet_size(archive, chosen, file_name)
        grid = reader.read(chosen)
    return chosen, [(i + 1, list(cells)) for i, cells in enumerate(grid)]


# ----------------------------------------------------------------------------------------------- header


@dataclass
class _HeaderMatch:
    row_number: int
    position: int  # index in the grid
    matches: dict[str, list[int]]  # column name -> indices whose header matched
    cells: list

    @property
    def score(self) -> int:
        return len(self.matches)


def _alias_index(schema: InboxSchema) -> dict[str, str]:
    return {normalize_label(alias): spec.name for spec in schema.columns for alias in spec.aliases}


def find_header(grid: list[tuple[int, list]], schema: InboxSchema) -> _HeaderMatch | None:
    """The row among the first ``header_search_rows`` that matches the most declared columns."""
    aliases = _alias_index(schema)
    best: _HeaderMatch | None = None
    for position, (row_number, cells) in enumerate(grid[: schema.header_search_rows]):
        matches: dict[str, list[int]] = {}
        for index, cell in enumerate(cells):
            name = aliases.get(normalize_label(cell)) if isinstance(cell, str) else None
            if name:
                matches.setdefault(name, []).append(index)
        if matches and (best is None or len(matches) > best.score):
            best = _HeaderMatch(row_number, position, matches, cells)
    return best


def _check_header(match: _HeaderMatch | None, schema: InboxSchema, file_name: str, sheet: str | None) -> None:
    required = [c for c in schema.columns if c.required]
    if match is None or match.score < min(2, len(required)):
        expected = ", ".join(repr(c.label) for c in required)
        raise InboxFileRejected(
            file_name, f"no header row found in the first {schema.header_search_rows} rows: expected a row "
            f"with the columns {expected} (or another published name of each, see "
            f"expectations/inbox/{schema.file_type}.yml)", sheet=sheet,
            row=f"1–{schema.header_search_rows}")
    for name, indices in match.matches.items():
        if len(indices) > 1:
            shown = " and ".join(f"{column_letter(i)} ({match.cells[i]!r})" for i in indices)
            raise InboxFileRejected(file_name, f"column {schema.column(name).label!r} appears more than once: {shown}",
                                    sheet=sheet, row=match.row_number, column=str(match.cells[indices[0]]))
    found = " | ".join(str(c) for c in match.cells if not _is_empty(c))
    for spec in required:
        if spec.name not in match.matches:
            raise InboxFileRejected(
                file_name, f"missing column {spec.label!r} (accepted names: "
                f"{', '.join(repr(a) for a in spec.aliases)}); the header row has: {found}",
                sheet=sheet, row=match.row_number, column=spec.label)
    for group in schema.require_one_of:
        if not any(name in match.matches for name in group):
            labels = ", ".join(repr(schema.column(n).label) for n in group)
            raise InboxFileRejected(file_name, f"none of the columns {labels} is present; the header row has: {found}",
                                    sheet=sheet, row=match.row_number, column=schema.column(group[0]).label)


def _data_rows(grid: list[tuple[int, list]], header_position: int) -> tuple[list[tuple[int, list]], int]:
    """Rows below the header without blank rows; trailing footnote blocks (rows with one filled cell,
    after a blank row) are dropped and counted."""
    body = grid[header_position + 1:]
    end, footnotes = len(body), 0
    while True:
        while end and _filled(body[end - 1][1]) == 0:
            end -= 1
        start = end
        while start and _filled(body[start - 1][1]) == 1:
            start -= 1
        if start < end and start > 0 and _filled(body[start - 1][1]) == 0:
            footnotes += end - start
            end = start
            continue
        break
    return [(n, cells) for n, cells in body[:end] if _filled(cells)], footnotes


# ------------------------------------------------------------------------------------------------- main


def read_table(path: Path, schema: InboxSchema, *, file_name: str | None = None) -> ParsedFile:
    """Read ``path`` as a file of ``schema``'s type; raise :class:`InboxFileRejected` for file-level problems
    (empty, undecodable, unreadable workbook, no accepted sheet, no header row, missing column, no data)."""
    name = file_name or path.name
    data = path.read_bytes()
    return read_bytes(data, schema, file_name=name, suffix=path.suffix.lower())


def read_bytes(data: bytes, schema: InboxSchema, *, file_name: str, suffix: str = "") -> ParsedFile:
    if not data.strip() or data in (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        raise InboxFileRejected(file_name, f"the file is empty ({len(data)} bytes)")
    if data.startswith((_ZIP, _OLE2)):
        fmt = "xls" if data.startswith(_OLE2) else "xlsx"
        sheet, grid = _workbook_grid(data, schema, file_name)
        if not grid or not any(_filled(cells) for _, cells in grid):
            raise InboxFileRejected(file_name, "the sheet is empty", sheet=sheet)
        match = find_header(grid, schema)
        encoding = delimiter = None
    else:
        if suffix in WORKBOOK_SUFFIXES:
            raise InboxFileRejected(file_name, f"named {suffix} but not a workbook (it starts with {data[:12]!r})")
        sheet, fmt = None, "csv"
        text, encoding = decode_text(data, file_name)
        if not text.strip():
            raise InboxFileRejected(file_name, f"the file is empty ({len(data)} bytes of whitespace)")
        best = None
        for candidate in DELIMITERS:
            try:
                candidate_grid = _csv_grid(text, candidate)
            except InboxFileRejected as exc:
                raise InboxFileRejected(file_name, exc.problem, row=exc.row) from exc
            candidate_match = find_header(candidate_grid, schema)
            score = candidate_match.score if candidate_match else 0
            if best is None or score > best[0]:
                best = (score, candidate, candidate_grid, candidate_match)
        _, delimiter, grid, match = best
    _check_header(match, schema, file_name, sheet)
    columns = {name: indices[0] for name, indices in match.matches.items()}
    headers = {name: str(match.cells[i]) for name, i in columns.items()}
    used = set(columns.values())
    ignored = [str(c) for i, c in enumerate(match.cells) if i not in used and not _is_empty(c)]
    rows, footnotes = _data_rows(grid, match.position)
    if not rows:
        raise InboxFileRejected(file_name, f"no data rows below the header (row {match.row_number})", sheet=sheet,
                                row=match.row_number + 1)
    return ParsedFile(
        file_name=file_name, file_format=fmt, sheet=sheet, encoding=encoding, delimiter=delimiter,
        header_row=match.row_number, columns=columns, headers=headers, rows=rows,
        ignored_columns=ignored, footnote_rows=footnotes,
    )
