"""Detection benchmark for the data-error watch (not a test): inject known errors into real KKiK values.

    python bench/detection_benchmark.py --values ../shared/data/kolada/values_kkik.csv --seeds 20 --rate 0.02
    python bench/detection_benchmark.py --values ../shared/data/kolada/values.parquet --non-kkik 15 --seeds 4

Takes the real values of the KKiK figures (kommuner only, years ``--first-year``..latest), and for each
seed and each error type, one type at a time, replaces a share ``--rate`` of the cells of each KPI's latest
year with a wrong value, runs :func:`pipelines.quality.run_watch` on the latest years with the earlier years
as history, and scores the flags per cell:

* recall: share of injected cells with at least one flag;
* recall colour: the same among injected cells whose error changes the kommun's KKiK colour;
* precision: share of flagged cells that were injected (cells with a value in the evaluated years);
* P@50: the same among the 50 flagged cells with the highest impact score (per run, then averaged);
* false-flag rate (FFR): share of clean (not injected) cells with at least one flag.

Real data has real outliers and real slips, so FFR is not zero and precision depends on the rate. Flags on
cells without a value (missing values) are not cell errors here; their count is printed separately.

Error types (cells are drawn among the eligible ones of each type):

=================  =================================================================================
x100 / div100      value × 100 / ÷ 100 (any KPI)
share_0_1          a percent figure entered as a 0–1 share (÷ 100; percent KPIs only)
x10                decimal slip: × 10 or ÷ 10 (random direction)
digit_swap         two adjacent, different digits of the 4-significant-digit value swapped
copy_last_year     the previous period's value copied (cells where it differs)
km_swap            women and men swapped (both cells count as injected)
t_inconsistent     total moved 5–20 % of its value outside the interval of women and men
population_shift   value × (1 ± 10–30 %) (a share capped at 100): a different population counted
random_value       another kommun's value of the same KPI, year and gender
=================  =================================================================================

Use ``--set rule_id.parameter=value`` (repeatable, YAML values) to try other parameters without editing
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

from pipelines.quality import load_rules, run_watch
from pipelines.quality.bundled import bundled_kpis, bundled_municipalities, bundled_similar_groups
from pipelines.quality.warehouse import colours as watch_colours
from pipelines.quality.warehouse import run_model

ERROR_TYPES = [
    "x100", "div100", "share_0_1", "x10", "digit_swap", "copy_last_year", "km_swap", "t_inconsistent",
    "population_shift", "random_value",
]
KEY = ["kpi_id", "municipality_id", "year", "gender"]


# ---------------------------------------------------------------------------------------------- inputs
def load_inputs(values_path: Path, first_year: int, non_kkik: int = 0, seed: int = 0):
    """Values, KPI table, municipalities and Kolada's "Liknande kommuner, övergripande" peer groups.

    The metadata is what ``kkik watch --values`` uses (the bundled catalogue and Kolada snapshot, every
    Kolada figure with its kind). With ``non_kkik`` > 0 the values are those of that many Kolada figures
    outside the KKiK catalogue, drawn by ``seed`` among the figures with values for at least 250 kommuner
    in 2022 (``values_path`` is then values.parquet).
    """
    if values_path.suffix == ".parquet":
        where = f"period >= {int(first_year)}"
        values = duckdb.sql(f"select kpi as kpi_id, municipality as municipality_id, period as year, gender, value "
                            f"from read_parquet('{values_path}') where {where}").df()
    else:
        values = pd.read_csv(values_path, dtype={"municipality": str}).rename(
            columns={"kpi": "kpi_id", "municipality": "municipality_id", "period": "year"})
        values = values[values["year"] >= first_year]
    kpis = bundled_kpis()
    catalogue = set(pd.read_csv(ROOT / "dbt_project" / "seeds" / "kkik_catalogue.csv")["kpi_id"])
    if non_kkik:
        latest = values[(values["year"] == 2022) & values["gender"].eq("T")]
        wide = latest.groupby("kpi_id")["municipality_id"].nunique()
        candidates = sorted(k for k in wide.index[wide >= 250] if k not in catalogue and k in set(kpis["kpi_id"]))
        picked = sorted(np.random.default_rng(seed).choice(candidates, size=non_kkik, replace=False).tolist())
        values = values[values["kpi_id"].isin(picked)]
    kpis = kpis[kpis["kpi_id"].isin(set(values["kpi_id"]))].reset_index(drop=True)
    muni = bundled_municipalities().copy()
    muni["is_participant"] = muni["is_kommun"]
    similar = bundled_similar_groups()[["similar_group", "municipality_id"]]
    kommuner = set(muni.loc[muni["is_kommun"], "municipality_id"])
    values = values[values["municipality_id"].isin(kommuner) & values["value"].notna()].reset_index(drop=True)
    return values, kpis, muni, similar


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
    injected: pd.DataFrame  # KEY of injected cells


def inject(values: pd.DataFrame, evaluation: pd.DataFrame, kind: str, rate: float, rng: np.random.Generator,
           units: dict[str, str]) -> Injection:
    """Replace a share ``rate`` of the eligible evaluation cells with wrong values of one kind."""
    v = values.copy()
    idx = v.set_index(KEY).index
    ev = evaluation.copy()
    ev["value"] = v.set_index(KEY)["value"].reindex(pd.MultiIndex.from_frame(ev[KEY])).to_numpy()
    ev["unit"] = ev["kpi_id"].map(units)

    def pick(candidates: pd.DataFrame) -> pd.DataFrame:
        n = round(rate * len(candidates))
        if n == 0 or not len(candidates):
            return candidates.iloc[:0]
        return candidates.iloc[np.sort(rng.choice(len(candidates), size=n, replace=False))]

    def assign(cells: pd.DataFrame, new_values) -> Injection:
        pos = idx.get_indexer(pd.MultiIndex.from_frame(cells[KEY]))
        v.loc[pos, "value"] = np.asarray(new_values, dtype=float)
        return Injection(v, cells[KEY].reset_index(drop=True))

    positive = ev[ev["value"] > 0]
    if kind in ("x100", "div100", "x10", "population_shift"):
        cells = pick(positive)
        x = cells["value"].to_numpy(dtype=float)
        if kind == "x100":
            new = x * 100
        elif kind == "div100":
            new = x / 100
        elif kind == "x10":
            new = np.where(rng.random(len(x)) < 0.5, x * 10, x / 10)
        else:
            factor = 1 + np.where(rng.random(len(x)) < 0.5, -1, 1) * rng.uniform(0.1, 0.3, len(x))
            new = x * factor
            new = np.where(cells["unit"].to_numpy() == "percent", np.minimum(new, 100.0), new)
        return assign(cells, new)
    if kind == "share_0_1":
        cells = pick(positive[positive["unit"] == "percent"])
        return assign(cells, cells["value"] / 100)
    if kind == "digit_swap":
        swapped = positive["value"].map(lambda x: _digit_swap(x, rng))
        eligible = positive.assign(new=swapped)[swapped.notna().to_numpy()]
        cells = pick(eligible)
        return assign(cells, cells["new"])
    if kind == "copy_last_year":
        # the previous period as the mart and the watch define it (model watch_kpi_period); values are kommuner'
        kommuner = pd.DataFrame({"municipality_id": values["municipality_id"].unique(), "is_kommun": True})
        periods = run_model("watch_kpi_period", {"watch_value": values, "watch_municipality": kommuner})
        previous = periods.set_index(["kpi_id", "year"])["previous_year"]
        prev = ev.assign(year=previous.reindex(pd.MultiIndex.from_frame(ev[["kpi_id", "year"]]))
                         .fillna(-1).astype(int).to_numpy())
        ev["prev"] = v.set_index(KEY)["value"].reindex(pd.MultiIndex.from_frame(prev[KEY])).to_numpy()
        cells = pick(ev[ev["prev"].notna() & (ev["prev"] != ev["value"])])
        return assign(cells, cells["prev"])
    if kind == "random_value":
        cells = pick(ev)
        pools = {k: g.to_numpy(dtype=float) for k, g in ev.groupby(["kpi_id", "year", "gender"])["value"]}
        new = []
        for row in cells.itertuples(index=False):
            pool = pools[(row.kpi_id, row.year, row.gender)]
            pool = pool[pool != row.value]
            new.append(rng.choice(pool) if len(pool) else row.value)
        return assign(cells, new)
    wide = ev.pivot_table(index=["kpi_id", "municipality_id", "year"], columns="gender", values="value")
    wide = wide.dropna(subset=[g for g in ("T", "K", "M") if g in wide.columns])
    if kind == "km_swap":
        pairs = pick(wide[wide["K"] != wide["M"]].reset_index())
        k_cells, m_cells = pairs.assign(gender="K"), pairs.assign(gender="M")
        return assign(pd.concat([k_cells, m_cells], ignore_index=True), np.r_[pairs["M"], pairs["K"]])
    if kind == "t_inconsistent":
        cells = pick(wide.reset_index()).assign(gender="T")
        low, high = np.minimum(cells["K"], cells["M"]), np.maximum(cells["K"], cells["M"])
        shift = rng.uniform(0.05, 0.2, len(cells)) * cells["T"].abs()
        up = rng.random(len(cells)) < 0.5
        percent = cells["kpi_id"].map(units).to_numpy() == "percent"
        up = np.where(percent & (high + shift > 100), False, up)
        up = np.where(low - shift < 0, True, up)
        return assign(cells, np.where(up, high + shift, low - shift))
    raise ValueError(kind)


# ---------------------------------------------------------------------------------------------- scoring
def colours(values: pd.DataFrame, directions: dict) -> pd.Series:
    """KKiK colour of every cell among the kommuner of its KPI, year and gender: the mart's rule (dbt macro
    ``kkik_colour``) through :func:`pipelines.quality.warehouse.colours`, as the watch asks it."""
    candidates = values[KEY + ["value"]].assign(direction=values["kpi_id"].map(directions).fillna("none"))
    colour = watch_colours(candidates.reset_index(drop=True), values[KEY + ["value"]])
    return pd.Series(colour.to_numpy(dtype=object), index=pd.MultiIndex.from_frame(values[KEY]))


def colour_changed(dirty: pd.DataFrame, cells: pd.DataFrame) -> np.ndarray:
    """Does the injected error change the colour of each injected cell (against the clean data)?"""
    s = _STATE
    wanted = cells[["kpi_id", "year", "gender"]].drop_duplicates()
    after = colours(dirty.merge(wanted, on=["kpi_id", "year", "gender"]), s["directions"])
    index = pd.MultiIndex.from_frame(cells[KEY])
    return s["clean_colours"].reindex(index).to_numpy() != after.reindex(index).to_numpy()


_STATE: dict = {}


def _init(state):
    _STATE.update(state)


def run_one(task):
    seed, kind = task
    s = _STATE
    rng = np.random.default_rng([seed, ERROR_TYPES.index(kind)])
    inj = inject(s["values"], s["evaluation"], kind, s["rate"], rng, s["units"])
    started = time.perf_counter()
    flags = watch_latest(inj.values)
    elapsed = time.perf_counter() - started
    return score(flags, inj, kind, seed, elapsed)


def watch_latest(values: pd.DataFrame) -> pd.DataFrame:
    """Run the watch on the common latest year (see :func:`align_latest_years`) with earlier years as history."""
    s = _STATE
    return run_watch(values, s["kpis"], s["muni"], s["rules"], years=[s["latest"]], similar_groups=s["similar"],
                     today=s["today"])


def align_latest_years(values: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Shift the years of KPIs whose series ends early so that every KPI's latest year is the same.

    Every rule works per KPI and uses only the order of a KPI's own periods, so this changes no flag; it
    lets one ``run_watch`` call evaluate every KPI's latest year (N00914 ends in 2021) instead of one call
    per latest year, which halves the benchmark's time. Returns the shifted values and the shift per KPI.
    """
    latest = values.groupby("kpi_id")["year"].max()
    shift = (latest.max() - latest).astype(int)
    shifted = values.assign(year=values["year"] + values["kpi_id"].map(shift).fillna(0).astype(int))
    return shifted, {k: int(v) for k, v in shift.items() if v}


