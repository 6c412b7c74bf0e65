"""The error a whole inbox file is rejected with, and the location format shared with quarantine reasons."""

from __future__ import annotations

DASH = "–"


def location(file: str, sheet: str | None, row: int | str | None, column: str | None) -> str:
    """``file 'insikt/a.csv', sheet –, row 4, column 'NKI'``: always all four, ``–`` where none applies
    (a CSV has no sheet; an empty file has no row or column)."""
    return (
        f"file {file!r}, sheet {DASH if sheet is None else repr(sheet)}, "
        f"row {DASH if row is None else row}, column {DASH if column is None else repr(column)}"
    )


class InboxFileRejected(Exception):
    """A file that cannot be read as its declared schema; nothing of it is landed.

    The message names the file, sheet, row and column (``–`` where one does not apply) and the problem.
    """

    def __init__(self, file: str, problem: str, *, sheet: str | None = None, row: int | str | None = None,
                 column: str | None = None):
        self.file = file
        self.sheet = sheet
        self.row = row
        self.column = column
        self.problem = problem
        super().__init__(f"{location(file, sheet, row, column)}: {problem}")
