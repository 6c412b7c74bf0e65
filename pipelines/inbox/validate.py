"""Checking each data row of a file against its schema: parse cells, check codes and bounds, find duplicates.

Row-level problems send that row to quarantine with the reason; the rest of the file lands. When more than
the schema's ``max_bad_row_share`` of the data rows are bad, the whole file is rejected
(:class:`TooManyBadRows`): so many bad rows mean a wrong layout (shifted columns, another survey's file),
not a few typing errors. See ``pipelines/inbox/__init__.py`` for the whole policy.

Cell parsing (numbers): numbers as numbers (xlsx) or text with a decimal comma or point, spaces
(also non-breaking) as thousands separators and an optional ``%``; a missing marker (``..``, ``-`` …, per
schema) is no value, kept as ``<column>_status``. Municipality codes: four digits, a number that lost its
leading zero (``180`` → ``0180``) or a code followed by the name (``0180 Stockholm``).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from pipelines.inbox.errors import InboxFileRejected, location
from pipelines.inbox.readers import ParsedFile
from pipelines.inbox.schemas import SYNTHETIC_COLUMN, ColumnSpec, InboxSchema, normalize_label

_NUMBER = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)")
_SPACES = re.compile(r"[\s\u00a0\u2009\u202f']")
_MUNICIPALITY = re.compile(r"(\d{1,4})(\s+\D.*)?")
_TRUE = {"ja", "j", "yes", "y", "true", "sant", "1", "x"}
_FALSE = {"nej", "n", "no", "false", "falskt", "0", ""}
_GENDERS = {"k": "K", "m": "M", "t": "T"}
DEFAULT_YEAR_RANGE = (1990.0, 2100.0)
MAX_PROBLEMS_IN_MESSAGE = 5


#: Machine-readable reasons (``raw.inbox_quarantine.reason_code``), for audits that turn quarantined rows
#: into flags without parsing the message; one per kind of problem.
REASON_CODES = (
    "unknown_municipality",  # a well-formed code that is not in Kolada's municipality list
    "invalid_municipality_code",  # not a four-digit code at all
    "not_a_number", "not_a_whole_number", "not_a_year", "not_yes_no",
    "out_of_range",  # outside the column's range or a row rule's
    "unknown_value",  # not in a strict list (gender, myndighetsområde …)
    "bad_format",  # does not match the column's pattern
    "missing_value",  # an empty required cell (or only a missing marker)
    "duplicate_row",  # an exact repeat of an earlier row
    "conflicting_rows",  # the same key with different values
)


class CellError(ValueError):
    """One cell that cannot be read as its column's type; the message is the reason, ``code`` its kind
    (one of :data:`REASON_CODES`)."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


@dataclass
class RowProblem:
    row_number: int
    column: str | None  # the published header text
    value: str | None
    reason: str
    code: str  # one of REASON_CODES
    record: dict = field(default_factory=dict)

    def message(self, file_name: str, sheet: str | None) -> str:
        return f"{location(file_name, sheet, self.row_number, self.column)}: {self.reason}"


@dataclass
class ValidatedFile:
    parsed: ParsedFile
    rows: list[dict]
    problems: list[RowProblem]
    data_rows: int

    @property
    def bad_rows(self) -> int:
        return len({p.row_number for p in self.problems})


class TooManyBadRows(InboxFileRejected):
    """More bad rows than the schema allows: the file is rejected; ``problems`` lists them all."""

    def __init__(self, file: str, problem: str, problems: list[RowProblem], **where):
        super().__init__(file, problem, **where)
        self.problems = problems


def _show(cell) -> str | None:
    if cell is None:
        return None
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)


# ------------------------------------------------------------------------------------------------ cells


def parse_number(cell, markers: tuple[str, ...] = ()) -> tuple[float | None, str | None]:
    """(value, status): a number, or None with the missing marker as status (None for an empty cell)."""
    if cell is None:
        return None, None
    if isinstance(cell, bool):
        raise CellError(f"{cell!r} is not a number", "not_a_number")
    if isinstance(cell, (int, float)):
        if isinstance(cell, float) and (math.isnan(cell) or math.isinf(cell)):
            raise CellError(f"{cell!r} is not a number", "not_a_number")
        return float(cell), None
    if isinstance(cell, (datetime, date, time, timedelta)):
        raise CellError(f"{cell!r} is a date or time, not a number (check the cell format)", "not_a_number")
    text = str(cell).strip()
    if not text:
        return None, None
    if text in markers:
        return None, text
    cleaned = _SPACES.sub("", text).rstrip("%").replace(",", ".")
    if _NUMBER.fullmatch(cleaned):
        return float(cleaned), None
    raise CellError(f"{text!r} is not a number", "not_a_number")


