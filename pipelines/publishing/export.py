"""Export the published schema ``kkik`` to the readers' copy: ``mart.duckdb``, Parquet, ``publication.json``.

Every file is first written completely under a temporary name in its final folder, checkpointed, closed
and fsynced; only then are they renamed into place, the DuckDB file first, then the Parquet files, and
``publication.json`` last (it names the files and their sha256, so a reader can tell which publication it
sees). An error before the renames leaves every previous file as it was.

Rows are written in the order of each table's key and the per-run columns are left out, so two
publications of the same mart write byte-identical Parquet files (see :mod:`pipelines.publishing.tables`).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from pipelines.publishing.descriptions import Descriptions, comment_statements, dbt_descriptions
from pipelines.publishing.files import (
    fsync_dir,
    fsync_file,
    sha256_of,
    temporary_beside,
    write_text_atomically,
)
from pipelines.publishing.tables import (
    PUBLICATION_COLUMNS,
    PUBLICATION_TABLE,
    PUBLISHED_TABLES,
    PublishedTable,
)

#: The readers' file is ``mart.duckdb``, so its catalog is ``mart``: never the name of a schema in it.
DUCKDB_FILE = "mart.duckdb"
PARQUET_DIR = "parquet"
PUBLICATION_FILE = "publication.json"
READERS_SCHEMA = "kkik"
#: the alias of the file being written, in the warehouse connection (not a schema name either)
_WRITING = "kkik_readers_copy"


@dataclass
class ReadersCopy:
    """What was exported, and where: enough for a reader to check it sees one whole publication."""

    folder: Path
    load_id: str
    published_at: datetime
    row_counts: dict[str, int]
    sha256: dict[str, str]  # path relative to ``folder`` → hash
    sizes: dict[str, int]  # path relative to ``folder`` → bytes
    seconds: float = 0.0
    previous_row_counts: dict[str, int] | None = None
    previous_load_id: str | None = None
    tables: list[str] = field(default_factory=list)


def previous_publication(folder: Path) -> dict | None:
    """The last ``publication.json`` readers were given, or None (none yet, or unreadable)."""
    try:
        return json.loads((folder / PUBLICATION_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None


def export_readers_copy(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    *,
    load_id: str,
    published_at: datetime,
    source_schema: str = "kkik",
    tables: tuple[PublishedTable, ...] = PUBLISHED_TABLES,
    previous_row_counts: dict[str, int] | None = None,
    previous_load_id: str | None = None,
    descriptions: Descriptions | None = None,
) -> ReadersCopy:
    """Write ``source_schema`` of the warehouse (``con``) to ``folder`` as a new publication for readers.

    The previous publication's row counts and load id are recorded beside the new ones in
    ``publication.json``. Raises, leaving the previous files in place, when anything cannot be written.
    """
    started = time.perf_counter()
    parquet_folder = folder / PARQUET_DIR
    parquet_folder.mkdir(parents=True, exist_ok=True)
    columns = _published_columns(con, source_schema, tables)
    texts = descriptions if descriptions is not None else dbt_descriptions([t.name for t in tables])
    database = folder / DUCKDB_FILE
    temporary_db = temporary_beside(database)
    temporary_parquet = {t.name: temporary_beside(parquet_folder / f"{t.name}.parquet") for t in tables}
    temporary_parquet[PUBLICATION_TABLE] = temporary_beside(parquet_folder / f"{PUBLICATION_TABLE}.parquet")
    try:
        counts = _write_duckdb(con, temporary_db, source_schema, tables, columns, texts, load_id, published_at)
        _write_parquet(con, temporary_db, tables, columns, temporary_parquet)
        files = {DUCKDB_FILE: temporary_db} | {f"{PARQUET_DIR}/{name}.parquet": path
                                               for name, path in temporary_parquet.items()}
        sha256 = {relative: sha256_of(path) for relative, path in files.items()}
        sizes = {relative: path.stat().st_size for relative, path in files.items()}
        for relative, path in files.items():  # the moment of publication: renames only
            os.replace(path, folder / relative)
        fsync_dir(parquet_folder)
        fsync_dir(folder)
    finally:
        for path in [temporary_db, Path(f"{temporary_db}.wal"), *temporary_parquet.values()]:
            path.unlink(missing_ok=True)
    copy = ReadersCopy(
        folder=folder, load_id=load_id, published_at=published_at, row_counts=counts, sha256=sha256, sizes=sizes,
        previous_row_counts=previous_row_counts, previous_load_id=previous_load_id,
        tables=[t.name for t in tables],
    )
    write_text_atomically(folder / PUBLICATION_FILE, json.dumps(_publication_json(copy), indent=2) + "\n")
    copy.seconds = time.perf_counter() - started
    return copy


def _published_columns(con, schema: str, tables: tuple[PublishedTable, ...]) -> dict[str, list[str]]:
    """Each table's columns in the warehouse, in order, without its per-run columns."""
    catalog = con.execute("select current_database()").fetchall()[0][0]
    rows = con.execute(
        """select table_name, column_name from information_schema.columns
           where table_catalog = ? and table_schema = ? order by table_name, ordinal_position""",
        [catalog, schema],
    ).fetchall()
    found: dict[str, list[str]] = {}
    for table, column in rows:
        found.setdefault(table, []).append(column)
    out = {}
    for table in tables:
        if table.name not in found:
            raise LookupError(f"{catalog}.{schema}.{table.name} does not exist: nothing to publish for readers")
        missing = [c for c in table.key if c not in found[table.name]]
        if missing:
            raise LookupError(f"{catalog}.{schema}.{table.name} lacks its key column(s) {missing}")
        out[table.name] = [c for c in found[table.name] if c not in table.per_run_columns]
    return out


