"""Benchmark (not a test): a full four-year KKiK load from the local snapshot server.

Prints, per source (Kolada, SCB, Skolverket), the HTTP requests made, rows landed and wall seconds of
the ingest; then the dbt build and the whole job as a user runs it (`kkik load`, in process and with
--parallel). Runs in a temporary folder, so the user's warehouse is untouched.

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
    from pipelines.landing.scb import land_scb
    from pipelines.landing.skolverket import land_skolverket
    from pipelines.snapshot.kolada_app import snapshot_latest_year
    from pipelines.snapshot.server import SnapshotServer
    from pipelines.sources.kolada import KoladaClient
    from pipelines.sources.scb import ScbClient
    from pipelines.sources.skolverket import SkolverketClient

    latest = args.latest_year or snapshot_latest_year()
    years = list(range(latest - KKIK_YEARS + 1, latest + 1))
    bin_dir = Path(sys.executable).parent
    print(f"KKiK load benchmark: {len(kkik_kpi_ids())} key figures, years {years[0]}–{years[-1]}, "
          f"{os.cpu_count()} cores, snapshot server on loopback")
    for run in range(1, args.repeat + 1):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            duckdb_path, raw_dir = tmp / "warehouse.duckdb", tmp / "raw"
            # the snapshot is chosen explicitly (the package default is the live services)
            env = {**os.environ, "KKIK_SOURCES": "snapshot", "KKIK_DUCKDB_PATH": str(duckdb_path),
                   "KKIK_RAW_DIR": str(raw_dir), "KKIK_LOG_DIR": str(tmp / "logs"),
                   "DAGSTER_HOME": str(tmp / "dagster_home")}
            print(f"\nrun {run}")
            print(f"  {'source':<11} {'requests':>8} {'rows':>8} {'seconds':>8}")
            with SnapshotServer(snapshot_apps()) as server:
                for name, land in [
                    ("kolada", lambda: _land_kolada(server, land_kolada, KoladaClient, kkik_kpi_ids(), years, raw_dir,
                                                    duckdb_path)),
                    ("scb", lambda: _land_with(ScbClient.for_root(server.source_url("scb")), land_scb,
                                               years, raw_dir, duckdb_path)),
                    ("skolverket", lambda: _land_with(SkolverketClient(server.source_url("skolverket")),
                                                      land_skolverket, years, raw_dir, duckdb_path)),
                ]:
                    started = time.perf_counter()
                    requests, rows = land()
                    print(f"  {name:<11} {requests:>8} {rows:>8} {time.perf_counter() - started:>8.2f}")
            started = time.perf_counter()
            subprocess.run([str(bin_dir / "dbt"), "build", "--quiet", "--project-dir", str(ROOT / "dbt_project"),
                            "--profiles-dir", str(ROOT / "dbt_project"), "--target-path", str(tmp / "target")],
                           check=True, env=env)
            print(f"  dbt build (models + tests): {time.perf_counter() - started:.2f} s")
            year_args = sum((["--year", str(y)] for y in years), [])
            for label, extra in [("kkik load (in process)", []), ("kkik load --parallel", ["--parallel"])]:
                started = time.perf_counter()
                subprocess.run([str(bin_dir / "kkik"), "load", *year_args, *extra], check=True,
                               env={**env, "KKIK_DUCKDB_PATH": str(tmp / f"job{len(extra)}.duckdb")},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                print(f"  {label}: {time.perf_counter() - started:.2f} s (whole job incl. start-up)")


def _land_kolada(server, land_kolada, client_class, kpi_ids, years, raw_dir, duckdb_path):
    with client_class(f"{server.source_url('kolada')}/v3") as client:
        summary = land_kolada(client, kpi_ids=kpi_ids, years=years, raw_dir=raw_dir, duckdb_path=duckdb_path)
    return summary.requests, summary.value_rows


def _land_with(client, land, years, raw_dir, duckdb_path):
    summary = land(client, years=years, raw_dir=raw_dir, duckdb_path=duckdb_path)
    return summary.requests, summary.rows


if __name__ == "__main__":
    main()
