"""The warehouse side of the watch: the dbt models and macros that define what the rules compare.

The meanings the watch shares with the mart live once, in dbt (``dbt_project/models/marts/watch/`` and
``dbt_project/macros/``): each cell with its attributes, previous period, previous value and K/M values
(``watch_cell``); the previous period of each figure (``watch_kpi_period``, also kkik_result's change
column); the robust statistics per figure, year and gender nationally (``watch_group_stat``) and among a
kommun's similar kommuner (``watch_similar_stat``); the colour rule (macro ``kkik_colour``, also
kkik_result's colour).

The yearly load builds these models with dbt beside the audit mart (as views over it, for analysts); the audit
runs the same files for its checked years over the dbt-built inputs (:func:`read_tables`). A values file or a hand-made test world is checked through the *same model
files*: :func:`build_tables` lands the frames in an in-memory DuckDB under the names of the watch's four
input models and runs the downstream models' SQL, rendered with Jinja2 the way dbt renders it (``ref``,
``var`` and the project's macros), so no rule meets data prepared any other way.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import jinja2
import numpy as np
import pandas as pd

from pipelines.config import DBT_PROJECT_DIR

MODELS_DIR = DBT_PROJECT_DIR / "models"
WATCH_MODELS_DIR = MODELS_DIR / "marts" / "watch"
MACROS_DIR = DBT_PROJECT_DIR / "macros"
#: The watch's inputs: built from the mart by dbt, or landed from frames by :func:`build_tables`.
INPUT_MODELS = ("watch_value", "watch_kpi", "watch_municipality", "watch_similar_group", "watch_similar_member")
#: The shared models upstream of the watch (int_similar_kommun_group_chosen, also kkik_result's) read the
#: warehouse's intermediate relations: on landed inputs each is this view over the input that holds it.
INPUT_ALIASES = {
    "int_similar_kommun_groups": "select municipality_id, similar_group_kind, group_year, "
                                 "similar_group as similar_group_id from watch_similar_group",
    "stg_kolada__municipality_group_members": "select similar_group as group_id, municipality_id, "
                                              "true as is_latest_load from watch_similar_member",
    "int_kpis_all": "select * from watch_kpi",
    "int_kpi_values_conformed": "select * from watch_value",
}
#: What the rules read, in dependency order.
DERIVED_MODELS = ("watch_input_problem", "watch_kpi_period", "watch_kpi_history", "watch_number", "watch_cell",
                  "int_similar_kommun_group_chosen", "watch_similar_peer",
                  "watch_group_stat", "watch_similar_stat", "watch_period_stat", "watch_missing_cell")
#: DuckDB on the two cores of a reviewer's laptop; it spills to its temp directory beyond its share. 1280 MB:
#: the audit over the whole of Kolada (9 M values, 2022 checked) builds the models within it (watch_cell
#: passes at 1.1 GB, not at 1 GB: a block it cannot spill), and peaks at 1.78 GiB for the process with the
#: frames read under FETCH_MEMORY_LIMIT; not to be lowered without measuring (bench/scale_benchmark.py).
DUCKDB_SETTINGS = {"threads": 2, "memory_limit": "1280MB", "preserve_insertion_order": False}
#: DuckDB's memory while the built models are read into frames: building needs the 1280 MB, reading them
#: little, and the frames need room of their own. Lowered before the read, DuckDB gives back what it cached
#: (its temp tables spill): over the whole of Kolada the audit's peak 1.99 -> 1.76 GiB, the same flags.
FETCH_MEMORY_LIMIT = "512MB"
#: A values frame as landed, normalised the one way: codes as 4-character text (180 and '180' are 0180: Excel
#: drops zeros), years as integers, genders as upper-case T/K/M, values as doubles (text that is no
#: number is a missing value), the row in the values file (``file_row``, for the integrity messages; null
#: for a frame from elsewhere) and the record's position (the first of a repeated key wins).
NORMALISE_VALUES = """
    select
        trim(cast(kpi_id as varchar)) as kpi_id,
        case when regexp_full_match(trim(cast(municipality_id as varchar)), '\\d{{1,4}}')
            then lpad(trim(cast(municipality_id as varchar)), 4, '0')
            else trim(cast(municipality_id as varchar)) end as municipality_id,
        case when try_cast(year as double) = floor(try_cast(year as double))
            then cast(try_cast(year as double) as integer) end as year,
        upper(trim(cast(gender as varchar))) as gender,
        try_cast(value as double) as value,
        {status} as status,
        {source} as source,
        {is_synthetic} as is_synthetic,
        {file_row} as file_row,
        input_row
    from {relation}"""


class _Macros:
    """The project's macros as Jinja2 callables (dbt's global macro namespace)."""

    def __init__(self, env: jinja2.Environment):
        self.macros: dict[str, Any] = {}
        for path in sorted(MACROS_DIR.glob("*.sql")):
            try:
                module = env.from_string(path.read_text(encoding="utf-8")).module
            except jinja2.TemplateSyntaxError:  # dbt-only blocks ({% test %}): not SQL the watch renders
                continue
            self.macros.update({name: getattr(module, name) for name in dir(module) if not name.startswith("_")})


@lru_cache(maxsize=1)
def _environment() -> tuple[jinja2.Environment, dict[str, Any]]:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)  # SQL, not HTML
    env.globals["var"] = lambda name, default=None: env.globals["_vars"].get(name, default)
    env.globals["_vars"] = {}
    macros = _Macros(env).macros
    env.globals.update(macros)
    return env, macros


def render(sql: str, refs: Mapping[str, str], variables: Mapping[str, Any] | None = None) -> str:
    """A dbt model's or macro call's SQL with ``ref`` resolved through ``refs`` and ``var`` from ``variables``."""
    env, _ = _environment()
    env.globals["_vars"] = dict(variables or {})

    def ref(name: str) -> str:
        if name not in refs:
            raise KeyError(f"ref('{name}') is not landed for the watch (known: {sorted(refs)})")
        return refs[name]

    return env.from_string(sql).render(ref=ref, source=None)


def macro(name: str, *args: str) -> str:
    """The SQL of one project macro called with SQL expressions, e.g. ``macro('kkik_colour', 'v', ...)``."""
    _, macros = _environment()
    return str(macros[name](*args))


def model_sql(name: str) -> str:
    path = WATCH_MODELS_DIR / f"{name}.sql"
    if not path.exists():
        path = next(MODELS_DIR.rglob(f"{name}.sql"))
    return path.read_text(encoding="utf-8")


@dataclass
class WatchTables:
    """The watch models' rows as frames: what the rule modules read (the checked years only)."""

    #: handed over to the watch (``WatchContext.values``), which leaves None
    cells: pd.DataFrame | None
    peers: pd.DataFrame
    group_stats: pd.DataFrame
    similar_stats: pd.DataFrame
    period_stats: pd.DataFrame
    missing: pd.DataFrame
    #: every problem of the input rows (``watch_input_problem``, all years): what the integrity rules flag
    problems: pd.DataFrame