def _order_by(table: PublishedTable, columns: list[str]) -> str:
    """The key, then every other column: a total order of the content, so the bytes are reproducible."""
    ordered = list(table.key) + [c for c in columns if c not in table.key]
    return ", ".join(f'"{c}"' for c in ordered)


def _select(table: PublishedTable, columns: list[str], source: str) -> str:
    listed = ", ".join(f'"{c}"' for c in columns)
    return f"select {listed} from {source}.{table.name} order by {_order_by(table, columns)}"


def _write_duckdb(con, path: Path, schema: str, tables, columns, texts: Descriptions, load_id: str,
                  published_at: datetime) -> dict[str, int]:
    """A new DuckDB file with schema ``kkik``: the data tables in key order, the publication, the comments.

    It is checkpointed and detached (no ``.wal`` left) and fsynced, ready to be renamed into place.
    """
    catalog = con.execute("select current_database()").fetchall()[0][0]
    con.execute(f"attach '{_path_literal(path)}' as {_WRITING}")
    try:
        con.execute(f"create schema {_WRITING}.{READERS_SCHEMA}")
        counts = {}
        for table in tables:
            con.execute(f"create table {_WRITING}.{READERS_SCHEMA}.{table.name} as "
                        + _select(table, columns[table.name], f'"{catalog}".{schema}'))
            counts[table.name] = con.execute(
                f"select count(*) from {_WRITING}.{READERS_SCHEMA}.{table.name}").fetchall()[0][0]
        ddl = ", ".join(f"{name} {kind}" for name, kind in PUBLICATION_COLUMNS.items())
        con.execute(f"create table {_WRITING}.{READERS_SCHEMA}.{PUBLICATION_TABLE} ({ddl})")
        con.executemany(f"insert into {_WRITING}.{READERS_SCHEMA}.{PUBLICATION_TABLE} values (?, ?, ?, ?)",
                        [[load_id, published_at, name, n] for name, n in counts.items()])
        for table in [*[t.name for t in tables], PUBLICATION_TABLE]:
            table_columns = columns.get(table) or list(PUBLICATION_COLUMNS)
            for statement in comment_statements(_WRITING, READERS_SCHEMA, table, texts.get(table, {}), table_columns):
                con.execute(statement)
        con.execute(f"checkpoint {_WRITING}")
    finally:
        con.execute(f"detach database if exists {_WRITING}")
    if Path(f"{path}.wal").exists():
        raise RuntimeError(f"{path}.wal is left after the checkpoint: the readers' copy would not be self-contained")
    fsync_file(path)
    return counts


def _write_parquet(con, database: Path, tables, columns, targets: dict[str, Path]) -> None:
    """One Parquet file per table, read back from the DuckDB file just written (the same content)."""
    con.execute(f"attach '{_path_literal(database)}' as {_WRITING} (read_only)")
    try:
        for table in tables:
            query = _select(table, columns[table.name], f"{_WRITING}.{READERS_SCHEMA}")
            _copy_to_parquet(con, query, targets[table.name])
        _copy_to_parquet(con, f"select * from {_WRITING}.{READERS_SCHEMA}.{PUBLICATION_TABLE} order by table_name",
                         targets[PUBLICATION_TABLE])
    finally:
        con.execute(f"detach database if exists {_WRITING}")


def _copy_to_parquet(con, query: str, target: Path) -> None:
    con.execute(f"copy ({query}) to '{_path_literal(target)}' (format parquet, compression zstd)")
    fsync_file(target)


def _path_literal(path: Path) -> str:
    return str(path).replace("'", "''")


def _publication_json(copy: ReadersCopy) -> dict:
    previous = copy.previous_row_counts or {}
    return {
        "load_id": copy.load_id,
        "published_at": copy.published_at.isoformat(),
        "previous_load_id": copy.previous_load_id,
        "duckdb": {"path": DUCKDB_FILE, "schema": READERS_SCHEMA, "sha256": copy.sha256[DUCKDB_FILE],
                   "bytes": copy.sizes[DUCKDB_FILE]},
        "tables": {
            name: {"rows": rows, "previous_rows": previous.get(name),
                   "parquet": f"{PARQUET_DIR}/{name}.parquet",
                   "sha256": copy.sha256[f"{PARQUET_DIR}/{name}.parquet"],
                   "bytes": copy.sizes[f"{PARQUET_DIR}/{name}.parquet"]}
            for name, rows in copy.row_counts.items()
        },
        "publication_table": {"parquet": f"{PARQUET_DIR}/{PUBLICATION_TABLE}.parquet",
                              "sha256": copy.sha256[f"{PARQUET_DIR}/{PUBLICATION_TABLE}.parquet"]},
    }
