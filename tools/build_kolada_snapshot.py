#!/usr/bin/env python
"""Build the bundled Kolada snapshot (``snapshot/kolada/``) from the real data in ``../shared/data/kolada``.

Developer tool, not run by users::

    python tools/build_kolada_snapshot.py --shared ../shared/data

What it writes (every run gives byte-identical files: fixed seed, sorted output, gzip without timestamps):

* ``kpi.json.gz``, ``municipality.json.gz``, ``municipality_groups.json.gz``: the real metadata in the v3
  envelope ``{"count": N, "values": [...]}``, values unchanged (group members are written with the API's
  key names ``member_id``/``member_title``, see ``snapshot/kolada/README.md``).
* ``kpi_groups.json.gz``: ONE reconstructed group "Kommunens kvalitet i korthet (KKiK)" (``"reconstructed":
  true``): the KPIs whose 2026 description says they are in KKiK. Kolada's real KPI groups are not in
  ``../shared``.
* ``data/real/<KPI>.json.gz``: real data records (``values.parquet``) for the catalogue's KPIs, 2017-2022.
* ``data/synthetic/<KPI>.synthetic.json.gz``: generated records (``"synthetic": true``) for the KPIs and
  years that have no real values.
* ``manifest.json`` and ``README.md``: what is real, what is generated and how.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import itertools
import json
import math
import re
import shutil
import sys
import zlib
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

import duckdb
import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = PROJECT_ROOT / "snapshot" / "kolada"
CATALOGUE = PROJECT_ROOT / "dbt_project" / "seeds" / "kkik_catalogue.csv"

YEARS = tuple(range(2017, 2023))
LATEST_YEAR = 2022
SEED = 20240830  # the date of the ddf--kolada--dump scrape the real values come from
BUILD_COMMAND = "python tools/build_kolada_snapshot.py --shared ../shared/data"

KKIK_GROUP_ID = "G_KKIK_RECONSTRUCTED"
KKIK_GROUP_TITLE = "Kommunens kvalitet i korthet (KKiK)"
KKIK_DESCRIPTION = re.compile(r"Kommunens kvalitet i korthet|\bKKiK\b", re.IGNORECASE)

GENDER_ORDER = ("T", "K", "M")
RIKET = "0000"

#: Real KPIs that are not in the catalogue but steer the generation of a related catalogue KPI.
RELATED_REAL = ("N15544", "N15545", "N17007", "N21804", "N23804", "N01951")

#: Catalogue figures whose kommun values the bundled inbox brings (``snapshot/inbox``: Servicemätningen,
#: Insikt's new definition, the IFO and funktionshinder user surveys, the made-up U11401 file). A survey export
#: per kommun carries no national value, but Kolada publishes its own Riket (municipality 0000) for some of
#: them: the snapshot serves only that, where ``values.parquet`` has a value, so the report's Riket column is
#: Kolada's and the kommun values stay the inbox's (Kolada would otherwise take precedence over the files).
RIKET_ONLY = ("N00671", "N00672", "N00673", "N00674", "U07453", "U11401", "U28532", "U30452")
SURVEY_KPI_MAP = PROJECT_ROOT / "dbt_project" / "seeds" / "survey_kpi_map.csv"

PROVENANCE = {
    "credit": "Källa: Kolada",
    "credit_note": (
        "Real values and metadata are Kolada's (RKA), credited 'Källa: Kolada'. Generated values "
        "(synthetic: true) are this project's own and must not be credited to Kolada."
    ),
    "metadata": (
        "kpi.json, municipality.json, municipality_groups.json: the Kolada API v3 as cached in the rKolada R "
        "package (LCHansson/rKolada, R/sysdata.rda, commit 8afe11f, 2026), converted to JSON without changing "
        "values (via ../shared/data/kolada)."
    ),
    "values": (
        "values.parquet: the Kolada API v2 (/v2/data/kpi/{kpi}/year/{year}, 1994-2022) as scraped on 2024-08-30 "
        "into open-numbers/ddf--kolada--dump (etl/source/datapoints raw 2024-08-30/, commit 5a966e4), merged "
        "into long form without changing values (via ../shared/data/kolada). That scrape kept no count and "
        "status and has no values after 2022; values may have been revised at Kolada since."
    ),
    "count_status_isdeleted": (
        "Not in the scrape: written as count 1, status \"\" and isdeleted false, which is what the API sends "
        "for a single municipality (values_sample.csv: count 1, empty status)."
    ),
}


# =========================================================================== small helpers


def write_gz_json(path: Path, obj: object) -> None:
    """Compact UTF-8 JSON, gzip without file name or timestamp, so rebuilding gives identical bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        gz.write(data)


def envelope(values: list) -> dict:
    return {"count": len(values), "values": values}


def rng_for(seed: int, *keys: object) -> np.random.Generator:
    """An independent, reproducible stream per KPI (or purpose), whatever order the KPIs are built in."""
    return np.random.default_rng([seed] + [zlib.crc32(str(k).encode()) for k in keys])


def is_kommun(code: str) -> bool:
    return not code.startswith("00")


def region_of(kommun: str) -> str:
    """Kommun 0114 (Upplands Väsby) lies in län 01, whose region is 0001 (Region Stockholm)."""
    return "00" + kommun[:2]


def clip(value: float, low: float | None, high: float | None) -> float:
    if low is not None:
        value = max(low, value)
    if high is not None:
        value = min(high, value)
    return value


def rnd(value: float | None, decimals: int) -> float | int | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if decimals == 0:
        return float(round(value))
    return round(float(value), decimals)