def _fetch(con: duckdb.DuckDBPyConnection, relation: Mapping[str, str], years: Sequence[int]) -> WatchTables:
    checked = f"year in ({', '.join(str(int(y)) for y in years)})" if years else "true"

    def df(name: str) -> pd.DataFrame:
        return con.execute(f"select * from {relation[name]} where {checked}").df()

    return WatchTables(cells=df("watch_cell"), peers=df("watch_similar_peer"), group_stats=df("watch_group_stat"),
                       similar_stats=df("watch_similar_stat"), period_stats=df("watch_period_stat"),
                       missing=df("watch_missing_cell"),
                       problems=con.execute(f"select * from {relation['watch_input_problem']}").df())


def _connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB within DUCKDB_SETTINGS. It spills beyond its memory limit into the system's temp
    folder: an in-memory database's default is ``.tmp`` in the current directory (a work tree, say)."""
    con = duckdb.connect(":memory:")
    for name, value in DUCKDB_SETTINGS.items():
        con.execute(f"set {name} = '{value}'")
    con.execute("set temp_directory = ?", [str(Path(tempfile.gettempdir()) / "kkik-watch-duckdb")])
    return con


def run_models(con: duckdb.DuckDBPyConnection, names: Sequence[str], refs: dict[str, str],
               variables: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Create each model as a temporary table on ``con`` (in order); returns ``refs`` extended by them."""
    for name in names:
        con.execute(f"create or replace temp table {name} as {render(model_sql(name), refs, variables)}")
        refs[name] = name
    return refs


def land_values(con: duckdb.DuckDBPyConnection, values: pd.DataFrame, name: str = "watch_value") -> None:
    """``values`` (``kpi_id, municipality_id, year, gender, value`` [, ``status, source, is_synthetic``])
    as the table ``name``, normalised by NORMALISE_VALUES."""
    con.register(f"{name}_frame", values.assign(input_row=np.arange(len(values))))
    relation = f"{name}_frame"
    present = set(values.columns)
    optional = {c: (f"cast({c} as varchar)" if c != "is_synthetic" else "coalesce(cast(is_synthetic as boolean), "
                    "false)") if c in present else ("false" if c == "is_synthetic" else "cast(null as varchar)")
                for c in ("status", "source", "is_synthetic")}
    optional["file_row"] = "cast(file_row as integer)" if "file_row" in present else "cast(null as integer)"
    con.execute(f"create or replace temp table {name} as {NORMALISE_VALUES.format(relation=relation, **optional)}")
    con.unregister(f"{name}_frame")


def normalise_values(values: pd.DataFrame) -> pd.DataFrame:
    """A frame's key and value columns normalised by NORMALISE_VALUES, its other columns as they were."""
    with _connect() as con:
        land_values(con, values)
        out = con.execute("select * exclude (input_row) from watch_value order by input_row").df()
    extra = [c for c in values.columns if c not in out.columns]
    return pd.concat([out, values[extra].reset_index(drop=True)], axis=1)


def build_tables(inputs: Mapping[str, pd.DataFrame], *, years: Sequence[int] | None = None,
                 variables: Mapping[str, Any] | None = None) -> WatchTables:
    """Run the watch models on frames landed as the input models (``INPUT_MODELS``).

    ``years`` are the checked years (``var('watch_years')``): Python receives their cells only, with the
    history the rules compare with already joined on in SQL. ``variables``: further dbt variables of the
    models (``watch_history_periods``, ``watch_similar_measures``).
    """
    missing = [name for name in INPUT_MODELS if name not in inputs]
    if missing:
        raise KeyError(f"the watch needs the input models {missing}")
    years = list(years or [])
    variables = {**(variables or {}), "watch_years": years}
    with _connect() as con:
        land_values(con, inputs["watch_value"])
        refs = {"watch_value": "watch_value"}
        for name in INPUT_MODELS[1:]:
            con.register(f"{name}_frame", inputs[name])
            con.execute(f"create temp table {name} as select * from {name}_frame")
            con.unregister(f"{name}_frame")
            refs[name] = name
        for alias, sql in INPUT_ALIASES.items():
            con.execute(f"create temp view {alias} as {sql}")
            refs[alias] = alias
        run_models(con, DERIVED_MODELS, refs, variables)
        return _fetch(con, refs, years)


def read_tables(con: duckdb.DuckDBPyConnection, schema: str, years: Sequence[int] | None = None,
                variables: Mapping[str, Any] | None = None) -> WatchTables:
    """The watch models over the mart in ``schema`` (the audit mart's), for the checked ``years``.

    dbt builds the watch models beside the mart as views over every year (for analysts); the audit runs the
    *same model files* here with ``var('watch_years')`` set to the checked years, as temporary tables on
    ``con``, so the year filters reach the mart's tables: over all of Kolada (9 M values) the views would
    compute every year's cells, peers and statistics to keep one year's (165 s, 11 GiB). The inputs are the
    dbt-built input models in ``schema`` and the intermediate relations the shared models read; DuckDB works
    within DUCKDB_SETTINGS and spills beyond them. ``variables``: further dbt variables (as build_tables).
    """
    years = list(years or [])
    callers = {name: con.execute("select current_setting(?)", [name]).fetchall()[0][0] for name in DUCKDB_SETTINGS}
    for name, value in DUCKDB_SETTINGS.items():
        con.execute(f"set {name} = '{value}'")
    try:
        return _run_on_warehouse(con, schema, years, variables)
    finally:  # the caller's connection reads on as it did (insertion order kept, its own memory limit)
        for name, value in callers.items():
            con.execute(f"set {name} = '{value}'")


def _run_on_warehouse(con: duckdb.DuckDBPyConnection, schema: str, years: list[int],
                      variables: Mapping[str, Any] | None) -> WatchTables:
    refs = {name: f"{schema}.{name}" for name in INPUT_MODELS}
    for alias in INPUT_ALIASES:  # the relations dbt built them from, wherever dbt put them
        found = con.execute("select table_schema from information_schema.tables where table_name = ? "
                            "order by table_schema = ? desc limit 1", [alias, schema]).fetchall()
        if not found:
            raise KeyError(f"the warehouse holds no {alias}: build the mart with dbt first")
        refs[alias] = f"{found[0][0]}.{alias}"
    run_models(con, DERIVED_MODELS, refs, {**(variables or {}), "watch_years": years})
    try:
        con.execute(f"set memory_limit = '{FETCH_MEMORY_LIMIT}'")  # read_tables restores the caller's
        tables = _fetch(con, refs, years)
    finally:
        for name in DERIVED_MODELS:
            con.execute(f"drop table if exists temp.{name}")
    return tables


def colours(candidates: pd.DataFrame, kommun_values: pd.DataFrame) -> pd.Series:
    """The KKiK colour each candidate value would get among the other kommuner (macro ``kkik_colour``).

    ``candidates``: ``kpi_id, municipality_id, year, gender, direction, value``; ``kommun_values``: the
    kommuner's stored values (``kpi_id, municipality_id, year, gender, value``). The candidate takes the
    kommun's own place: its rank is 1 + the number of *other* kommuner strictly better (SQL ``rank()``:
    ties share the best rank), and n counts the others with a value plus the candidate, exactly as
    kkik_result ranks the stored values.
    """
    if not len(candidates):
        return pd.Series([], dtype=object, index=candidates.index)
    frame = candidates[["kpi_id", "municipality_id", "year", "gender", "direction", "value"]].copy()
    frame["row_id"] = range(len(frame))
    frame["year"] = frame["year"].astype("Int64")
    better = ("case when c.direction = 'lower' then o.value < c.value else o.value > c.value end")
    colour = macro("kkik_colour", "c.value", "c.direction", f"1 + count(o.value) filter (where {better})",
                   "count(o.value) + 1")
    with duckdb.connect(":memory:") as con:
        con.register("c", frame)
        con.register("o", kommun_values[["kpi_id", "municipality_id", "year", "gender", "value"]])
        out = con.execute(f"""
            select c.row_id, {colour} as colour
            from c
            left join o
                on o.kpi_id = c.kpi_id and o.year = c.year and o.gender = c.gender
                and o.municipality_id <> c.municipality_id and o.value is not null
            group by c.row_id, c.value, c.direction
            order by c.row_id""").df()
    return pd.Series(out["colour"].to_numpy(dtype=object), index=candidates.index)


def run_model(name: str, frames: Mapping[str, pd.DataFrame], views: Sequence[str] = ()) -> pd.DataFrame:
    """One of the project's models on frames landed under the names it refs (the bundled metadata of
    ``kkik watch --values``: int_municipalities_classified, int_similar_kommun_groups, int_kpis_all,
    int_kolada_kpi_kinds); ``views`` are models it refs that are rendered first, in order."""
    with duckdb.connect(":memory:") as con:
        refs = {}
        for ref, frame in frames.items():
            con.register(ref, frame)
            refs[ref] = ref
        for view in views:
            refs[view] = view
            con.execute(f"create view {view} as {render(model_sql(view), refs)}")
        return con.execute(render(model_sql(name), refs)).df()


def robust_stats(frame: pd.DataFrame, keys: Sequence[str], column: str) -> pd.DataFrame:
    """The macro ``robust_stats`` of ``frame[column]`` per ``keys`` (for frames no model holds, such as the
    source comparison of a test): columns ``keys + [n, median, mad, q1, q3, scale]``."""
    group = ", ".join(keys)
    with duckdb.connect(":memory:") as con:
        con.register("frame", frame[list(keys) + [column]])
        return con.execute(f"select {group}, {macro('robust_stats', column)} from frame "
                           f"where {column} is not null group by {group}").df()
