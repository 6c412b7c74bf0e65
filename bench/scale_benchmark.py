"""The whole of Kolada end to end: landing, dbt build and the watch, each timed with its peak memory.

    python bench/scale_benchmark.py --values ../shared/data/kolada/values.parquet --sizes 500000 1000000 2000000 all

Run it under ``flock /tmp/kkik_bench.lock`` on a shared machine.

For each size, whole figures are taken from ``values.parquet`` (in id order, every year they have) until the
size is reached; their pages are written in the Kolada v3 format (``{count, values, next_url}``, 5000
records a page, 25 ids and 25 years a query, as the client asks) and replayed from disk by a local HTTP
server in a child process, so the server costs the landing nothing. The landing (``land_kolada`` with the
production client) runs in a fresh child process of its own, so its peak memory (``VmHWM``) is its own,
and lands the same pages a second time (the rerun must change nothing); the floor is DuckDB reading the same pages into a table (records and values unnested, plain types), also in
a fresh process. Timings belong here, not in tests: the machine may be shared, so run it on a quiet one.
Then, in the warehouse the landing filled, ``dbt build`` as the load runs it (unit tests excluded; a child
process whose peak is dbt's own, ``RUSAGE_CHILDREN``) and the watch (``audit_mart``: every rule, GX and the
gate, the latest year checked, the earlier years as history), each in a fresh process.
Issue 11's targets: landing >= 220 k values/s, every step <= 2 GiB peak, the whole file end to end <= 5 min.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import multiprocessing
import resource
import shutil
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from queue import Empty
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SNAPSHOT = ROOT / "snapshot" / "kolada"
PER_PAGE = 5000
IDS_PER_QUERY = 25
TARGET_VALUES_PER_SECOND = 220_000
#: landing from the pages on disk (write_raw_tables) within this factor of DuckDB's read_json on the same pages
TARGET_FLOOR_RATIO = 1.5
TARGET_PEAK_GIB = 2.0
TARGET_END_TO_END_SECONDS = 300


# --------------------------------------------------------------------------- the pages a server replays


def page_file(served: Path, path: str, page: int) -> Path:
    """Where the server keeps page ``page`` of ``path`` (the URL path of a query)."""
    return served / f"{hashlib.sha1(path.encode()).hexdigest()}-{page:05d}.json"


def chunks(items: list, size: int = IDS_PER_QUERY) -> list[list]:
    return [items[start:start + size] for start in range(0, len(items), size)]


def pick_kpis(con, values: Path, size: int | None) -> tuple[list[str], list[int], int]:
    """Whole figures in id order until ``size`` values (``None``: all); their years; the values taken."""
    counts = con.execute(f"select kpi, count(*) from read_parquet('{values}') group by kpi order by kpi").fetchall()
    kpis, total = [], 0
    for kpi, n in counts:
        if size is not None and total >= size:
            break
        kpis.append(kpi)
        total += n
    years = [row[0] for row in con.execute(
        f"select distinct period from read_parquet('{values}') where list_contains(?, kpi) order by 1", [kpis]
    ).fetchall()]
    return kpis, years, total


def write_pages(values: Path, served: Path, base: str, size: int | None) -> dict:
    """Write every page the client will ask for (data and the four metadata entities) into ``served``."""
    import duckdb

    con = duckdb.connect()
    kpis, years, total = pick_kpis(con, values, size)
    queries = [(f"/v3/data/kpi/{','.join(k)}/year/{','.join(map(str, y))}", k, y)
               for k in chunks(kpis) for y in chunks(years)]
    con.execute("create temp table query_of (q integer, kpi varchar, period integer)")
    for number, (_, ks, ys) in enumerate(queries):
        con.execute("insert into query_of select ?, k, y from unnest(?::varchar[]) as a(k), unnest(?::integer[]) as b(y)",
                    [number, ks, ys])
    # one record per kpi × municipality × year, as the snapshot app serves them: count 1, status "", not deleted
    con.execute(
        f"""create temp table records as
            select q.q, v.kpi, v.municipality, v.period,
                   list({{'gender': v.gender, 'count': 1, 'status': '', 'value': v.value, 'isdeleted': false}}
                        order by v.gender) as values
            from read_parquet('{values}') as v join query_of as q using (kpi, period)
            group by all"""
    )
    con.execute(
        f"""create temp table numbered as
            select *, (row_number() over (partition by q order by kpi, period, municipality) - 1) // {PER_PAGE} + 1
                          as page,
                      count(*) over (partition by q) as total
            from records"""
    )
    requests = 0
    for number, (path, _, _) in enumerate(queries):
        pages = con.execute(
            """select page, max(total), to_json(list({'kpi': kpi, 'municipality': municipality, 'period': period,
                                                     'values': values} order by kpi, period, municipality))::varchar
               from numbered where q = ? group by page order by page""", [number]
        ).fetchall()
        if not pages:
            pages = [(1, 0, "[]")]
        for page, count, body in pages:
            next_url = f"{base}{path}?per_page={PER_PAGE}&page={page + 1}" if page < len(pages) else None
            page_file(served, path, page).write_text(
                f'{{"count":{count},"values":{body},"next_url":{json.dumps(next_url)}}}', encoding="utf-8")
            requests += 1
    for entity in ("kpi", "kpi_groups", "municipality", "municipality_groups"):
        with gzip.open(SNAPSHOT / f"{entity}.json.gz", "rt", encoding="utf-8") as handle:
            records = json.load(handle)["values"]
        parts = chunks(records, PER_PAGE)
        for page, part in enumerate(parts, start=1):
            next_url = f"{base}/v3/{entity}?per_page={PER_PAGE}&page={page + 1}" if page < len(parts) else None
            page_file(served, f"/v3/{entity}", page).write_text(
                json.dumps({"count": len(records), "values": part, "next_url": next_url}, ensure_ascii=False),
                encoding="utf-8")
            requests += 1
    con.close()
    return {"kpis": kpis, "years": years, "values": total, "requests": requests}


def write_pages_in_child(values: Path, served: Path, base: str, size: int | None, result_queue) -> None:
    result_queue.put(write_pages(values, served, base, size))


def serve(served: Path, port_queue) -> None:
    """Answer ``GET <path>?page=N`` with the page written for it (a child process; stopped by terminate)."""
    served.mkdir(parents=True, exist_ok=True)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            url = urlsplit(self.path)
            page = int(parse_qs(url.query).get("page", ["1"])[0])
            path = page_file(served, url.path, page)
            if not path.exists():
                self.send_error(404)
                return
            body = path.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_queue.put(httpd.server_address[1])
    httpd.serve_forever()


SPAWN = multiprocessing.get_context("spawn")  # fresh processes: no DuckDB threads forked, peaks of their own


def free_port_server(served: Path):
    queue = SPAWN.Queue()
    process = SPAWN.Process(target=serve, args=(served, queue), daemon=True)
    process.start()
    return process, queue.get(timeout=30)


# --------------------------------------------------------------------------- what is measured (child processes)


def peak_gib() -> float:
    """This process's peak resident memory. Linux's ``VmHWM`` belongs to the process image, where
    ``ru_maxrss`` also counts the parent's memory at the fork before exec (a spawned child would inherit
    the page writer's peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024  # kB on Linux


