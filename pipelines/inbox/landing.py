"""Landing the survey and own-reporting files that data staff drop in the inbox.

``land_inbox`` scans ``<inbox_dir>/<file_type>/`` (sub-folders included) for every file type that has a
schema in ``expectations/inbox/``, identifies each file by the SHA-256 of its content, skips files whose
hash is already in the registry ``raw.inbox_files`` (accepted or rejected; but a content accepted under the
same name before, put back after another version replaced it, is *reinstated*: registered again, so it is the
current version once more, without landing its rows twice), and lands each new file in ONE
transaction: its accepted rows into ``raw.inbox__<file_type>``, its bad rows into ``raw.inbox_quarantine``
and one registry row with the outcome. Files are only ever read: never moved, renamed or deleted.
Optionally (``raw_dir``) a byte-for-byte copy of each new file is kept under
``<raw_dir>/inbox/<load_id>/<file_type>/`` with a ``manifest.jsonl`` (hash, size, source path), like the
pages of an API load, so the landed rows can be traced to the exact bytes even if the user later replaces
the file in the inbox.

Links: the inbox reads only what is inside it. A symbolic link to a file inside the inbox is read as that
file; a link to a folder is never followed (the files are read where they really are); a link that points
outside the inbox (a file or a folder) is **not read**: it is rejected and registered with the SHA-256 of the
link itself (its name and target, not of what it points to), so the next load skips it quietly and the same
content, copied into the inbox as a real file, still lands. A file larger than :data:`MAX_FILE_BYTES` is
rejected and registered without being parsed.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from pipelines.inbox.errors import InboxFileRejected
from pipelines.inbox.readers import WORKBOOK_SUFFIXES, read_bytes
from pipelines.inbox.schemas import InboxSchema, load_schemas
from pipelines.inbox.validate import TooManyBadRows, ValidatedFile, validate_rows
from pipelines.landing.load_ids import new_load_id
from pipelines.warehouse import connect, transaction

SOURCE = "inbox"
REGISTRY = "raw.inbox_files"
QUARANTINE = "raw.inbox_quarantine"
SYNTHETIC_NAME_MARKERS = ("made_up_sample", "synthetic")
MAX_FILE_BYTES = 16 << 20  # 100× the largest bundled file; a CSV is parsed in this process (~70 B of RAM per byte)
#: a file at the top of the inbox with one of these names is a misplaced data file (named as not read)
STRAY_DATA_SUFFIXES = (*WORKBOOK_SUFFIXES, ".csv", ".tsv", ".txt")
IGNORED_PREFIXES = (".", "~$")  # hidden files; Excel's lock file while a workbook is open

REGISTRY_DDL = f"""create table if not exists {REGISTRY} (
    file_sha256 varchar not null, file_type varchar not null, file_name varchar not null, file_path varchar not null,
    file_bytes bigint not null, status varchar not null, reason varchar, file_format varchar, sheet varchar,
    encoding varchar, delimiter varchar, header_row integer, data_rows integer, rows_landed integer not null,
    rows_quarantined integer not null, ignored_columns varchar, is_synthetic boolean not null,
    load_id varchar not null, landed_at timestamptz not null)"""

QUARANTINE_DDL = f"""create table if not exists {QUARANTINE} (
    load_id varchar not null, file_sha256 varchar not null, file_type varchar not null, file_name varchar not null,
    file_status varchar not null, sheet varchar, row_number integer, column_name varchar, value varchar,
    reason varchar not null, reason_code varchar, record json, quarantined_at timestamptz not null)"""
# reason_code: one of pipelines.inbox.validate.REASON_CODES (e.g. unknown_municipality), for audits


@dataclass
class FileOutcome:
    """What happened to one file of the inbox."""

    file_name: str  # relative to the inbox: <file_type>/<name>
    file_type: str
    sha256: str
    status: str  # accepted | rejected | skipped | reinstated (an earlier version of the name back in force)
    reason: str | None = None
    rows_landed: int = 0
    rows_quarantined: int = 0
    #: a skipped file whose content landed under another name first (a copy, or a file renamed): that name
    copy_of: str | None = None


@dataclass
class InboxSummary:
    """What one ``land_inbox`` call did; shown in Dagster metadata and the CLI."""

    load_id: str
    inbox_dir: Path
    files: list[FileOutcome] = field(default_factory=list)
    unknown_folders: list[str] = field(default_factory=list)
    #: files directly in the inbox folder, outside every file type's folder: not read (a misplaced file)
    stray_files: list[str] = field(default_factory=list)

    def ignored(self) -> str:
        """What the inbox holds that no load will read, for the console: "" when nothing."""
        parts = [f"folder {name}/ (no such file type)" for name in self.unknown_folders]
        parts += [f"{name} (not in a file type's folder)" for name in self.stray_files]
        return "; ".join(parts)

    def _with(self, status: str) -> list[FileOutcome]:
        return [f for f in self.files if f.status == status]

    @property
    def accepted(self) -> list[FileOutcome]:
        return self._with("accepted")

    @property
    def rejected(self) -> list[FileOutcome]:
        return self._with("rejected")

    @property
    def skipped(self) -> list[FileOutcome]:
        return self._with("skipped")

    @property
    def reinstated(self) -> list[FileOutcome]:
        return self._with("reinstated")

    @property
    def copies(self) -> list[FileOutcome]:
        """Skipped files whose content landed under another name: not landed again, so what they hold counts
        under that name only (a renamed file is no new version of anything)."""
        return [f for f in self.skipped if f.copy_of is not None]

    @property
    def rows_landed(self) -> int:
        return sum(f.rows_landed for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    def as_metadata(self) -> dict:
        return {
            "load_id": self.load_id,
            "files_accepted": len(self.accepted),
            "files_rejected": len(self.rejected),
            "files_skipped": len(self.skipped),
            "files_reinstated": len(self.reinstated),
            "rows_landed": self.rows_landed,
            "rows_quarantined": self.rows_quarantined,
            "rejected": {f.file_name: f.reason for f in self.rejected},
            "unknown_folders": self.unknown_folders,
            "stray_files": self.stray_files,
        }


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class InboxEntry:
    """A candidate file of the inbox. ``outside`` is where a symbolic link that leaves the inbox points
    (such an entry is never read)."""

    file_type: str
    path: Path  # as found in the inbox, not resolved
    outside: str | None = None

    def name(self, inbox_dir: Path) -> str:
        return self.path.relative_to(inbox_dir).as_posix()


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def inbox_files(inbox_dir: Path, file_types: Iterable[str]) -> list[InboxEntry]:
    """Every candidate file, in a stable order; see the module docstring for links."""
    inbox_dir = Path(inbox_dir)
    root = inbox_dir.resolve()
    found: list[InboxEntry] = []
    for file_type in sorted(file_types):
        folder = inbox_dir / file_type
        if folder.is_symlink():
            if not _inside(folder.resolve(), root):
                found.append(InboxEntry(file_type, folder, os.readlink(folder)))
            continue
        if not folder.is_dir():
            continue
        for current, dirs, files in os.walk(folder):  # links to folders are not followed
            here = Path(current)
            dirs[:] = sorted(d for d in dirs if not d.startswith(IGNORED_PREFIXES))
            for entry in sorted([*files, *(d for d in dirs if (here / d).is_symlink())]):
                path = here / entry
                if entry.startswith(IGNORED_PREFIXES):
                    continue
                if path.is_symlink():
                    if not _inside(path.resolve(), root):
                        found.append(InboxEntry(file_type, path, os.readlink(path)))
                    elif path.is_file():
                        found.append(InboxEntry(file_type, path))
                elif path.is_file():  # not a FIFO, socket or device
                    found.append(InboxEntry(file_type, path))
    return sorted(found, key=lambda e: (e.file_type, e.path.as_posix()))


def _link_sha256(entry: InboxEntry, name: str) -> str:
    """A link out of the inbox is identified by itself (its name and target), never by what it points to."""
    return hashlib.sha256(f"symlink\0{name}\0{entry.outside}".encode("utf-8", "surrogateescape")).hexdigest()


@dataclass
class _Candidate:
    """An entry as the load sees it: its identity, its bytes (None if it is not read) and why it is refused."""

    sha: str
    data: bytes | None
    size: int
    refusal: InboxFileRejected | None = None
    file_format: str | None = None


def _open_candidate(entry: InboxEntry, name: str, root: Path) -> _Candidate:
    """Read an entry once (the hash, the copy and the parse see the same bytes), unless it is a link out of
    the inbox or too large to parse."""
    if entry.outside is not None:
        return _Candidate(_link_sha256(entry, name), None, 0, InboxFileRejected(
            name, f"a symbolic link to {entry.outside!r}, outside the inbox: the inbox reads only files inside "
            f"it ({root}), so the link was not followed. Copy the file into the inbox instead"), "symlink")
    target = entry.path.resolve()
    if not _inside(target, root):  # replaced by a link since the scan
        return _Candidate(_link_sha256(InboxEntry(entry.file_type, entry.path, str(target)), name), None, 0,
                          InboxFileRejected(name, f"a symbolic link to {str(target)!r}, outside the inbox: not read"),
                          "symlink")
    descriptor = os.open(target, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise OSError(f"{name}: not a regular file")
        if info.st_size > MAX_FILE_BYTES:
            digest = hashlib.sha256()
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
            return _Candidate(digest.hexdigest(), None, info.st_size, InboxFileRejected(
                name, f"the file has {info.st_size / 2**20:,.1f} MiB, more than the {MAX_FILE_BYTES / 2**20:g} MiB "
                "an inbox file may have (survey files have a few MB): is it the right file? Split it if it is"))
        data = handle.read()
    return _Candidate(hashlib.sha256(data).hexdigest(), data, len(data))


def _identity(entry: InboxEntry, name: str) -> str:
    """The registry key of an entry without keeping its bytes (for the sensor)."""
    return _link_sha256(entry, name) if entry.outside is not None else sha256_of(entry.path)


def create_raw_tables(duckdb_path: Path, *, schemas: dict[str, InboxSchema] | None = None,
                      expectations_dir: Path | None = None) -> None:
    """Create the registry, the quarantine and every ``raw.inbox__<file_type>`` table if missing (empty), and
    add columns a schema gained since (so dbt builds on an empty inbox too)."""
    schemas = schemas or load_schemas(expectations_dir)
    with connect(duckdb_path) as con:
        ensure_inbox_tables(con, schemas)


def ensure_inbox_tables(con, schemas: dict[str, InboxSchema] | None = None) -> None:
    """On an open connection: create the registry, the quarantine and every ``raw.inbox__<file_type>`` table if
    missing, and add columns a schema gained since. For ``pipelines.landing.schema.ensure_raw_tables``."""
    schemas = schemas or load_schemas()
    con.execute("create schema if not exists raw")
    con.execute(REGISTRY_DDL)
    con.execute(QUARANTINE_DDL)
    con.execute(f"alter table {QUARANTINE} add column if not exists reason_code varchar")  # warehouses before it
    for schema in schemas.values():
        con.execute(schema.ddl())
        for name, sql_type in schema.raw_columns():
            con.execute(f"alter table {schema.table} add column if not exists {name} {sql_type.replace(' not null', '')}")


@dataclass
class _KnownContents:
    """What the registry says of contents seen before: each accepted content's first name and load (a copy
    under another name is skipped: its rows landed once), and each rejected content *under its type and name*
    (skipped there, as it would be rejected again; the same content moved to the right folder or renamed is
    read anew: a rejection landed nothing)."""

    accepted: dict[str, tuple[str, str]]
    rejected: dict[tuple[str, str, str], str]

    @classmethod
    def read(cls, con) -> _KnownContents:
        rows = con.execute(f"""select file_sha256, file_type, file_name, load_id, status from {REGISTRY}
                                 order by landed_at""").fetchall()
        accepted: dict[str, tuple[str, str]] = {}
        rejected: dict[tuple[str, str, str], str] = {}
        for sha, file_type, name, load, status in rows:
            if status == "accepted":
                accepted.setdefault(sha, (name, load))
            else:
                rejected.setdefault((sha, file_type, name), load)
        return cls(accepted, rejected)

    def rejected_here(self, sha: str, file_type: str, name: str) -> str | None:
        """The load that rejected this content under this type and name, if one did (and none accepted it)."""
        return None if sha in self.accepted else self.rejected.get((sha, file_type, name))


def _earlier_version(con, sha: str, file_type: str, name: str) -> dict | None:
    """The newest registration of ``sha`` accepted under ``name`` (``load_id``, ``landed_at``) when a later,
    other content under that name is the newest version: a file put back as it was (a correction undone).
    None otherwise (a new content, the current version itself, or a copy under another name, which the inbox
    skips)."""
    rows = con.execute(f"""
        select file_sha256, load_id, landed_at from {REGISTRY}
        where file_type = ? and file_name = ? and status = 'accepted'
        order by landed_at desc""", [file_type, name]).fetchall()
    if not rows or rows[0][0] == sha:
        return None
    earlier = next((row for row in rows if row[0] == sha), None)
    if earlier is None:
        return None
    return {"file_sha256": sha, "file_type": file_type, "file_name": name, "load_id": earlier[1],
            "landed_at": earlier[2]}


def _reinstate(con, earlier: dict, load_id: str) -> FileOutcome:
    """Register ``earlier`` (from :func:`_earlier_version`) again, now: the newest accepted registration of a
    content under a name is its current version (``int_inbox_file_years``), so the rows it landed then count
    again for the years it holds, as if it had been dropped anew. Nothing is landed twice: raw keeps the rows
    of then; the registry row is a copy of then's, with this load, this time and the reason."""
    reason = (f"reinstated: the content landed in load {earlier['load_id']} ({earlier['landed_at']:%Y-%m-%d %H:%M}) "
              "is again the current version of its name")
    con.execute(f"""
        insert into {REGISTRY}
        select * replace (?::varchar as load_id, ?::timestamptz as landed_at, ?::varchar as reason)
        from {REGISTRY}
        where file_sha256 = ? and file_type = ? and file_name = ? and status = 'accepted' and load_id = ?
        limit 1""", [load_id, datetime.now(UTC), reason, earlier["file_sha256"], earlier["file_type"],
                     earlier["file_name"], earlier["load_id"]])
    return FileOutcome(earlier["file_name"], earlier["file_type"], earlier["file_sha256"], "reinstated", reason)


