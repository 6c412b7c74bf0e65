"""``kkik watch --values FILE``: the watch on a submission, before it is loaded, without touching the mart.

The file holds ``kpi_id, municipality_id, year, gender, value[, status]`` for the year to check and the
years before it (the history the year-over-year rules compare with); KPI and municipality metadata come
from the bundled catalogue. The same rules and GX suite run as in the yearly load.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.config import OutputPathError, check_writable_file
from pipelines.quality.audit import watch_and_validate
from pipelines.quality.bundled import bundled_kpis, bundled_municipalities, bundled_similar_groups
from pipelines.quality.context import frame_tables
from pipelines.quality.integrity import year_limit
from pipelines.quality.rules import RuleSet, load_rules
from pipelines.quality.warehouse import WatchTables
from pipelines.quality.watch import model_vars

REQUIRED_COLUMNS = ["kpi_id", "municipality_id", "year", "gender", "value"]
OUTPUT_SUFFIXES = (".csv", ".parquet")


class ValuesFileError(ValueError):
    """The values file cannot be checked; the message names the file and the problem."""


KEY_COLUMNS = ["kpi_id", "municipality_id", "year", "gender"]
TEXT_COLUMNS = ["kpi_id", "municipality_id", "gender", "status"]
MUNICIPALITY_CODE = r"\d{4}"


def _where(path: Path, index: int, column: str, suffix: str) -> str:
    """``FILE: row N, column C``: N as a spreadsheet shows a CSV (the header is row 1), or the record's
    position (from 1) in a Parquet file."""
    row = index + (2 if suffix != ".parquet" else 1)
    return f"{path}: row {row}, column {column}"


def _more(mask, suffix: str) -> str:
    """``; 11 more rows like it (rows 9, 14, 15, …)`` for the rows of ``mask`` after the first, so a file with
    the same mistake in many rows is fixed in one go; "" when the first is the only one."""
    rows = mask.nonzero()[0][1:] + (2 if suffix != ".parquet" else 1)
    if not len(rows):
        return ""
    shown = ", ".join(str(int(r)) for r in rows[:5]) + (", …" if len(rows) > 5 else "")
    noun = "row" if len(rows) == 1 else "rows"
    return f"; {len(rows)} more {noun} like it ({noun} {shown})"


def _csv_header(path: Path) -> list[str]:
    """The header as written: pandas renames a repeated name (``year``, ``year.1``), which would hide it."""
    header = pd.read_csv(path, sep=None, engine="python", header=None, nrows=1, dtype=str, encoding="utf-8-sig")
    return ["" if pd.isna(c) else str(c) for c in header.iloc[0].tolist()] if len(header) else []


def _check_columns_once(path: Path, header: list[str]) -> None:
    names = [c.strip().lower() for c in header]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        shown = ", ".join(repr(c) for c in header if c.strip().lower() in repeated)
        raise ValuesFileError(f"{path}: column {repeated[0]!r} appears more than once ({shown}); "
                              "each column must appear once")


def _show(value) -> str:
    """A cell for a message: ``'180'`` for text, ``2021.5`` / ``inf`` for numbers (not ``np.float64(…)``)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def read_values_file(path: Path) -> pd.DataFrame:
    """Read a Parquet or CSV values file, keeping municipality codes as text (``0180``, not ``180``).

    Refuses (:class:`ValuesFileError`, naming the row and column) what the watch would otherwise check
    wrongly or crash on: a column given twice, codes or genders stored as numbers, an empty key cell, a
    fractional or infinite year, an infinite value (an infinite value is not a value).
    """
    if not path.exists():
        raise ValuesFileError(f"{path}: no such file")
    if path.is_dir():
        raise ValuesFileError(f"{path}: is a directory, not a values file")
    suffix = path.suffix.lower()
    if path.stat().st_size == 0 or (suffix != ".parquet" and not path.read_bytes()[:4096].strip()):
        raise ValuesFileError(f"{path}: the file is empty (expected a header kpi_id, municipality_id, year, gender, "
                              "value and a row per value)")
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            header = [str(n) for n in pq.read_schema(path).names]
            _check_columns_once(path, header)  # pyarrow cannot even select from a schema with a repeated name
            frame = pd.read_parquet(path)
        elif suffix in (".csv", ".txt"):
            header = _csv_header(path)
            frame = pd.read_csv(path, sep=None, engine="python", dtype=dict.fromkeys(TEXT_COLUMNS, str),
                                encoding="utf-8-sig")
        else:
            raise ValuesFileError(f"{path}: unknown file type {suffix!r} (use .parquet or .csv)")
    except ValuesFileError:
        raise
    except Exception as exc:  # a truncated Parquet file, a CSV that is not text, ...
        raise ValuesFileError(f"{path}: cannot be read as {suffix.lstrip('.')}: {exc}") from exc
    _check_columns_once(path, header)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValuesFileError(f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(frame.columns)}")
    if frame.empty:
        raise ValuesFileError(f"{path}: no rows")
    for column in (c for c in TEXT_COLUMNS if c in frame.columns):
        not_text = frame[column].notna() & ~frame[column].map(lambda v: isinstance(v, str))
        if not_text.any():
            index = int(not_text.to_numpy().nonzero()[0][0])
            value = frame[column].iloc[index]
            kind = "a number" if isinstance(value, (int, float, np.number)) else f"a {type(value).__name__}"
            why = {"municipality_id": "municipality codes must be 4-digit text, e.g. '0180' (as a number, 0180 "
                                      "loses its leading zero and becomes 180)",
                   "gender": "gender must be text: T, K or M",
                   "kpi_id": "KPI ids must be text, e.g. 'N15428'"}.get(column, "it must be text")
            raise ValuesFileError(f"{_where(path, index, column, suffix)}: {_show(value)} is {kind}, not text "
                                  f"(the column's type is {frame[column].dtype}): {why}"
                                  f"{_more(not_text.to_numpy(), suffix)}")
    for column in KEY_COLUMNS:
        empty = frame[column].isna() | frame[column].astype(str).str.strip().eq("")
        if empty.any():
            index = int(empty.to_numpy().nonzero()[0][0])
            raise ValuesFileError(f"{_where(path, index, column, suffix)}: the cell is empty; every row needs "
                                  f"{', '.join(KEY_COLUMNS)}{_more(empty.to_numpy(), suffix)}")
    codes = frame["municipality_id"].str.strip()
    bad_code = ~codes.str.fullmatch(MUNICIPALITY_CODE)
    if bad_code.any():
        index = int(bad_code.to_numpy().nonzero()[0][0])
        raise ValuesFileError(f"{_where(path, index, 'municipality_id', suffix)}: {_show(frame['municipality_id'].iloc[index])} "
                              "is not a 4-digit municipality code (codes are text with leading zeros, e.g. '0180')"
                              f"{_more(bad_code.to_numpy(), suffix)}")
    frame["municipality_id"] = codes
    if frame["year"].dtype == bool:
        raise ValuesFileError(f"{_where(path, 0, 'year', suffix)}: true/false is not a year")
    years = pd.to_numeric(frame["year"], errors="coerce")
    not_a_year = years.isna() | ~np.isfinite(years) | (years % 1 != 0)
    if not_a_year.any():
        index = int(not_a_year.to_numpy().nonzero()[0][0])
        raise ValuesFileError(f"{_where(path, index, 'year', suffix)}: {_show(frame['year'].iloc[index])} is not a year "
                              f"(a whole number such as 2022){_more(not_a_year.to_numpy(), suffix)}")
    if frame["value"].dtype == bool:
        raise ValuesFileError(f"{_where(path, 0, 'value', suffix)}: true/false is not a value")
    values = pd.to_numeric(frame["value"], errors="coerce")
    text = values.isna() & frame["value"].notna()
    if text.any():
        index = int(text.to_numpy().nonzero()[0][0])
        raise ValuesFileError(f"{_where(path, index, 'value', suffix)}: {_show(frame['value'].iloc[index])} is not a "
                              "number (use a decimal point and no thousands separator)"
                              f"{_more(text.to_numpy(), suffix)}")
    infinite = np.isinf(values.to_numpy(dtype=float, na_value=np.nan))
    if infinite.any():
        index = int(infinite.nonzero()[0][0])
        raise ValuesFileError(f"{_where(path, index, 'value', suffix)}: {_show(frame['value'].iloc[index])} is infinite: "
                              "an infinite value is not a value (leave the cell empty for a missing value)"
                              f"{_more(infinite, suffix)}")
    frame["year"] = years.astype(int)
    frame["value"] = values.astype(float)
    frame["file_row"] = np.arange(len(frame)) + (2 if suffix != ".parquet" else 1)  # as _where counts rows
    return frame