def parse_municipality(cell, known: set[str]) -> str | None:
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return None
    if isinstance(cell, bool):
        raise CellError(f"{cell!r} is not a municipality code", "invalid_municipality_code")
    if isinstance(cell, (int, float)):
        if not float(cell).is_integer() or not 0 <= cell <= 9999:
            raise CellError(f"{_show(cell)!r} is not a four-digit municipality code", "invalid_municipality_code")
        code = f"{int(cell):04d}"
    else:
        match = _MUNICIPALITY.fullmatch(str(cell).strip())
        if not match:
            raise CellError(f"{str(cell).strip()!r} is not a four-digit municipality code",
                            "invalid_municipality_code")
        code = match.group(1).zfill(4)
    if code not in known:
        raise CellError(f"unknown municipality code {code!r} (not in Kolada's municipality list)",
                        "unknown_municipality")
    return code


def _in_range(value: float, bounds, what: str = "") -> None:
    low, high = bounds
    if (low is not None and value < low) or (high is not None and value > high):
        lo = "" if low is None else f"{low:g}"
        hi = "" if high is None else f"{high:g}"
        span = f"{lo}–{hi}" if low is not None and high is not None else (f"≥ {lo}" if high is None else f"≤ {hi}")
        raise CellError(f"{value:g} is outside {span}{what}", "out_of_range")


def parse_cell(cell, spec: ColumnSpec, schema: InboxSchema, municipality_ids: set[str]):
    """(value, status) of one cell as ``spec``'s type; raises :class:`CellError`."""
    if spec.type == "municipality":
        return parse_municipality(cell, municipality_ids), None
    if spec.type in ("number", "integer"):
        value, status = parse_number(cell, schema.missing_markers)
        if value is not None:
            if spec.type == "integer":
                if not value.is_integer():
                    raise CellError(f"{_show(cell)!r} is not a whole number", "not_a_whole_number")
                value = int(value)
            if spec.range:
                _in_range(value, spec.range)
        return value, status
    if spec.type == "year":
        if isinstance(cell, bool):
            raise CellError(f"{cell!r} is not a year", "not_a_year")
        value, _ = parse_number(cell)
        if value is None:
            return None, None
        if not value.is_integer():
            raise CellError(f"{_show(cell)!r} is not a year", "not_a_year")
        _in_range(value, spec.range or DEFAULT_YEAR_RANGE)
        return int(value), None
    if spec.type == "boolean":
        text = normalize_label(_show(cell))
        if text in _TRUE:
            return True, None
        if text in _FALSE:
            return False, None
        raise CellError(f"{_show(cell)!r} is not yes/no (ja/nej)", "not_yes_no")
    # text and gender
    shown = _show(cell)
    text = shown.strip() if shown is not None else ""
    if not text:
        return None, None
    key = normalize_label(text)
    if key in spec.value_map:
        text = spec.value_map[key]
    elif spec.type == "gender" and key in _GENDERS:
        text = _GENDERS[key]
    elif spec.strict or spec.type == "gender":
        expected = sorted(set(spec.value_map.values()) | ({"K", "M", "T"} if spec.type == "gender" else set()))
        raise CellError(f"unknown value {text!r} (expected one of: {', '.join(expected)})", "unknown_value")
    if spec.upper:
        text = text.upper()
    if spec.pattern and not re.fullmatch(spec.pattern, text):
        raise CellError(f"{text!r} does not have the expected form ({spec.pattern})", "bad_format")
    return text, None


# ------------------------------------------------------------------------------------------------- rows