def earlier_inbox_folders(duckdb_path: Path) -> list[str]:
    """The inbox folders earlier loads landed files from (newest first), read from ``raw.inbox_files``: what a
    load whose inbox folder is missing names, so a mistyped ``KKIK_INBOX_DIR`` shows as one. Empty without a
    warehouse or a registry."""
    if not Path(duckdb_path).exists():
        return []
    with connect(Path(duckdb_path), read_only=True) as con:
        if not con.execute("select count(*) from information_schema.tables where table_schema = 'raw' "
                           "and table_name = 'inbox_files'").fetchall()[0][0]:
            return []
        rows = con.execute("""
            select folder from (
                select left(file_path, length(file_path) - length(file_name) - 1) as folder, max(landed_at) as last
                from raw.inbox_files where ends_with(replace(file_path, '\\', '/'), '/' || file_name)
                group by folder)
            order by last desc""").fetchall()
    return [folder for (folder,) in rows]


def find_new_files(inbox_dir: Path, duckdb_path: Path, *, expectations_dir: Path | None = None) -> list[Path]:
    """Files in the inbox whose content has not been landed or rejected yet, or that put an earlier version
    of their name back (for a Dagster sensor)."""
    schemas = load_schemas(expectations_dir)
    candidates = inbox_files(Path(inbox_dir), schemas)
    opened = connect(Path(duckdb_path), read_only=True) if Path(duckdb_path).exists() else nullcontext(None)
    with opened as con:
        registered = con is not None and con.execute(
            "select count(*) from information_schema.tables where table_schema = 'raw' and table_name = 'inbox_files'"
        ).fetchall()[0][0]
        known = _KnownContents.read(con) if registered else _KnownContents({}, {})
        new, seen = [], set()
        for entry in candidates:
            name = entry.name(Path(inbox_dir))
            sha = _identity(entry, name)
            if sha in seen or known.rejected_here(sha, entry.file_type, name):
                continue
            if sha not in known.accepted or _earlier_version(con, sha, entry.file_type, name) is not None:
                new.append(entry.path)
                seen.add(sha)
        return new


