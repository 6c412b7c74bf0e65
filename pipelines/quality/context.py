"""Input normalisation and the shared view of the data that every rule group reads.

The watch gets plain DataFrames (from the mart or from a user's file). Normalising them once here means
every input lands with the same column names and types: municipality codes as 4-character strings, years
as ints, genders as ``T``/``K``/``M``, values as floats. What the rules compare (each cell's previous
period and value, K and M beside T, the robust statistics nationally and among similar kommuner) comes
ready-made from the watch's dbt models (:mod:`pipelines.quality.warehouse`); the :class:`WatchContext`
only indexes those rows for fast lookups.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

import numpy as np
import pandas as pd

from pipelines.quality.warehouse import WatchTables, build_tables

KEY = ["kpi_id", "municipality_id", "year", "gender"]
CELL = ["kpi_id", "municipality_id", "gender"]

VALUE_COLUMNS = ["kpi_id", "municipality_id", "year", "gender", "value", "status"]
KPI_COLUMNS = ["kpi_id", "title", "unit", "direction", "is_divided_by_gender", "collection_method", "source_agency",
               "is_additive"]
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


def is_kommun_code(codes: pd.Series) -> pd.Series:
    """Kolada's convention: 0000 is Riket and 0001–0025 are regions; every other 4-digit code is a kommun."""
    as_int = pd.to_numeric(codes, errors="coerce")
    return codes.astype("string").str.fullmatch(r"\d{4}").fillna(False) & (as_int > 25)


def normalise_values(values: pd.DataFrame) -> pd.DataFrame:
    _require(values, ["kpi_id", "municipality_id", "year", "gender", "value"], "values")
    out = values.copy()
    if "status" not in out.columns:
        out["status"] = None
    out["kpi_id"] = out["kpi_id"].astype("string").str.strip().astype(object)
    out["municipality_id"] = normalise_code(out["municipality_id"])
    out["year"] = pd.to_numeric(out["year"], errors="coerce").astype("Int64")
    out["gender"] = out["gender"].astype("string").str.strip().str.upper().astype(object)
    out["value"] = pd.to_numeric(out["value"], errors="coerce").astype(float)
    out["status"] = out["status"].astype(object).where(out["status"].notna(), None)
    extra = [c for c in out.columns if c not in VALUE_COLUMNS]
    return _as_object(out[VALUE_COLUMNS + extra].reset_index(drop=True))


def normalise_kpis(kpis: pd.DataFrame) -> pd.DataFrame:
    _require(kpis, ["kpi_id", "unit", "direction"], "kpis")
    out = kpis.copy()
    defaults = {
        "title": "",
        "is_divided_by_gender": False,
        "collection_method": "read_from_source",
        "source_agency": "",
        "is_additive": False,
    }
    for column, default in defaults.items():
        if column not in out.columns:
            out[column] = default
    out["kpi_id"] = out["kpi_id"].astype(str).str.strip()
    out["unit"] = out["unit"].astype(str).str.strip().str.lower()
    out["direction"] = out["direction"].fillna("none").astype(str).str.strip().str.lower()
    out["title"] = out["title"].fillna("").astype(str)
    out["source_agency"] = out["source_agency"].fillna("").astype(str)
    out["collection_method"] = out["collection_method"].fillna("read_from_source").astype(str)
    out["is_divided_by_gender"] = out["is_divided_by_gender"].fillna(False).astype(bool)
    out["is_additive"] = out["is_additive"].fillna(False).astype(bool)
    out = out.drop_duplicates("kpi_id", keep="last")
    out.index = pd.Index(out["kpi_id"].to_numpy(dtype=object), name="kpi_id")
    return _as_object(out)


def _as_object(frame: pd.DataFrame) -> pd.DataFrame:
    """String columns as plain Python objects: pandas 3's Arrow strings are slow to filter and join."""
    for column in frame.columns:
        if pd.api.types.is_string_dtype(frame[column].dtype) and frame[column].dtype != object:
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    return frame


def normalise_municipalities(municipalities: pd.DataFrame) -> pd.DataFrame:
    _require(municipalities, ["municipality_id"], "municipalities")
    out = municipalities.copy()
    out["municipality_id"] = normalise_code(out["municipality_id"])
    if "name" not in out.columns:
        out["name"] = ""
    out["name"] = out["name"].fillna("").astype(str)
    if "county_id" not in out.columns:
        out["county_id"] = None
    if "is_kommun" not in out.columns:
        out["is_kommun"] = is_kommun_code(out["municipality_id"])
    out["is_kommun"] = out["is_kommun"].fillna(False).astype(bool)
    if "similar_group" not in out.columns:
        out["similar_group"] = None
    out["similar_group"] = out["similar_group"].astype(object).where(out["similar_group"].notna(), None)
    if "is_participant" not in out.columns:
        out["is_participant"] = out["is_kommun"]
    out["is_participant"] = out["is_participant"].fillna(False).astype(bool)
    out = out.drop_duplicates("municipality_id", keep="last")
    out.index = pd.Index(out["municipality_id"].to_numpy(dtype=object), name="municipality_id")
    return _as_object(out)


