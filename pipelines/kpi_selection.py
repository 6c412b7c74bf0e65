"""Which Kolada figures a load lands: ``kkik load --kpis all|ID,ID,…|G<group id>``, always with the KKiK set.

The KKiK catalogue (pipelines/catalogue.py) is what the report shows; RKA's watch concerns everything Kolada
publishes, so a load may land more. A selection is parsed once (the CLI, before anything runs), carried as
text through the Kolada asset's run config, and resolved against Kolada's own KPI metadata fetched in the
same load: ``all`` is every id of Kolada's KPI list, a group id its members. An id Kolada does not list, or a
group it does not have, is an error naming it: the CLI checks against the bundled metadata when Kolada is
the snapshot (exit 2, nothing written); against the live API the Kolada step fails naming it before any value
is fetched or landed.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipelines.sources.kolada import KPI_ID_PATTERN, group_member_ids

#: the default: the KKiK catalogue only
KKIK = "kkik"
ALL = "all"
#: a Kolada KPI group id (G2KPI12345 in v3; the snapshot's reconstructed G_KKIK_RECONSTRUCTED)
GROUP_ID_PATTERN = re.compile(r"G[A-Za-z0-9_]+")


class KpiSelectionError(ValueError):
    """A ``--kpis`` value that is malformed, or names an id or group Kolada does not have."""


@dataclass(frozen=True)
class KpiSelection:
    """The figures asked for besides the KKiK catalogue: everything, or some ids and groups."""

    everything: bool = False
    kpi_ids: tuple[str, ...] = ()
    group_ids: tuple[str, ...] = ()

    @property
    def spec(self) -> str:
        """The selection as ``--kpis`` text (what the run config carries): ``kkik``, ``all`` or the list."""
        if self.everything:
            return ALL
        return ",".join([*self.kpi_ids, *self.group_ids]) or KKIK

    @property
    def is_kkik_only(self) -> bool:
        return not (self.everything or self.kpi_ids or self.group_ids)


def parse_kpis(text: str | None) -> KpiSelection:
    """``None``/``kkik`` (the catalogue only), ``all``, or a comma list of KPI ids (N00914) and group ids (G…)."""
    if text is None or text.strip().lower() == KKIK:
        return KpiSelection()
    if text.strip().lower() == ALL:
        return KpiSelection(everything=True)
    ids: dict[str, None] = {}  # ordered sets: a repeated id counts once
    groups: dict[str, None] = {}
    for part in (p.strip() for p in text.split(",")):
        if GROUP_ID_PATTERN.fullmatch(part):  # first: G99999 is a group id (Kolada's KPI ids are N… and U…)
            groups[part] = None
        elif KPI_ID_PATTERN.fullmatch(part):
            ids[part] = None
        else:
            raise KpiSelectionError(
                f"--kpis: {part!r} is neither a Kolada KPI id (a letter and five digits, e.g. N00914) nor a "
                "KPI group id (G…); give all, kkik, or a comma list of ids and group ids")
    return KpiSelection(kpi_ids=tuple(ids), group_ids=tuple(groups))


def resolve_kpis(selection: KpiSelection, kpi_records: Iterable[dict], group_records: Iterable[dict],
                 kkik_ids: Sequence[str]) -> list[str]:
    """The ids to land, sorted: ``kkik_ids`` united with the selection resolved against Kolada's KPI list
    (``kpi_records``, each with ``id``) and KPI groups (``group_records``, each with ``id`` and ``members``).
    Raises ``KpiSelectionError`` naming every id or group Kolada does not have."""
    if selection.is_kkik_only:
        return sorted(set(kkik_ids))
    known = {record["id"] for record in kpi_records if KPI_ID_PATTERN.fullmatch(str(record.get("id", "")))}
    chosen = set(kkik_ids)
    if selection.everything:
        return sorted(chosen | known)
    unknown = [kpi for kpi in selection.kpi_ids if kpi not in known]
    groups = {record["id"]: record for record in group_records}
    missing_groups = [group for group in selection.group_ids if group not in groups]
    if unknown or missing_groups:
        named = ([f"KPI id(s) {', '.join(unknown)} not in Kolada's KPI list"] if unknown else []) + (
            [f"KPI group(s) {', '.join(missing_groups)} not among Kolada's KPI groups"] if missing_groups else [])
        raise KpiSelectionError(f"--kpis: {'; '.join(named)}")
    chosen |= set(selection.kpi_ids)
    for group in selection.group_ids:
        members = {m for m in group_member_ids([groups[group]]) if KPI_ID_PATTERN.fullmatch(m)}
        if not members:
            raise KpiSelectionError(f"--kpis: KPI group {group} ({groups[group].get('title', '')}) has no members")
        chosen |= members
    return sorted(chosen)


def check_against_bundled(selection: KpiSelection, kolada_dir: Path) -> list[str]:
    """:func:`resolve_kpis` against the bundled snapshot's metadata (``kpi.json.gz``, ``kpi_groups.json.gz``),
    so a bad ``--kpis`` is refused before a snapshot load starts."""
    from pipelines.catalogue import kkik_kpi_ids

    def envelope(name: str) -> list[dict]:
        with gzip.open(kolada_dir / name, "rt", encoding="utf-8") as handle:
            return json.load(handle)["values"]

    return resolve_kpis(selection, envelope("kpi.json.gz"), envelope("kpi_groups.json.gz"), kkik_kpi_ids())
