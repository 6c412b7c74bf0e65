"""A BI reader, run as its own process: polls the readers' copy while loads publish, and reports what it saw.

Usage: ``python bi_reader.py poll|hold PUBLISHED_DIR STOP_FILE OUT_JSON``. Every 0.1 s it counts
``kkik_result`` in ``mart.duckdb`` (read-only) and the rows of every Parquet file. ``poll`` connects and
closes each time (a reader that reconnects); ``hold`` keeps the connection of its first poll open (a BI
tool that keeps its file). The two need separate processes: DuckDB shares one database instance per path
within a process, so while one connection holds the file, a new ``connect`` in the same process reuses
the old instance (the old publication). It stops when STOP_FILE exists and writes
``{"polls": [...], "errors": [...]}`` to OUT_JSON.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import duckdb


def main(mode: str, published: Path, stop: Path, out: Path) -> int:
    database = published / "mart.duckdb"
    polls, errors = [], []
    held = None
    while not stop.exists():
        try:
            if database.exists():
                if mode == "hold":
                    held = held or duckdb.connect(str(database), read_only=True)
                    result = held.execute("select count(*) from kkik.kkik_result").fetchall()[0][0]
                else:
                    con = duckdb.connect(str(database), read_only=True)
                    try:
                        result = con.execute("select count(*) from kkik.kkik_result").fetchall()[0][0]
                    finally:
                        con.close()
                parquet = {}
                reader = duckdb.connect()  # an in-memory DuckDB reading the Parquet files, as pandas would
                try:
                    for file in sorted((published / "parquet").glob("*.parquet")):
                        parquet[file.stem] = reader.execute(f"select count(*) from '{file}'").fetchall()[0][0]
                finally:
                    reader.close()
                polls.append({"kkik_result": result, "parquet": parquet})
        except Exception as error:  # noqa: BLE001 - a reader's every failure is what the test looks for
            errors.append(f"{type(error).__name__}: {error}")
        time.sleep(0.1)
    if held is not None:
        held.close()
    out.write_text(json.dumps({"polls": polls, "errors": errors}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])))