UNIT_BOUNDS = {"percent": (0.0, 100.0), "index": (0.0, 100.0), "days": (0.0, None), "kr": (0.0, None),
               "count": (0.0, None)}


def read_catalogue(path: Path = CATALOGUE) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


# A series is {(municipality, year): {gender: value or None}}.
Series = dict[tuple[str, int], dict[str, float | None]]


def load_values(shared: Path, kpi_ids: Iterable[str]) -> dict[str, Series]:
    ids = sorted(set(kpi_ids))
    con = duckdb.connect()
    rows = con.execute(
        "select kpi, municipality, period, gender, value from read_parquet(?) "
        "where kpi in (select unnest(?)) and period between ? and ? "
        "order by kpi, municipality, period, gender",
        [str(shared / "kolada" / "values.parquet"), ids, 2015, LATEST_YEAR],
    ).fetchall()
    out: dict[str, Series] = defaultdict(dict)
    for kpi, municipality, period, gender, value in rows:
        if value is not None and math.isnan(value):
            value = None
        out[kpi].setdefault((municipality, int(period)), {})[gender] = value
    return out


def data_record(kpi: str, municipality: str, period: int, values: dict[str, float | None],
                synthetic: bool) -> dict:
    """One record in the API's data shape; gender entries in the order T, K, M, only those present."""
    record = {
        "kpi": kpi,
        "municipality": municipality,
        "period": period,
        "values": [
            {"gender": g, "count": 1, "status": "", "value": values[g], "isdeleted": False}
            for g in GENDER_ORDER if g in values
        ],
    }
    if synthetic:
        record["synthetic"] = True
    return record


# =========================================================================== the generator