def validate_rows(parsed: ParsedFile, schema: InboxSchema, municipality_ids: set[str], *,
                  synthetic_file: bool = False) -> ValidatedFile:
    """Parse and check every data row; raise :class:`TooManyBadRows` when the bad share is too high."""
    good: list[tuple[int, dict, dict]] = []  # (row_number, values, record)
    problems: list[RowProblem] = []
    present = [spec for spec in schema.columns if spec.name in parsed.columns]
    for row_number, cells in parsed.rows:
        record = {parsed.headers[s.name]: _show(_cell(cells, parsed.columns[s.name])) for s in present}
        values: dict = {}
        row_problems: list[RowProblem] = []
        for spec in schema.columns:
            label = parsed.column_label(spec.name)
            if spec.name not in parsed.columns:
                values[spec.name] = None
                if spec.has_status:
                    values[f"{spec.name}_status"] = None
                continue
            cell = _cell(cells, parsed.columns[spec.name])
            try:
                value, status = parse_cell(cell, spec, schema, municipality_ids)
            except CellError as exc:
                row_problems.append(RowProblem(row_number, label, _show(cell), str(exc), exc.code, record))
                continue
            if value is None and not spec.nullable and spec.name != SYNTHETIC_COLUMN:
                what = f"{status!r} (no value)" if status else "the cell is empty"
                row_problems.append(RowProblem(row_number, label, status, f"{what}, but a value is required",
                                               "missing_value", record))
                continue
            values[spec.name] = value
            if spec.has_status:
                values[f"{spec.name}_status"] = status
        if not row_problems:
            for rule in schema.row_rules:
                value = values.get(rule.column)
                if value is not None and rule.applies(values):
                    try:
                        _in_range(value, rule.range, f": {rule.reason}" if rule.reason else "")
                    except CellError as exc:
                        row_problems.append(RowProblem(row_number, parsed.column_label(rule.column), _show(value),
                                                       str(exc), exc.code, record))
        if row_problems:
            problems.extend(row_problems)
        else:
            good.append((row_number, values, record))

    problems.extend(_duplicates(good, schema, parsed))
    bad = {p.row_number for p in problems}
    rows = []
    for row_number, values, _ in good:
        if row_number in bad:
            continue
        flagged = bool(values.pop(SYNTHETIC_COLUMN, False))
        rows.append({**values, "row_number": row_number, "is_synthetic": synthetic_file or flagged})
    result = ValidatedFile(parsed=parsed, rows=rows, problems=sorted(problems, key=lambda p: p.row_number),
                           data_rows=len(parsed.rows))
    share = result.bad_rows / result.data_rows
    if share > schema.max_bad_row_share:
        first = result.problems[0]
        listed = "; ".join(f"row {p.row_number} column {p.column!r}: {p.reason}"
                           for p in result.problems[:MAX_PROBLEMS_IN_MESSAGE])
        more = len(result.problems) - MAX_PROBLEMS_IN_MESSAGE
        raise TooManyBadRows(
            parsed.file_name,
            f"{result.bad_rows} of {result.data_rows} data rows ({share:.0%}) have problems, more than the "
            f"{schema.max_bad_row_share:.0%} the schema allows: a sign of a wrong layout, so nothing of the file "
            f"is landed. Problems: {listed}{f'; and {more} more' if more > 0 else ''}",
            result.problems, sheet=parsed.sheet, row=first.row_number, column=first.column,
        )
    return result


def _cell(cells: list, index: int):
    if index >= len(cells):
        return None
    cell = cells[index]
    return None if isinstance(cell, str) and not cell.strip() else cell


def _duplicates(good: list[tuple[int, dict, dict]], schema: InboxSchema, parsed: ParsedFile) -> list[RowProblem]:
    """Exact repeats of a row: the first copy stays, the others go to quarantine. Rows with the same key
    but different values: all of them go (which one is right is for the sender to say)."""
    groups: dict[tuple, list[tuple[int, dict, dict]]] = {}
    for item in good:
        groups.setdefault(tuple(item[1].get(k) for k in schema.keys), []).append(item)
    key_label = ", ".join(parsed.column_label(k) for k in schema.keys)
    problems = []
    for key, items in groups.items():
        if len(items) < 2:
            continue
        shown = json.dumps(dict(zip(schema.keys, key)), ensure_ascii=False, default=str)
        first_values = items[0][1]
        if all(values == first_values for _, values, _ in items[1:]):
            for row_number, _, record in items[1:]:
                problems.append(RowProblem(row_number, key_label, shown,
                                           f"duplicate row: the same as row {items[0][0]}", "duplicate_row", record))
        else:
            rows = ", ".join(str(n) for n, _, _ in items)
            for row_number, _, record in items:
                problems.append(RowProblem(row_number, key_label, shown,
                                           f"rows {rows} have the same {key_label} but different values",
                                           "conflicting_rows", record))
    return problems
