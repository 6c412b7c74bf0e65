"""The warehouse side of the watch: the dbt models and macros that define what the rules compare.

The meanings the watch shares with the mart live once, in dbt (``dbt_project/models/marts/watch/`` and
``dbt_project/macros/``): each cell with its attributes, previous period, previous value and K/M values
(``watch_cell``); the previous period of each figure (``watch_kpi_period``, also kkik_result's change
column); the robust statistics per figure, year and gender nationally (``watch_group_stat``) and among a
kommun's similar kommuner (``watch_similar_stat``); the colour rule (macro ``kkik_colour``, also
kkik_result's colour).

The yearly load builds these models with dbt beside the audit mart (as views over it), and the audit reads them
(:func:`read_tables`). A values file or a hand-made test world is checked through the *same model
files*: :func:`build_tables` lands the frames in an in-memory DuckDB under the names of the watch's four
input models and runs the downstream models' SQL, rendered with Jinja2 the way dbt renders it (``ref``,
``var`` and the project's macros), so no rule meets data prepared any other way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import jinja2
import pandas as pd

from pipelines.config import DBT_PROJECT_DIR

MODELS_DIR = DBT_PROJECT_DIR / "models"
WATCH_MODELS_DIR = MODELS_DIR / "marts" / "watch"
MACROS_DIR = DBT_PROJECT_DIR / "macros"
#: The watch's inputs: built from the mart by dbt, or landed from frames by :func:`build_tables`.
INPUT_MODELS = ("watch_value", "watch_kpi", "watch_municipality", "watch_similar_member")
#: What the rules read, in dependency order.
DERIVED_MODELS = ("watch_kpi_period", "watch_similar_peer", "watch_cell", "watch_group_stat", "watch_similar_stat")


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
    """The watch models' rows as frames: what the rule modules read."""

    cells: pd.DataFrame
    periods: pd.DataFrame
    peers: pd.DataFrame
    group_stats: pd.DataFrame
    similar_stats: pd.DataFrame


def _fetch(con: duckdb.DuckDBPyConnection, relation: Mapping[str, str]) -> WatchTables:
    def df(name: str) -> pd.DataFrame:
        return con.execute(f"select * from {relation[name]}").df()

    return WatchTables(cells=df("watch_cell"), periods=df("watch_kpi_period"), peers=df("watch_similar_peer"),
                       group_stats=df("watch_group_stat"), similar_stats=df("watch_similar_stat"))


def run_models(con: duckdb.DuckDBPyConnection, names: Sequence[str], refs: dict[str, str],
               variables: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Create each model as a temporary table on ``con`` (in order); returns ``refs`` extended by them."""
    for name in names:
        con.execute(f"create or replace temp table {name} as {render(model_sql(name), refs, variables)}")
        refs[name] = name
    return refs


def build_tables(inputs: Mapping[str, pd.DataFrame], *, years: Sequence[int] | None = None) -> WatchTables:
    """Run the watch models on frames landed as the four input models (``INPUT_MODELS``).

    ``years`` are the checked years: the statistics are computed for them only (``var('watch_years')``),
    the cells keep every year as history.
    """
    missing = [name for name in INPUT_MODELS if name not in inputs]
    if missing:
        raise KeyError(f"the watch needs the input models {missing}")
    with duckdb.connect(":memory:") as con:
        refs = {}
        for name in INPUT_MODELS:
            con.register(f"{name}_frame", inputs[name])
            con.execute(f"create temp table {name} as select * from {name}_frame")
            con.unregister(f"{name}_frame")
            refs[name] = name
        run_models(con, DERIVED_MODELS, refs, {"watch_years": list(years or [])})
        return _fetch(con, refs)


def read_tables(con: duckdb.DuckDBPyConnection, schema: str) -> WatchTables:
    """The watch models as dbt built them in ``schema`` (the audit mart's)."""
    return _fetch(con, {name: f"{schema}.{name}" for name in DERIVED_MODELS})


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


def land_municipalities(kolada_municipalities: pd.DataFrame, kolada_groups: pd.DataFrame) -> pd.DataFrame:
    """int_municipalities_classified (county, SKR group, newest similar-kommuner group) on bundled frames.

    ``kolada_municipalities``: ``municipality_id, municipality_name, municipality_type``;
    ``kolada_groups``: ``group_id, group_title, municipality_id`` (one row per member), as the staging
    models give them.
    """
    with duckdb.connect(":memory:") as con:
        con.register("stg_kolada__municipalities", kolada_municipalities.assign(is_latest_load=True))
        con.register("stg_kolada__municipality_group_members", kolada_groups.assign(is_latest_load=True))
        refs = {"stg_kolada__municipalities": "stg_kolada__municipalities",
                "stg_kolada__municipality_group_members": "stg_kolada__municipality_group_members",
                "int_similar_kommun_groups": "int_similar_kommun_groups"}
        # the model int_municipalities_classified reads the area groups' model: rendered first, as a view
        con.execute(f"create view int_similar_kommun_groups as {render(model_sql('int_similar_kommun_groups'), refs)}")
        return con.execute(render(model_sql("int_municipalities_classified"), refs)).df()


def kolada_kinds(kolada_kpis: pd.DataFrame) -> pd.DataFrame:
    """int_kolada_kpi_kinds (each figure's kind from its Kolada title) on a frame of ``kpi_id, title,
    description``: columns ``kpi_id, title, unit``."""
    with duckdb.connect(":memory:") as con:
        con.register("int_kolada_kpis_latest", kolada_kpis)
        return con.execute(render(model_sql("int_kolada_kpi_kinds"),
                                  {"int_kolada_kpis_latest": "int_kolada_kpis_latest"})).df()


def source_path(name: str) -> Path:
    """Where a watch model is defined (for messages and docs)."""
    return WATCH_MODELS_DIR / f"{name}.sql"


def robust_stats(frame: pd.DataFrame, keys: Sequence[str], column: str) -> pd.DataFrame:
    """The macro ``robust_stats`` of ``frame[column]`` per ``keys`` (for frames no model holds, such as the
    source comparison of a test): columns ``keys + [n, median, mad, q1, q3, scale]``."""
    group = ", ".join(keys)
    with duckdb.connect(":memory:") as con:
        con.register("frame", frame[list(keys) + [column]])
        return con.execute(f"select {group}, {macro('robust_stats', column)} from frame "
                           f"where {column} is not null group by {group}").df()
