"""Flags a reviewer has accepted: a versioned file, so every acceptance has a name, a reason and a date.

``expectations/accepted_flags.csv`` has one line per accepted flag: ``rule_id, kpi_id, municipality_id,
year, gender`` identify it (an empty field matches a flag whose field is empty, e.g. a KPI-wide flag
has no municipality), ``accepted_by, reason, accepted_on`` record the decision. An accepted error flag
no longer blocks publication; the publish step writes each acceptance it relied on to
``kkik.kkik_flag_acceptance`` so the published mart says which errors were let through, by whom and why.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from pipelines.config import EXPECTATIONS_DIR

ACCEPTED_FLAGS_PATH = EXPECTATIONS_DIR / "accepted_flags.csv"
FLAG_KEY = ["rule_id", "kpi_id", "municipality_id", "year", "gender"]
ACCEPTANCE_COLUMNS = [*FLAG_KEY, "accepted_by", "reason", "accepted_on"]


class AcceptanceFileError(ValueError):
    """The accepted-flags file is not usable (a missing column, an acceptance without a name or reason)."""


def read_acceptances(path: Path = ACCEPTED_FLAGS_PATH) -> pd.DataFrame:
    """The acceptances as a frame (empty when the file does not exist)."""
    if not path.exists():
        return pd.DataFrame(columns=ACCEPTANCE_COLUMNS)
    lines = path.read_text(encoding="utf-8").splitlines()
    body = "\n".join(line for line in lines if not line.startswith("#"))  # comment lines, not '#' in reasons
    frame = pd.read_csv(io.StringIO(body), dtype=str, keep_default_na=False)
    missing = [c for c in ACCEPTANCE_COLUMNS if c not in frame.columns]
    if missing:
        raise AcceptanceFileError(f"{path}: missing column(s) {', '.join(missing)}")
    for number, row in frame.iterrows():
        if not row["accepted_by"].strip() or not row["reason"].strip():
            raise AcceptanceFileError(f"{path}, line {number + 2}: an acceptance needs accepted_by and a reason")
    return frame[ACCEPTANCE_COLUMNS]


def apply_acceptances(flags: pd.DataFrame, acceptances: pd.DataFrame) -> pd.DataFrame:
    """``flags`` with ``accepted``, ``accepted_by``, ``acceptance_reason`` and ``accepted_on`` filled in."""
    keyed = flags.copy()
    keys = _key_strings(keyed)
    table = {tuple(row[c] for c in FLAG_KEY): row for _, row in acceptances.iterrows()}
    matches = [table.get(key) for key in keys]
    keyed["accepted"] = [m is not None for m in matches]
    keyed["accepted_by"] = [m["accepted_by"] if m is not None else None for m in matches]
    keyed["acceptance_reason"] = [m["reason"] if m is not None else None for m in matches]
    keyed["accepted_on"] = [m["accepted_on"] if m is not None else None for m in matches]
    return keyed


def _key_strings(flags: pd.DataFrame) -> list[tuple[str, ...]]:
    """The flag keys as the strings a CSV holds (year without decimals, empty for missing)."""
    if not len(flags):
        return []
    columns = []
    for c in FLAG_KEY:
        column = flags[c]
        if c == "year":
            years = pd.to_numeric(column, errors="coerce")
            text = years.astype("Int64").astype(str).where(years.notna(), "")
        else:
            text = column.astype(object).where(column.notna(), "").astype(str)
        columns.append(text.tolist())
    return list(zip(*columns))


def open_error_mask(flags: pd.DataFrame) -> pd.Series:
    """The open errors: error flags no reviewer has accepted, on any figure (the one definition)."""
    accepted = flags["accepted"].astype(bool) if "accepted" in flags.columns else False
    return (flags["severity"] == "error") & ~accepted


def outside_kkik_mask(flags: pd.DataFrame) -> pd.Series:
    """Flags on a figure outside the KKiK set (``is_kkik`` false: a Kolada figure a ``kkik load --kpis …``
    brought). A flag without a figure (the gate, GX) or with an unknown one counts as KKiK."""
    if "is_kkik" not in flags.columns:
        return pd.Series(False, index=flags.index)
    return flags["is_kkik"].eq(False).fillna(False).astype(bool)  # a missing is_kkik (NA) counts as KKiK


def blocking_mask(flags: pd.DataFrame) -> pd.Series:
    """The flags that block publication: open errors on the KKiK set. Open errors on other figures are
    listed and counted, but the KKiK report does not wait on figures it does not show. The publish
    step reads the stored flags through this mask too (pipelines/quality/publish.py)."""
    return open_error_mask(flags) & ~outside_kkik_mask(flags)


def flag_counts(flags: pd.DataFrame) -> dict[str, int]:
    """``flags, errors, open_errors, open_errors_outside_kkik, accepted_errors, warnings``: the counts the
    audit, the asset checks and the report show (``open_errors`` are the blocking ones, :func:`blocking_mask`;
    open errors on figures outside the KKiK set are counted apart)."""
    errors = flags["severity"] == "error"
    open_errors = open_error_mask(flags)
    return {"flags": len(flags), "errors": int(errors.sum()), "open_errors": int(blocking_mask(flags).sum()),
            "open_errors_outside_kkik": int((open_errors & outside_kkik_mask(flags)).sum()),
            "accepted_errors": int((errors & ~open_errors).sum()),
            "warnings": int((flags["severity"] == "warning").sum())}
