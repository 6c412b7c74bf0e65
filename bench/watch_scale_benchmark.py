"""Scale benchmark for the data-error watch (not a test): the whole of Kolada, and the snapshot's KKiK years.

    python bench/watch_scale_benchmark.py --values ../shared/data/kolada/values.parquet
    python bench/watch_scale_benchmark.py --values ../shared/data/kolada/values.parquet --kkik-only --first-year 2018

Runs ``kkik watch --values``'s path (:func:`pipelines.quality.values_file.watch_values`: the watch models
on the file, every rule, the GX suite) with the latest year checked and every earlier year as history,
and prints the wall time of each step and the peak resident memory of the process. Targets (issue 10):
all of values.parquet ≤ 60 s and ≤ 4 GiB on 2 cores; the KKiK years of the snapshot ≤ 5 s.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.quality.bundled import bundled_kpis, bundled_municipalities
from pipelines.quality.values_file import watch_values


def peak_gib() -> float:
    """Peak resident set size of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--values", type=Path, required=True, help="values.parquet (../shared/data/kolada/)")
    parser.add_argument("--first-year", type=int, default=1994)
    parser.add_argument("--kkik-only", action="store_true", help="only the figures of the KKiK catalogue")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    where = f"period >= {int(args.first_year)}"
    if args.kkik_only:
        ids = pd.read_csv(ROOT / "dbt_project" / "seeds" / "kkik_catalogue.csv")["kpi_id"].tolist()
        where += " and kpi in (" + ", ".join(f"'{k}'" for k in ids) + ")"
    values = duckdb.sql(f"select kpi as kpi_id, municipality as municipality_id, period as year, gender, value "
                        f"from read_parquet('{args.values}') where {where}").df()
    bundled_kpis(), bundled_municipalities()
    read = time.perf_counter() - started
    latest = int(values["year"].max())
    print(f"{len(values):,} values, {values['kpi_id'].nunique():,} figures, {values['year'].min()}–{latest}; "
          f"read {read:.1f} s", flush=True)
    t = time.perf_counter()
    flags = watch_values(values, years=[latest], today=date(latest + 1, 6, 1))
    watched = time.perf_counter() - t
    total = time.perf_counter() - started
    print(f"watch of {latest}: {watched:.1f} s, {len(flags):,} flags "
          f"({int((flags['severity'] == 'error').sum()):,} errors); total {total:.1f} s; "
          f"peak memory {peak_gib():.2f} GiB")
    print(flags["rule_id"].value_counts().to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