def watch_values(values: pd.DataFrame, *, years: list[int] | None = None, today: date | None = None,
                 accepted_flags_path: Path | None = None) -> pd.DataFrame:
    """The ranked flags for ``years`` (default: the latest year in the file)."""
    return watch_values_with_tables(values, years=years, today=today, accepted_flags_path=accepted_flags_path)[0]


def watch_values_with_tables(values: pd.DataFrame, *, years: list[int] | None = None, today: date | None = None,
                             accepted_flags_path: Path | None = None) -> tuple[pd.DataFrame, WatchTables]:
    """:func:`watch_values`, and the watch models' rows the rules read (``tables.peers``, the model
    watch_similar_peer on the bundled groups: the report's similar kommuner). The models run once, here, as
    ``WatchContext.build`` runs them (:func:`~pipelines.quality.context.frame_tables`)."""
    kpis, municipalities, groups = bundled_kpis(), bundled_municipalities(), bundled_similar_groups()
    rules = load_rules()
    years = sorted({int(y) for y in years or [default_year(values, today or date.today(), rules)]})
    tables = frame_tables(values, kpis, municipalities, groups, years=years, model_vars=model_vars(rules, today))
    flags, _ = watch_and_validate(values, kpis, municipalities, years=years, similar_groups=groups,
                                  accepted_flags_path=accepted_flags_path, today=today, tables=tables)
    return flags, tables


