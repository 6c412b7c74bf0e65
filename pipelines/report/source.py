"""Reading the published KKiK mart: the only data a report may show.

A report is for readers, so it reads what was published, never the audit schema the loads write. The
readers' copy is `data/published/mart.duckdb` (schema `kkik`); before the first publication to that file
the warehouse's own `kkik` schema (opened read-only) is the published mart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.config import KKIK_YEARS, Settings

PUBLISHED_SCHEMA = "kkik"
#: A report year is "published" when at least this share of the figures in the KKiK set have a kommun value.
COMPLETE_YEAR_SHARE = 0.5


class ReportDataError(RuntimeError):
    """The published mart cannot make the asked-for report (no such file, kommun, county or year)."""


def published_path(path: Path | None = None, warehouse: Path | None = None) -> Path:
    """The DuckDB file to read: ``path`` if given, else the readers' copy beside the warehouse
    (``<warehouse folder>/published/mart.duckdb``) if it exists, else the warehouse itself."""
    if path is not None:
        if not Path(path).exists():
            raise ReportDataError(f"{path}: no such DuckDB file (the published mart)")
        return Path(path)
    warehouse = Path(warehouse) if warehouse is not None else Settings.from_env().duckdb_path
    readers_copy = warehouse.parent / "published" / "mart.duckdb"
    if readers_copy.exists():
        return readers_copy
    if not warehouse.exists():
        raise ReportDataError(f"{warehouse}: no warehouse yet; run `kkik load` first")
    return warehouse


@dataclass(frozen=True)
class MartFrames:
    """What every report of one KKiK year needs, read once (``kkik report --all`` renders 290 from it)."""

    year: int
    years: list[int]
    kpis: pd.DataFrame
    municipalities: pd.DataFrame
    results: pd.DataFrame
    path: Path
    #: of the year's KKiK figures, those with a kommun value in its column, and all (``year_coverage``)
    figures_with_values: int = 0
    figures_in_set: int = 0
    #: the year is still being released: the mart's newest KKiK year, some of its figures without values yet
    #: (an older year with a figure without values is no partial year: that figure was not measured then)
    is_partial: bool = False
    #: the periods (``kkik_result.year``) the mart holds: the years loaded. A figure's KKiK year whose period
    #: (the KKiK year less the figure's offset) is not among them was not loaded, which is not "no kommun has a
    #: value" (``kkik_result`` has a row for every figure-year of the set in the loaded years, values or not)
    loaded_periods: frozenset[int] = frozenset()

    @staticmethod
    def period(kkik_year: int, offset: int | None) -> int:
        """The period a figure's KKiK year shows (``offset``: ``dim_kpi.kkik_year_offset``, none is 0)."""
        return kkik_year - (0 if offset is None or pd.isna(offset) else int(offset))

    def is_loaded(self, kkik_year: int, offset: int | None) -> bool:
        """The mart holds the period of a figure's KKiK year."""
        return self.period(kkik_year, offset) in self.loaded_periods

    def years_not_loaded(self) -> list[int]:
        """The report's KKiK years of which the mart holds no figure's period: whole columns not loaded."""
        offsets = set(self.kpis["kkik_year_offset"].fillna(0).astype(int)) or {0}
        return [y for y in self.years if not any(self.is_loaded(y, offset) for offset in offsets)]


