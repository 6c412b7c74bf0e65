"""Input normalisation and the shared view of the data that every rule group reads.

The watch gets plain DataFrames (from the mart or from a user's file). Normalising them once here means
every input lands with the same column names and types: municipality codes as 4-character strings, years
as ints, genders as ``T``/``K``/``M``, values as floats. What the rules compare (each cell's previous
period and value, K and M beside T, the robust statistics nationally and among similar kommuner) comes
ready-made from the watch's dbt models (:mod:`pipelines.quality.warehouse`), for the checked years
only: the history lookups are joins in SQL, and the :class:`WatchContext` only reads those columns.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

import numpy as np
import pandas as pd

from pipelines.quality.warehouse import WatchTables, build_tables

KEY = ["kpi_id", "municipality_id", "year", "gender"]
CELL = ["kpi_id", "municipality_id", "gender"]

KPI_COLUMNS = ["kpi_id", "title", "unit", "direction", "is_divided_by_gender", "collection_method", "source_agency",
               "is_additive", "similar_group_kind"]
MUNICIPALITY_COLUMNS = ["municipality_id", "name", "county_id", "is_kommun", "similar_group", "is_participant"]


class WatchInputError(ValueError):
    """An input frame lacks a required column."""


def _require(frame: pd.DataFrame, columns: list[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise WatchInputError(f"{name} lacks columns {missing}; it has {list(frame.columns)}")


def normalise_code(codes: pd.Series) -> pd.Series:
    """Municipality codes as 4-character strings: 180 and '180' both become '0180' (Excel drops zeros)."""
    text = codes.astype("string").str.strip()
    numeric = text.str.fullmatch(r"\d{1,4}").fillna(False)
    return text.where(~numeric, text.str.zfill(4)).astype(object).where(codes.notna(), None)


def _as_object(frame: pd.DataFrame) -> pd.DataFrame:
    """String columns as plain Python objects: pandas 3's Arrow strings are slow to filter and join."""
    for column in frame.columns:
        if pd.api.types.is_string_dtype(frame[column].dtype) and frame[column].dtype != object:
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    return frame


#: what a KPI table may leave out, and what it then means
KPI_DEFAULTS = {"title": "", "direction": "none", "is_divided_by_gender": False, "collection_method": "read_from_source",
                "source_agency": "", "is_additive": False, "similar_group_kind": "övergripande"}


def normalise_kpis(kpis: pd.DataFrame) -> pd.DataFrame:
    """The KPI table with every column of KPI_COLUMNS (defaults for the absent), indexed by ``kpi_id``."""
    _require(kpis, ["kpi_id", "unit", "direction"], "kpis")
    out = kpis.assign(**{c: d for c, d in KPI_DEFAULTS.items() if c not in kpis.columns})
    for column, default in KPI_DEFAULTS.items():
        out[column] = out[column].fillna(default).astype(type(default))
    for column in ("kpi_id", "unit", "direction"):
        out[column] = out[column].astype(str).str.strip()
    out["unit"], out["direction"] = out["unit"].str.lower(), out["direction"].str.lower()
    out = out.drop_duplicates("kpi_id", keep="last")
    return _as_object(out.set_index(pd.Index(out["kpi_id"].to_numpy(dtype=object), name="kpi_id")))


def normalise_municipalities(municipalities: pd.DataFrame) -> pd.DataFrame:
    """The municipality table with every column of MUNICIPALITY_COLUMNS, indexed by ``municipality_id``;
    without ``is_kommun`` Kolada's convention (0000 Riket, 0001–0025 regions, other codes kommuner)."""
    _require(municipalities, ["municipality_id"], "municipalities")
    out = municipalities.assign(municipality_id=normalise_code(municipalities["municipality_id"]))
    codes = out["municipality_id"].astype("string")
    out = out.assign(**{c: d for c, d in {"name": "", "county_id": None, "similar_group": None, "is_kommun":
                                          codes.str.fullmatch(r"\d{4}").fillna(False) & (pd.to_numeric(codes, errors="coerce") > 25)
                                          }.items() if c not in out.columns})
    out["is_participant"] = out["is_participant"] if "is_participant" in out.columns else out["is_kommun"]
    out["name"] = out["name"].fillna("").astype(str)
    for column in ("is_kommun", "is_participant"):
        out[column] = out[column].fillna(False).astype(bool)
    out["similar_group"] = out["similar_group"].astype(object).where(out["similar_group"].notna(), None)
    out = out.drop_duplicates("municipality_id", keep="last")
    return _as_object(out.set_index(pd.Index(out["municipality_id"].to_numpy(dtype=object), name="municipality_id")))