def watch_inputs(raw: pd.DataFrame, kpis: pd.DataFrame, municipalities: pd.DataFrame,
                 similar_groups: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    """The normalised frames in the columns of the watch's four input models (``watch_value`` …).

    ``similar_groups`` (``similar_group, municipality_id``) lists the members of each group named in
    ``municipalities.similar_group`` (Kolada's "Liknande kommuner", a group per kommun); without it,
    ``similar_group`` is read as a partition (e.g. SKR's kommungrupp) and its members are the kommuner
    that carry it.
    """
    values = raw.assign(input_row=np.arange(len(raw)))
    if "source" not in values.columns:
        values["source"] = None
    values["is_synthetic"] = values["is_synthetic"].fillna(False).astype(bool) \
        if "is_synthetic" in values.columns else False
    if similar_groups is not None and len(similar_groups):
        _require(similar_groups, ["similar_group", "municipality_id"], "similar_groups")
        members = similar_groups[["similar_group", "municipality_id"]].copy()
        members["municipality_id"] = normalise_code(members["municipality_id"])
    else:
        members = municipalities.loc[municipalities["is_kommun"] & municipalities["similar_group"].notna(),
                                     ["similar_group", "municipality_id"]]
    members = members.astype({"similar_group": object}).reset_index(drop=True)
    return {
        "watch_value": values[["kpi_id", "municipality_id", "year", "gender", "value", "status", "source",
                               "is_synthetic", "input_row"]].astype({"status": object, "source": object}),
        "watch_kpi": kpis[KPI_COLUMNS].reset_index(drop=True),
        "watch_municipality": municipalities[MUNICIPALITY_COLUMNS].astype({"similar_group": object})
        .reset_index(drop=True),
        "watch_similar_member": members,
    }


@dataclass
class WatchContext:
    """Everything a rule needs: the input as given and the watch models' rows, indexed once.

    ``raw`` holds every input row (duplicates and unknown codes included: the integrity rules read it);
    ``values`` holds the model ``watch_cell``: one row per key with known KPI and municipality, its
    attributes, previous period and value, and K/M beside it. The statistical rules read it.
    """

    raw: pd.DataFrame
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
    ) -> WatchContext:
        """``tables``: the watch models as dbt built them (the audit); without, they are run on the frames."""
        raw = normalise_values(values)
        kpi_table = normalise_kpis(kpis)
        mun_table = normalise_municipalities(municipalities)
        if years is None:
            latest = raw["year"].dropna()
            years = [int(latest.max())] if len(latest) else []
        elif isinstance(years, int | np.integer):
            years = [int(years)]
        years = sorted(int(y) for y in years)
        if tables is None:
            tables = build_tables(watch_inputs(raw, kpi_table, mun_table, similar_groups), years=years)
        return cls(
            raw=raw,
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
        """The model ``watch_cell``, with integer codes ``_k``/``_m`` for fast value lookups."""
        v = _as_object(self.tables.cells.copy())
        v["year"] = v["year"].astype(int)
        for column in ("prev_year",):
            v[column] = v[column].astype("Int64")
        for column in ("is_kommun", "is_participant"):
            v[column] = v[column].fillna(False).astype(bool)
        kpi_index, mun_index, _ = self._code_indexes()
        v["_k"] = kpi_index.get_indexer(v["kpi_id"].to_numpy(dtype=object))
        v["_m"] = mun_index.get_indexer(v["municipality_id"].to_numpy(dtype=object))
        return v.sort_values(["kpi_id", "municipality_id", "year", "gender"], kind="stable").reset_index(drop=True)

    @cached_property
    def peers(self) -> pd.DataFrame:
        """The model ``watch_similar_peer``: pairs (municipality_id, peer_id)."""
        return _as_object(self.tables.peers[["municipality_id", "peer_id"]].copy())

    def _code_indexes(self) -> tuple[pd.Index, pd.Index, pd.Index]:
        if "code_maps" not in self._cache:
            self._cache["code_maps"] = (
                pd.Index(self.kpis.index.astype(object)),
                pd.Index(self.municipalities.index.astype(object)),
                pd.Index(["T", "K", "M"], dtype=object),
            )
        return self._cache["code_maps"]

    def attach(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Join KPI and municipality attributes onto a frame with kpi_id and municipality_id."""
        kpi_attr = self.kpis[["unit", "direction", "collection_method"]]
        mun_attr = self.municipalities[["is_kommun", "is_participant"]]
        out = frame.join(kpi_attr, on="kpi_id").join(mun_attr, on="municipality_id")
        out["is_kommun"] = out["is_kommun"].fillna(False).astype(bool)
        out["is_participant"] = out["is_participant"].fillna(False).astype(bool)
        return out

    def _codes(self, kpi, municipality, gender, year, parts: pd.DataFrame | None = None) -> np.ndarray:
        """One int64 code per (kpi, municipality, gender, year): fast hash lookups instead of a MultiIndex.

        Unknown parts give -1 (never matches a stored code). ``parts`` may carry precomputed integer
        columns ``_k`` and ``_m`` (added to the target cells) to skip hashing the strings again.
        """
        kpi_index, mun_index, gender_index = self._code_indexes()
        if parts is not None and "_k" in parts.columns:
            k, m = parts["_k"].to_numpy(dtype=np.int64), parts["_m"].to_numpy(dtype=np.int64)
        else:
            k = kpi_index.get_indexer(np.asarray(kpi, dtype=object)).astype(np.int64)
            m = mun_index.get_indexer(np.asarray(municipality, dtype=object)).astype(np.int64)
        if isinstance(gender, str):
            g = np.full(len(k), gender_index.get_loc(gender), dtype=np.int64)
        else:
            g = gender_index.get_indexer(np.asarray(gender, dtype=object)).astype(np.int64)
        y = np.asarray(year, dtype=float)
        ok = (k >= 0) & (m >= 0) & (g >= 0) & np.isfinite(y)
        code = ((k * 100_000 + m) * 4 + g) * 10_000 + np.where(ok, y, 0).astype(np.int64)
        return np.where(ok, code, -1)

    @cached_property
    def long(self) -> pd.Series:
        """Values with a number, keyed by :meth:`_codes` of (kpi_id, municipality_id, gender, year)."""
        v = self.values.loc[self.values["value"].notna()]
        codes = self._codes(v["kpi_id"].to_numpy(), v["municipality_id"].to_numpy(), v["gender"].to_numpy(),
                            v["year"].to_numpy(), parts=v)
        return pd.Series(v["value"].to_numpy(dtype=float), index=pd.Index(codes))

    @cached_property
    def kommun_values(self) -> pd.DataFrame:
        """Values of kommuner (the units that are coloured and compared), numbers only."""
        v = self.values
        return v.loc[v["is_kommun"] & v["value"].notna()]

    @cached_property
    def _previous(self) -> dict[tuple[str, int], int]:
        """(kpi_id, year) → the figure's previous period, from the model ``watch_kpi_period``."""
        p = self.tables.periods.dropna(subset=["previous_year"])
        return dict(zip(zip(p["kpi_id"].astype(str), p["year"].astype(int)), p["previous_year"].astype(int)))

    def previous_periods(self, kpi_id: str, year: int, n: int = 1) -> list[int]:
        """The last ``n`` periods of a KPI before ``year`` (most recent first), following watch_kpi_period."""
        out: list[int] = []
        current = self._previous.get((kpi_id, int(year)))
        if current is None:
            # a year without kommun values (a missing figure-year): its previous period is the latest
            # period before it, as if it had values
            earlier = [y for (k, y) in self._previous_years_of(kpi_id) if y < int(year)]
            current = max(earlier) if earlier and int(year) - max(earlier) <= 4 else None
        while current is not None and len(out) < n:
            out.append(current)
            current = self._previous.get((kpi_id, current))
        return out

    def _previous_years_of(self, kpi_id: str) -> list[tuple[str, int]]:
        memo = self._cache.setdefault("periods_of", {})
        if not memo:
            for k, y in zip(self.tables.periods["kpi_id"].astype(str), self.tables.periods["year"].astype(int)):
                memo.setdefault(k, []).append((k, y))
        return memo.get(kpi_id, [])

    def previous_period(self, kpi_id: str, year: int) -> int | None:
        found = self.previous_periods(kpi_id, year, 1)
        return found[0] if found else None

    @cached_property
    def cells(self) -> pd.DataFrame:
        """Rows of the target years (present in the input), with ``prev_year`` and ``prev_value``."""
        return self.values[self.values["year"].isin(self.years)].reset_index(drop=True)

    def with_previous(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Add ``prev_year`` and ``prev_value`` to cells that are not in the input (a missing value)."""
        pairs = frame[["kpi_id", "year"]].drop_duplicates()
        pairs["prev_year"] = [self.previous_period(k, y) for k, y in zip(pairs["kpi_id"], pairs["year"])]
        pairs["prev_year"] = pairs["prev_year"].astype("Int64")
        out = frame.merge(pairs, on=["kpi_id", "year"], how="left")
        out["prev_value"] = self.lookup(out, year_column="prev_year")
        return out

    def lookup(self, frame: pd.DataFrame, *, year_column: str = "year", gender: str | None = None) -> np.ndarray:
        """Value of each row's cell in ``frame[year_column]`` (optionally for another gender); NaN if none."""
        genders = frame["gender"].to_numpy() if gender is None else gender
        codes = self._codes(frame["kpi_id"].to_numpy(), frame["municipality_id"].to_numpy(), genders,
                            frame[year_column].to_numpy(dtype=float, na_value=np.nan), parts=frame)
        return self.long.reindex(codes).to_numpy(dtype=float)

    def history(self, frame: pd.DataFrame, n_periods: int) -> pd.DataFrame:
        """Per row, the cell's values in the KPI's last ``n_periods`` periods before the row's year (long)."""
        pairs = frame[["kpi_id", "year"]].drop_duplicates()
        rows = [(k, y, p) for k, y in zip(pairs["kpi_id"], pairs["year"])
                for p in self.previous_periods(k, y, n_periods)]
        hist_years = pd.DataFrame(rows, columns=["kpi_id", "year", "hist_year"])
        codes = [c for c in ("_k", "_m") if c in frame.columns]
        keyed = frame[CELL + ["year"] + codes].drop_duplicates(CELL + ["year"]).merge(hist_years, on=["kpi_id", "year"])
        keyed["hist_value"] = self.lookup(keyed, year_column="hist_year")
        return keyed

    def history_median(self, frame: pd.DataFrame, n_periods: int, min_periods: int = 1) -> np.ndarray:
        """The median of the cell's own last ``n_periods`` values (a reference level, not a spread)."""
        hist = self.history(frame, n_periods)
        agg = hist.groupby(CELL + ["year"])["hist_value"].agg(["median", "count"])
        agg.loc[agg["count"] < min_periods, "median"] = np.nan
        idx = pd.MultiIndex.from_frame(frame[CELL + ["year"]])
        return agg["median"].reindex(idx).to_numpy(dtype=float)

    def group_stats(self, measure: str = "value") -> pd.DataFrame:
        """The model ``watch_group_stat`` for one measure, indexed by (kpi_id, year, gender)."""
        memo = self._cache.setdefault("group_stats", {})
        if measure not in memo:
            g = self.tables.group_stats
            g = g[g["measure"] == measure]
            memo[measure] = g.set_index(["kpi_id", "year", "gender"])[["n", "median", "mad", "q1", "q3", "scale"]]
        return memo[measure]

    def national_stats(self) -> pd.DataFrame:
        """Count, median, scaled MAD, quartiles and scale of kommun values per (kpi_id, year, gender)."""
        return self.group_stats("value")

    def stats_for(self, frame: pd.DataFrame, measures, column: str, *, similar: bool = False) -> np.ndarray:
        """One column of the group (or, ``similar``, the similar-kommuner) statistics for each row of
        ``frame``, on the measure named per row in ``measures`` (a scalar or an array)."""
        return self.stats_frame(frame, measures, similar=similar)[column].to_numpy(dtype=float)

    def stats_frame(self, frame: pd.DataFrame, measures, *, similar: bool = False) -> pd.DataFrame:
        """The statistics (``n, median, mad, q1, q3, scale``) for each row of ``frame``, in its order."""
        measures = np.broadcast_to(np.asarray(measures, dtype=object), (len(frame),))
        memo = self._cache.setdefault("stats_frame", {})
        key = (id(frame), len(frame), similar, hash(tuple(pd.unique(measures))))
        if key in memo and memo[key][0] is frame:
            return memo[key][1]
        keys = ["kpi_id", "municipality_id", "year", "gender"] if similar else ["kpi_id", "year", "gender"]
        table = self.tables.similar_stats if similar else self.tables.group_stats
        probe = frame[keys].assign(measure=measures).reset_index(drop=True)
        probe["year"] = probe["year"].astype("Int64")
        right = table[keys + ["measure", "n", "median", "mad", "q1", "q3", "scale"]].astype({"year": "Int64"})
        merged = probe.merge(right, on=keys + ["measure"], how="left")
        memo[key] = (frame, merged)
        return merged

    def national(self, frame: pd.DataFrame, column: str = "median") -> np.ndarray:
        """A column of :meth:`national_stats` for each row of ``frame`` (by kpi_id, year, gender)."""
        keys = pd.MultiIndex.from_arrays([
            frame["kpi_id"].to_numpy(), frame["year"].fillna(-1).astype(int).to_numpy(), frame["gender"].to_numpy(),
        ])
        return self.national_stats()[column].reindex(keys).to_numpy(dtype=float)

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
        """Target-year cells the rule applies to (cached per ``applies_to``: rules often share it)."""
        memo = self._cache.setdefault("target", {})
        if rule.applies_to not in memo:
            cells = self.cells
            memo[rule.applies_to] = cells[rule.applies_to.mask(cells)]
        return memo[rule.applies_to]