def land_inbox(
    inbox_dir: Path,
    duckdb_path: Path,
    *,
    municipality_ids: set[str],
    load_id: str | None = None,
    raw_dir: Path | None = None,
    expectations_dir: Path | None = None,
    progress=None,
) -> InboxSummary:
    """Land every new file of ``inbox_dir``; see the module docstring. ``municipality_ids`` are the codes a
    file may use (Kolada's municipality list); ``progress`` an optional callable taking a short message."""
    say = progress or (lambda message: None)
    inbox_dir = Path(inbox_dir)
    schemas = load_schemas(expectations_dir)
    load_id = load_id or new_load_id()
    summary = InboxSummary(load_id=load_id, inbox_dir=inbox_dir)
    if inbox_dir.is_dir():
        top = sorted(inbox_dir.iterdir())
        summary.unknown_folders = [p.name for p in top
                                   if p.is_dir() and p.name not in schemas and not p.name.startswith(".")]
        summary.stray_files = [p.name for p in top if p.is_file() and not p.is_symlink()
                               and not p.name.startswith(IGNORED_PREFIXES)
                               and p.suffix.lower() in STRAY_DATA_SUFFIXES]  # a README there is no data
    municipality_ids = set(municipality_ids)
    if not municipality_ids:
        raise ValueError("municipality_ids is empty: pass the codes of Kolada's municipality list")

    copies = _RawCopies(Path(raw_dir), load_id) if raw_dir is not None else None
    with connect(Path(duckdb_path)) as con:
        ensure_inbox_tables(con, schemas)
        known = _KnownContents.read(con)
        root = inbox_dir.resolve()
        for entry in inbox_files(inbox_dir, schemas):
            name, file_type, path = entry.name(inbox_dir), entry.file_type, entry.path
            candidate = _open_candidate(entry, name, root)
            sha = candidate.sha
            rejected_in = known.rejected_here(sha, file_type, name)
            if rejected_in:
                summary.files.append(FileOutcome(name, file_type, sha, "skipped",
                                                 f"rejected in load {rejected_in}: correct it, and it lands"))
                continue
            if sha in known.accepted:
                earlier = _earlier_version(con, sha, file_type, name)
                if earlier is not None:
                    summary.files.append(_reinstate(con, earlier, load_id))
                    say(f"inbox {name}: reinstated (the content of load {earlier['load_id']})")
                    continue
                first_name, first_load = known.accepted[sha]
                same = "" if first_name == name else f" as {first_name!r}"
                summary.files.append(FileOutcome(name, file_type, sha, "skipped",
                                                 f"already processed{same} in load {first_load}",
                                                 copy_of=first_name if first_name != name else None))
                continue
            if copies is not None and candidate.data is not None:
                copies.keep(name, candidate.data, sha, path)
            outcome = _land_file(con, schemas[file_type], path, candidate, name, municipality_ids, load_id)
            if outcome.status == "accepted":
                known.accepted[sha] = (name, load_id)
            else:
                known.rejected[(sha, file_type, name)] = load_id
            summary.files.append(outcome)
            say(f"inbox {name}: {outcome.status}"
                + (f", {outcome.rows_landed} rows landed, {outcome.rows_quarantined} quarantined"
                   if outcome.status == "accepted" else f": {outcome.reason}"))
    if copies is not None:
        copies.mark_complete(summary)
    return summary