def run_landing(base_url: str, kpis: list[str], years: list[int], work: Path, result_queue) -> None:
    """Land the served pages twice into one warehouse: a first landing, then a rerun that must find every
    value unchanged (the merge's cost when nothing changed)."""
    from pipelines.landing.kolada import land_kolada
    from pipelines.sources.kolada import KoladaClient

    runs = []
    for _ in range(2):
        said: list[tuple[float, str]] = []  # the landing's progress messages, timed: fetching ends at the last page
        start = time.perf_counter()
        with KoladaClient(base_url, calls_per_second=1000, backoff_factor=0) as client:
            summary = land_kolada(client, kpi_ids=kpis, years=years, raw_dir=work / "raw",
                                  duckdb_path=work / "warehouse.duckdb",
                                  progress=lambda message, said=said: said.append((time.perf_counter(), message)))
        seconds = time.perf_counter() - start
        fetched = max(t for t, message in said if message.startswith("kolada data:"))
        runs.append({"seconds": seconds, "duckdb_seconds": start + seconds - fetched, "summary": summary})
    first, rerun = runs[0]["summary"], runs[1]["summary"]
    if (rerun.inserted, rerun.updated, rerun.deleted, rerun.unchanged) != (0, 0, 0, first.value_rows):
        raise RuntimeError(f"the rerun changed raw.kolada__data: {rerun}")
    result_queue.put({"seconds": runs[0]["seconds"], "duckdb_seconds": runs[0]["duckdb_seconds"],
                      "rerun_seconds": runs[1]["seconds"], "peak_gib": peak_gib(), "requests": first.requests,
                      "values": first.value_rows, "raw_folder": str(first.raw_folder)})