class Generator:
    """Builds the values the real data lacks, reading the real series it is related to."""

    def __init__(self, real: dict[str, Series], municipalities: list[dict], kpi_meta: dict[str, dict],
                 catalogue: dict[str, dict], seed: int, fill_gaps: bool = True):
        self.real = real
        self.kpi_meta = kpi_meta
        self.catalogue = catalogue
        self.seed = seed
        self.fill_gaps = fill_gaps
        self.kommuner = sorted(m["id"] for m in municipalities if m["type"] == "K")
        self.regions = sorted(m["id"] for m in municipalities if m["type"] == "L" and m["id"] != RIKET)
        self.size = self._size_factors()
        # full[kpi] = real + generated values; synthetic[kpi] = the generated keys
        self.full: dict[str, Series] = {}
        self.synthetic: dict[str, set[tuple[str, int]]] = {}
        self.methods: dict[str, str] = {}
        self.missing_rates: dict[str, float] = {}

    # ------------------------------------------------------------------ shared pieces

    def _size_factors(self) -> dict[str, float]:
        """sqrt(median population / population), clipped: small kommuner get noisier survey/school figures."""
        pop = {m: v.get("T") for (m, y), v in self.real.get("N01951", {}).items() if y == 2020 and is_kommun(m)}
        pop = {m: p for m, p in pop.items() if p}
        if not pop:
            return {m: 1.0 for m in self.kommuner}
        median = float(np.median(list(pop.values())))
        return {m: clip(math.sqrt(median / pop[m]), 0.5, 3.0) if m in pop else 1.0 for m in self.kommuner}

    def unit(self, kpi: str) -> str:
        return self.catalogue[kpi]["unit"]

    def bounds(self, kpi: str) -> tuple[float | None, float | None]:
        return UNIT_BOUNDS.get(self.unit(kpi), (None, None))

    def genders(self, kpi: str) -> tuple[str, ...]:
        real = self.real.get(kpi)
        if real:
            seen = {g for v in real.values() for g in v}
            return tuple(g for g in GENDER_ORDER if g in seen)
        meta = self.kpi_meta.get(kpi)
        return GENDER_ORDER if meta and meta.get("is_divided_by_gender") else ("T",)

    def decimals(self, kpi: str) -> int:
        """Whole numbers where the real series is whole (survey percentages, kr), else one decimal."""
        real = self.real.get(kpi)
        if real:
            vals = [x for v in real.values() for x in v.values() if x is not None]
            if vals and all(float(x).is_integer() for x in vals):
                return 0
        return 0 if self.unit(kpi) == "kr" else 1

    def real_years(self, kpi: str) -> list[int]:
        return sorted({y for (_, y) in self.real.get(kpi, {}) if y in YEARS})

    @staticmethod
    def split_gender(t: float, gap: float, w: float = 0.5) -> tuple[float, float]:
        """K and M around T with T = w*K + (1-w)*M, so T always lies between them; gap = K - M."""
        return t + (1 - w) * gap, t - w * gap

    def add_aggregates(self, kpi: str, values: Series, years: Iterable[int], entities: set[str],
                       decimals: int) -> None:
        """Riket (and regions, where the KPI has them) as the unweighted mean of the generated kommuner."""
        for year in years:
            for entity in sorted(entities):
                if entity == RIKET:
                    members = self.kommuner
                else:
                    members = [k for k in self.kommuner if region_of(k) == entity]
                out = {}
                for g in self.genders(kpi):
                    xs = [values[(m, year)][g] for m in members
                          if (m, year) in values and values[(m, year)].get(g) is not None]
                    out[g] = rnd(float(np.mean(xs)), decimals) if xs else None
                values[(entity, year)] = out

    def entities_like(self, kpi: str, years: Iterable[int] | None = None) -> set[str]:
        """Riket/regions the real series of ``kpi`` carries (the generated ones follow the same set)."""
        return {m for (m, y) in self.real.get(kpi, {}) if not is_kommun(m) and (years is None or y in years)}

    def apply_missing(self, kpi: str, values: Series, rng: np.random.Generator, rate: float) -> None:
        """Some kommun-years without a value (a null record, as Kolada sends for a non-reporting kommun)."""
        for key in sorted(values):
            if is_kommun(key[0]) and rng.random() < rate:
                values[key] = {g: None for g in values[key]}

    def store(self, kpi: str, generated: Series, method: str) -> None:
        full = dict(self.real.get(kpi, {}))
        full = {k: v for k, v in full.items() if k[1] in YEARS}
        overlap = set(full) & set(generated)
        if overlap:
            raise RuntimeError(f"{kpi}: generated values would overwrite real ones: {sorted(overlap)[:3]}")
        full.update(generated)
        self.full[kpi] = full
        self.synthetic[kpi] = set(generated)
        if generated:
            self.methods[kpi] = method
            kommun_vals = [v.get("T") for (m, _), v in generated.items() if is_kommun(m)]
            self.missing_rates[kpi] = round(sum(x is None for x in kommun_vals) / max(1, len(kommun_vals)), 4)

    def store_riket_only(self, kpi: str) -> None:
        """Kolada's own Riket values of an inbox-fed figure, the years and genders it has a number for."""
        full: Series = {}
        for (m, y), values in self.real.get(kpi, {}).items():
            if m == RIKET and y in YEARS and any(v is not None for v in values.values()):
                full[(m, y)] = {g: v for g, v in values.items() if v is not None}
        self.full[kpi] = full
        self.synthetic[kpi] = set()

    # ------------------------------------------------------------------ gap years of real KPIs

    def yoy_stats(self, kpi: str) -> tuple[float, float]:
        """Robust spread (1.4826 * MAD) of kommuner's year-over-year changes of T, and the mean yearly drift."""
        real = self.real[kpi]
        years = sorted({y for (_, y) in real})
        diffs, drifts = [], []
        for a, b in itertools.pairwise(years):
            step = []
            for m in self.kommuner:
                x, y = real.get((m, a), {}).get("T"), real.get((m, b), {}).get("T")
                if x is not None and y is not None:
                    step.append((y - x) / (b - a))
            if step:
                diffs.extend(step)
                drifts.append(float(np.mean(step)))
        if not diffs:
            return 1.0, 0.0
        d = np.asarray(diffs)
        mad = float(np.median(np.abs(d - np.median(d)))) * 1.4826
        return max(mad, 1e-6), float(np.mean(drifts)) if drifts else 0.0

    def fill_gap_years(self, kpi: str) -> Series:
        """Years the real series lacks, between or beside real years: each entity's own neighbouring real
        values (linear interpolation, or the last value plus the mean drift), plus noise as large as the
        real year-over-year changes; K and M keep the entity's real distance from T; Riket and regions move
        by the mean noise of their kommuner."""
        rng = rng_for(self.seed, "gap", kpi)
        real = self.real[kpi]
        have = self.real_years(kpi)
        all_real_years = sorted({y for (_, y) in real})
        sd, drift = self.yoy_stats(kpi)
        low, high = self.bounds(kpi)
        dec = self.decimals(kpi)
        genders = self.genders(kpi)
        out: Series = {}
        for year in YEARS:
            if year in have:
                continue
            prev = max((y for y in all_real_years if y < year), default=None)
            nxt = min((y for y in all_real_years if y > year), default=None)
            entities = sorted({m for (m, y) in real if y in (prev, nxt)})
            noise_of: dict[str, float] = {}
            base_of: dict[str, dict[str, float | None]] = {}
            for m in entities:
                p = real.get((m, prev), {}) if prev else {}
                n = real.get((m, nxt), {}) if nxt else {}
                base = {}
                for g in genders:
                    pv, nv = p.get(g), n.get(g)
                    if pv is not None and nv is not None:
                        base[g] = pv + (nv - pv) * (year - prev) / (nxt - prev)
                    elif pv is not None:
                        base[g] = pv + drift * (year - prev)
                    elif nv is not None:
                        base[g] = nv - drift * (nxt - year)
                    else:
                        base[g] = None
                base_of[m] = base
                interp = prev is not None and nxt is not None
                noise_of[m] = float(rng.normal(0.0, sd * (0.7 if interp else 1.0) * (self.size.get(m, 1.0) ** 0.5)))
            for m in entities:
                base = base_of[m]
                if base.get("T") is None:
                    out[(m, year)] = {g: None for g in genders}
                    continue
                if is_kommun(m):
                    shift = noise_of[m]
                else:
                    members = [k for k in entities if is_kommun(k) and (m == RIKET or region_of(k) == m)]
                    shift = float(np.mean([noise_of[k] for k in members])) if members else 0.0
                t = clip(base["T"] + shift, low, high)
                vals: dict[str, float | None] = {"T": t}
                if "K" in genders:
                    if base.get("K") is not None and base.get("M") is not None:
                        gap = (base["K"] - base["M"]) + float(rng.normal(0.0, sd * 0.3))
                        w = 0.5
                    else:
                        gap, w = 0.0, 0.5
                    k, mm = self.split_gender(t, gap, w)
                    vals["K"], vals["M"] = clip(k, low, high), clip(mm, low, high)
                out[(m, year)] = {g: rnd(vals.get(g), dec) for g in genders}
            # a few more kommun-years without a value than the neighbours had
            for m in entities:
                if is_kommun(m) and rng.random() < 0.02:
                    out[(m, year)] = {g: None for g in genders}
        return out

    # ------------------------------------------------------------------ AR(1) building block

    def ar1(self, rng: np.random.Generator, sd: float, rho: float = 0.6, size_power: float = 0.5
            ) -> dict[str, list[float]]:
        """Per kommun, a stationary AR(1) noise path over YEARS (sd scaled by kommun size)."""
        paths = {}
        for m in self.kommuner:
            s = sd * self.size.get(m, 1.0) ** size_power
            e = [float(rng.normal(0.0, s))]
            for _ in YEARS[1:]:
                e.append(rho * e[-1] + float(rng.normal(0.0, s * math.sqrt(1 - rho * rho))))
            paths[m] = e
        return paths

    # ------------------------------------------------------------------ fully generated KPIs

    def gen_n15543(self, kpi: str) -> Series:
        """Åk 6, betygskriterierna i alla ämnen, hemkommun (%): below the lower of the kommun's real
        'lägst E i engelska' (N15544) and 'lägst E i matematik' (N15545), hemkommun, by a persistent gap."""
        rng = rng_for(self.seed, kpi)
        eng, mat = self.real.get("N15544", {}), self.real.get("N15545", {})
        noise = self.ar1(rng, 2.0, rho=0.5)
        gap_m = {m: clip(float(rng.normal(9.0, 3.0)), 2.0, 20.0) for m in self.kommuner}
        sex_gap = {m: float(rng.normal(4.0, 3.0)) for m in self.kommuner}
        rate = float(rng.uniform(0.03, 0.08))
        low, high = self.bounds(kpi)
        dec = self.decimals(kpi)
        out: Series = {}
        for m in self.kommuner:
            rel_all = [min(x for x in (eng.get((m, y), {}).get("T"), mat.get((m, y), {}).get("T")) if x is not None)
                       for y in YEARS
                       if any(x is not None for x in (eng.get((m, y), {}).get("T"), mat.get((m, y), {}).get("T")))]
            fallback = float(np.mean(rel_all)) if rel_all else 88.0
            for i, y in enumerate(YEARS):
                xs = [x for x in (eng.get((m, y), {}).get("T"), mat.get((m, y), {}).get("T")) if x is not None]
                rel = min(xs) if xs else fallback
                t = clip(rel - gap_m[m] + noise[m][i], 20.0, high)
                gap = sex_gap[m] + float(rng.normal(0.0, 2.0 * self.size[m]))
                k, mm = self.split_gender(t, gap, 0.49)
                out[(m, y)] = {"T": rnd(t, dec), "K": rnd(clip(k, low, high), dec), "M": rnd(clip(mm, low, high), dec)}
        self.apply_missing(kpi, out, rng, rate)
        self.add_aggregates(kpi, out, YEARS, self.entities_like("N15544") or {RIKET}, dec)
        return out

    def gen_n17005(self, kpi: str) -> Series:
        """Kostnad gymnasieskola hemkommun (kr/elev): about 0.93 x the year's national median of the real
        'kostnad för kommunal gymnasieskola, kr/elev' (N17007), a persistent kommun level partly following the
        kommun's own N17007, AR(1) noise on the log scale."""
        rng = rng_for(self.seed, kpi)
        rel = self.real.get("N17007", {})
        med = {}
        for y in YEARS:
            xs = [v.get("T") for (m, yy), v in rel.items() if yy == y and is_kommun(m) and v.get("T") is not None]
            med[y] = float(np.median(xs))
        noise = self.ar1(rng, 0.04, rho=0.6)
        rate = float(rng.uniform(0.03, 0.08))
        dec = self.decimals(kpi)
        out: Series = {}
        for m in self.kommuner:
            own = [math.log(v["T"] / med[y]) for (mm, y), v in rel.items()
                   if mm == m and y in YEARS and (v.get("T") or 0) > 0]
            level = 0.3 * float(np.mean(own)) if own else 0.0
            level += float(rng.normal(0.0, 0.09))
            for i, y in enumerate(YEARS):
                out[(m, y)] = {"T": rnd(0.93 * med[y] * math.exp(level + noise[m][i]), dec)}
        self.apply_missing(kpi, out, rng, rate)
        self.add_aggregates(kpi, out, YEARS, {RIKET}, dec)
        return out

    def gen_n23002(self, kpi: str) -> Series:
        """Kostnad annat boende äldreomsorg (kr/inv 80+): a small post beside särskilt boende; about a third
        of kommuner report none (0 kr, persistent), the others a log-normal level (median about 2,500 kr)
        with AR(1) noise and a 3 % yearly cost increase."""
        rng = rng_for(self.seed, kpi)
        noise = self.ar1(rng, 0.25, rho=0.7, size_power=0.0)
        rate = float(rng.uniform(0.03, 0.08))
        dec = self.decimals(kpi)
        out: Series = {}
        for m in self.kommuner:
            zero = rng.random() < 0.35
            level = float(rng.normal(math.log(2500.0), 1.0))
            for i, y in enumerate(YEARS):
                v = 0.0 if zero else math.exp(level + noise[m][i]) * 1.03 ** (y - YEARS[0])
                out[(m, y)] = {"T": rnd(v, dec)}
        self.apply_missing(kpi, out, rng, rate)
        self.add_aggregates(kpi, out, YEARS, {RIKET}, dec)
        return out

    def private_share(self, share_kpi: str, m: str, year: int) -> float:
        """The kommun's real share in private (enskild) provision that year, else the nearest year's, else 0."""
        series = self.real.get(share_kpi, {})
        for dy in (0, -1, 1, -2, 2, -3, 3):
            v = series.get((m, year + dy), {}).get("T")
            if v is not None:
                return clip(v / 100.0, 0.0, 0.95)
        return 0.0

    def gen_regi(self, kpi: str, total_kpi: str, share_kpi: str, threshold: float, private: bool) -> Series:
        """Brukarbedömning by regi around the real total (all regi): enskild regi = total + a persistent
        kommun offset + sampling noise, only in kommuner with private provision (their share of private
        provision at least a threshold); kommunal regi is what makes the share-weighted mean equal the total (= the total
        where there is no private provision)."""
        # both regi variants of a total are drawn from one stream, so they stay consistent
        rng = rng_for(self.seed, "regi", total_kpi)
        total = self.full[total_kpi]
        low, high = self.bounds(kpi)
        dec = self.decimals(total_kpi)
        offset = {m: float(rng.normal(-1.5, 3.0)) for m in self.kommuner}
        too_few = {m: rng.random() < 0.12 for m in self.kommuner}
        years = sorted({y for (_, y) in total if y in YEARS})
        out: Series = {}
        for m in self.kommuner:
            for y in years:
                if (m, y) not in total:
                    continue
                t = total[(m, y)].get("T")
                s = self.private_share(share_kpi, m, y)
                has_private = s >= threshold and not too_few[m]
                e_noise = float(rng.normal(0.0, 3.0 * self.size[m] ** 0.5))
                k_noise = float(rng.normal(0.0, 0.5))
                if t is None:
                    out[(m, y)] = {"T": None}
                    continue
                enskild = clip(t + offset[m] + e_noise, low, high) if has_private else None
                if enskild is None:
                    kommunal = t if s < threshold else clip(t + k_noise, low, high)
                else:
                    kommunal = clip((t - s * enskild) / (1 - s) + k_noise, low, high)
                v = enskild if private else kommunal
                out[(m, y)] = {"T": rnd(v, dec)}
        miss = rng_for(self.seed, "missing", kpi)
        rate = float(miss.uniform(0.03, 0.08))
        self.apply_missing(kpi, out, miss, rate)
        self.add_aggregates(kpi, out, years, self.entities_like(total_kpi) & {RIKET}, dec)
        return out

    def gen_u23402(self, kpi: str) -> Series:
        """Väntetid särskilt boende, median (days): the kommun's real mean (U23401) times a persistent
        median/mean ratio (0.65-0.95; waiting times are right-skewed) with noise; K and M from the real K and
        M means the same way, T kept between them; the kommuner and years that report U23401."""
        rng = rng_for(self.seed, kpi)
        mean = self.full["U23401"]
        ratio = {m: float(rng.uniform(0.65, 0.95)) for m in self.kommuner}
        out: Series = {}
        for (m, y), v in sorted(mean.items()):
            if not is_kommun(m) or y not in YEARS:
                continue
            vals: dict[str, float | None] = {}
            for g in ("T", "K", "M"):
                x = v.get(g)
                vals[g] = None if x is None else max(0.0, x * ratio[m] * math.exp(float(rng.normal(0.0, 0.08))))
            if vals["T"] is not None and vals["K"] is not None and vals["M"] is not None:
                lo, hi = min(vals["K"], vals["M"]), max(vals["K"], vals["M"])
                vals["T"] = clip(vals["T"], lo, hi)
            # medians of whole days are whole or half days
            out[(m, y)] = {g: (None if vals[g] is None else round(vals[g] * 2) / 2) for g in self.genders(kpi)}
        rate = float(rng.uniform(0.03, 0.08))
        self.apply_missing(kpi, out, rng, rate * 0.5)  # U23401's own gaps are inherited already
        ents = self.entities_like("U23401")
        if ents:
            self.add_aggregates(kpi, out, sorted({y for (_, y) in out}), ents, 1)
        return out

    # ------------------------------------------------------------------ orchestration

    GENERATED: ClassVar[dict[str, tuple[str, tuple]]] = {
        "N15543": ("gen_n15543", ()),
        "N17005": ("gen_n17005", ()),
        "N23002": ("gen_n23002", ()),
        "U21443": ("gen_regi", ("U21468", "N21804", 0.02, False)),
        "U21438": ("gen_regi", ("U21468", "N21804", 0.02, True)),
        "U23458": ("gen_regi", ("U23471", "N23804", 0.05, False)),
        "U23443": ("gen_regi", ("U23471", "N23804", 0.05, True)),
        "U23402": ("gen_u23402", ()),
    }

    def build(self, kpi_ids: list[str]) -> None:
        # real KPIs first (their gap years feed the derived ones), then the generated KPIs
        for kpi in kpi_ids:
            if kpi in RIKET_ONLY:
                self.store_riket_only(kpi)
                continue
            if kpi in self.GENERATED:
                continue
            if not self.real_years(kpi):
                raise RuntimeError(f"{kpi} has no real values 2017-2022 and no generator: add one")
            gaps = self.fill_gap_years(kpi) if self.fill_gaps and len(self.real_years(kpi)) < len(YEARS) else {}
            self.store(kpi, gaps, "Gap years of a real KPI. " + " ".join((self.fill_gap_years.__doc__ or "").split())
                       if gaps else "")
        for kpi in kpi_ids:
            if kpi not in self.GENERATED:
                continue
            if self.real_years(kpi):
                raise RuntimeError(f"{kpi} now has real values: drop its generator")
            name, args = self.GENERATED[kpi]
            method = getattr(self, name)
            generated = method(kpi, *args)
            text = " ".join((method.__doc__ or "").split())
            if name == "gen_regi":
                total, share, threshold, private = args
                text += (f" Here: {'enskild' if private else 'kommunal'} regi, total {total} (real), private share "
                         f"{share} (real) >= {threshold:.0%}.")
            self.store(kpi, generated, text)


