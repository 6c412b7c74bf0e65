"""What changed between two publications of ``kkik_result``: ``kkik.kkik_revision``, one row per changed cell.

During a collection period Kolada publishes figures as they are ready and staff correct values, so a load
is one step in a series. Each publication appends to ``kkik.kkik_revision`` the cells whose value or colour
differs from the publication it replaces, inside the publish transaction (:func:`record_revision`), so the
history is never half-written and never ahead of or behind ``kkik.kkik_result``.

**Changed** (:func:`changed_cells_sql`, the one definition, also used by the watch report): the value differs,
null-aware (``is distinct from``: a value that appears or disappears is a change), or the colour differs.
A cell with no row on one side counts as grey: the report shows a missing cell as grey, so a new grey
scaffold row (a newly loaded year without values) is no change, and a new value is one.

**The first publication writes no rows.** There is no earlier publication to compare with: every cell would
be "added", a copy of ``kkik_result`` that would drown the changes that follow. The publication itself is
recorded in ``kkik.kkik_publication_log`` (load id, time), so ``kkik changes --since LOAD`` works from the
first load on, and the next publication names it as ``load_id_before``.

``load_id_before`` is the publication whose value was replaced, ``load_id_after`` the one that replaced it
(the run ids of the publishing loads, as in ``kkik_publication``); ``changed_at`` is when it was published.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import duckdb

from pipelines.quality.mart_inputs import AUDIT_SCHEMA, PUBLISHED_SCHEMA

if TYPE_CHECKING:
    import pandas as pd

REVISION_TABLE = "kkik_revision"
PUBLICATION_LOG = "kkik_publication_log"
#: the cell of kkik_result
CELL_KEY = ("kpi_id", "municipality_id", "year", "gender")
REVISION_COLUMNS = {
    "kpi_id": "varchar not null", "municipality_id": "varchar not null", "year": "integer not null",
    "gender": "varchar not null", "value_before": "double", "value_after": "double", "colour_before": "varchar",
    "colour_after": "varchar", "load_id_before": "varchar", "load_id_after": "varchar not null",
    "changed_at": "timestamptz not null",
}
REVISION_DDL = (f"create table if not exists {PUBLISHED_SCHEMA}.{REVISION_TABLE} ("
                + ", ".join(f"{name} {kind}" for name, kind in REVISION_COLUMNS.items()) + ")")
LOG_DDL = (f"create table if not exists {PUBLISHED_SCHEMA}.{PUBLICATION_LOG} "
           "(load_id varchar not null, published_at timestamptz not null)")
#: what a cell without a row shows as (see the module doc)
ABSENT_COLOUR = "grey"


#: the one definition of a change, over a row's two sides (``value_before`` … ``colour_after``)
VALUE_CHANGED = "value_before is distinct from value_after"
COLOUR_CHANGED = (f"coalesce(colour_before, '{ABSENT_COLOUR}') is distinct from "
                  f"coalesce(colour_after, '{ABSENT_COLOUR}')")


def changed_cells_sql(before: str, after: str) -> str:
    """``select`` of the cells of ``after`` (a kkik_result table) that differ from ``before``: key, value
    and colour on both sides (null where the side has no row), by :data:`VALUE_CHANGED` or
    :data:`COLOUR_CHANGED`."""
    key = ", ".join(f"coalesce(a.{c}, b.{c}) as {c}" for c in CELL_KEY)
    join = " and ".join(f"a.{c} = b.{c}" for c in CELL_KEY)
    return f"""select * from (
                   select {key}, b.value as value_before, a.value as value_after,
                          b.colour as colour_before, a.colour as colour_after
                   from {before} as b full outer join {after} as a on {join})
               where {VALUE_CHANGED} or {COLOUR_CHANGED}"""


def _exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(con.execute(
        "select count(*) from information_schema.tables where table_catalog = current_database() "
        "and table_schema = ? and table_name = ?", [schema, table]).fetchall()[0][0])


def last_publication(con: duckdb.DuckDBPyConnection) -> tuple[str, datetime] | None:
    """The load id and time of the newest publication in the log, or None (none recorded)."""
    if not _exists(con, PUBLISHED_SCHEMA, PUBLICATION_LOG):
        return None
    rows = con.execute(f"select load_id, published_at from {PUBLISHED_SCHEMA}.{PUBLICATION_LOG} "
                       "order by published_at desc limit 1").fetchall()
    return (rows[0][0], rows[0][1]) if rows else None


def publication_before(con: duckdb.DuckDBPyConnection, published_at: datetime) -> str | None:
    """The load id of the publication before the one at ``published_at`` (None: that one was the first)."""
    rows = con.execute(f"select load_id from {PUBLISHED_SCHEMA}.{PUBLICATION_LOG} where published_at < ? "
                       "order by published_at desc limit 1", [published_at]).fetchall()
    return rows[0][0] if rows else None


def record_revision(con: duckdb.DuckDBPyConnection, *, load_id: str, published_at: datetime,
                    previous_load_id: str | None = None) -> int | None:
    """Append the cells of ``kkik_audit.kkik_result`` that differ from ``kkik.kkik_result`` (about to be
    replaced) to ``kkik.kkik_revision``, and this publication to the log. Call inside the publish
    transaction, before the mart is copied. Returns the rows appended, or None for a first publication
    (nothing published before: no rows, see the module doc). ``previous_load_id`` names the replaced
    publication when the log has none (a warehouse published before the log existed)."""
    con.execute(REVISION_DDL)
    con.execute(LOG_DDL)
    previous = last_publication(con)
    before_id = previous[0] if previous else previous_load_id
    appended = None
    if _exists(con, PUBLISHED_SCHEMA, "kkik_result"):
        diff = changed_cells_sql(f"{PUBLISHED_SCHEMA}.kkik_result", f"{AUDIT_SCHEMA}.kkik_result")
        appended = con.execute(
            f"""insert into {PUBLISHED_SCHEMA}.{REVISION_TABLE} ({", ".join(REVISION_COLUMNS)})
                select {", ".join(CELL_KEY)}, value_before, value_after, colour_before, colour_after, ?, ?, ?
                from ({diff}) order by all""", [before_id, load_id, published_at]).fetchall()[0][0]
    con.execute(f"insert into {PUBLISHED_SCHEMA}.{PUBLICATION_LOG} values (?, ?)", [load_id, published_at])
    return appended


class UnknownSince(LookupError):
    """``--since`` names no date and no recorded publication."""


def since_time(con: duckdb.DuckDBPyConnection, since: str | None) -> tuple[datetime | date | None, str]:
    """Where ``kkik changes --since`` starts, and how to say it: a date (changes on or after it), a load id
    (changes published after that load), or None: the changes of the newest publication."""
    if since is None:
        last = last_publication(con)
        if last is None:
            raise UnknownSince("nothing is published yet (no kkik.kkik_publication_log): run `kkik load` first")
        return last[1], f"the last publication (load {last[0]}, {last[1]:%Y-%m-%d %H:%M %Z})"
    try:
        day = date.fromisoformat(since)
    except ValueError:
        day = None
    if day is not None:
        return day, f"{day.isoformat()}"
    rows = (con.execute(f"select published_at from {PUBLISHED_SCHEMA}.{PUBLICATION_LOG} where load_id = ?",
                        [since]).fetchall() if _exists(con, PUBLISHED_SCHEMA, PUBLICATION_LOG) else [])
    if not rows:
        raise UnknownSince(f"--since {since!r} is neither a date (YYYY-MM-DD) nor the load id of a publication "
                           f"in {PUBLISHED_SCHEMA}.{PUBLICATION_LOG}")
    return rows[0][0], f"load {since} ({rows[0][0]:%Y-%m-%d %H:%M %Z})"


def revisions_since(con: duckdb.DuckDBPyConnection, start: datetime | date | None,
                    *, after_load: bool = False) -> duckdb.DuckDBPyRelation:
    """The revision rows from ``start`` on (a date: that day included; ``after_load``: strictly after that
    publication's time), oldest first, with the figure's title and the kommun's name for a reader."""
    if not _exists(con, PUBLISHED_SCHEMA, REVISION_TABLE):
        raise UnknownSince(f"{PUBLISHED_SCHEMA}.{REVISION_TABLE} does not exist: nothing has been published since "
                           "changes are recorded")
    condition, params = "true", []
    if isinstance(start, datetime):
        condition, params = ("r.changed_at > ?" if after_load else "r.changed_at >= ?"), [start]
    elif isinstance(start, date):
        condition, params = "r.changed_at >= ?::date", [start.isoformat()]
    return con.sql(
        f"""select r.*, k.title as kpi_title, m.municipality_name,
                   {VALUE_CHANGED} as value_changed, {COLOUR_CHANGED} as colour_changed
            from {PUBLISHED_SCHEMA}.{REVISION_TABLE} as r
            left join {PUBLISHED_SCHEMA}.dim_kpi as k on r.kpi_id = k.kpi_id
            left join {PUBLISHED_SCHEMA}.dim_municipality as m on r.municipality_id = m.municipality_id
            where {condition}
            order by r.changed_at, r.kpi_id, r.municipality_id, r.year, r.gender""", params=params)


#: what ``kkik changes --pending`` names as the side that replaces the publication: the audited mart
PENDING = "pending"


def pending_changes(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyRelation:
    """The cells of the audited mart (``kkik_audit.kkik_result``, the last load's) that differ from the
    published one (:func:`changed_cells_sql`): what the next publication would record, the columns of
    :func:`revisions_since` (``load_id_after`` :data:`PENDING`, ``changed_at`` null). After a load the
    audit blocked, the changes that wait for review; after a published load, none."""
    if not _exists(con, AUDIT_SCHEMA, "kkik_result"):
        raise UnknownSince(f"{AUDIT_SCHEMA}.kkik_result does not exist: run `kkik load` first")
    if not _exists(con, PUBLISHED_SCHEMA, "kkik_result"):
        raise UnknownSince("nothing is published yet: the first publication has nothing to compare with")
    last = last_publication(con)
    return con.sql(
        f"""select p.*, ?::varchar as load_id_before, '{PENDING}' as load_id_after,
                   cast(null as timestamptz) as changed_at, k.title as kpi_title, m.municipality_name,
                   {VALUE_CHANGED} as value_changed, {COLOUR_CHANGED} as colour_changed
            from ({changed_cells_sql(f"{PUBLISHED_SCHEMA}.kkik_result", f"{AUDIT_SCHEMA}.kkik_result")}) as p
            left join {AUDIT_SCHEMA}.dim_kpi as k on p.kpi_id = k.kpi_id
            left join {AUDIT_SCHEMA}.dim_municipality as m on p.municipality_id = m.municipality_id
            order by p.kpi_id, p.municipality_id, p.year, p.gender""", params=[last[0] if last else None])


def cells_changed_for_review(con: duckdb.DuckDBPyConnection) -> pd.DataFrame | None:
    """The cells the watch report marks as changed, as a DataFrame (``CELL_KEY`` and both sides):
    the audited mart against the published one when they differ (a load not yet published), else the
    newest publication's revision rows (the audited mart is what was published: its changes)."""
    if not _exists(con, AUDIT_SCHEMA, "kkik_result"):
        return None
    if not _exists(con, PUBLISHED_SCHEMA, "kkik_result"):
        return None  # nothing published: no earlier publication to compare with
    pending = con.sql(changed_cells_sql(f"{PUBLISHED_SCHEMA}.kkik_result", f"{AUDIT_SCHEMA}.kkik_result")).df()
    last = last_publication(con)
    if len(pending) or last is None or not _exists(con, PUBLISHED_SCHEMA, REVISION_TABLE):
        return pending
    return con.execute(
        f"""select {", ".join(CELL_KEY)}, value_before, value_after, colour_before, colour_after
            from {PUBLISHED_SCHEMA}.{REVISION_TABLE} where load_id_after = ?""", [last[0]]).df()


#: the flags' column that carries the change of the flagged cell to the watch report (text; empty: unchanged)
CHANGE_COLUMN = "changed_since_publication"


def change_notes(flags: pd.DataFrame, changes: pd.DataFrame | None) -> pd.DataFrame:
    """``flags`` with :data:`CHANGE_COLUMN`: for a flag on a changed cell (``changes`` as from
    :func:`cells_changed_for_review`), what changed ("value 84 → 80.64, colour yellow → red"), else ""."""
    import pandas as pd

    out = flags.copy()
    notes: dict[tuple, str] = {}
    for row in (changes.itertuples(index=False) if changes is not None else []):
        parts = []
        if not (pd.isna(row.value_before) and pd.isna(row.value_after)) and row.value_before != row.value_after:
            parts.append(f"value {_shown(row.value_before)} → {_shown(row.value_after)}")
        before, after = _shown(row.colour_before, ABSENT_COLOUR), _shown(row.colour_after, ABSENT_COLOUR)
        if before != after:
            parts.append(f"colour {before} → {after}")
        notes[(row.kpi_id, row.municipality_id, int(row.year), row.gender)] = ", ".join(parts)

    def note(flag) -> str:
        if pd.isna(flag.year) or pd.isna(flag.kpi_id) or pd.isna(flag.municipality_id):
            return ""
        return notes.get((flag.kpi_id, flag.municipality_id, int(flag.year), flag.gender), "")

    out[CHANGE_COLUMN] = [note(flag) for flag in out.itertuples(index=False)] if len(out) else []
    return out


def _shown(value, missing: str = "—") -> str:
    import pandas as pd

    if pd.isna(value):
        return missing
    return f"{value:g}" if isinstance(value, float) else str(value)
