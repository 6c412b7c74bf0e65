"""Benchmark (not a test): a full four-year KKiK load from the local snapshot server.

Prints HTTP requests made, rows landed and wall seconds for the ingest, the dbt build and the whole
job. Runs in a temporary folder, so the user's warehouse is untouched.

    python bench/load_benchmark.py [--latest-year 2022] [--repeat 1]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latest-year", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    from pipelines.catalogue import kkik_kpi_ids
    from pipelines.endpoints import snapshot_apps
    from pipelines.jobs import KKIK_YEARS
    from pipelines.landing.kolada import land_kolada
    from pipelines.snapshot.kolada_app import snapshot_latest_year
    from pipelines.snapshot.server import SnapshotServer
    from pipelines.sources.kolada import KoladaClient

    latest = args.latest_year or snapshot_latest_year()
    years = list(range(latest - KKIK_YEARS + 1, latest + 1))
    print(f"KKiK load benchmark: {len(kkik_kpi_ids())} key figures, years {years[0]}–{years[-1]}, "
          f"{os.cpu_count()} cores, snapshot server on loopback")
    print(f"{'run':>3} {'requests':>8} {'pages':>5} {'rows':>8} {'ingest s':>8} {'dbt s':>6} {'job s':>6}")
    for run in range(1, args.repeat + 1):
        with tempfile.TemporaryDirectory() as tmp:
            duckdb_path = Path(tmp) / "warehouse.duckdb"
            env = {**os.environ, "KKIK_DUCKDB_PATH": str(duckdb_path), "KKIK_RAW_DIR": str(Path(tmp) / "raw")}
            started = time.perf_counter()
            with SnapshotServer(snapshot_apps()) as server:
                with KoladaClient(f"{server.source_url('kolada')}/v3") as client:
                    summary = land_kolada(client, kpi_ids=kkik_kpi_ids(), years=years, raw_dir=Path(tmp) / "raw",
                                          duckdb_path=duckdb_path)
            ingest = time.perf_counter() - started
            dbt_started = time.perf_counter()
            subprocess.run(
                [str(Path(sys.executable).parent / "dbt"), "build", "--quiet", "--project-dir", str(ROOT / "dbt_project"),
                 "--profiles-dir", str(ROOT / "dbt_project"), "--target-path", str(Path(tmp) / "target")],
                check=True, env=env,
            )
            dbt_seconds = time.perf_counter() - dbt_started
            job_started = time.perf_counter()
            subprocess.run(
                [str(Path(sys.executable).parent / "kkik"), "load", *sum((["--year", str(y)] for y in years), [])],
                check=True, env={**env, "KKIK_DUCKDB_PATH": str(Path(tmp) / "job.duckdb")},
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            job_seconds = time.perf_counter() - job_started
            print(f"{run:>3} {summary.requests:>8} {summary.pages:>5} {summary.value_rows:>8} {ingest:>8.2f} "
                  f"{dbt_seconds:>6.2f} {job_seconds:>6.2f}")
    print("ingest = fetch + raw landing (pages to disk, one DuckDB transaction); dbt = `dbt build` (models + tests);"
          " job = `kkik load` as a user runs it (Dagster in process, incl. start-up).")


if __name__ == "__main__":
    main()
