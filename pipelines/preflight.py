"""Checks made before anything runs: a refused command writes nothing (no raw folder, log or Dagster run).

Each check raises ``BadArguments`` with one message that says what is wrong and what would be right;
the CLI prints it and exits 2.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from pipelines.config import SNAPSHOT, SNAPSHOT_DIR, Settings, nearest_existing
from pipelines.console import year_ranges

KOLADA_SNAPSHOT_MANIFEST = SNAPSHOT_DIR / "kolada" / "manifest.json"


class BadArguments(ValueError):
    """A command that cannot run as given (exit code 2)."""


def partition_years() -> tuple[int, int]:
    """The first and last year the job's partitions cover (1994, Kolada's first period, to the last full year)."""
    from pipelines.partitions import yearly_partitions

    return int(yearly_partitions.get_first_partition_key()), int(yearly_partitions.get_last_partition_key())


def snapshot_years(manifest: Path = KOLADA_SNAPSHOT_MANIFEST) -> tuple[int, int]:
    """The years the bundled Kolada snapshot has values for."""
    years = json.loads(manifest.read_text(encoding="utf-8"))["years"]
    return min(years), max(years)


def check_years(years: Sequence[int], settings: Settings) -> None:
    """Consecutive, inside the partitions, and inside the snapshot's years when Kolada is the snapshot."""
    if list(years) != list(range(years[0], years[-1] + 1)):
        raise BadArguments(f"--year values must form a consecutive range (one run covers a range), not {list(years)}")
    if settings.kolada_url == SNAPSHOT:  # the narrower range first: it is the one that applies
        _inside(years, *snapshot_years(), "the bundled Kolada snapshot")
    first, last = partition_years()
    _inside(years, first, last, "the job's year partitions")


def _inside(years: Sequence[int], first: int, last: int, what: str) -> None:
    outside = [y for y in years if not first <= y <= last]
    if outside:
        shown = f"year {outside[0]} is" if len(outside) == 1 else f"years {year_ranges(outside)} are"
        raise BadArguments(f"{shown} outside {what} ({first}–{last}); choose years in {first}–{last}")


def check_sources(settings: Settings, *, allow_mixed: bool) -> None:
    """Every source configured, and not a mix of live and snapshot unless asked for."""
    if not settings.skolverket_url:
        raise BadArguments("KKIK_SKOLVERKET_URL is not set: Skolverket has no default live URL. Set it to where the "
                           "kommun exports are kept, or choose the bundled snapshot with KKIK_SOURCES=snapshot")
    if settings.sources_are_mixed and not allow_mixed:
        raise BadArguments(
            f"the sources mix live ({', '.join(settings.live_sources())}) and the bundled snapshot "
            f"({', '.join(settings.snapshot_sources())}): a mixed load would publish partly synthetic data. "
            "Set every source (KKIK_SOURCES=snapshot, or each KKIK_*_URL and KKIK_INBOX_DIR to a live one), "
            "or pass --allow-mixed-sources"
        )


def check_warehouse_writable(settings: Settings) -> None:
    """The warehouse file (when it exists) and its folder can be written: a load finds out before it fetches
    any source, not when its first step opens the file (and the failure looked like a source's)."""
    path = settings.duckdb_path
    try:
        if path.exists():
            with open(path, "r+b"):
                pass
        probe = nearest_existing(path.parent) / f".{path.name}.write-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as problem:
        raise BadArguments(f"the warehouse {path} cannot be written ({problem.strerror or problem}): check the "
                           "file's and its folder's permissions, or set KKIK_DUCKDB_PATH") from None


def check_audit_mart(settings: Settings) -> None:
    """The warehouse exists and holds a built audit mart (what ``kkik watch`` and ``kkik publish`` work on)."""
    from pipelines.quality.mart_inputs import AUDIT_SCHEMA
    from pipelines.warehouse import connect

    if not settings.duckdb_path.exists():
        raise BadArguments(f"{settings.duckdb_path} does not exist: run `kkik load` first")
    with connect(settings.duckdb_path, read_only=True) as con:
        built = con.execute("select count(*) from information_schema.tables where table_schema = ? "
                            "and table_name = 'fct_kpi_value'", [AUDIT_SCHEMA]).fetchall()[0][0]
    if not built:
        raise BadArguments(f"{settings.duckdb_path} has no audit mart: run `kkik load` first")


def refuses_without_audit_mart(command: str, settings: Settings) -> bool:
    """True (after printing why to stderr) when ``kkik <command>`` has no built audit mart to work on: the
    caller exits 2. One place for the refusal ``kkik watch``, ``kkik accept`` and ``kkik publish`` share."""
    import sys

    try:
        check_audit_mart(settings)
    except BadArguments as problem:
        print(f"kkik {command}: {problem}", file=sys.stderr)
        return True
    return False


def check_years_loaded(years: Sequence[int], settings: Settings) -> None:
    """The audit mart has values for every one of ``years`` (else the watch would show a clean, empty page,
    and an audit of a year the mart lacks would write flags of a year nothing loaded)."""
    from pipelines.quality.mart_inputs import AUDIT_SCHEMA
    from pipelines.warehouse import connect

    check_audit_mart(settings)
    with connect(settings.duckdb_path, read_only=True) as con:
        loaded_years = [y for (y,) in con.execute(f"select distinct year from {AUDIT_SCHEMA}.fct_kpi_value "
                                                  "order by year").fetchall()]
    for year in years:
        if year not in loaded_years:
            loaded = f"{loaded_years[0]}–{loaded_years[-1]}" if loaded_years else "none"
            first, last = snapshot_years() if settings.kolada_url == SNAPSHOT else partition_years()
            load_it = f"load it first (`kkik load --year {year}`) or " if first <= year <= last else ""
            raise BadArguments(f"no values for {year} in {AUDIT_SCHEMA}.fct_kpi_value (years loaded: {loaded}); "
                               f"{load_it}choose a loaded year")
