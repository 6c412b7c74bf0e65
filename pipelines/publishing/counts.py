"""Row counts of the mart's tables, previous publication → this one, as the summary and Dagster show them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RowCount:
    """A mart table's rows in the previous publication (None: it had none) and in this one."""

    before: int | None
    after: int

    def __str__(self) -> str:
        before = "—" if self.before is None else f"{self.before:,}"
        return f"{before} → {self.after:,}"


def row_counts_of(publication: dict) -> dict[str, RowCount]:
    """The row counts a ``publication.json`` records, previous → this publication, table by table."""
    return {name: RowCount(entry.get("previous_rows"), int(entry["rows"]))
            for name, entry in publication.get("tables", {}).items()}
