"""``kkik changes [--since DATE|LOAD | --pending] [--out FILE]``: what changed in the published KKiK result.

Reads ``kkik.kkik_revision`` of the warehouse (the pipeline's own publications; see
:mod:`pipelines.publishing.revision` for what counts as a change), prints a short table and writes every
row as CSV (UTF-8 with a BOM, so Excel shows å, ä and ö, like the watch's CSV) or, for a file ending
``.parquet``, as Parquet. A row is one change of one cell at one publication: a cell changed twice in the
window has two rows, and the headline counts both the changes and the cells. Without ``--since``: the
changes of the newest publication. ``--since 2024-10-01``: every change published on or after that day;
``--since LOAD``: every change published after that load. ``--pending``: what the last load changed that is
not published yet (a load the audit blocked: the changes that wait for review). Exit 0, or 2 when there is
nothing to read or ``--since`` names neither a date nor a publication.
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

from pipelines.console import count_of

EXIT_OK, EXIT_BAD_INPUT = 0, 2
#: rows printed on the terminal; the CSV has them all
SHOWN_ROWS = 20
#: where the rows go without --out (the pending ones apart: they are not published changes)
DEFAULT_OUT = Path("reports") / "kkik_changes.csv"
DEFAULT_PENDING_OUT = Path("reports") / "kkik_changes_pending.csv"
#: the formats --out may name, by its suffix
FORMATS = (".csv", ".parquet")
CSV_COLUMNS = ["kpi_id", "kpi_title", "municipality_id", "municipality_name", "year", "gender", "value_before",
               "value_after", "colour_before", "colour_after", "load_id_before", "load_id_after", "changed_at"]


def show_changes(since: str | None, out: Path | None, pending: bool = False) -> int:
    from pipelines.config import OutputPathError, Settings, check_writable_file
    from pipelines.publishing.revision import (
        UnknownSince,
        last_publication,
        pending_changes,
        publication_before,
        revisions_since,
        since_time,
    )
    from pipelines.warehouse import connect

    settings = Settings.from_env()
    out = out if out is not None else DEFAULT_PENDING_OUT if pending else DEFAULT_OUT
    if out.suffix.lower() not in FORMATS and not out.is_dir():
        print(f"kkik changes: {out}: writes CSV or Parquet; name the file .csv or .parquet", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        check_writable_file(out, example="changes.csv")  # before any work: a directory, an unwritable folder
    except OutputPathError as problem:
        print(f"kkik changes: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not settings.duckdb_path.exists():
        print(f"kkik changes: {settings.duckdb_path} does not exist: run `kkik load` first", file=sys.stderr)
        return EXIT_BAD_INPUT
    with connect(settings.duckdb_path, read_only=True) as con:
        try:
            waiting, start = None, None
            if pending:
                from pipelines.quality.publish import unpublished_build

                frame, last, first, waiting = pending_changes(con).df(), last_publication(con), False, \
                    unpublished_build(con)
                label = f"the last publication{f' (load {last[0]})' if last else ''}, not yet published"
            else:
                start, label = since_time(con, since)
                first = since is None and publication_before(con, start) is None
                frame = revisions_since(con, start,
                                        after_load=since is not None and isinstance(start, datetime)).df()
        except UnknownSince as problem:
            print(f"kkik changes: {problem}", file=sys.stderr)
            return EXIT_BAD_INPUT
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".parquet":
            frame[CSV_COLUMNS].to_parquet(out, index=False)
        else:
            frame[CSV_COLUMNS].to_csv(out, index=False, encoding="utf-8-sig")
    except OSError as exc:
        print(f"kkik changes: {out}: cannot be written: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    values, colours = int(frame["value_changed"].sum()), int(frame["colour_changed"].sum())
    cells = len(frame[["kpi_id", "municipality_id", "year", "gender"]].drop_duplicates())
    changes = f"{count_of(len(frame), 'change')} to {count_of(cells, 'cell')}" if cells != len(frame) else \
        count_of(cells, "cell")
    print(f"kkik changes since {label}: {changes} ({count_of(values, 'value')}, {count_of(colours, 'colour')}) "
          f"→ {out}")
    if len(frame):
        _print_table(frame.head(SHOWN_ROWS))
        if len(frame) > SHOWN_ROWS:
            print(f"  … and {len(frame) - SHOWN_ROWS:,} more in {out}")
    elif pending and waiting:  # a blocked load that moved no value or colour: its flags still wait
        print(f"  no value or colour of kkik_result differs, but {waiting}: its flags wait for review "
              "(`kkik watch --year Y`)")
    elif pending:
        print("  nothing waits for publication: the last load's mart is the published one")
    elif isinstance(start, date) and not isinstance(start, datetime) and start > date.today():
        print(f"  {start.isoformat()} is after today: nothing can have been published since")
    elif since is None and first:
        print("  the last publication was the first: nothing to compare with (the next load's changes show here)")
    elif since is None:
        print("  the last publication changed nothing; `kkik changes --since YYYY-MM-DD` shows earlier changes, "
              "`kkik changes --pending` a load not published yet")
    return EXIT_OK


def _print_table(frame) -> None:
    """The first rows as a rich table (plain, 120 columns wide, when the output is not a terminal)."""
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for heading, justify in (("figure", "left"), ("kommun", "left"), ("year", "right"), ("kön", "left"),
                             ("value", "right"), ("colour", "left"), ("published", "left")):
        table.add_column(heading, justify=justify, no_wrap=heading != "kommun")
    for row in frame.itertuples(index=False):
        kommun = f"{row.municipality_id} {row.municipality_name or ''}".strip()
        table.add_row(row.kpi_id, kommun, str(row.year), row.gender,
                      f"{_number(row.value_before)} → {_number(row.value_after)}",
                      f"{_text(row.colour_before)} → {_text(row.colour_after)}",
                      "not yet" if pd.isna(row.changed_at) else f"{row.changed_at:%Y-%m-%d %H:%M}")
    Console(highlight=False, width=None if sys.stdout.isatty() else 120).print(table)


def _number(value) -> str:
    """As the watch writes numbers (78.76, 123 457), "—" for no value."""
    import pandas as pd

    from pipelines.quality.flags import format_number

    return "—" if pd.isna(value) else format_number(float(value))


def _text(value) -> str:
    import pandas as pd

    return "—" if pd.isna(value) else str(value)
