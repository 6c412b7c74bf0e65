"""Landing Kolada: fetch every page, keep it on disk, then load the raw tables in one transaction.

Nothing reaches DuckDB until every page of the load has been fetched and parsed; a failed fetch leaves
the warehouse as it was. Re-running a load for a year replaces that year's values (no duplicates);
metadata is appended per load, so later checks can compare this year's KPI definitions with last year's.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd

from pipelines.sources.kolada import compare_with_catalogue, group_member_ids, kkik_groups
from pipelines.landing.raw_files import start_load
from pipelines.landing.schema import ensure_raw_tables
from pipelines.warehouse import connect, transaction

SOURCE = "kolada"
GENDERS = ("T", "K", "M")


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
    metadata_rows: dict[str, int] = field(default_factory=dict)
    kkik_group_diff: dict | None = None


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


def flatten_data_records(records: Iterable[dict], page_url: str, fetched_at: float) -> tuple[list[dict], list[dict]]:
    """One row per record × gender value; records whose content cannot be read go to quarantine.

    The client has already checked the page's shape; here each value is checked, because one bad
    value must not cost the whole year (it is kept, with its reason, in the quarantine table).
    """
    rows: list[dict] = []
    bad: list[dict] = []
    for record in records:
        reason = _record_problem(record)
        if reason:
            bad.append({"page_url": page_url, "fetched_at": fetched_at, "record": record, "reason": reason})
            continue
        for entry in record["values"]:
            rows.append(
                {
                    "page_url": page_url,
                    "fetched_at": fetched_at,
                    "kpi": record["kpi"],
                    "municipality": record["municipality"],
                    "period": int(record["period"]),
                    "gender": entry["gender"],
                    "count": entry.get("count"),
                    "status": entry.get("status") or None,
                    "value": entry.get("value"),
                    "isdeleted": bool(entry.get("isdeleted", False)),
                    "synthetic": bool(record.get("synthetic", False)),
                }
            )
    return rows, bad


def _record_problem(record: dict) -> str | None:
    period = record.get("period")
    if not isinstance(period, int) and not (isinstance(period, str) and period.isdigit()):
        return f"period {period!r} is not a year"
    municipality = record.get("municipality")
    if not isinstance(municipality, str) or not municipality:
        return f"municipality {municipality!r} is not a code"
    for entry in record.get("values") or []:
        if entry.get("gender") not in GENDERS:
            return f"gender {entry.get('gender')!r} is not one of T, K, M"
        value = entry.get("value")
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value)):
            return f"value {value!r} for gender {entry.get('gender')} is not a number"
    return None


def land_kolada(
    client,
    *,
    kpi_ids: Sequence[str],
    years: Sequence[int],
    raw_dir: Path,
    duckdb_path: Path,
    load_id: str | None = None,
    progress=None,
) -> LandingSummary:
    """Fetch Kolada metadata and the values of ``kpi_ids`` for ``years`` and land them.

    ``client`` is a ``KoladaClient``; ``progress`` an optional callable taking a short message.
    The summary also compares Kolada's KKiK KPI groups with ``kpi_ids`` (the staff-edited catalogue),
    so a figure the network added or dropped in Kolada shows up before the report is made.
    """
    run = start_load(raw_dir, SOURCE, years, load_id, progress)
    load_id, years, folder, started, say = run.load_id, run.years, run.folder, run.started, run.say
    summary = LandingSummary(load_id=load_id, years=years, raw_folder=folder.root)
    requests_before = client.request_count

    metadata: dict[str, list[dict]] = {}
    page_iterators = {
        "kpi": client.kpi_pages,
        "kpi_groups": client.kpi_group_pages,
        "municipality": client.municipality_pages,
        "municipality_groups": client.municipality_group_pages,
    }
    for entity, pages in page_iterators.items():
        metadata[entity] = []
        for page in pages():
            folder.write_page(entity, page.url, page.fetched_at, page.body)
            metadata[entity].extend(
                {"page_url": page.url, "fetched_at": page.fetched_at, "record": record} for record in page.records
            )
        say(f"kolada {entity}: {len(metadata[entity])} records")

    value_rows: list[dict] = []
    quarantine: list[dict] = []
    for page in client.data_pages(kpi_ids, years):
        folder.write_page("data", page.url, page.fetched_at, page.body)
        rows, bad = flatten_data_records(page.records, page.url, page.fetched_at)
        value_rows.extend(rows)
        quarantine.extend(bad)
        say(f"kolada data: {len(value_rows)} values so far ({folder.pages_written} pages)")

    groups = kkik_groups([row["record"] for row in metadata["kpi_groups"]])
    if groups:
        summary.kkik_group_diff = compare_with_catalogue(group_member_ids(groups), set(kpi_ids))
        say(f"kolada KKiK groups vs catalogue: {summary.kkik_group_diff}")
    summary.pages = folder.pages_written
    summary.requests = client.request_count - requests_before
    summary.value_rows = len(value_rows)
    summary.quarantined = len(quarantine)
    summary.metadata_rows = {entity: len(rows) for entity, rows in metadata.items()}

    _write_raw_tables(duckdb_path, load_id, years, metadata, value_rows, quarantine, summary, started)
    folder.mark_complete({**summary.__dict__, "raw_folder": str(folder.root)})
    return summary


def _write_raw_tables(duckdb_path, load_id, years, metadata, value_rows, quarantine, summary, started) -> None:
    """Replace the years' values and append this load's metadata, all in one transaction."""
    values = pd.DataFrame(
        value_rows,
        columns=["page_url", "fetched_at", "kpi", "municipality", "period", "gender", "count", "status", "value",
                 "isdeleted", "synthetic"],
    )
    values["fetched_at"] = pd.to_datetime(values["fetched_at"], unit="s", utc=True)
    values["count"] = values["count"].astype("Int64")
    values["value"] = values["value"].astype("float64")
    values.insert(0, "load_id", load_id)

    with connect(duckdb_path) as con:
        ensure_raw_tables(con)
        with transaction(con):
            for entity, rows in metadata.items():
                frame = _json_frame(load_id, rows)
                con.register("incoming", frame)
                con.execute(f"insert into raw.kolada__{entity} select load_id, fetched_at, page_url, record::json from incoming")
                con.unregister("incoming")
            placeholders = ",".join("?" for _ in years)
            con.execute(f"delete from raw.kolada__data where period in ({placeholders})", years)
            con.register("incoming", values)
            con.execute(
                """insert into raw.kolada__data select load_id, fetched_at, page_url, kpi, municipality, period,
                gender, count, status, value, isdeleted, synthetic from incoming"""
            )
            con.unregister("incoming")
            if quarantine:
                frame = _json_frame(load_id, quarantine)
                con.register("incoming", frame)
                con.execute(
                    "insert into raw.kolada__data_quarantine select load_id, fetched_at, page_url, record::json, reason from incoming"
                )
                con.unregister("incoming")
            con.execute(
                "insert into raw.load_log values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [load_id, SOURCE, ",".join(map(str, years)), started, datetime.now(timezone.utc), summary.pages,
                 summary.value_rows, summary.quarantined, str(summary.raw_folder)],
            )


def _json_frame(load_id: str, rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "load_id": load_id,
            "fetched_at": pd.to_datetime([row["fetched_at"] for row in rows], unit="s", utc=True),
            "page_url": [row["page_url"] for row in rows],
            "record": [json.dumps(row["record"], ensure_ascii=False) for row in rows],
            "reason": [row.get("reason", "") for row in rows],
        }
    )
    return frame