def watch_inputs(raw: pd.DataFrame, kpis: pd.DataFrame, municipalities: pd.DataFrame,
                 similar_groups: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    """The frames in the columns of the watch's input models (``watch_value`` …); the values as given
    (:func:`pipelines.quality.warehouse.land_values` normalises them).

    ``similar_groups`` (``similar_group, municipality_id``) lists the members of each group named in
    ``municipalities.similar_group`` (Kolada's "Liknande kommuner", a group per kommun); with the columns
    ``owner_id, similar_group_kind, group_year`` it holds every area group of each kommun (the bundled
    Kolada groups), from which the watch picks a figure's as kkik_result does. Without it,
    ``similar_group`` is read as a partition (e.g. SKR's kommungrupp) and its members are the kommuner
    that carry it.
    """
    kommuner = municipalities.loc[municipalities["is_kommun"] & municipalities["similar_group"].notna()]
    if similar_groups is not None and len(similar_groups):
        _require(similar_groups, ["similar_group", "municipality_id"], "similar_groups")
        members = similar_groups[["similar_group", "municipality_id"]].assign(
            municipality_id=normalise_code(similar_groups["municipality_id"])).drop_duplicates()
    else:
        members = kommuner[["similar_group", "municipality_id"]]
    if similar_groups is not None and {"owner_id", "similar_group_kind", "group_year"} <= set(similar_groups.columns):
        groups = similar_groups[["owner_id", "similar_group_kind", "group_year", "similar_group"]].rename(
            columns={"owner_id": "municipality_id"}).drop_duplicates()
    else:
        groups = kommuner[["municipality_id", "similar_group"]].assign(similar_group_kind="övergripande",
                                                                       group_year=None)
    groups = groups[["municipality_id", "similar_group_kind", "group_year", "similar_group"]].astype(
        {"similar_group": object, "group_year": "Int64"}).reset_index(drop=True)
    return {
        "watch_value": raw,
        "watch_kpi": kpis[KPI_COLUMNS].reset_index(drop=True),
        "watch_municipality": municipalities[MUNICIPALITY_COLUMNS].astype({"similar_group": object})
        .reset_index(drop=True),
        "watch_similar_group": groups,
        "watch_similar_member": members.astype({"similar_group": object}).reset_index(drop=True),
    }


def frame_tables(values: pd.DataFrame, kpis: pd.DataFrame, municipalities: pd.DataFrame,
                 similar_groups: pd.DataFrame | None, *, years: list[int], model_vars: dict | None) -> WatchTables:
    """The watch models run on frames (a values file, a test world), as :meth:`WatchContext.build` runs them
    when no warehouse built them: a caller that also needs the tables (the report's similar kommuner)
    builds them here once and hands them to the watch."""
    return build_tables(watch_inputs(values, normalise_kpis(kpis), normalise_municipalities(municipalities),
                                     similar_groups), years=years, variables=model_vars)


@dataclass
class WatchContext:
    """Everything a rule needs: the watch models' rows for the checked years, and the input as given.

    ``problems`` lists what is wrong with the input rows themselves (the model ``watch_input_problem``:
    repeated keys, unknown codes; the integrity rules read it); ``values`` holds the model ``watch_cell``: one row per key with known
    KPI and municipality, its attributes, previous period and value, K/M beside it and its history
    (``value_lag1`` …, ``gap_lag1`` …). The statistical rules read it.
    """

    problems: pd.DataFrame
    kpis: pd.DataFrame
    municipalities: pd.DataFrame
    years: list[int]
    today: date
    tables: WatchTables
    source_comparison: pd.DataFrame | None = None
    kpi_metadata_previous: pd.DataFrame | None = None
    kpi_metadata_current: pd.DataFrame | None = None
    #: Parameters shared by several rules (the rule table's top-level ``parameters``).
    shared: dict = field(default_factory=dict)
    _cache: dict = field(default_factory=dict, repr=False)

    # ---------------------------------------------------------------- construction
    @classmethod
    def build(
        cls,
        values: pd.DataFrame,
        kpis: pd.DataFrame,
        municipalities: pd.DataFrame,
        *,
        years=None,
        today: date | None = None,
        similar_groups: pd.DataFrame | None = None,
        source_comparison: pd.DataFrame | None = None,
        kpi_metadata_previous: pd.DataFrame | None = None,
        kpi_metadata_current: pd.DataFrame | None = None,
        shared: dict | None = None,
        tables: WatchTables | None = None,
        model_vars: dict | None = None,
    ) -> WatchContext:
        """``tables``: the watch models as dbt built them (the audit); without, they are run on the frames
        with the dbt variables ``model_vars`` (:func:`pipelines.quality.watch.model_vars`)."""
        _require(values, ["kpi_id", "municipality_id", "year", "gender", "value"], "values")
        kpi_table = normalise_kpis(kpis)
        mun_table = normalise_municipalities(municipalities)
        if years is None:
            latest = pd.to_numeric(values["year"], errors="coerce").dropna()
            years = [int(latest.max())] if len(latest) else []
        elif isinstance(years, int | np.integer):
            years = [int(years)]
        years = sorted(int(y) for y in years)
        if tables is None:
            tables = frame_tables(values, kpis, municipalities, similar_groups, years=years, model_vars=model_vars)
        return cls(
            problems=tables.problems,
            kpis=kpi_table,
            municipalities=mun_table,
            years=years,
            today=today or date.today(),
            tables=tables,
            source_comparison=source_comparison,
            kpi_metadata_previous=kpi_metadata_previous,
            kpi_metadata_current=kpi_metadata_current,
            shared=dict(shared or {}),
        )

    # ---------------------------------------------------------------- shared tables
    @cached_property
    def values(self) -> pd.DataFrame:
        """The model ``watch_cell`` for the checked years. The context takes the rows over (``tables.cells``
        becomes None), so the checked year's cells are not held twice: all of Kolada's 2022 is a million rows
        of some forty columns. Tables are for one watch; a second one over the same tables is refused."""
        v = self.tables.cells
        if v is None:
            raise WatchInputError("these watch tables were already used by a watch: build them again (frame_tables)")
        self.tables.cells = None
        if self.years and not v["year"].isin(self.years).all():
            v = v[v["year"].isin(self.years)]
        v = _as_object(v)
        v["year"] = v["year"].astype(int)
        v["prev_year"] = v["prev_year"].astype("Int64")
        for column in ("is_kommun", "is_participant", "is_synthetic"):
            v[column] = v[column].fillna(False).astype(bool)
        return v.sort_values(KEY, kind="stable").reset_index(drop=True)

    @property
    def cells(self) -> pd.DataFrame:
        """The checked cells (``values`` holds no other year)."""
        return self.values

    @cached_property
    def peers(self) -> pd.DataFrame:
        """The model ``watch_similar_peer`` for the overall groups: pairs (municipality_id, peer_id)."""
        p = self.tables.peers
        p = p[p["similar_group_kind"] == "övergripande"]
        return _as_object(p[["municipality_id", "peer_id"]].drop_duplicates().reset_index(drop=True))

    def attach(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Join KPI and municipality attributes onto a frame with kpi_id and municipality_id."""
        kpi_attr = self.kpis[["unit", "direction", "collection_method"]]
        mun_attr = self.municipalities[["is_kommun", "is_participant"]]
        out = frame.join(kpi_attr, on="kpi_id").join(mun_attr, on="municipality_id")
        out["is_kommun"] = out["is_kommun"].fillna(False).astype(bool)
        out["is_participant"] = out["is_participant"].fillna(False).astype(bool)
        return out

    @cached_property
    def kommun_values(self) -> pd.DataFrame:
        """Values of kommuner (the units that are coloured and compared), numbers only: the key and value
        columns (a copy of every column would hold a million rows twice over all of Kolada)."""
        v = self.values
        return v.loc[v["is_kommun"] & v["value"].notna(), KEY + ["value"]]

    def lags(self, frame: pd.DataFrame, prefix: str, n_periods: int) -> np.ndarray:
        """The columns ``{prefix}_lag1`` … ``{prefix}_lag{n}`` of ``frame`` (watch_cell's history, or
        watch_period_stat's) as a rows × n array, NaN where a period has no value."""
        columns = [f"{prefix}_lag{lag}" for lag in range(1, int(n_periods) + 1)]
        absent = [c for c in columns if c not in frame.columns]
        if absent:
            raise WatchInputError(f"the watch models hold fewer than {n_periods} earlier periods ({absent[0]} "
                                  "is missing): raise var('watch_history_periods') or lower history_periods")
        return frame[columns].to_numpy(dtype=float, na_value=np.nan)

    def history_median(self, frame: pd.DataFrame, n_periods: int, min_periods: int = 1) -> np.ndarray:
        """The median of the cell's own last ``n_periods`` values (a reference level, not a spread)."""
        history = self.lags(frame, "value", n_periods)
        enough = np.isfinite(history).sum(axis=1) >= min_periods
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a cell without history: NaN, as meant
            return np.where(enough, np.nanmedian(history, axis=1), np.nan)

    def unchanged_share(self, frame: pd.DataFrame, n_periods: int) -> tuple[np.ndarray, np.ndarray]:
        """Per row of ``frame``, the share of kommuner whose value equalled their previous one (model
        ``watch_period_stat``): in the row's year, and its median over the figure's last ``n_periods`` periods."""
        keys = ["kpi_id", "year", "gender"]
        stats = frame[keys].astype({"year": int}).merge(
            self.tables.period_stats.astype({"year": int}), on=keys, how="left")
        shares = self.lags(stats, "share_unchanged", n_periods)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            history = np.nanmedian(shares, axis=1) if len(shares) else np.zeros(0)
        return stats["share_unchanged"].to_numpy(dtype=float, na_value=np.nan), history

    def stats_for(self, frame: pd.DataFrame, measures, column: str, *, similar: bool = False) -> np.ndarray:
        """One column of the group (or, ``similar``, the similar-kommuner) statistics for each row of
        ``frame``, on the measure named per row in ``measures`` (a scalar or an array)."""
        return self.stats_frame(frame, measures, similar=similar)[column].to_numpy(dtype=float)

    def stats_frame(self, frame: pd.DataFrame, measures, *, similar: bool = False) -> pd.DataFrame:
        """The statistics (``n, median, mad, q1, q3, scale``) for each row of ``frame``, in its order."""
        measures = np.broadcast_to(np.asarray(measures, dtype=object), (len(frame),))
        # the last lookup only: a rule asks for several columns of one frame in a row, and a memo of every
        # frame would keep each rule's cells alive to the end of the watch
        memo = self._cache.setdefault("stats_frame", {})
        key = (id(frame), len(frame), similar, hash(tuple(pd.unique(measures))))
        if key in memo and memo[key][0] is frame:
            return memo[key][1]
        memo.clear()
        keys = ["kpi_id", "municipality_id", "year", "gender"] if similar else ["kpi_id", "year", "gender"]
        table = self.tables.similar_stats if similar else self.tables.group_stats
        probe = frame[keys].assign(measure=measures).reset_index(drop=True)
        probe["year"] = probe["year"].astype("Int64")
        right = table[keys + ["measure", "n", "median", "mad", "q1", "q3", "scale"]].astype({"year": "Int64"})
        merged = probe.merge(right, on=keys + ["measure"], how="left")
        memo[key] = (frame, merged)
        return merged

    def national(self, frame: pd.DataFrame, column: str = "median") -> np.ndarray:
        """A column of the kommuner's statistics of the value (``watch_group_stat``) for each row of ``frame``."""
        return self.stats_for(frame, "value", column)

    def plausible_reference(self, frame: pd.DataFrame) -> np.ndarray:
        """A stand-in value when a rule knows the cell is wrong but not the right value.

        The cell's previous value if it has one, else the national median: used as ``expected_value`` so
        the impact score can ask whether correcting the cell would change its colour.
        """
        prev = frame["prev_value"].to_numpy(dtype=float) if "prev_value" in frame else np.full(len(frame), np.nan)
        return np.where(np.isfinite(prev), prev, self.national(frame))

    @cached_property
    def additive_kpis(self) -> set[str]:
        """Figures whose total is women + men: the rule table's ``additive_kpis`` and the plain counts
        (``is_additive`` from int_kolada_kpi_kinds)."""
        return set(self.shared.get("additive_kpis", [])) | set(self.kpis.index[self.kpis["is_additive"]])

    @cached_property
    def kpi_info(self) -> dict[str, dict]:
        """KPI attributes as plain dicts: flags are few, and dict lookups beat pandas for a handful of rows."""
        columns = ["title", "unit", "direction", "collection_method", "source_agency"]
        return {k: dict(zip(columns, row)) for k, row in
                zip(self.kpis.index, self.kpis[columns].itertuples(index=False, name=None))}

    @cached_property
    def municipality_info(self) -> dict[str, tuple[str, bool]]:
        """Municipality id → (name, is_kommun)."""
        return dict(zip(self.municipalities.index,
                        zip(self.municipalities["name"], self.municipalities["is_kommun"])))

    def target(self, rule) -> pd.DataFrame:
        """Target-year cells the rule applies to. The selection is cached per ``applies_to`` (rules often
        share it), the rows are not: a copy per selection would outlive its rules (GiBs over all of Kolada)."""
        memo = self._cache.setdefault("target", {})
        cells = self.cells
        if rule.applies_to not in memo:
            memo[rule.applies_to] = np.flatnonzero(np.asarray(rule.applies_to.mask(cells), dtype=bool))
        return cells.iloc[memo[rule.applies_to]]