# =========================================================================== metadata


def build_metadata(shared: Path, out: Path) -> tuple[list[dict], list[dict], dict]:
    kpis = json.loads((shared / "kolada" / "kpi.json").read_text(encoding="utf-8"))
    municipalities = json.loads((shared / "kolada" / "municipality.json").read_text(encoding="utf-8"))
    groups = json.loads((shared / "kolada" / "municipality_groups.json").read_text(encoding="utf-8"))

    write_gz_json(out / "kpi.json.gz", envelope(kpis))
    write_gz_json(out / "municipality.json.gz", envelope(municipalities))
    # The file's members are {"id", "title"}; the API names them member_id / member_title (API.md, rKolada's
    # unnest functions and its v3-era tests). Only the keys are renamed; ids, titles and order are unchanged.
    api_groups = [
        {"id": g["id"], "title": g["title"],
         "members": [{"member_id": m["id"], "member_title": m["title"]} for m in g.get("members") or []]}
        for g in groups
    ]
    write_gz_json(out / "municipality_groups.json.gz", envelope(api_groups))

    members = sorted((k for k in kpis if KKIK_DESCRIPTION.search(k.get("description") or "")), key=lambda k: k["id"])
    kkik_group = {
        "id": KKIK_GROUP_ID,
        "title": KKIK_GROUP_TITLE,
        "members": [{"member_id": k["id"], "member_title": k["title"]} for k in members],
        "reconstructed": True,
    }
    write_gz_json(out / "kpi_groups.json.gz", envelope([kkik_group]))
    info = {
        "kpi": {"file": "kpi.json.gz", "count": len(kpis), "origin": "real"},
        "municipality": {"file": "municipality.json.gz", "count": len(municipalities), "origin": "real"},
        "municipality_groups": {"file": "municipality_groups.json.gz", "count": len(api_groups), "origin": "real",
                                "note": "member keys renamed id/title -> member_id/member_title"},
        "kpi_groups": {"file": "kpi_groups.json.gz", "count": 1, "origin": "reconstructed",
                       "group_id": KKIK_GROUP_ID, "members": [k["id"] for k in members],
                       "rule": "KPIs whose 2026 description (kpi.json) names 'Kommunens kvalitet i korthet' or 'KKiK'"},
    }
    return kpis, municipalities, info


