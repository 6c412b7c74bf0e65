"""Input normalisation and the shared view of the data that every rule group reads.

The watch gets plain DataFrames (from the mart or from a user's file). Normalising them once here means
every rule can rely on the same column names and types: municipality codes as 4-character strings, years
as ints, genders as ``T``/``K``/``M``, values as floats. The :class:`WatchContext` also computes, once and
lazily, what several rules share: the previous period of each KPI, each cell's value in that period, the
municipality's recent history and the distribution among kommuner.

"Previous period" is per KPI, not ``year - 1``: survey figures skip years (no Socialstyrelsen survey in
2021) and the election figure moves every fourth year. The previous period of KPI *k* before year *y* is
the latest earlier year in which any kommun has a value of *k*, at most ``MAX_PERIOD_GAP`` years back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

import numpy as np
import pandas as pd

KEY = ["kpi_id", "municipality_id", "year", "gender"]
CELL = ["kpi_id", "municipality_id", "gender"]
MAX_PERIOD_GAP = 4
#: Scale factor that makes the median absolute deviation estimate the standard deviation of a normal.
MAD_SCALE = 1.4826

VALUE_COLUMNS = ["kpi_id", "municipality_id", "year", "gender", "value", "status"]
KPI_COLUMNS = ["kpi_id", "title", "unit", "direction", "is_divided_by_gender", "collection_method", "source_agency"]
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
    return out[VALUE_COLUMNS + extra].reset_index(drop=True)


def normalise_kpis(kpis: pd.DataFrame) -> pd.DataFrame:
    _require(kpis, ["kpi_id", "unit", "direction"], "kpis")
    out = kpis.copy()
    defaults = {
        "title": "",
        "is_divided_by_gender": False,
        "collection_method": "read_from_source",
        "source_agency": "",
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
    return out.drop_duplicates("kpi_id", keep="last").set_index("kpi_id", drop=False)


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
    return out.drop_duplicates("municipality_id", keep="last").set_index("municipality_id", drop=False)


def build_peers(municipalities: pd.DataFrame, similar_groups: pd.DataFrame | None) -> pd.DataFrame:
    """Pairs (municipality_id, peer_id) of similar municipalities, never a municipality with itself.

    Two shapes of "similar" exist. If ``similar_groups`` (columns ``similar_group, municipality_id``: the
    members of each group) is given, the peers of *m* are the members of *m*'s own group; this is Kolada's
    "Liknande kommuner, övergripande, <name>", a group per kommun that lists its 7 peers and not the kommun
    itself. Without it, ``similar_group`` is read as a partition (e.g. SKR's kommungrupp) and the peers of
    *m* are the other kommuner with the same group id.
    """
    own = municipalities.loc[municipalities["is_kommun"] & municipalities["similar_group"].notna(),
                             ["municipality_id", "similar_group"]]
    if similar_groups is not None and len(similar_groups):
        _require(similar_groups, ["similar_group", "municipality_id"], "similar_groups")
        members = similar_groups[["similar_group", "municipality_id"]].copy()
        members["municipality_id"] = normalise_code(members["municipality_id"])
        members = members.rename(columns={"municipality_id": "peer_id"})
    else:
        members = own.rename(columns={"municipality_id": "peer_id"})
    pairs = own.reset_index(drop=True).merge(members, on="similar_group")
    pairs = pairs[pairs["municipality_id"] != pairs["peer_id"]]
    return pairs[["municipality_id", "peer_id"]].drop_duplicates().reset_index(drop=True)


def robust_scale(values: pd.Series) -> float:
    """Scaled MAD, falling back to IQR/1.349 when more than half the values are equal (MAD = 0)."""
    v = values.dropna().to_numpy(dtype=float)
    if len(v) == 0:
        return float("nan")
    med = np.median(v)
    mad = np.median(np.abs(v - med)) * MAD_SCALE
    if mad > 0:
        return float(mad)
    q1, q3 = np.percentile(v, [25, 75])
    return float((q3 - q1) / 1.349) if q3 > q1 else float("nan")


@dataclass
class WatchContext:
    """Everything a rule needs, normalised, with shared derived tables computed once on demand.

    ``raw`` holds every input row (duplicates and unknown codes included: the integrity rules read it);
    ``values`` holds one row per key with known KPI and municipality, joined with their attributes: the
    statistical rules read it.
    """

    raw: pd.DataFrame
    kpis: pd.DataFrame
    municipalities: pd.DataFrame
    years: list[int]
    today: date
    peers: pd.DataFrame
    source_comparison: pd.DataFrame | None = None
    kpi_metadata_previous: pd.DataFrame | None = None
    kpi_metadata_current: pd.DataFrame | None = None
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
    ) -> WatchContext:
        raw = normalise_values(values)
        kpi_table = normalise_kpis(kpis)
        mun_table = normalise_municipalities(municipalities)
        if years is None:
            latest = raw["year"].dropna()
            years = [int(latest.max())] if len(latest) else []
        elif isinstance(years, int | np.integer):
            years = [int(years)]
        return cls(
            raw=raw,
            kpis=kpi_table,
            municipalities=mun_table,
            years=sorted(int(y) for y in years),
            today=today or date.today(),
            peers=build_peers(mun_table, similar_groups),
            source_comparison=source_comparison,
            kpi_metadata_previous=kpi_metadata_previous,
            kpi_metadata_current=kpi_metadata_current,
        )

    # ---------------------------------------------------------------- shared tables
    @cached_property
    def values(self) -> pd.DataFrame:
        """One row per key (first occurrence kept), known codes only, valid genders, with attributes."""
        v = self.raw.dropna(subset=["year"])
        v = v[v["kpi_id"].isin(self.kpis.index) & v["municipality_id"].isin(self.municipalities.index)]
        v = v[v["gender"].isin(["T", "K", "M"])]
        v = v.drop_duplicates(KEY, keep="first").copy()
        v["year"] = v["year"].astype(int)
        return self.attach(v).reset_index(drop=True)

    def attach(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Join KPI and municipality attributes onto a frame with kpi_id and municipality_id."""
        kpi_attr = self.kpis[["unit", "direction", "title", "collection_method", "source_agency",
                              "is_divided_by_gender"]]
        mun_attr = self.municipalities[["name", "is_kommun", "is_participant", "similar_group"]]
        out = frame.join(kpi_attr, on="kpi_id").join(mun_attr, on="municipality_id")
        out["is_kommun"] = out["is_kommun"].fillna(False).astype(bool)
        out["is_participant"] = out["is_participant"].fillna(False).astype(bool)
        return out

    @cached_property
    def long(self) -> pd.DataFrame:
        """Values with a number, keyed for lookups: (kpi_id, municipality_id, gender, year) → value."""
        v = self.values.loc[self.values["value"].notna(), KEY + ["value"]]
        index = pd.MultiIndex.from_arrays([
            v["kpi_id"].to_numpy(), v["municipality_id"].to_numpy(), v["gender"].to_numpy(),
            v["year"].to_numpy(dtype=float),
        ])
        return pd.Series(v["value"].to_numpy(dtype=float), index=index)

    @cached_property
    def kommun_values(self) -> pd.DataFrame:
        """Values of kommuner (the units that are coloured and compared), numbers only."""
        v = self.values
        return v.loc[v["is_kommun"] & v["value"].notna()]

    @cached_property
    def periods(self) -> dict[str, list[int]]:
        """Per KPI, the sorted years in which at least one kommun has a value."""
        kv = self.kommun_values
        return {k: sorted(g.unique().tolist()) for k, g in kv.groupby("kpi_id")["year"]}

    def previous_periods(self, kpi_id: str, year: int, n: int = 1) -> list[int]:
        """The last ``n`` periods of a KPI before ``year`` (most recent first), within the allowed gap."""
        earlier = [p for p in self.periods.get(kpi_id, []) if p < year]
        out: list[int] = []
        current = year
        for p in reversed(earlier):
            if current - p > MAX_PERIOD_GAP or len(out) >= n:
                break
            out.append(p)
            current = p
        return out

    def previous_period(self, kpi_id: str, year: int) -> int | None:
        found = self.previous_periods(kpi_id, year, 1)
        return found[0] if found else None

    @cached_property
    def cells(self) -> pd.DataFrame:
        """Rows of the target years (present in the input) with ``prev_year`` and ``prev_value``."""
        v = self.values[self.values["year"].isin(self.years)].copy()
        return self.with_previous(v)

    def with_previous(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Add ``prev_year`` (the KPI's previous period) and ``prev_value`` (this cell's value then)."""
        pairs = frame[["kpi_id", "year"]].drop_duplicates()
        pairs["prev_year"] = [self.previous_period(k, y) for k, y in zip(pairs["kpi_id"], pairs["year"])]
        pairs["prev_year"] = pairs["prev_year"].astype("Int64")
        out = frame.merge(pairs, on=["kpi_id", "year"], how="left")
        out["prev_value"] = self.lookup(out, year_column="prev_year")
        return out

    def lookup(self, frame: pd.DataFrame, *, year_column: str = "year", gender: str | None = None) -> np.ndarray:
        """Value of each row's cell in ``frame[year_column]`` (optionally for another gender); NaN if none."""
        genders = frame["gender"] if gender is None else pd.Series(gender, index=frame.index)
        idx = pd.MultiIndex.from_arrays([
            frame["kpi_id"].to_numpy(), frame["municipality_id"].to_numpy(), genders.to_numpy(),
            frame[year_column].astype("float").to_numpy(),
        ])
        return self.long.reindex(idx).to_numpy(dtype=float)

    def history(self, frame: pd.DataFrame, n_periods: int) -> pd.DataFrame:
        """Per row, the cell's values in the KPI's last ``n_periods`` periods before the row's year (long)."""
        pairs = frame[["kpi_id", "year"]].drop_duplicates()
        rows = [(k, y, p) for k, y in zip(pairs["kpi_id"], pairs["year"])
                for p in self.previous_periods(k, y, n_periods)]
        hist_years = pd.DataFrame(rows, columns=["kpi_id", "year", "hist_year"])
        keyed = frame[CELL + ["year"]].drop_duplicates().merge(hist_years, on=["kpi_id", "year"])
        keyed["hist_value"] = self.lookup(keyed, year_column="hist_year")
        return keyed

    def history_median(self, frame: pd.DataFrame, n_periods: int, min_periods: int = 1) -> np.ndarray:
        hist = self.history(frame, n_periods)
        agg = hist.groupby(CELL + ["year"])["hist_value"].agg(["median", "count"])
        agg.loc[agg["count"] < min_periods, "median"] = np.nan
        idx = pd.MultiIndex.from_frame(frame[CELL + ["year"]])
        return agg["median"].reindex(idx).to_numpy(dtype=float)

    def national_stats(self) -> pd.DataFrame:
        """Median, scaled MAD, quartiles and count of kommun values per (kpi_id, year, gender), target years."""
        if "national_stats" not in self._cache:
            kv = self.kommun_values
            kv = kv[kv["year"].isin(self.years)]
            g = kv.groupby(["kpi_id", "year", "gender"])["value"]
            stats = g.agg(median="median", n="count", q1=lambda s: s.quantile(0.25), q3=lambda s: s.quantile(0.75))
            stats["scale"] = g.apply(robust_scale)
            self._cache["national_stats"] = stats
        return self._cache["national_stats"]

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

    def target(self, rule) -> pd.DataFrame:
        """Target-year cells the rule applies to."""
        cells = self.cells
        return cells[rule.applies_to.mask(cells)]

    def municipality_label(self, ids: pd.Series) -> pd.Series:
        names = ids.map(self.municipalities["name"]).fillna("")
        return (ids.fillna("").astype(str) + " " + names).str.strip()