def run_read_json(folder: Path, result_queue) -> None:
    import duckdb

    from pipelines.landing.kolada import MAX_PAGE_BYTES

    files = sorted(str(p) for p in (folder / "data").glob("page-*.json"))
    record = ('STRUCT(kpi VARCHAR, municipality VARCHAR, period INTEGER, synthetic BOOLEAN, "values" '
              'STRUCT(gender VARCHAR, count INTEGER, status VARCHAR, "value" DOUBLE, isdeleted BOOLEAN)[])')
    con = duckdb.connect()
    start = time.perf_counter()
    con.execute(
        f"""create table v as
            select r.kpi, r.municipality, r.period, r.synthetic, unnest(r.values, recursive := true)
            from (select unnest(values) as r
                  from read_json(?, columns={{values: '{record}[]'}}, format='unstructured',
                                 maximum_object_size={MAX_PAGE_BYTES}))""", [files])
    seconds = time.perf_counter() - start
    values = con.execute("select count(*) from v").fetchall()[0][0]
    result_queue.put({"seconds": seconds, "peak_gib": peak_gib(), "values": values})


def run_dbt_build(work: Path, result_queue) -> None:
    """``dbt build`` of the project on the landed warehouse, as the load's dbt step runs it."""
    import os
    import subprocess

    from pipelines.assets.dbt import BUILD_ARGS
    from pipelines.config import DBT_PROJECT_DIR

    env = {**os.environ, "KKIK_DUCKDB_PATH": str(work / "warehouse.duckdb")}
    dbt = Path(sys.executable).with_name("dbt")
    start = time.perf_counter()
    done = subprocess.run([str(dbt), *BUILD_ARGS, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
                           str(DBT_PROJECT_DIR), "--target-path", str(work / "dbt_target"), "--log-path",
                           str(work / "dbt_logs")], env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    tail = [line for line in done.stdout.splitlines() if "Done." in line or "ERROR" in line][-3:]
    result_queue.put({"seconds": seconds, "returncode": done.returncode, "tail": tail,
                      "peak_gib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 / 1024})


def run_watch(work: Path, year: int, result_queue) -> None:
    """The watch over the built audit mart: ``year`` checked, the earlier years as its history."""
    from pipelines.quality.audit import audit_mart

    start = time.perf_counter()
    summary, flags = audit_mart(work / "warehouse.duckdb", years=[year], load_id="scale-benchmark",
                                quality_dir=work / "quality")
    result_queue.put({"seconds": time.perf_counter() - start, "peak_gib": peak_gib(), "flags": len(flags),
                      "open_errors": summary.open_errors, "outside": summary.open_errors_outside_kkik})


def in_child(target, *args) -> dict:
    queue = SPAWN.Queue()
    process = SPAWN.Process(target=target, args=(*args, queue))
    process.start()
    while True:
        try:
            result = queue.get(timeout=1)
            break
        except Empty:
            if not process.is_alive():
                raise RuntimeError(f"{target.__name__} failed with exit code {process.exitcode}") from None
    process.join()
    return result


# --------------------------------------------------------------------------- the table


def measure(values: Path, size: int | None, work: Path, landing_only: bool = False) -> dict:
    served = work / "served"
    server, port = free_port_server(served)
    try:
        base = f"http://127.0.0.1:{port}"
        info = in_child(write_pages_in_child, values, served, base, size)  # this process stays small
        landing = in_child(run_landing, base, info["kpis"], info["years"], work)
    finally:
        server.terminate()
        server.join()
    floor = in_child(run_read_json, Path(landing["raw_folder"]))
    if landing["values"] != info["values"] or floor["values"] != info["values"]:
        raise RuntimeError(f"values differ: served {info['values']}, landed {landing['values']}, "
                           f"read_json {floor['values']}")
    if landing_only:
        return {"info": info, "landing": landing, "floor": floor, "dbt": None, "watch": None}
    dbt = in_child(run_dbt_build, work)
    watch = in_child(run_watch, work, max(info["years"])) if dbt["returncode"] == 0 else None
    return {"info": info, "landing": landing, "floor": floor, "dbt": dbt, "watch": watch}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--values", type=Path, required=True, help="values.parquet (kpi, municipality, period, gender, value)")
    parser.add_argument("--sizes", nargs="+", default=["500000", "1000000", "2000000", "all"],
                        help="numbers of values (whole figures are taken, so a little more), or 'all'")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temporary one)")
    parser.add_argument("--keep", action="store_true",
                        help="keep each size's warehouse and pages (under --work) to profile a step again")
    parser.add_argument("--landing-only", action="store_true", help="the landing and its floor; no dbt, no watch")
    args = parser.parse_args(argv)
    sizes = [None if s == "all" else int(s) for s in args.sizes]
    print(f"Kolada end to end ({args.values}): landing (first landing; 'rerun' the same pages again), dbt build, "
          "the watch (latest year checked); 'floor' is DuckDB's read_json on the same pages; 'peak': each step's "
          "peak memory in GiB")
    print(f"{'values':>10} {'figures':>7} {'requests':>8} {'landing s':>9} {'values/s':>9} {'peak':>5} "
          f"{'rerun s':>7} | {'floor s':>7} {'values/s':>9} {'peak':>5} | {'dbt s':>6} {'peak':>5} | "
          f"{'watch s':>7} {'peak':>5} {'flags':>7} | {'total s':>7}  targets")
    if args.work is not None:
        args.work.mkdir(parents=True, exist_ok=True)
    for size in sizes:
        work = Path(tempfile.mkdtemp(prefix="kkik-scale-", dir=args.work))
        try:
            m = measure(args.values, size, work, landing_only=args.landing_only)
        finally:
            if args.keep:
                print(f"  kept: {work}", flush=True)
            else:
                shutil.rmtree(work, ignore_errors=True)
        n, land, floor, dbt, watch = m["info"]["values"], m["landing"], m["floor"], m["dbt"], m["watch"]
        rate, floor_rate = n / land["seconds"], n / floor["seconds"]
        total = land["seconds"] + (dbt["seconds"] if dbt else 0.0) + (watch["seconds"] if watch else 0.0)
        peaks = [land["peak_gib"], *([dbt["peak_gib"]] if dbt else []), *([watch["peak_gib"]] if watch else [])]
        missed = [what for what, ok in (
            ("values/s", rate >= TARGET_VALUES_PER_SECOND),
            (f"{TARGET_FLOOR_RATIO}x floor", land["duckdb_seconds"] <= TARGET_FLOOR_RATIO * floor["seconds"]),
            ("peak", max(peaks) <= TARGET_PEAK_GIB),
            ("dbt", dbt is None or dbt["returncode"] == 0),
            ("5 min", size is not None or args.landing_only or total <= TARGET_END_TO_END_SECONDS)) if not ok]
        dbt_part = f"{dbt['seconds']:>6.1f} {dbt['peak_gib']:>5.2f}" if dbt else f"{'–':>6} {'–':>5}"
        watch_part = (f"{watch['seconds']:>7.1f} {watch['peak_gib']:>5.2f} {watch['flags']:>7,}" if watch
                      else f"{'–':>7} {'–':>5} {'–':>7}")
        print(f"{n:>10,} {len(m['info']['kpis']):>7} {land['requests']:>8} {land['seconds']:>9.1f} {rate:>9,.0f} "
              f"{land['peak_gib']:>5.2f} {land['rerun_seconds']:>7.1f} | {floor['seconds']:>7.1f} {floor_rate:>9,.0f} "
              f"{floor['peak_gib']:>5.2f} | {dbt_part} | {watch_part} | "
              f"{total:>7.1f}  {('met' if not args.landing_only else 'landing met') if not missed else 'NOT met: ' + ', '.join(missed)}",
              flush=True)
        print(f"  landing: {land['seconds'] - land['duckdb_seconds']:.1f} s to the last page fetched, "
              f"{land['duckdb_seconds']:.1f} s after it (write_raw_tables): from the pages "
              f"{land['duckdb_seconds'] / floor['seconds']:.2f}x the floor, with the fetch "
              f"{land['seconds'] / floor['seconds']:.2f}x", flush=True)
        if dbt and dbt["returncode"]:
            print(f"  dbt build failed ({dbt['returncode']}): {' | '.join(dbt['tail'])}", flush=True)
    print(f"targets (issue 11): landing >= {TARGET_VALUES_PER_SECOND:,} values/s and from the pages within "
          f"{TARGET_FLOOR_RATIO}x the floor; every step <= {TARGET_PEAK_GIB} GiB "
          f"peak; the whole file landed, built and watched in <= {TARGET_END_TO_END_SECONDS // 60} min"
          + ("; with --landing-only the landing's targets only (dbt and the watch did not run)"
             if args.landing_only else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
