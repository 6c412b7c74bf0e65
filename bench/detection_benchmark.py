"""Detection benchmark for the data-error watch (not a test): inject known errors into real Kolada values.

    python bench/detection_benchmark.py --values ../shared/data/kolada/values_kkik.csv --seeds 20 --seed-start 10
    python bench/detection_benchmark.py --values ../shared/data/kolada/values.parquet --non-kkik 15 --pick-seed 2026

The values (kommuner only, years ``--first-year``..latest) are checked exactly as ``kkik watch --values FILE``
checks a file: :func:`pipelines.quality.values_file.watch_values`, i.e. the same dbt watch models on a
temporary DuckDB, the rules of ``expectations/rules.yml`` and the GX suite, with the bundled metadata. With
``--non-kkik N`` the values are those of N real Kolada figures outside the KKiK catalogue, drawn from
values.parquet by ``--pick-seed`` among the figures with 2022 values for at least 250 kommuner (printed).

First the clean run: the watch on the real values as they are. Then, for each seed and each error type (one
type at a time), a share ``--rate`` of the cells of the latest year get a wrong value, and the watch runs
again. Only NEW flags count: a (cell, rule) flag that the clean run did not have. Printed per error type:

* recall: share of injected cells with at least one new flag;
* P@50: share of injected cells among the 50 cells whose new flags rank highest (impact score), per run;
* new flags on other cells: share of not injected cells that got a new flag (an injected error moves the
  median or a group's ratios);

and once, "clean": the share of the latest year's cells the clean run flags (real errors included).

Error types:

==============  ===================================================================================
x100 / div100   value × 100 / ÷ 100
share_0_1       a 0–100 share written on a 0–1 scale (÷ 100; percent figures only)
t_outside_km    the total moved 5–20 % of its value outside the interval of women and men
x10             value × 10
copy_last_year  the previous period's value copied (cells where it differs)
km_swap         women's and men's values swapped (both cells count as injected)
digit_swap      two adjacent, different digits of the 4-significant-digit value swapped
shift_25        value × 0.75 or × 1.25 (× 0.75 where a share would pass 100)
==============  ===================================================================================

``--set rule_id.parameter=value`` (repeatable, YAML values) tries other parameters without editing
``expectations/rules.yml``; the tuning log is in the header of that file.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from datetime import date
from multiprocessing import get_context
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.quality import audit, load_rules
from pipelines.quality.bundled import bundled_kpis, bundled_municipalities
from pipelines.quality.values_file import watch_values
from pipelines.quality.warehouse import run_model

ERROR_TYPES = ["x100", "div100", "share_0_1", "t_outside_km", "x10", "copy_last_year", "km_swap", "digit_swap",
               "shift_25"]
#: the issue's recall targets (issue 10 item 7)
TARGETS = {"x100": 0.98, "div100": 0.98, "share_0_1": 0.98, "t_outside_km": 0.98, "x10": 0.9,
           "copy_last_year": 0.9, "km_swap": 0.9, "digit_swap": 0.6, "shift_25": 0.6}
CLEAN_TARGET, P50_TARGET = 0.02, 0.8
KEY = ["kpi_id", "municipality_id", "year", "gender"]
FLAG_KEY = KEY + ["rule_id"]


# ---------------------------------------------------------------------------------------------- inputs
def load_values(values_path: Path, first_year: int, non_kkik: int = 0, pick_seed: int = 0) -> pd.DataFrame:
    """The kommuner's values from ``first_year`` on; with ``non_kkik`` > 0, those of that many Kolada figures
    outside the KKiK catalogue (``values_path`` is then values.parquet), drawn by ``pick_seed``."""
    if values_path.suffix == ".parquet":
        values = duckdb.sql(f"select kpi as kpi_id, municipality as municipality_id, period as year, gender, value "
                            f"from read_parquet('{values_path}') where period >= {int(first_year)}").df()
    else:
        values = pd.read_csv(values_path, dtype={"municipality": str, "kpi": str, "gender": str}).rename(
            columns={"kpi": "kpi_id", "municipality": "municipality_id", "period": "year"})
        values = values[values["year"] >= first_year]
    kommuner = set(bundled_municipalities().query("is_kommun")["municipality_id"])
    values = values[values["municipality_id"].isin(kommuner) & values["value"].notna()]
    if non_kkik:
        catalogue = set(pd.read_csv(ROOT / "dbt_project" / "seeds" / "kkik_catalogue.csv")["kpi_id"])
        known = set(bundled_kpis()["kpi_id"])
        latest = values[(values["year"] == 2022) & values["gender"].eq("T")]
        wide = latest.groupby("kpi_id")["municipality_id"].nunique()
        candidates = sorted(k for k in wide.index[wide >= 250] if k not in catalogue and k in known)
        picked = np.random.default_rng(pick_seed).choice(candidates, size=non_kkik, replace=False).tolist()
        values = values[values["kpi_id"].isin(picked)]
    return values[KEY + ["value"]].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------- injection
def _digit_swap(value: float, rng: np.random.Generator) -> float | None:
    if not np.isfinite(value) or value <= 0:
        return None
    exponent = int(np.floor(np.log10(value))) - 3
    digits = list(str(round(value / 10.0**exponent)))
    positions = [i for i in range(len(digits) - 1) if digits[i] != digits[i + 1]]
    if not positions:
        return None
    i = int(rng.choice(positions))
    digits[i], digits[i + 1] = digits[i + 1], digits[i]
    return int("".join(digits)) * 10.0 ** exponent


@dataclass
class Injection:
    values: pd.DataFrame
    injected: pd.DataFrame  # KEY of the injected cells


def inject(values: pd.DataFrame, evaluation: pd.DataFrame, kind: str, rate: float, rng: np.random.Generator,
           units: dict[str, str]) -> Injection:
    """Replace a share ``rate`` of the eligible evaluation cells with wrong values of one kind."""
    v = values.copy()
    idx = pd.MultiIndex.from_frame(v[KEY])
    ev = evaluation.merge(v, on=KEY)
    ev["unit"] = ev["kpi_id"].map(units)

    def pick(candidates: pd.DataFrame) -> pd.DataFrame:
        n = round(rate * len(candidates))
        if n == 0:
            return candidates.iloc[:0]
        return candidates.iloc[np.sort(rng.choice(len(candidates), size=n, replace=False))]

    def assign(cells: pd.DataFrame, new_values) -> Injection:
        pos = idx.get_indexer(pd.MultiIndex.from_frame(cells[KEY]))
        v.loc[pos, "value"] = np.asarray(new_values, dtype=float)
        return Injection(v, cells[KEY].reset_index(drop=True))

    positive = ev[ev["value"] > 0]
    percent = positive["unit"] == "percent"
    if kind in ("x100", "div100", "x10"):
        cells = pick(positive)
        return assign(cells, cells["value"] * {"x100": 100, "div100": 0.01, "x10": 10}[kind])
    if kind == "shift_25":
        cells = pick(positive)
        up = rng.random(len(cells)) < 0.5
        up &= ~((cells["unit"] == "percent") & (cells["value"] * 1.25 > 100)).to_numpy()
        return assign(cells, cells["value"] * np.where(up, 1.25, 0.75))
    if kind == "share_0_1":
        cells = pick(positive[percent])
        return assign(cells, cells["value"] / 100)
    if kind == "digit_swap":
        swapped = positive["value"].map(lambda x: _digit_swap(x, rng))
        cells = pick(positive.assign(new=swapped)[swapped.notna().to_numpy()])
        return assign(cells, cells["new"])
    if kind == "copy_last_year":
        # the previous period as the mart and the watch define it (model watch_kpi_period); values are kommuner'
        kommuner = pd.DataFrame({"municipality_id": values["municipality_id"].unique(), "is_kommun": True})
        periods = run_model("watch_kpi_period", {"watch_value": values, "watch_municipality": kommuner})
        previous = periods.set_index(["kpi_id", "year"])["previous_year"]
        prev = ev[KEY].assign(year=previous.reindex(pd.MultiIndex.from_frame(ev[["kpi_id", "year"]]))
                              .fillna(-1).astype(int).to_numpy())
        ev["prev"] = v.set_index(KEY)["value"].reindex(pd.MultiIndex.from_frame(prev)).to_numpy()
        cells = pick(ev[ev["prev"].notna() & (ev["prev"] != ev["value"])])
        return assign(cells, cells["prev"])
    wide = ev.pivot_table(index=["kpi_id", "municipality_id", "year"], columns="gender", values="value")
    wide = wide.dropna(subset=[g for g in ("T", "K", "M") if g in wide.columns]).reset_index()
    if not {"T", "K", "M"} <= set(wide.columns):
        return Injection(v, ev[KEY].iloc[:0])
    if kind == "km_swap":
        pairs = pick(wide[wide["K"] != wide["M"]])
        cells = pd.concat([pairs.assign(gender="K"), pairs.assign(gender="M")], ignore_index=True)
        return assign(cells, np.r_[pairs["M"], pairs["K"]])
    if kind == "t_outside_km":
        cells = pick(wide).assign(gender="T")
        low, high = np.minimum(cells["K"], cells["M"]), np.maximum(cells["K"], cells["M"])
        shift = rng.uniform(0.05, 0.2, len(cells)) * cells["T"].abs()
        up = rng.random(len(cells)) < 0.5
        is_percent = cells["kpi_id"].map(units).to_numpy() == "percent"
        up = np.where(is_percent & (high + shift > 100), False, up)
        up = np.where(low - shift < 0, True, up)
        return assign(cells, np.where(up, high + shift, low - shift))
    raise ValueError(kind)


# ---------------------------------------------------------------------------------------------- the watch
_STATE: dict = {}


def _init(state: dict) -> None:
    _STATE.update(state)
    if state.get("rules") is not None:  # --set: the audit's rule table, overridden for this process only
        audit.load_rules = lambda *a, **k: state["rules"]


def watch(values: pd.DataFrame) -> pd.DataFrame:
    """The flags ``kkik watch --values`` writes for the latest year's cells with a value (a missing value is
    no injected error), one row per (cell, rule)."""
    flags = watch_values(values, years=[_STATE["latest"]], today=_STATE["today"])
    flags = flags.dropna(subset=["municipality_id", "gender", "year"]).astype({"year": int})
    flags = flags[pd.MultiIndex.from_frame(flags[KEY]).isin(_STATE["evaluation_index"])]  # cells with a value
    return flags.groupby(FLAG_KEY, as_index=False)["impact_score"].max()


def new_flags(flags: pd.DataFrame) -> pd.DataFrame:
    """The flags of an injected run that the clean run did not have, as the cells with their top impact."""
    fresh = ~pd.MultiIndex.from_frame(flags[FLAG_KEY]).isin(_STATE["clean_index"])
    return flags[fresh].groupby(KEY, as_index=False).agg(impact=("impact_score", "max"),
                                                          rules=("rule_id", lambda r: sorted(set(r))))


def run_one(task: tuple[int, str]) -> dict:
    seed, kind = task
    s = _STATE
    inj = inject(s["values"], s["evaluation"], kind, s["rate"], np.random.default_rng([seed, ERROR_TYPES.index(kind)]),
                 s["units"])
    started = time.perf_counter()
    cells = new_flags(watch(inj.values))
    elapsed = time.perf_counter() - started
    injected = pd.MultiIndex.from_frame(inj.injected[KEY])
    flagged = pd.MultiIndex.from_frame(cells[KEY])
    top = cells.sort_values("impact", ascending=False, kind="stable").head(50)
    rule_counts: dict[str, int] = {}
    for rules in cells.loc[flagged.isin(injected), "rules"]:
        for rule in rules:
            rule_counts[rule] = rule_counts.get(rule, 0) + 1
    return {"kind": kind, "seed": seed, "elapsed": elapsed, "injected": len(injected),
            "caught": int(injected.isin(flagged).sum()), "top50": len(top),
            "top50_injected": int(pd.MultiIndex.from_frame(top[KEY]).isin(injected).sum()),
            "others": len(s["evaluation"]) - len(injected), "others_flagged": int((~flagged.isin(injected)).sum()),
            "rules": rule_counts}


def summarise(results: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(results)
    rows = []
    for kind in [k for k in ERROR_TYPES if k in set(frame["kind"])]:
        r = frame[frame["kind"] == kind]
        rules: dict[str, int] = {}
        for counts in r["rules"]:
            for rule, n in counts.items():
                rules[rule] = rules.get(rule, 0) + n
        recall = r["caught"].sum() / max(1, r["injected"].sum())
        rows.append({
            "error type": kind, "injected": int(r["injected"].sum()), "recall": recall,
            "target": TARGETS[kind], "met": "yes" if recall >= TARGETS[kind] else "NO",
            "P@50": (r["top50_injected"] / r["top50"].clip(lower=1)).mean(),
            "new flags on other cells": r["others_flagged"].sum() / max(1, r["others"].sum()),
            "caught by (share of caught)": ", ".join(
                f"{k} {v / max(1, r['caught'].sum()):.0%}" for k, v in sorted(rules.items(), key=lambda kv: -kv[1])[:3]),
        })
    return pd.DataFrame(rows)


def parse_overrides(items: list[str], rules):
    for item in items:
        target, _, raw = item.partition("=")
        rule_id, _, param = target.rpartition(".")
        value = yaml.safe_load(raw)
        if rule_id == "shared":
            rules = rules.with_shared(**{param: value})
        elif param == "enabled":
            rules = rules.with_enabled(rule_id, bool(value))
        else:
            rules = rules.with_parameters(rule_id, **{param: value})
    return rules


def align_latest_years(values: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Shift the years of figures whose series ends early so that every figure's latest year is the same.

    Every rule works per figure and uses only the order of a figure's own periods, so this changes no flag;
    it lets one run check every figure's latest year (N00914 ends in 2021). Returns the shifted values and
    the shift per figure.
    """
    latest = values.groupby("kpi_id")["year"].max()
    shift = (latest.max() - latest).astype(int)
    shifted = values.assign(year=values["year"] + values["kpi_id"].map(shift).fillna(0).astype(int))
    return shifted, {k: int(v) for k, v in shift.items() if v}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--values", type=Path, default=ROOT.parent / "shared/data/kolada/values_kkik.csv")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--seed-start", type=int, default=10)
    parser.add_argument("--rate", type=float, default=0.02)
    parser.add_argument("--first-year", type=int, default=2015)
    parser.add_argument("--types", nargs="*", default=ERROR_TYPES, choices=ERROR_TYPES)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--non-kkik", type=int, default=0,
                        help="instead of the KKiK figures: this many other Kolada figures from --values "
                             "(values.parquet), drawn by --pick-seed")
    parser.add_argument("--pick-seed", type=int, default=2026)
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        help="rule_id.parameter=value (YAML); shared.parameter=value; rule_id.enabled=false")
    parser.add_argument("--examples", type=int, default=0, help="print this many missed cells per type")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    values = load_values(args.values, args.first_year, args.non_kkik, args.pick_seed)
    kpis = bundled_kpis().set_index("kpi_id")
    figures = sorted(values["kpi_id"].unique())
    label = f"{len(figures)} non-KKiK Kolada figures (pick seed {args.pick_seed})" if args.non_kkik else \
        f"{len(figures)} KKiK figures"
    print(f"{label}: " + ", ".join(f"{k} ({kpis.at[k, 'unit']})" for k in figures), flush=True)
    values, shifted = align_latest_years(values)
    latest = int(values["year"].max())
    evaluation = values.loc[values["year"] == latest, KEY].reset_index(drop=True)
    state = {"values": values, "evaluation": evaluation, "evaluation_index": pd.MultiIndex.from_frame(evaluation), "rate": args.rate, "latest": latest,
             "today": date(latest + 1, 6, 1), "units": kpis["unit"].to_dict(),
             "rules": parse_overrides(args.overrides, load_rules()) if args.overrides else None}
    _init(state)
    clean = watch(values)
    state["clean_index"] = _STATE["clean_index"] = pd.MultiIndex.from_frame(clean[FLAG_KEY])
    clean_cells = clean[KEY].drop_duplicates()
    tasks = [(seed, kind) for seed in range(args.seed_start, args.seed_start + args.seeds) for kind in args.types]
    print(f"{len(values)} values, {len(evaluation)} cells of {latest} checked (years of "
          f"{', '.join(f'{k} +{n}' for k, n in shifted.items()) or 'no figure'} shifted to align the latest "
          f"years), {len(tasks)} runs on {args.workers} workers", flush=True)
    if args.workers > 1:
        with get_context("fork").Pool(args.workers, initializer=_init, initargs=(state,)) as pool:
            results = pool.map(run_one, tasks, chunksize=1)
    else:
        _init(state)
        results = [run_one(t) for t in tasks]

    table = summarise(results)
    with pd.option_context("display.width", 250, "display.max_colwidth", 90, "display.float_format", "{:.3f}".format):
        print(table.to_string(index=False))
    by_rule = clean.groupby("rule_id").size().sort_values(ascending=False)
    rate = len(clean_cells) / len(evaluation)
    print(f"\nclean: {len(clean_cells)} of {len(evaluation)} cells flagged on the real values ({rate:.2%}, target "
          f"≤ {CLEAN_TARGET:.0%}: {'met' if rate <= CLEAN_TARGET else 'NOT met'}); by rule: "
          + ", ".join(f"{k} {v}" for k, v in by_rule.items()))
    p50 = table["P@50"].mean()
    print(f"P@50 over the types: {p50:.3f} (target ≥ {P50_TARGET}: {'met' if p50 >= P50_TARGET else 'NOT met'}); "
          f"lowest {table['P@50'].min():.3f} ({table.loc[table['P@50'].idxmin(), 'error type']})")
    runs = pd.DataFrame(results)
    print(f"watch: median {runs['elapsed'].median():.2f} s per run; total {time.perf_counter() - started:.0f} s")
    if args.examples:
        print_examples(table, args.examples, args.seed_start)
    return 0


def print_examples(table: pd.DataFrame, n: int, seed: int) -> None:
    """Missed cells of the types below target (one seed): value before and after, to say why."""
    s = _STATE
    for kind in table.loc[table["met"] == "NO", "error type"]:
        inj = inject(s["values"], s["evaluation"], kind, s["rate"], np.random.default_rng([seed, ERROR_TYPES.index(kind)]),
                     s["units"])
        cells = new_flags(watch(inj.values))
        missed = inj.injected[~pd.MultiIndex.from_frame(inj.injected[KEY]).isin(pd.MultiIndex.from_frame(cells[KEY]))]
        rows = missed.head(n).merge(s["values"], on=KEY).merge(inj.values, on=KEY, suffixes=("_real", "_injected"))
        print(f"\nmissed {kind} (seed {seed}, {len(missed)} of {len(inj.injected)}):")
        print(rows.to_string(index=False))


if __name__ == "__main__":
    raise SystemExit(main())
