"""Landing Kolada: every page to disk as it arrives, then DuckDB reads the pages into raw in one transaction.

Why it looks like this:

* Pages are written as received and never held in memory together, so a backfill of every figure and
  year (9 M values) needs no more memory than one page; DuckDB then reads the files (``read_text``, one JSON
  parse per page, each record shaped by ``json_transform``), one statement per entity, with no Python object
  per value.
* Nothing reaches DuckDB until every page of the load has been fetched; the raw tables change in one
  transaction, so a failed fetch or a failed statement leaves the warehouse as it was.
* Values are merged by key (kpi, municipality, period, gender) within the cells of this load (the asked
  kpis × years): an unchanged value keeps the load that first brought it, a changed one is replaced, one
  the source no longer sends is deleted; other kpis and years are untouched. Two landings of the same pages
  leave ``raw.kolada__data`` identical.
* Metadata is kept per version, not per load: an entity's records are appended only when their content
  differs from the latest version landed, so the dbt models see the current version and the one before it.
* The data records are checked here, in SQL, and nowhere else (the client checks a data page's envelope
  only, so a record is not paid for twice): a record outside the KPIs and years asked for (``not_requested``)
  or whose content cannot be read (kpi missing, period not a year, no ``values`` list, gender not T/K/M, value
  not a finite number …) goes to ``raw.kolada__data_quarantine`` with its reason (``RECORD_CHECKS``), and the
  load goes on: one bad value must not cost the whole year; so does a record that is not an object or whose
  ``values`` is not a list of objects. The same value twice in a load (a record on two pages) fails it
  naming the pages, and a page that is not JSON, holds no list of records or is larger than any Kolada
  answer fails it naming the page file; either way raw is left as it was (``KoladaLandingError``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import duckdb

from pipelines.kpi_selection import KpiSelection, resolve_kpis
from pipelines.landing.raw_files import RawLoadFolder, start_load
from pipelines.landing.schema import METADATA_ENTITIES, ensure_raw_tables
from pipelines.landing.tables import MergeCounts, merge_by_key
from pipelines.sources.kolada import compare_with_catalogue, group_member_ids, kkik_groups
from pipelines.warehouse import connect, transaction

SOURCE = "kolada"
GENDERS = ("T", "K", "M")
VALUE_KEY = ("kpi", "municipality", "period", "gender")
#: What makes a value "the same" between two loads; load_id, fetched_at and page_url are where it came from.
VALUE_CONTENT = ("value", "count", "status", "isdeleted", "synthetic")
#: The largest page the landing reads: a data page of 5000 records is about 1.4 MB, the KPI list's 2.4 MB. A
#: larger file is no Kolada answer (``_refuse_oversized``); each page is read whole into memory.
MAX_PAGE_BYTES = 16 * 1024 * 1024

#: DuckDB's memory for one landing: its working tables spill to ``<warehouse>.tmp`` beyond it, so with the
#: Python side a landing of every Kolada value stays under issue 11's 2 GiB (1.60 GiB for the whole file).
#: Chosen for ``read_json``, which reserved about 1.1 GiB of read buffers; the ``read_text`` read may do with
#: less, not measured yet (bench/scale_benchmark.py before lowering it).
DUCKDB_MEMORY_LIMIT = "1500MB"

#: A data record as DuckDB reads it (``json_transform`` of each record of a page). Fields whose type the
#: source may get wrong are kept as JSON and checked in SQL (a wrong type goes to quarantine instead of
#: failing the whole read); the record itself stays beside it as sent (``j``), for the shape checks.
DATA_RECORD_STRUCTURE = (
    '{"kpi": "VARCHAR", "municipality": "JSON", "period": "JSON", "synthetic": "JSON", "values": '
    '[{"gender": "VARCHAR", "count": "JSON", "status": "VARCHAR", "value": "JSON", "isdeleted": "JSON"}]}'
)

_IS_NUMBER = "json_type({x}) in ('DOUBLE', 'UBIGINT', 'BIGINT') and coalesce(isfinite(try_cast({x} as double)), false)"
_BAD_GENDER = f"list_filter(r.values, lambda e: e.gender is null or e.gender not in {GENDERS!r})"
_BAD_VALUE = (
    "list_filter(r.values, lambda e: coalesce(json_type(e.value), 'NULL') <> 'NULL' and not ("
    + _IS_NUMBER.format(x="e.value") + "))"
)
#: a count must be a JSON integer that fits raw's integer column (a larger one failed the whole read)
_BAD_COUNT = (
    "list_filter(r.values, lambda e: coalesce(json_type(e.count), 'NULL') not in ('NULL', 'UBIGINT', 'BIGINT') "
    "or (json_type(e.count) <> 'NULL' and try_cast(e.count as integer) is null))"
)
#: true/false flags are read as JSON too: json_transform would read a text such as "x" as null (false)
_IS_FLAG = "coalesce(json_type({x}), 'NULL') in ('BOOLEAN', 'NULL')"
_BAD_DELETED = f"list_filter(r.values, lambda e: not ({_IS_FLAG.format(x='e.isdeleted')}))"
_NOT_AN_ENTRY = ("list_filter(r.values, lambda e: e is null or (e.gender is null and e.count is null "
                 "and e.status is null and e.value is null and e.isdeleted is null))")
#: the period as JSON text: a year is a JSON number of four digits (``2019``; the text ``"2019"`` is not one)
_PERIOD_TEXT = "coalesce(r.period::varchar, '')"
#: a page file's number (``data/page-0042.json`` → 42): what a value row keeps of its page
PAGE_NUMBER = "regexp_extract({path}, 'page-(\\d+)\\.json$', 1)::integer"

#: The first problem of a record, as (reason_code, reason); NULL for a good record. Order matters: a
#: record is named by its first problem only.
RECORD_CHECKS = [
    # j is DuckDB's minified text of the record as sent: an object starts with '{' (no parse per record)
    ("bad_record", "not starts_with(j::varchar, '{')", "format('record {} is not an object', j::varchar)"),
    ("bad_kpi", "r.kpi is null or r.kpi = ''", "format('kpi {} is not a KPI id', coalesce(to_json(r.kpi)::varchar, 'missing'))"),
    ("not_requested", "not list_contains(asked_kpis, r.kpi)",
     "format('kpi {} was not asked for by its query ({})', r.kpi, array_to_string(asked_kpis, ', '))"),
    ("bad_period", f"not regexp_full_match({_PERIOD_TEXT}, '\\d{{4}}')",
     "format('period {} is not a year', coalesce(r.period::varchar, 'missing'))"),
    ("not_requested", f"not list_contains(asked_years, try_cast({_PERIOD_TEXT} as integer))",
     "format('period {} was not asked for by its query ({})', r.period::varchar, array_to_string(asked_years, ', '))"),
    ("bad_municipality", "coalesce(json_type(r.municipality), '') <> 'VARCHAR' or r.municipality ->> '$' = ''",
     "format('municipality {} is not a code', coalesce(r.municipality::varchar, 'missing'))"),
    # a list that is not there, is null, or holds anything but objects: json_transform reads a null as
    # null and a number or a text as an entry with none of a value's fields (as it reads an empty object)
    ("bad_values", f"r.values is null or len({_NOT_AN_ENTRY}) > 0",
     "format('values {} is not a list of objects', coalesce(nullif((j -> '$.values')::varchar, 'null'), 'missing'))"),
    ("bad_flag", f"not ({_IS_FLAG.format(x='r.synthetic')})",
     "format('synthetic {} is not true or false', r.synthetic::varchar)"),
    ("bad_flag", f"len({_BAD_DELETED}) > 0",
     (f"format('isdeleted {{}} for gender {{}} is not true or false', {_BAD_DELETED}[1].isdeleted::varchar, "
     f"{_BAD_DELETED}[1].gender)")),
    ("bad_gender", f"len({_BAD_GENDER}) > 0",
     f"format('gender {{}} is not one of T, K, M', coalesce(to_json({_BAD_GENDER}[1].gender)::varchar, 'missing'))"),
    ("bad_value", f"len({_BAD_VALUE}) > 0",
     f"format('value {{}} for gender {{}} is not a number', {_BAD_VALUE}[1].value::varchar, {_BAD_VALUE}[1].gender)"),
    ("bad_count", f"len({_BAD_COUNT}) > 0",
     f"format('count {{}} for gender {{}} is not a whole number within ±2147483647', {_BAD_COUNT}[1].count::varchar, {_BAD_COUNT}[1].gender)"),
]


class DataPage(NamedTuple):
    """A data page file and what its query asked for (``None``: a page written without it, e.g. by a test;
    then the load's KPIs and years)."""

    file: str
    kpis: Sequence[str] | None = None
    years: Sequence[int] | None = None


class KoladaLandingError(RuntimeError):
    """The pages of a load cannot be landed as they are (e.g. the same value twice); nothing was written."""


@dataclass
class LandingSummary:
    """What one landing did; shown in Dagster metadata, the CLI and the benchmark."""

    load_id: str
    years: list[int]
    raw_folder: Path
    pages: int = 0
    requests: int = 0
    value_rows: int = 0
    quarantined: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    #: records received per metadata entity
    metadata_rows: dict[str, int] = field(default_factory=dict)
    #: rows appended per metadata entity: the records when their content changed, else 0
    metadata_landed: dict[str, int] = field(default_factory=dict)
    kkik_group_diff: dict | None = None
    #: a load of changes: Kolada was asked only for what changed on or after this day (YYYY-MM-DD)
    from_date: str | None = None
    #: the day in Kolada's clock the load started (its first answer's Date, Europe/Stockholm): the next
    #: refresh of these cells asks ``from_date`` = this day
    as_of: str | None = None


def land_kolada(
    client,
    *,
    kpi_ids: Sequence[str],
    years: Sequence[int],
    raw_dir: Path,
    duckdb_path: Path,
    load_id: str | None = None,
    progress: Callable[[str], None] | None = None,
    from_date: str | None = None,
    selection: KpiSelection | None = None,
) -> LandingSummary:
    """Fetch Kolada metadata and the values of ``kpi_ids`` for ``years`` and land them.

    ``client`` is a ``KoladaClient``; ``progress`` an optional callable taking a short message.
    The summary also compares Kolada's KKiK KPI groups with ``kpi_ids`` (the staff-edited catalogue),
    so a figure the network added or dropped in Kolada shows up before the report is made.

    With ``from_date`` (``YYYY-MM-DD``) it is a load of changes (``kkik refresh``): no metadata, only the
    values changed on or after that day, merged by key with ``isdeleted`` values removed; other values stay.

    ``selection`` (``kkik load --kpis``) adds figures beyond ``kpi_ids``, resolved against the KPI list and
    groups fetched in this load (pipelines/kpi_selection.py); an id Kolada does not have raises
    ``KpiSelectionError`` before any value is fetched, with nothing written to the warehouse.
    """
    run = start_load(raw_dir, SOURCE, years, load_id, progress)
    folder, say = run.folder, run.say
    summary = LandingSummary(load_id=run.load_id, years=run.years, raw_folder=folder.root, from_date=from_date)
    requests_before = client.request_count

    page_iterators = {
        "kpi": client.kpi_pages,
        "kpi_groups": client.kpi_group_pages,
        "municipality": client.municipality_pages,
        "municipality_groups": client.municipality_group_pages,
    }
    group_records: list[dict] = []  # a few hundred groups: kept for the comparison with the catalogue
    kpi_records: list[dict] = []  # ~6,100 ids: what ``selection`` is resolved against
    for entity, pages in page_iterators.items():
        summary.metadata_rows[entity] = 0
        if from_date is not None:  # a load of changes: the catalogue is refreshed by the full loads
            continue
        for page in pages():
            folder.write_page(entity, page.url, page.fetched_at, page.body)
            summary.metadata_rows[entity] += len(page.records)
            if entity == "kpi_groups":
                group_records.extend(page.records)
            elif entity == "kpi":
                kpi_records.extend({"id": record.get("id")} for record in page.records)
        say(f"kolada {entity}: {summary.metadata_rows[entity]} records")

    catalogue_ids = list(kpi_ids)
    if selection is not None and from_date is None:
        kpi_ids = resolve_kpis(selection, kpi_records, group_records, catalogue_ids)
        say(f"kolada --kpis {selection.spec}: {len(kpi_ids)} figures ({len(catalogue_ids)} of the KKiK catalogue)")
    records = 0
    for page in client.data_pages(kpi_ids, run.years, from_date=from_date):
        folder.write_page("data", page.url, page.fetched_at, page.body,
                          asked={"kpis": list(page.kpis), "years": list(page.years)})
        records += page.record_count
        say(f"kolada data: {records} records so far ({folder.pages_written} pages)")

    groups = kkik_groups(group_records)
    if groups:
        summary.kkik_group_diff = compare_with_catalogue(group_member_ids(groups), set(catalogue_ids))
        say(f"kolada KKiK groups vs catalogue: {summary.kkik_group_diff}")
    summary.pages = folder.pages_written
    summary.requests = client.request_count - requests_before
    summary.as_of = kolada_day(client.first_answer_at or run.started).isoformat()

    write_raw_tables(duckdb_path, folder, summary, list(kpi_ids), run.started)
    say(f"kolada landed {summary.value_rows} values: {summary.inserted} inserted, {summary.updated} updated, "
        f"{summary.deleted} deleted, {summary.unchanged} unchanged, {summary.quarantined} quarantined")
    folder.mark_complete({**summary.__dict__, "raw_folder": str(folder.root)})
    return summary


def write_raw_tables(duckdb_path: Path, folder: RawLoadFolder, summary: LandingSummary, kpi_ids: list[str],
                     started: datetime) -> None:
    """Read the load's pages from ``folder`` into raw: merge the values, append changed metadata, log the
    load; all in one transaction, so a failure anywhere leaves raw as it was. Fills ``summary``'s counts.

    The data pages are read here, after the fetch, in one statement. (Reading them while the next were
    fetched, in a thread with a DuckDB of its own, was measured slower: the whole file's landing 76–78 s
    against 50–52 s, as the reader then had one core and a staging file to write.)"""
    summary.as_of = summary.as_of or kolada_day(started).isoformat()  # no answer's Date: this machine's clock
    with connect(duckdb_path) as con:
        # the load's working tables spill to disk beyond this, so memory stays flat whatever the size
        con.execute(f"set memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
        con.execute("set preserve_insertion_order = false")
        ensure_raw_tables(con)
        with transaction(con):
            _read_manifest(con, folder)
            for entity in METADATA_ENTITIES:
                summary.metadata_landed[entity] = _land_metadata(con, folder, entity, summary.load_id)
            _read_data_pages(con, summary.load_id, kpi_ids, summary.years)
            summary.quarantined = _land_quarantine(con, summary.load_id)
            _check_each_key_once(con)
            summary.value_rows = con.execute("select count(*) from kolada_incoming").fetchall()[0][0]
            changes_only = summary.from_date is not None
            counts = merge_values(con, "kolada_incoming", scope=None if changes_only else "kolada_scope",
                                  apply_deletions=changes_only)
            summary.inserted, summary.updated = counts.inserted, counts.updated
            summary.deleted, summary.unchanged = counts.deleted, counts.unchanged
            con.execute(
                "insert into raw.load_log values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [summary.load_id, SOURCE, ",".join(map(str, summary.years)), started, datetime.now(UTC),
                 summary.pages, summary.value_rows, summary.quarantined, str(summary.raw_folder)],
            )
            con.execute(
                "insert into raw.kolada__coverage select $load_id, kpi, period, $as_of, $from_date, now() "
                "from kolada_scope",
                {"load_id": summary.load_id, "as_of": summary.as_of, "from_date": summary.from_date},
            )


def kolada_day(moment: datetime) -> date:
    """The day of ``moment`` in Sweden, where Kolada dates its changes (``from_date`` is a day, not a time)."""
    return moment.astimezone(ZoneInfo("Europe/Stockholm")).date()


def merge_values(con: duckdb.DuckDBPyConnection, incoming: str, *, scope: str | None,
                 apply_deletions: bool = False) -> MergeCounts:
    """Merge value rows (shaped like ``raw.kolada__data``) into ``raw.kolada__data``: the one Kolada merge.

    ``scope`` names a relation of (kpi, period) cells this load refreshes completely (a stored value of
    such a cell that is not incoming is deleted); ``None`` touches only the incoming keys, as a load of
    changes since a date does, where ``apply_deletions`` makes a row with ``isdeleted`` delete its key.
    """
    return merge_by_key(
        con, "raw.kolada__data", incoming, key=VALUE_KEY, content=VALUE_CONTENT,
        scope=(scope, ("kpi", "period")) if scope else None,
        deleted_flag="isdeleted" if apply_deletions else None,
    )


def _files_param(folder: RawLoadFolder, entity: str) -> list[str]:
    return [str(path) for path in folder.page_files(entity)]


def _read_manifest(con: duckdb.DuckDBPyConnection, folder: RawLoadFolder) -> None:
    """``kolada_pages``: each page file's entity, number, URL, fetch time and (a data page) the KPIs and years
    its query asked for, from the load's manifest on disk (the value rows carry the data page's number, not
    its long URL, so the load's working table stays small); ``kolada_data_pages`` the data pages among them."""
    con.execute(
        f"""create or replace temp table kolada_pages as
            select entity, {PAGE_NUMBER.format(path='file')} as page_id, $root || '/' || file as path,
                   url as page_url, to_timestamp(fetched_at) as fetched_at, asked.kpis as asked_kpis,
                   asked.years as asked_years
            from read_json($manifest, format='newline_delimited',
                           columns={{entity: 'VARCHAR', file: 'VARCHAR', url: 'VARCHAR', fetched_at: 'DOUBLE',
                                     asked: 'STRUCT(kpis VARCHAR[], years INTEGER[])'}})""",
        {"root": str(folder.root), "manifest": str(folder.manifest_path)},
    )
    con.execute("create or replace temp view kolada_data_pages as select * from kolada_pages where entity = 'data'")


def _land_metadata(con: duckdb.DuckDBPyConnection, folder: RawLoadFolder, entity: str, load_id: str) -> int:
    """Append this load's ``entity`` records when their content differs from the latest version landed;
    returns the rows appended (0 when unchanged). The content hash is md5 over the sorted records as
    DuckDB normalises JSON, so it does not depend on page order or on how the JSON was spaced."""
    files = _files_param(folder, entity)
    if not files:
        return 0
    _refuse_oversized(files)
    table = f"raw.kolada__{entity}"
    con.execute(
        f"""create or replace temp table kolada_metadata as
            select $load_id as load_id, p.fetched_at, p.page_url, json(r::varchar) as record
            from (select filename, unnest(records) as r from {_page_records_sql()}) as f
            join kolada_pages as p on p.path = f.filename""",
        {"load_id": load_id, "files": files},
    )
    digest = "md5(string_agg(json(record)::varchar, chr(10) order by json(record)::varchar))"
    changed = con.execute(
        f"""select (select {digest} from kolada_metadata) is distinct from
                   (select {digest} from {table} where load_id = (select max(load_id) from {table}))
                   and exists (select 1 from kolada_metadata)"""
    ).fetchall()[0][0]
    if not changed:
        return 0
    con.execute(f"insert into {table} select load_id, fetched_at, page_url, record from kolada_metadata")
    return con.execute("select count(*) from kolada_metadata").fetchall()[0][0]


def _data_values_sql(source: str) -> str:
    """The select that turns data pages (``source``: ``_page_source``) into ``kolada_values`` rows: a row per
    value of a good record, a row per bad record (its first problem and the record as sent); ``page_id`` is
    the data page's number (its file name). Parameters $kpis, $years: the load's, for a page without its own."""
    problem_code = "case " + " ".join(f"when {cond} then '{code}'" for code, cond, _ in RECORD_CHECKS) + " end"
    # the text is made for bad records only: the conditions are not evaluated twice for the good ones
    problem_text = "case " + " ".join(f"when {cond} then {text}" for _, cond, text in RECORD_CHECKS) + " end"
    return f"""
        select page_id, kpi, municipality, period, e.gender, e.count::integer as count,
               nullif(e.status, '') as status, e.value::double as value,
               coalesce(try_cast(e.isdeleted as boolean), false) as isdeleted,
               synthetic, reason_code, reason, record
        from (select page_id, r.kpi, coalesce(try_cast(r.synthetic as boolean), false) as synthetic, reason_code,
                     case when reason_code is not null then {problem_text} end as reason,
                     case when reason_code is null then r.municipality ->> '$' end as municipality,
                     case when reason_code is null then try_cast(r.period::varchar as integer) end as period,
                     case when reason_code is not null then j end as record,
                     unnest(case when reason_code is null then r.values else [null] end) as e
              from (select page_id, j, r, asked_kpis, asked_years, {problem_code} as reason_code
                    from (select page_id, j, json_transform(j, '{DATA_RECORD_STRUCTURE}') as r,
                                 asked_kpis, asked_years
                          from (select {PAGE_NUMBER.format(path='filename')} as page_id, unnest(records) as j,
                                       coalesce(kpis, $kpis::varchar[]) as asked_kpis,
                                       coalesce(years, $years::integer[]) as asked_years
                                from {source}))) as checked)"""


def _page_records_sql() -> str:
    """Each page file of $files (``filename``) with its records as sent (``records``, JSON values).

    ``read_text`` and one JSON parse per page, not ``read_json``: on the whole of Kolada DuckDB's JSON reader
    (format ``unstructured``, a page a single object) took 5–6x as long for the same rows. A page whose
    ``values`` is not a list fails the read naming the file; a record of the wrong shape does not (its
    checks quarantine it)."""
    return """(select filename, case when records is null then error(format(
                      'the page {} holds no list of records (''values'')', filename)) else records end as records
               from (select filename, from_json(content, '{"values": ["JSON"]}').values as records
                     from read_text($files)))"""


def _page_source(pages: Sequence[DataPage]) -> str:
    """The data ``pages`` read (parameters $files, $page_kpis, $page_years) beside what each page's query
    asked for, or an empty relation of the same shape."""
    if pages:
        return f"""(select f.filename, f.records, p.kpis, p.years
                    from {_page_records_sql()} as f
                    join (select unnest($files) as filename, unnest($page_kpis::varchar[][]) as kpis,
                                 unnest($page_years::integer[][]) as years) as p using (filename))"""
    return ("(select null::varchar as filename, []::json[] as records, null::varchar[] as kpis, "
            "null::integer[] as years where false)")


def _read_values(con: duckdb.DuckDBPyConnection, pages: Sequence[DataPage], kpi_ids: Sequence[str],
                 years: Sequence[int]) -> None:
    """Read data ``pages`` into the temp table ``kolada_values``; ``kpi_ids`` and ``years`` are the load's."""
    _refuse_oversized([page.file for page in pages])
    params: dict = {"kpis": list(kpi_ids), "years": list(years)}
    if pages:
        params |= {"files": [page.file for page in pages],
                   "page_kpis": [None if page.kpis is None else list(page.kpis) for page in pages],
                   "page_years": [None if page.years is None else list(page.years) for page in pages]}
    sql = _data_values_sql(_page_source(pages))
    try:
        con.execute(f"create or replace temp table kolada_values as {sql}", params)
    except duckdb.InvalidInputException as error:  # a page that is not JSON, or holds no list of records
        raise KoladaLandingError(_unreadable_page([page.file for page in pages], error)) from error


def _refuse_oversized(files: Sequence[str]) -> None:
    """A page beyond MAX_PAGE_BYTES is no Kolada answer (5,000 records are about 1.4 MB): refused, naming it."""
    for file in files:
        size = Path(file).stat().st_size
        if size > MAX_PAGE_BYTES:
            raise KoladaLandingError(f"the page {file} is {size / 2**20:.1f} MiB, more than the "
                                     f"{MAX_PAGE_BYTES // 2**20} MiB a Kolada page can be; nothing was landed")


def _unreadable_page(files: Sequence[str], error: duckdb.Error) -> str:
    """Which of ``files`` DuckDB cannot read as a page of records, and why: each is read alone (on a
    connection of its own, as the landing's transaction is aborted by the error), so the message names the
    page whatever DuckDB's message says. Only on the way to an error, so the cost of a read per page does
    not matter."""
    with duckdb.connect() as probe:
        for file in files:
            try:
                probe.execute(f"select count(*) from (select unnest(records) from {_page_records_sql()})",
                              {"files": [file]})
            except duckdb.InvalidInputException as own:
                return (f"the data page {file} cannot be read as a page of Kolada records (a page that is not "
                        f"JSON, or whose 'values' is not a list): {str(own).splitlines()[0]}; nothing was landed")
    return f"DuckDB could not read the data pages, though each reads alone: {error}; nothing was landed"


def _read_data_pages(con: duckdb.DuckDBPyConnection, load_id: str, kpi_ids: list[str], years: list[int]) -> None:
    """``kolada_values`` (one read of the data pages the manifest lists); then the views ``kolada_incoming``
    (the good values, shaped like ``raw.kolada__data``) and ``kolada_scope`` (the kpi × period cells this
    load refreshes: everything that was asked for)."""
    pages = [DataPage(*row) for row in con.execute(
        "select path, asked_kpis, asked_years from kolada_data_pages order by page_id").fetchall()]
    _read_values(con, pages, kpi_ids, years)
    con.execute("create or replace temp table kolada_load as select $load_id as load_id", {"load_id": load_id})
    con.execute(
        """create or replace temp view kolada_incoming as
           select l.load_id, p.fetched_at, p.page_url, v.kpi, v.municipality, v.period, v.gender, v.count,
                  v.status, v.value, v.isdeleted, v.synthetic
           from kolada_values as v join kolada_data_pages as p using (page_id) cross join kolada_load as l
           where v.reason_code is null"""
    )
    con.execute(
        """create or replace temp table kolada_scope as
           select kpi, period from unnest($kpis::varchar[]) as k(kpi), unnest($years::integer[]) as y(period)""",
        {"kpis": kpi_ids, "years": years},
    )


def _check_each_key_once(con: duckdb.DuckDBPyConnection) -> None:
    """The same value twice in one load (a page repeated, a record on two pages) is an error, not two rows.
    The keys are counted first; only a duplicate's pages are looked up, to name them."""
    keys = ", ".join(VALUE_KEY)
    duplicates = con.execute(
        f"""with twice as (select {keys}, count(*) as n from kolada_values where reason_code is null
                           group by all having count(*) > 1 order by all limit 3)
            select {keys}, any_value(n), string_agg(distinct page_url, ' and ' order by page_url)
            from twice join kolada_values using ({keys}) join kolada_data_pages using (page_id)
            group by all order by all"""
    ).fetchall()
    if duplicates:
        named = "; ".join(f"{kpi} {municipality} {period} {gender} {n} times (pages {pages})"
                          for kpi, municipality, period, gender, n, pages in duplicates)
        raise KoladaLandingError(f"the same value came more than once in this load: {named}")


def _land_quarantine(con: duckdb.DuckDBPyConnection, load_id: str) -> int:
    """Keep this load's unreadable records with their reason; a record already quarantined with the same
    reason is not added again, so a rerun of the same pages adds nothing. Returns this load's count."""
    con.execute(
        """insert into raw.kolada__data_quarantine
           select distinct $load_id, p.fetched_at, p.page_url, b.record, b.reason, b.reason_code
           from kolada_values as b join kolada_data_pages as p using (page_id)
           anti join raw.kolada__data_quarantine as q
             on q.record::varchar = b.record::varchar and q.reason_code is not distinct from b.reason_code
           where b.reason_code is not null""",
        {"load_id": load_id},
    )
    return con.execute("select count(*) from kolada_values where reason_code is not null").fetchall()[0][0]
