"""Scale benchmark for the data-error watch (not a test): the snapshot's KKiK years, and the whole of Kolada.

    flock /tmp/kkik_bench.lock python bench/watch_scale_benchmark.py --values ../shared/data/kolada/values.parquet
    python bench/watch_scale_benchmark.py --values ... --size kkik     # one size only

Runs ``kkik watch --values``'s path (:func:`pipelines.quality.values_file.watch_values`: the watch models
on the file, every rule, the GX suite) with the latest year checked and every earlier year as history,
each size in its own process, and prints the wall time of reading and of the watch, and the peak resident
memory of that process (``resource.getrusage``). The sizes: ``kkik`` = the KKiK catalogue's figures from
2018 (the years of the offline snapshot), ``whole`` = every value of the file, 1994–2022. Targets (issue
10): the whole file ≤ 60 s and ≤ 4 GiB on 2 cores; the KKiK years ≤ 5 s.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZES = ("kkik", "whole")


def peak_gib() -> float:
    """Peak resident set size of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def run_size(path: Path, size: str) -> int:
    from pipelines.quality.bundled import bundled_kpis, bundled_municipalities
    from pipelines.quality.values_file import watch_values

    bundled_kpis(), bundled_municipalities()  # the bundled metadata, read once (not the file's cost)
    started = time.perf_counter()
    filters = None
    if size == "kkik":
        ids = pd.read_csv(ROOT / "dbt_project" / "seeds" / "kkik_catalogue.csv")["kpi_id"].tolist()
        filters = [("kpi", "in", ids), ("period", ">=", 2018)]
    values = pd.read_parquet(path, filters=filters).rename(
        columns={"kpi": "kpi_id", "municipality": "municipality_id", "period": "year"})
    read = time.perf_counter() - started
    latest = int(values["year"].max())
    t = time.perf_counter()
    flags = watch_values(values, years=[latest], today=date(latest + 1, 6, 1))
    watched = time.perf_counter() - t
    print(f"{size:>5}: {len(values):>9,} values, {values['kpi_id'].nunique():>5,} figures, "
          f"{values['year'].min()}–{latest}: read {read:5.1f} s, watch of {latest} {watched:5.1f} s, "
          f"{len(flags):,} flags ({int((flags['severity'] == 'error').sum()):,} errors); "
          f"peak memory {peak_gib():.2f} GiB", flush=True)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--values", type=Path, required=True, help="values.parquet (../shared/data/kolada/)")
    parser.add_argument("--size", choices=SIZES, help="one size only, in this process")
    args = parser.parse_args(argv)
    if args.size:
        return run_size(args.values, args.size)
    for size in SIZES:  # each in a process of its own: the peak memory is per process
        done = subprocess.run([sys.executable, __file__, "--values", str(args.values), "--size", size], check=False)
        if done.returncode:
            return done.returncode
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