def score(flags: pd.DataFrame, inj: Injection, kind: str, seed: int, elapsed: float) -> dict:
    s = _STATE
    eval_index = pd.MultiIndex.from_frame(s["evaluation"][KEY])
    cell_flags = flags.dropna(subset=["municipality_id", "gender", "year"]).copy()
    cell_flags["year"] = cell_flags["year"].astype(int)
    in_eval = pd.MultiIndex.from_frame(cell_flags[KEY]).isin(eval_index)
    outside = int((~in_eval).sum())
    cell_flags = cell_flags[in_eval]
    per_cell = cell_flags.groupby(KEY).agg(impact=("impact_score", "max"),
                                          rules=("rule_id", lambda r: sorted(set(r))))
    injected = pd.MultiIndex.from_frame(inj.injected[KEY])
    is_injected = per_cell.index.isin(injected)
    caught = injected.isin(per_cell.index)
    changed = colour_changed(inj.values, inj.injected)
    top = per_cell.sort_values("impact", ascending=False).head(50)
    rule_counts: dict[str, int] = {}
    for rules in per_cell.loc[is_injected, "rules"]:
        for rule in rules:
            rule_counts[rule] = rule_counts.get(rule, 0) + 1
    return {
        "kind": kind, "seed": seed, "elapsed": elapsed,
        "injected": len(injected), "caught": int(caught.sum()),
        "injected_colour": int(changed.sum()), "caught_colour": int((caught & changed).sum()),
        "flagged": len(per_cell), "flagged_injected": int(is_injected.sum()),
        "top50": len(top), "top50_injected": int(top.index.isin(injected).sum()),
        "clean": len(eval_index) - len(injected), "clean_flagged": int((~is_injected).sum()),
        "outside_flags": outside, "rules": rule_counts,
    }