def _land_file(con, schema: InboxSchema, path: Path, candidate: _Candidate, name: str, municipality_ids: set[str],
               load_id: str) -> FileOutcome:
    landed_at = datetime.now(UTC)
    sha, data = candidate.sha, candidate.data
    synthetic_file = any(marker in path.name.lower() for marker in SYNTHETIC_NAME_MARKERS)
    registry = {
        "file_sha256": sha, "file_type": schema.file_type, "file_name": name,
        "file_path": str(path.absolute() if candidate.data is None else path.resolve()),
        "file_bytes": candidate.size, "status": "accepted", "reason": None, "file_format": candidate.file_format,
        "sheet": None,
        "encoding": None, "delimiter": None, "header_row": None, "data_rows": None, "rows_landed": 0,
        "rows_quarantined": 0, "ignored_columns": None, "is_synthetic": synthetic_file, "load_id": load_id,
        "landed_at": landed_at,
    }
    validated: ValidatedFile | None = None
    problems, file_status = [], "accepted"
    try:
        if candidate.refusal is not None:
            raise candidate.refusal
        parsed = read_bytes(data, schema, file_name=name, suffix=path.suffix.lower())
        registry.update(file_format=parsed.file_format, sheet=parsed.sheet, encoding=parsed.encoding,
                        delimiter=parsed.delimiter, header_row=parsed.header_row, data_rows=len(parsed.rows),
                        ignored_columns=json.dumps(parsed.ignored_columns, ensure_ascii=False))
        validated = validate_rows(parsed, schema, municipality_ids, synthetic_file=synthetic_file)
        problems = validated.problems
    except TooManyBadRows as exc:
        registry.update(status="rejected", reason=str(exc))
        problems, file_status = exc.problems, "rejected"
    except InboxFileRejected as exc:
        registry.update(status="rejected", reason=str(exc))
        file_status = "rejected"

    sheet = registry["sheet"]
    quarantine = pd.DataFrame(
        {
            "load_id": load_id, "file_sha256": sha, "file_type": schema.file_type, "file_name": name,
            "file_status": file_status, "sheet": sheet,
            "row_number": pd.array([p.row_number for p in problems], dtype="Int64"),
            "column_name": [p.column for p in problems],
            "value": [p.value for p in problems],
            "reason": [p.message(name, sheet) for p in problems],
            "reason_code": [p.code for p in problems],
            "record": [json.dumps(p.record, ensure_ascii=False) for p in problems],
            "quarantined_at": landed_at,
        },
        index=range(len(problems)),
    )
    registry["rows_quarantined"] = len({p.row_number for p in problems})
    rows = validated.rows if validated is not None and file_status == "accepted" else []
    registry["rows_landed"] = len(rows)

    with transaction(con):
        if rows:
            frame = _raw_frame(schema, rows, load_id=load_id, sha=sha, name=name, sheet=sheet, landed_at=landed_at)
            con.register("incoming", frame)
            con.execute(f"insert into {schema.table} by name select * from incoming")
            con.unregister("incoming")
        if len(quarantine):
            con.register("incoming", quarantine)
            con.execute(f"insert into {QUARANTINE} by name select * exclude (record), record::json as record from incoming")
            con.unregister("incoming")
        con.register("incoming", pd.DataFrame([registry]))
        con.execute(f"insert into {REGISTRY} by name select * from incoming")
        con.unregister("incoming")
    return FileOutcome(name, schema.file_type, sha, registry["status"], registry["reason"], registry["rows_landed"],
                       registry["rows_quarantined"])


