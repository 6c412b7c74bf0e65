"""The incremental Kolada refresh: since when the warehouse's figures may have changed, and whether they have.

Why it looks like this:

* The watermark is what the warehouse already holds, not when a job last ran: ``raw.kolada__coverage`` has a
  row per (kpi, period) cell per Kolada landing, dated in Kolada's clock (the ``Date`` of the landing's first
  answer), written in the landing's own transaction. So a landing that failed records nothing, a publication
  that was blocked still counts (its values are landed), and Dagster's instance (which a CLI run with another
  ``DAGSTER_HOME`` would not share) is not needed.
* A figure set (the catalogue's kpis × the run's years) is asked ``from_date`` = the oldest of its cells'
  days: a cell landed later is asked a little more than it needs, never less. Kolada's ``from_date`` is a day
  and includes it, so changes made after the landing on its own day are caught.
* A cell the warehouse never landed cannot be refreshed: "changed since" would miss its unchanged values.
  The refresh refuses, naming the cells and the ``kkik load`` that lands them.
* ``changed_values`` is the cheap question the CLI and the sensor ask first: one request per 25 figures × 25
  years when nothing changed, and nothing landed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb


class RefreshNotPossible(ValueError):
    """The warehouse cannot be refreshed for these figures and years (the message says what to load first)."""


@dataclass(frozen=True)
class RefreshPlan:
    """What a refresh of ``kpi_ids`` × ``years`` asks Kolada: the values changed on or after ``from_date``."""

    kpi_ids: list[str]
    years: list[int]
    from_date: str


@dataclass(frozen=True)
class ChangeCheck:
    """Kolada's answer to "what changed since": values (gender values, deletions included) and the requests."""

    from_date: str
    values: int
    requests: int
    #: the answer's content, so a sensor asks for one run per distinct answer
    digest: str

    @property
    def changed(self) -> bool:
        return self.values > 0


def plan_refresh(con: duckdb.DuckDBPyConnection, kpi_ids: Sequence[str], years: Sequence[int]) -> RefreshPlan:
    """The ``from_date`` of a refresh of ``kpi_ids`` × ``years``: the oldest day its cells were last landed.

    Raises ``RefreshNotPossible`` when some cell was never landed (or the warehouse has no landing at all).
    """
    kpis, periods = list(kpi_ids), sorted(set(years))
    has_table = con.execute("select count(*) from information_schema.tables where table_schema = 'raw' "
                            "and table_name = 'kolada__coverage'").fetchall()[0][0]
    if not has_table:
        raise RefreshNotPossible(_load_first(periods, "the warehouse records no Kolada landing"))
    rows = con.execute(
        """select k.kpi, y.period, max(c.as_of)::varchar
           from unnest($kpis::varchar[]) as k(kpi) cross join unnest($years::integer[]) as y(period)
           left join raw.kolada__coverage as c using (kpi, period)
           group by all order by all""",
        {"kpis": kpis, "years": periods},
    ).fetchall()
    missing = [(kpi, period) for kpi, period, as_of in rows if as_of is None]
    if missing:
        named = ", ".join(f"{kpi} {period}" for kpi, period in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise RefreshNotPossible(_load_first(sorted({p for _, p in missing}),
                                             f"{len(missing)} figure-year(s) were never landed ({named}{more})"))
    return RefreshPlan(kpis, periods, min(as_of for _, _, as_of in rows))


def _load_first(years: Sequence[int], why: str) -> str:
    load = "kkik load " + " ".join(f"--year {y}" for y in years)
    return f"{why}: a refresh only asks for what changed, so land them in full first (`{load}`)"


def changed_values(client, plan: RefreshPlan) -> ChangeCheck:
    """Ask Kolada what changed since ``plan.from_date`` (``client`` a ``KoladaClient``); nothing is written.

    The digest is over the answer's records in a stable order, so the same answer gives the same digest.
    The client does not check data records (the landing does), so a record that is not an object with a
    ``values`` list counts as one change: the refresh lands it, and the landing quarantines or refuses it."""
    before = client.request_count
    values = 0
    digest = hashlib.sha256()
    records = []
    for page in client.data_pages(plan.kpi_ids, plan.years, from_date=plan.from_date):
        values += sum(_values_in(record) for record in page.records)
        records.extend(json.dumps(record, sort_keys=True) for record in page.records)
    for record in sorted(records):
        digest.update(record.encode("utf-8"))
    return ChangeCheck(plan.from_date, values, client.request_count - before, digest.hexdigest()[:16])


def _values_in(record: object) -> int:
    """The values a data record brings (gender values, deletions included); one for a malformed record."""
    values = record.get("values") if isinstance(record, dict) else None
    return len(values) if isinstance(values, list) else 1


def plan_from_warehouse(duckdb_path, kpi_ids: Sequence[str], years: Sequence[int]) -> RefreshPlan:
    """``plan_refresh`` on the warehouse file (read-only); a missing file is a warehouse never loaded."""
    from pathlib import Path

    from pipelines.warehouse import connect

    if not Path(duckdb_path).exists():
        raise RefreshNotPossible(_load_first(sorted(set(years)), f"{duckdb_path} does not exist"))
    with connect(Path(duckdb_path), read_only=True) as con:
        return plan_refresh(con, kpi_ids, years)
