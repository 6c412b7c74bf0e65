"""``kkik watch --values FILE``: the watch on a submission, before it is loaded, without touching the mart.

The file holds ``kpi_id, municipality_id, year, gender, value[, status]`` for the year to check and the
years before it (the history the year-over-year rules compare with); KPI and municipality metadata come
from the bundled catalogue. The same rules and GX suite run as in the yearly load.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from pipelines.quality.acceptance import open_error_mask
from pipelines.quality.audit import watch_and_validate
from pipelines.quality.bundled import bundled_kpis, bundled_municipalities, bundled_similar_groups

REQUIRED_COLUMNS = ["kpi_id", "municipality_id", "year", "gender", "value"]
OUTPUT_SUFFIXES = (".csv", ".parquet")


class ValuesFileError(ValueError):
    """The values file cannot be checked; the message names the file and the problem."""


def read_values_file(path: Path) -> pd.DataFrame:
    """Read a Parquet or CSV values file, keeping municipality codes as text (``0180``, not ``180``)."""
    if not path.exists():
        raise ValuesFileError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif suffix in (".csv", ".txt"):
            frame = pd.read_csv(path, sep=None, engine="python", dtype={"municipality_id": str, "kpi_id": str,
                                                                       "gender": str, "status": str},
                                encoding="utf-8-sig")
        else:
            raise ValuesFileError(f"{path}: unknown file type {suffix!r} (use .parquet or .csv)")
    except ValuesFileError:
        raise
    except Exception as exc:  # a truncated Parquet file, a CSV that is not text, ...
        raise ValuesFileError(f"{path}: cannot be read as {suffix.lstrip('.')}: {exc}") from exc
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValuesFileError(f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(frame.columns)}")
    if frame.empty:
        raise ValuesFileError(f"{path}: no rows")
    years = pd.to_numeric(frame["year"], errors="coerce")
    if years.isna().any():
        row = int(years.isna().to_numpy().nonzero()[0][0])
        raise ValuesFileError(f"{path}: row {row + 2}, column year: {frame['year'].iloc[row]!r} is not a year")
    values = pd.to_numeric(frame["value"], errors="coerce")
    text = values.isna() & frame["value"].notna()
    if text.any():
        row = int(text.to_numpy().nonzero()[0][0])
        raise ValuesFileError(f"{path}: row {row + 2}, column value: {frame['value'].iloc[row]!r} is not a number "
                              "(use a decimal point and no thousands separator)")
    frame["year"] = years.astype(int)
    frame["value"] = values
    return frame


def watch_values(values: pd.DataFrame, *, years: list[int] | None = None, today: date | None = None,
                 accepted_flags_path: Path | None = None) -> pd.DataFrame:
    """The ranked flags for ``years`` (default: the latest year in the file)."""
    flags, _ = watch_and_validate(
        values, bundled_kpis(), bundled_municipalities(), years=years or [int(values["year"].max())],
        similar_groups=bundled_similar_groups()[["similar_group", "municipality_id"]],
        accepted_flags_path=accepted_flags_path, today=today,
    )
    return flags


def check_output_path(out: Path) -> None:
    """Refuse an output type we cannot write before any work is done."""
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise ValuesFileError(f"{out}: unknown output type {out.suffix!r} (use .csv or .parquet)")


def write_flags(flags: pd.DataFrame, out: Path) -> None:
    """Write by suffix: ``.csv`` (UTF-8 with BOM, for Excel) or ``.parquet``."""
    check_output_path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".parquet":
        flags.to_parquet(out, index=False)
    else:
        flags.to_csv(out, index=False, encoding="utf-8-sig")


def open_errors(flags: pd.DataFrame) -> int:
    return int(open_error_mask(flags).sum())