def _raw_frame(schema: InboxSchema, rows: list[dict], *, load_id: str, sha: str, name: str, sheet: str | None,
               landed_at: datetime) -> pd.DataFrame:
    columns = [c for c, _ in schema.raw_columns()]
    frame = pd.DataFrame.from_records(rows)
    frame["load_id"], frame["file_sha256"], frame["file_name"] = load_id, sha, name
    frame["sheet"], frame["landed_at"] = sheet, landed_at
    for column, sql_type in schema.raw_columns():
        if column not in frame:
            frame[column] = None
        if sql_type in ("bigint", "integer") and column != "row_number":
            frame[column] = pd.array(frame[column].tolist(), dtype="Int64")
        elif sql_type == "double":
            frame[column] = pd.array(frame[column].tolist(), dtype="Float64")
        elif sql_type == "varchar":
            frame[column] = frame[column].astype(object)
    return frame[columns]


class _RawCopies:
    """Byte-for-byte copies of the files a load processed, with a manifest (like an API load's pages);
    ``_SUCCESS`` is written after the last file's transaction committed."""

    def __init__(self, raw_dir: Path, load_id: str):
        self.root = raw_dir / SOURCE / load_id
        self.files = 0

    def keep(self, name: str, data: bytes, sha: str, source: Path) -> None:
        target = self.root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        entry = {"file": name, "sha256": sha, "bytes": len(data), "source": str(source.resolve()),
                 "copied_at": datetime.now(UTC).isoformat()}
        with open(self.root / "manifest.jsonl", "a", encoding="utf-8") as manifest:
            manifest.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self.files += 1

    def mark_complete(self, summary: InboxSummary) -> None:
        if self.files:
            (self.root / "_SUCCESS").write_text(json.dumps(summary.as_metadata(), indent=2, ensure_ascii=False),
                                                encoding="utf-8")


def read_municipality_ids(path: Path, *, types: Iterable[str] | None = None) -> set[str]:
    """The codes of a Kolada ``/municipality`` response saved as JSON (gzip or not): the envelope
    ``{"count", "values": [{"id", "title", "type"}]}`` or a bare list. ``types`` (e.g. ``{"K"}``) filters."""
    import gzip

    data = Path(path).read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    body = json.loads(data)
    records = body["values"] if isinstance(body, dict) else body
    wanted = set(types) if types else None
    return {r["id"] for r in records if wanted is None or r.get("type") in wanted}


def municipality_ids_from_warehouse(duckdb_path: Path) -> set[str]:
    """The codes of Kolada's municipality list as landed by the latest Kolada load (``raw.kolada__municipality``),
    for callers that run after the Kolada landing. Raises ``LookupError`` if no list has been landed."""
    with connect(Path(duckdb_path), read_only=True) as con:
        rows = con.execute(
            "select distinct record ->> 'id' from raw.kolada__municipality "
            "where load_id = (select max(load_id) from raw.kolada__municipality)"
        ).fetchall()
    ids = {code for (code,) in rows if code}
    if not ids:
        raise LookupError(f"{duckdb_path}: raw.kolada__municipality is empty; land Kolada first")
    return ids