def _query(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pd.DataFrame:
    return con.execute(sql, params or []).df()


def year_coverage(con: duckdb.DuckDBPyConnection) -> dict[int, tuple[int, int]]:
    """Per KKiK year of the mart: (the figures of its set with a kommun value in its column, the figures in
    its set). The newest ``kkik_year`` is usually partial: figures released the year after their period
    (costs) already sit in next year's column while that year's surveys are not out yet."""
    rows = con.execute(f"""
        with years as (
            select distinct kkik_year from {PUBLISHED_SCHEMA}.kkik_result
        ),

        in_set as (
            select years.kkik_year, count(*) as n_figures
            from years
            inner join {PUBLISHED_SCHEMA}.dim_kpi as kpis
                on years.kkik_year between kpis.first_kkik_year and coalesce(kpis.last_kkik_year, 9999)
            group by years.kkik_year
        ),

        with_values as (
            select kkik_year, count(distinct kpi_id) as n_figures
            from {PUBLISHED_SCHEMA}.kkik_result
            where is_in_kkik_set and value is not null
            group by kkik_year
        )

        select in_set.kkik_year, coalesce(with_values.n_figures, 0), in_set.n_figures
        from in_set
        left join with_values on in_set.kkik_year = with_values.kkik_year
    """).fetchall()
    return {int(year): (int(with_values), int(in_set)) for year, with_values, in_set in rows}


def default_report_year(coverage: dict[int, tuple[int, int]]) -> int:
    """The newest KKiK year in which at least half of the set's figures have a kommun value (``coverage``:
    :func:`year_coverage`)."""
    complete = [year for year, (with_values, in_set) in coverage.items()
                if with_values and with_values >= COMPLETE_YEAR_SHARE * in_set]
    if not complete:
        raise ReportDataError("the published mart has no KKiK year with values (kkik.kkik_result is empty)")
    return max(complete)


def check_report_year(con: duckdb.DuckDBPyConnection, year: int, path: Path) -> None:
    """An asked-for KKiK year must have a kommun value of a figure in the set: else the report would be a page of
    grey cells that looks like a real, empty result (``--year 2030``). The refusal names the default, as
    ``kkik report --help`` words it (the newest published year, :func:`default_report_year`)."""
    years = [int(y) for (y,) in con.execute(f"""
        select distinct kkik_year from {PUBLISHED_SCHEMA}.kkik_result
        where is_in_kkik_set and value is not null order by kkik_year
    """).fetchall()]
    if year not in years:
        shown = f"{years[0]}–{years[-1]}" if years else "none"
        try:
            default = default_report_year(year_coverage(con))
        except ReportDataError:  # no year with values for half of its figures: no default either
            default = None
        newest = (f"the newest published year ({default}: the newest with kommun values for at least "
                  f"{COMPLETE_YEAR_SHARE:.0%} of its key figures)") if default else "the newest published year"
        raise ReportDataError(f"KKiK {year} has no published values in {path} (KKiK years with values: {shown}); "
                              f"choose one of them, or leave out --year for {newest}")


def read_mart(path: Path | None = None, year: int | None = None, warehouse: Path | None = None) -> MartFrames:
    """Read the published mart for the report of KKiK ``year`` (default: the newest published year)."""
    path = published_path(path, warehouse)
    with duckdb.connect(str(path), read_only=True) as con:
        tables = {row[0] for row in con.execute(
            "select table_name from information_schema.tables where table_schema = ?", [PUBLISHED_SCHEMA]
        ).fetchall()}
        missing = {"dim_kpi", "dim_municipality", "kkik_result", "fct_kpi_value"} - tables
        if missing:
            raise ReportDataError(f"{path}: schema {PUBLISHED_SCHEMA} lacks {', '.join(sorted(missing))}; "
                                  "has the mart been published?")
        if year:
            check_report_year(con, year, path)
        coverage = year_coverage(con)
        year = year or default_report_year(coverage)
        years = list(range(year - KKIK_YEARS + 1, year + 1))
        kpis = _query(con, f"""
            select kpi_id, title, area, category, direction, unit, source_agency, collection_method,
                is_divided_by_gender, first_kkik_year, last_kkik_year, kkik_year_offset, similar_group_kind
            from {PUBLISHED_SCHEMA}.dim_kpi
            where first_kkik_year <= ? and coalesce(last_kkik_year, 9999) >= ?
            order by area, category, kpi_id
        """, [year, year])
        if kpis.empty:
            raise ReportDataError(f"{path}: no key figure is in the KKiK set of {year}")
        municipalities = _query(con, f"""
            select municipality_id, municipality_name, county_code, county_region_name, is_kommun
            from {PUBLISHED_SCHEMA}.dim_municipality
        """)
        results = _query(con, f"""
            select result.kpi_id, result.municipality_id, result.year, result.kkik_year, result.gender,
                result.value, result.colour, result.national_rank, result.n_ranked, result.national_min,
                result.national_q1, result.national_median, result.national_q3, result.national_max,
                result.riket_value, result.county_mean,
                result.similar_group_mean, result.similar_group_n, result.previous_value,
                result.change_from_previous_year, result.is_synthetic, result.status, value_source.source
            from {PUBLISHED_SCHEMA}.kkik_result as result
            left join {PUBLISHED_SCHEMA}.fct_kpi_value as value_source
                on result.kpi_id = value_source.kpi_id and result.municipality_id = value_source.municipality_id
                and result.year = value_source.year and result.gender = value_source.gender
            where result.is_in_kkik_set and result.kkik_year between ? and ?
        """, [years[0], years[-1]])
        with_values, in_set = coverage.get(year, (0, 0))
        loaded = frozenset(int(y) for (y,) in con.execute(
            f"select distinct year from {PUBLISHED_SCHEMA}.kkik_result").fetchall())
    return MartFrames(year=year, years=years, kpis=kpis, municipalities=municipalities, results=results, path=path,
                      figures_with_values=with_values, figures_in_set=in_set,
                      is_partial=year == max(coverage) and with_values < in_set, loaded_periods=loaded)