def default_year(values: pd.DataFrame, today: date, rules: RuleSet) -> int:
    """The year a file is checked for without ``--year``: its newest year that is not in the future as
    ``integrity.future_year`` has it (a row typed 2031 is that rule's error, not the year to check); the
    newest year when every year is."""
    limit = year_limit(rules["integrity.future_year"], today.year)
    years = pd.to_numeric(values["year"], errors="coerce").dropna().astype(int)
    return int(years[years <= limit].max() if (years <= limit).any() else years.max())


def check_year_in_file(values: pd.DataFrame, year: int, path: Path) -> None:
    """``--year`` names a year the file has rows for (else the watch would check nothing and say so clean)."""
    years = sorted(set(pd.to_numeric(values["year"], errors="coerce").dropna().astype(int)))
    if year not in years:
        raise ValuesFileError(f"{path}: no rows for {year} (the file's years: {years[0]}–{years[-1]}); give a year "
                              "the file holds, or leave out --year to check its newest")


def check_writable(out: Path) -> None:
    """Refuse a path we could not write to (:func:`pipelines.config.check_writable_file`), as a values-file error."""
    try:
        check_writable_file(out, example="flags.csv")
    except OutputPathError as problem:
        raise ValuesFileError(str(problem)) from None


def check_output_path(out: Path) -> None:
    """Refuse an output we cannot write before any work is done: an unknown type, a directory, a parent
    folder that cannot be created."""
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise ValuesFileError(f"{out}: unknown output type {out.suffix!r} (use .csv or .parquet)")
    check_writable(out)


def write_flags(flags: pd.DataFrame, out: Path) -> None:
    """Write by suffix: ``.csv`` (UTF-8 with BOM, for Excel) or ``.parquet``."""
    check_output_path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".parquet":
            flags.to_parquet(out, index=False)
        else:
            flags.to_csv(out, index=False, encoding="utf-8-sig")
    except OSError as exc:
        raise ValuesFileError(f"{out}: cannot be written: {exc.strerror or exc}") from exc