def summarise(results: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(results)
    rows = []
    for kind in ERROR_TYPES:
        r = frame[frame["kind"] == kind]
        if not len(r):
            continue
        rules: dict[str, int] = {}
        for counts in r["rules"]:
            for rule, n in counts.items():
                rules[rule] = rules.get(rule, 0) + n
        best = ", ".join(f"{k} {v / max(1, r['caught'].sum()):.0%}" for k, v in
                         sorted(rules.items(), key=lambda kv: -kv[1])[:3])
        rows.append({
            "error type": kind,
            "injected": int(r["injected"].sum()),
            "recall": r["caught"].sum() / max(1, r["injected"].sum()),
            "recall colour": r["caught_colour"].sum() / max(1, r["injected_colour"].sum()),
            "precision": r["flagged_injected"].sum() / max(1, r["flagged"].sum()),
            "P@50": (r["top50_injected"] / r["top50"].clip(lower=1)).mean(),
            "FFR": r["clean_flagged"].sum() / max(1, r["clean"].sum()),
            "caught by (share of caught)": best,
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--values", type=Path, default=ROOT.parent / "shared/data/kolada/values_kkik.csv")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--rate", type=float, default=0.02)
    parser.add_argument("--first-year", type=int, default=2015)
    parser.add_argument("--types", nargs="*", default=ERROR_TYPES, choices=ERROR_TYPES)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--rules", type=Path, default=None, help="rule table (default expectations/rules.yml)")
    parser.add_argument("--non-kkik", type=int, default=0,
                        help="instead of the KKiK figures: this many other Kolada figures from --values "
                             "(values.parquet), drawn by --pick-seed")
    parser.add_argument("--pick-seed", type=int, default=2026)
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        help="rule_id.parameter=value (YAML); shared.parameter=value; rule_id.enabled=false")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    values, kpis, muni, similar = load_inputs(args.values, args.first_year, args.non_kkik, args.pick_seed)
    if args.non_kkik:
        print(f"non-KKiK figures (pick seed {args.pick_seed}): " + ", ".join(
            f"{k} ({u})" for k, u in zip(kpis['kpi_id'], kpis['unit'])), flush=True)
    rules = load_rules(args.rules) if args.rules else load_rules()
    rules = parse_overrides(args.overrides, rules)
    real_latest = values.groupby("kpi_id")["year"].max()
    values, shifted = align_latest_years(values)
    latest = int(values["year"].max())
    evaluation = values.loc[values["year"] == latest, KEY].reset_index(drop=True)
    state = {
        "values": values, "kpis": kpis, "muni": muni, "similar": similar, "rules": rules,
        "evaluation": evaluation, "rate": args.rate, "latest": latest, "today": date(latest + 1, 6, 1),
        "units": kpis.set_index("kpi_id")["unit"].to_dict(),
        "directions": kpis.set_index("kpi_id")["direction"].to_dict(),
    }
    latest_values = values.merge(evaluation, on=KEY)
    state["clean_colours"] = colours(latest_values, state["directions"])
    tasks = [(seed, kind) for seed in range(args.seeds) for kind in args.types]
    print(f"{len(values)} values, {len(evaluation)} evaluated cells (latest year per KPI: "
          f"{', '.join(f'{k} {y}' for k, y in real_latest.items())}; years of "
          f"{', '.join(f'{k} +{n}' for k, n in shifted.items()) or 'none'} shifted to align them), "
          f"{len(tasks)} runs on {args.workers} workers",
          flush=True)
    if args.workers > 1:
        with get_context("fork").Pool(args.workers, initializer=_init, initargs=(state,)) as pool:
            results = pool.map(run_one, tasks, chunksize=1)
    else:
        _init(state)
        results = [run_one(t) for t in tasks]
    # The clean run: what the watch flags on the real data as it is.
    _init(state)
    clean = watch_latest(values)
    clean_cells = clean.dropna(subset=["municipality_id", "gender"])
    clean_cells = clean_cells[pd.MultiIndex.from_frame(clean_cells[KEY].astype({"year": int})).isin(
        pd.MultiIndex.from_frame(evaluation))]

    table = summarise(results)
    with pd.option_context("display.width", 200, "display.max_colwidth", 80, "display.float_format", "{:.3f}".format):
        print(table.to_string(index=False))
    runs = pd.DataFrame(results)
    print(f"\nclean data: {clean_cells[KEY].drop_duplicates().shape[0]} of {len(evaluation)} cells flagged "
          f"({clean_cells[KEY].drop_duplicates().shape[0] / len(evaluation):.2%}); by rule: "
          + ", ".join(f"{k} {v}" for k, v in clean_cells.groupby("rule_id")[KEY].apply(
              lambda f: len(f.drop_duplicates())).sort_values(ascending=False).items()))
    print(f"flags on cells without a value (missing) per run: {runs['outside_flags'].mean():.0f}")
    print(f"run_watch: median {runs['elapsed'].median():.2f} s per run; total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
