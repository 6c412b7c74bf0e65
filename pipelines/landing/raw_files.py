"""Keeping every response page on disk exactly as received, before anything is parsed into DuckDB.

A load writes into ``<raw_dir>/<source>/<load id>/`` and marks the folder complete with ``_SUCCESS``
only after the DuckDB transaction committed. A folder without it is a load that failed: its pages stay
for inspection and are never read as if complete.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

SUCCESS_MARKER = "_SUCCESS"


@dataclass
class RawLoadFolder:
    """The folder of one load of one source, with a manifest line per page written."""

    root: Path
    pages_written: int = 0
    bytes_written: int = 0
    _counters: dict[str, int] = field(default_factory=dict)
    _files: dict[str, list[Path]] = field(default_factory=dict)

    @classmethod
    def create(cls, raw_dir: Path, source: str, load_id: str) -> RawLoadFolder:
        root = raw_dir / source / load_id
        root.mkdir(parents=True, exist_ok=False)
        return cls(root)

    def write_page(self, entity: str, url: str, fetched_at: float, body: bytes, suffix: str = "json",
                   asked: dict | None = None) -> Path:
        """Write one page body unchanged and append its URL, time and hash to ``manifest.jsonl`` (and
        ``asked``, what its query asked for, e.g. a Kolada data page's kpis and years, when given)."""
        number = self._counters.get(entity, 0) + 1
        self._counters[entity] = number
        folder = self.root / entity
        folder.mkdir(exist_ok=True)
        path = folder / f"page-{number:04d}.{suffix}"
        path.write_bytes(body)
        entry = {
            "entity": entity,
            "file": str(path.relative_to(self.root)),
            "url": url,
            "fetched_at": fetched_at,
            "bytes": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
            **({"asked": asked} if asked is not None else {}),
        }
        with open(self.manifest_path, "a", encoding="utf-8") as manifest:
            manifest.write(json.dumps(entry) + "\n")
        self._files.setdefault(entity, []).append(path)
        self.pages_written += 1
        self.bytes_written += len(body)
        return path

    def page_files(self, entity: str) -> list[Path]:
        """The pages of ``entity`` written so far, in the order they arrived (what DuckDB reads back)."""
        return list(self._files.get(entity, ()))

    @property
    def manifest_path(self) -> Path:
        """``manifest.jsonl``: one line per page with its URL, fetch time and sha256."""
        return self.root / "manifest.jsonl"

    def mark_complete(self, summary: dict) -> None:
        (self.root / SUCCESS_MARKER).write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")

    def is_complete(self) -> bool:
        return (self.root / SUCCESS_MARKER).exists()


@dataclass
class LoadStart:
    """What every landing sets up first: its id, the years as sorted ints, its raw folder, its start time
    and where its progress messages go."""

    load_id: str
    years: list[int]
    folder: RawLoadFolder
    started: datetime
    say: Callable[[str], None]


def start_load(raw_dir: Path, source: str, years: Iterable[int], load_id: str | None = None,
               progress: Callable[[str], None] | None = None) -> LoadStart:
    """Open the raw folder of a new load of ``source`` (``load_id`` given or made from the time)."""
    from pipelines.landing.load_ids import new_load_id

    load_id = load_id or new_load_id()
    return LoadStart(load_id=load_id, years=sorted({int(y) for y in years}),
                     folder=RawLoadFolder.create(raw_dir, source, load_id),
                     started=datetime.now(UTC), say=progress or (lambda message: None))