# =========================================================================== main


def check_riket_only(catalogue_ids: set[str], survey_map: Path = SURVEY_KPI_MAP) -> None:
    """Every Riket-only figure is in the catalogue and fed by an inbox file type (``survey_kpi_map.csv``):
    otherwise the snapshot would silently serve no kommun values for it."""
    with open(survey_map, encoding="utf-8", newline="") as f:
        fed = {r["kpi_id"] for r in csv.DictReader(f) if r["kpi_id"]}
    for kpi in RIKET_ONLY:
        if kpi not in catalogue_ids:
            raise RuntimeError(f"RIKET_ONLY names {kpi}, which is not in {CATALOGUE.name}: drop it")
        if kpi not in fed:
            raise RuntimeError(f"RIKET_ONLY names {kpi}, which no inbox file feeds ({survey_map.name}): "
                               "serve its kommun values or give it a generator")


def build(shared: Path, out: Path, seed: int = SEED, fill_gaps: bool = True) -> dict:
    catalogue_rows = read_catalogue()
    catalogue = {r["kpi_id"]: r for r in catalogue_rows}
    kpi_ids = [r["kpi_id"] for r in catalogue_rows]
    check_riket_only(set(kpi_ids))

    if out.exists():
        for sub in ("data",):
            shutil.rmtree(out / sub, ignore_errors=True)
        for f in out.glob("*.json.gz"):
            f.unlink()
    out.mkdir(parents=True, exist_ok=True)

    kpis, municipalities, meta_info = build_metadata(shared, out)
    kpi_meta = {k["id"]: k for k in kpis}
    real = load_values(shared, list(kpi_ids) + list(RELATED_REAL))

    gen = Generator(real, municipalities, kpi_meta, catalogue, seed, fill_gaps=fill_gaps)
    gen.build(kpi_ids)

    manifest_kpis = {}
    totals = {"records_real": 0, "records_synthetic": 0, "values_real_non_null": 0, "values_synthetic_non_null": 0}
    for kpi in sorted(kpi_ids):
        full = gen.full[kpi]
        synth_keys = gen.synthetic[kpi]
        real_records, synth_records = [], []
        for (m, y) in sorted(full, key=lambda k: (k[1], k[0])):
            rec = data_record(kpi, m, y, full[(m, y)], (m, y) in synth_keys)
            (synth_records if (m, y) in synth_keys else real_records).append(rec)
        files = []
        if real_records:
            write_gz_json(out / "data" / "real" / f"{kpi}.json.gz", real_records)
            files.append(f"data/real/{kpi}.json.gz")
        if synth_records:
            write_gz_json(out / "data" / "synthetic" / f"{kpi}.synthetic.json.gz", synth_records)
            files.append(f"data/synthetic/{kpi}.synthetic.json.gz")
        years = {}
        for y in YEARS:
            keys = [k for k in full if k[1] == y]
            if not keys:
                years[str(y)] = "none"
            elif kpi in RIKET_ONLY:
                years[str(y)] = "riket"
            elif all(k in synth_keys for k in keys):
                years[str(y)] = "synthetic"
            elif any(k in synth_keys for k in keys):
                years[str(y)] = "mixed"
            else:
                years[str(y)] = "real"

        def non_null(recs: list[dict]) -> int:
            return sum(v["value"] is not None for r in recs for v in r["values"])

        meta = kpi_meta.get(kpi)
        manifest_kpis[kpi] = {
            "title": meta["title"] if meta else None,
            "in_kpi_catalogue_2026": meta is not None,
            "unit": catalogue[kpi]["unit"],
            "genders": list(gen.genders(kpi)),
            "years": years,
            "records": {"real": len(real_records), "synthetic": len(synth_records)},
            "values_non_null": {"real": non_null(real_records), "synthetic": non_null(synth_records)},
            "files": files,
        }
        if kpi in RIKET_ONLY:
            manifest_kpis[kpi]["riket_only"] = True
        if synth_records:
            manifest_kpis[kpi]["synthetic_method"] = gen.methods.get(kpi, "")
            manifest_kpis[kpi]["synthetic_kommun_missing_rate"] = gen.missing_rates.get(kpi)
        totals["records_real"] += len(real_records)
        totals["records_synthetic"] += len(synth_records)
        totals["values_real_non_null"] += non_null(real_records)
        totals["values_synthetic_non_null"] += non_null(synth_records)

    manifest = {
        "source": "kolada",
        "record_shape": "Kolada API v3 data record (same as v2): kpi, municipality, period, values[gender, count, "
                        "status, value, isdeleted]; generated records add synthetic: true",
        "years": list(YEARS),
        "latest_year": LATEST_YEAR,
        "build_command": BUILD_COMMAND,
        "seed": seed,
        "gap_years_filled": fill_gaps,
        "provenance": PROVENANCE,
        "metadata": meta_info,
        "counts": {"kpis": len(kpi_ids),
                   "kpis_all_real": sum(all(v == "real" for v in k["years"].values()) for k in manifest_kpis.values()),
                   "kpis_all_synthetic": sum(all(v == "synthetic" for v in k["years"].values())
                                             for k in manifest_kpis.values()),
                   **totals},
        "kpis": manifest_kpis,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (out / "README.md").write_text(render_readme(manifest), encoding="utf-8")
    return manifest


def render_readme(manifest: dict) -> str:
    kpis = manifest["kpis"]
    years = manifest["years"]
    mark = {"real": "R", "synthetic": "S", "mixed": "R+S", "none": "–", "riket": "Riket"}
    rows = []
    for kpi, k in kpis.items():
        cells = " | ".join(mark[k["years"][str(y)]] for y in years)
        title = k["title"] or "(not in the 2026 catalogue)"
        rows.append(f"| {kpi} | {title} | {cells} | {k['records']['real']} | {k['records']['synthetic']} |")
    methods = []
    for kpi, k in kpis.items():
        if k.get("synthetic_method"):
            methods.append(f"- **{kpi}** ({k['unit']}, genders {'/'.join(k['genders'])}; "
                           f"kommun-years without a value {k['synthetic_kommun_missing_rate']:.1%}): "
                           f"{k['synthetic_method']}")
    group = manifest["metadata"]["kpi_groups"]
    c = manifest["counts"]
    header_years = " | ".join(str(y) for y in years)
    gap_note = GAPS_FILLED if manifest.get("gap_years_filled") else GAPS_KEPT
    riket_only = [kpi for kpi, k in kpis.items() if k.get("riket_only")]
    with_riket = [kpi for kpi in riket_only if any(v == "riket" for v in kpis[kpi]["years"].values())]
    riket_note = (
        f"Riket only (`Riket`): {', '.join(riket_only)} get their kommun values from the bundled inbox "
        "(`snapshot/inbox`), which has no national value; the snapshot serves only Kolada's own Riket "
        f"(`0000`) for them, where `values.parquet` has a number: {', '.join(with_riket) or 'none'}. The others "
        "have no Riket value there (a null Riket record or none), so their reports show none."
    )
    return f"""# Kolada snapshot (`snapshot/kolada/`)

Served by `pipelines/snapshot/kolada_app.py` (`KoladaApp`) as the Kolada API (`/v3/...` and `/v2/...`).
Built by `{manifest['build_command']}` (`tools/build_kolada_snapshot.py`, fixed seed {manifest['seed']}:
a rebuild gives identical files). Do not edit the files by hand.

**Källa: Kolada** for every value that is not marked synthetic. Generated values carry `"synthetic": true`,
live in files named `*.synthetic.json.gz`, and must never be credited to Kolada.

## What is real

| file | what | origin |
| --- | --- | --- |
| `kpi.json.gz` | the whole 2026 KPI catalogue, {manifest['metadata']['kpi']['count']:,} KPIs | real, unchanged |
| `municipality.json.gz` | {manifest['metadata']['municipality']['count']} municipalities: 290 kommuner, Riket `0000`, 21 regions | real, unchanged |
| `municipality_groups.json.gz` | {manifest['metadata']['municipality_groups']['count']:,} municipality groups with members | real; member keys renamed (below) |
| `kpi_groups.json.gz` | one KKiK group | **reconstructed** (below) |
| `data/real/<KPI>.json.gz` | data records, a JSON list | real values |
| `data/synthetic/<KPI>.synthetic.json.gz` | data records with `"synthetic": true` | **generated** |
| `manifest.json` | years, per KPI and year real/synthetic, counts, provenance | |

All metadata files are the API's envelope `{{"count": N, "values": [...]}}`, gzip-compressed JSON.

Provenance. {manifest['provenance']['metadata']} {manifest['provenance']['values']}
{manifest['provenance']['count_status_isdeleted']} The snapshot's latest year is {manifest['latest_year']}.

Municipality group members: `../shared/data/kolada/municipality_groups.json` has members as `{{"id", "title"}}`;
the API documentation this project follows (`../shared/data/kolada/API.md`) and rKolada, which reads the live
API (its group unnest functions and its v3-era tests), name them `{{"member_id", "member_title"}}`. The snapshot
serves `member_id`/`member_title` with the ids, titles and order unchanged. This is the better-supported
reading, not a verified v3 response: a client should accept both (ours does).

## The reconstructed KKiK group

Kolada's real KPI groups are not in `../shared`. `kpi_groups.json.gz` holds ONE group,
`{group['group_id']}` "{KKIK_GROUP_TITLE}", with `"reconstructed": true` (a key the real API does not send).
Its members are the {len(group['members'])} KPIs whose 2026 description (`kpi.json`) says they are in KKiK
("Kommunens kvalitet i korthet" or "KKiK"): {', '.join(group['members'])}.
It is what Kolada's description texts say, not Kolada's own group: the pipeline's check "Kolada's KKiK group
versus our catalogue" therefore shows real differences (catalogue KPIs whose description does not name KKiK,
such as those from the 2015 list).

## Data: which KPI-years are real

R = real values from `values.parquet`; S = generated (`"synthetic": true`). Records per KPI: every kommun,
Riket and the regions that the source has for that KPI (the generated KPIs follow the set of a related real KPI).
Real records keep nulls where the API had null. {c['records_real']:,} real and {c['records_synthetic']:,}
generated records; {c['values_real_non_null']:,} real and {c['values_synthetic_non_null']:,} generated non-null values.

| KPI | title (2026 catalogue) | {header_years} | real records | synthetic records |
| --- | --- | {' | '.join('---' for _ in years)} | --- | --- |
{chr(10).join(rows)}

{gap_note}
{riket_note}
N00914 and N15535 are not in the 2026 KPI catalogue (`/kpi/N00914` finds nothing), but their data is served.

## How the generated values were made

Common to all: a fixed seed and one random stream per KPI; values within the unit's range (percent and index
0–100, days, kr and counts ≥ 0); persistence from year to year (AR(1)-like per kommun, or the kommun's own real
neighbouring values); noise larger in small kommuner (scaled by √(median population / population), real
population N01951 2020); K and M around T where the KPI is divided by gender, with T between them; Riket
(and regions, where the KPI has them) the unweighted mean of the generated kommuner, or for a filled gap year
of a real KPI its own real neighbours shifted by the mean noise of its kommuner; some kommun-years without a
value (a record with `value: null`, as Kolada sends for a kommun that did not report).

{chr(10).join(methods)}

Level choices that are assumptions, not facts: the 0.93 × N17007 level of N17005, the 2,500 kr median and the
third of kommuner with 0 kr for N23002, the 2 %/5 % private-share thresholds and the offsets of the regi
variants (N21804 and N23804 are real shares of private provision but N23804 also counts purchases from other
kommuner), the 0.65–0.95 median/mean ratio of U23402.

## Change dates

The snapshot has no change dates: the app accepts `from_date` and serves everything (nothing is marked
`isdeleted`).
"""


GAPS_KEPT = """Real gaps are kept (the default): U21468 and U23471 (Socialstyrelsen's survey of the elderly) have no
2021 in the source, and so neither do their regi variants U21443/U21438/U23458/U23443; N15535
(Skolinspektionen's Skolenkäten) has 2018, 2020 and 2021 only; N00914's real series ends in 2021. A missing year
is what the source published, and the error watch must see it as such. `--fill-gaps` generates those years
instead (marked synthetic)."""

GAPS_FILLED = """Real gaps were filled (`--fill-gaps`): U21468 and U23471 (Socialstyrelsen's survey of the elderly) have no
2021 in the source (2020 and 2022 are real); N15535 (Skolinspektionen's Skolenkäten) has 2016, 2018, 2020 and
2021, so 2017 and 2019 are interpolated and 2022 extrapolated; N00914's real series ends in 2021. These gap
years are generated like everything else that is missing and marked synthetic."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=PROJECT_ROOT.parent / "shared" / "data",
                        help="the ../shared/data folder (holds kolada/)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write (default snapshot/kolada)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--fill-gaps", action="store_true",
                        help="also generate the years a real KPI lacks (default: keep the source's real gaps)")
    args = parser.parse_args(argv)
    if not (args.shared / "kolada" / "values.parquet").exists():
        parser.error(f"{args.shared}/kolada/values.parquet not found: pass --shared path/to/shared/data")
    manifest = build(args.shared.resolve(), args.out.resolve(), seed=args.seed, fill_gaps=args.fill_gaps)
    size = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file())
    c = manifest["counts"]
    print(f"wrote {args.out} ({size / 1e6:.2f} MB): {c['records_real']} real and {c['records_synthetic']} "
          f"synthetic records for {c['kpis']} KPIs, {manifest['years'][0]}-{manifest['years'][-1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
