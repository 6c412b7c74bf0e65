"""Reading a workbook within a memory and time budget, so that one hostile or broken file is rejected
instead of ending the load.

A 1.6 kB xlsx can make python-calamine allocate 512 GiB (a cell at XFD1048576: the reader builds the dense
range from A1) and abort the process; a file that is rejected that way is never registered, so every later
load dies on it again. Two guards, both before a cell reaches Python:

1. **In this process, with the standard library only** (:func:`check_zip`, :func:`sheet_dimension`): the
   zip must be complete (a file cut short has no central directory), its members may not claim more than
   :data:`MAX_UNCOMPRESSED_BYTES` together, and the chosen sheet's ``<dimension ref>`` (streamed: only
   the elements before ``<sheetData>`` are parsed) may not claim more than :data:`MAX_SHEET_CELLS` cells.
2. **calamine runs in a child process** (``_workbook_child.py``, started by path so it imports only
   calamine) with an address-space limit (``RLIMIT_AS``, :data:`WORKBOOK_MEMORY_BYTES`) and a wall-clock
   limit (:data:`WORKBOOK_TIMEOUT_SECONDS`). Whatever the child does (abort on a failed allocation, a
   segfault, an endless loop), this process gets an :class:`InboxFileRejected` with the reason.

The cost is one short-lived process per workbook (tens of milliseconds; see
``tests/inbox/test_hostile_files.py::test_child_process_overhead`` for a figure printed on this machine).
"""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import signal
import subprocess
import sys
import tempfile
import threading
import zipfile
from pathlib import Path, PurePosixPath
from typing import ClassVar, Self
from xml.etree.ElementTree import ParseError, iterparse

from pipelines.inbox.errors import InboxFileRejected

WORKBOOK_MEMORY_BYTES = 1 << 30  # 1 GiB of address space for the reader (the largest real sheet needs ~60 MB)
WORKBOOK_TIMEOUT_SECONDS = 60.0
MAX_SHEET_CELLS = 5_000_000  # rows × columns a sheet may claim; the largest real survey sheet has ~50,000
MAX_UNCOMPRESSED_BYTES = 256 << 20  # the zip's members together; the largest real workbook unpacks to 2.3 MB
CHILD = Path(__file__).with_name("_workbook_child.py")

_CELL = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d{1,7})")
_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


# ------------------------------------------------------------------------------------ checks in-process


def check_zip(data: bytes, file_name: str) -> zipfile.ZipFile:
    """The workbook's zip, or :class:`InboxFileRejected` if it is incomplete or claims too much."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise InboxFileRejected(
            file_name, f"the workbook is truncated or corrupt: not a complete zip archive ({exc}; "
            f"{len(data)} bytes). Was the upload or copy cut short? Save or export it again") from exc
    claimed = sum(m.file_size for m in members)
    if claimed > MAX_UNCOMPRESSED_BYTES:
        raise InboxFileRejected(
            file_name, f"the workbook unpacks to {claimed / 2**20:,.0f} MiB, more than the "
            f"{MAX_UNCOMPRESSED_BYTES / 2**20:,.0f} MiB the inbox reads (a zip bomb, or not a survey file)")
    return archive


def _cell_position(ref: str) -> tuple[int, int] | None:
    match = _CELL.fullmatch(ref.strip())
    if not match:
        return None
    column = 0
    for letter in match.group(1).upper():
        column = column * 26 + ord(letter) - 64
    return int(match.group(2)), column


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → worksheet part (``xl/worksheets/sheet2.xml``), from the workbook and its relationships."""
    names = set(archive.namelist())
    workbook = "xl/workbook.xml"
    if "_rels/.rels" in names:
        for _, element in iterparse(archive.open("_rels/.rels")):
            if element.tag == f"{_PKG_REL_NS}Relationship" and element.get("Type", "").endswith("/officeDocument"):
                workbook = element.get("Target", workbook).lstrip("/")
    if workbook not in names:
        return {}
    folder = PurePosixPath(workbook).parent
    rels_path = f"{folder}/_rels/{PurePosixPath(workbook).name}.rels"
    targets: dict[str, str] = {}
    if rels_path in names:
        for _, element in iterparse(archive.open(rels_path)):
            if element.tag == f"{_PKG_REL_NS}Relationship":
                target = element.get("Target", "")
                targets[element.get("Id", "")] = target.lstrip("/") if target.startswith("/") else str(folder / target)
    parts = {}
    for _, element in iterparse(archive.open(workbook)):
        if element.tag == f"{_MAIN_NS}sheet":
            part = targets.get(element.get(f"{_REL_NS}id", ""))
            if part in names:
                parts[element.get("name", "")] = part
    return parts


def sheet_dimension(archive: zipfile.ZipFile, sheet: str) -> tuple[int, int] | None:
    """(rows, columns) the sheet's ``<dimension ref="A1:XFD1048576">`` claims, or None (no such element, or
    not an xlsx sheet). Streams the part and stops at ``<sheetData>``, so the cells are never parsed here."""
    try:
        part = _sheet_parts(archive).get(sheet)
        if part is None:
            return None
        for _, element in iterparse(archive.open(part), events=("start",)):
            if element.tag == f"{_MAIN_NS}sheetData":
                return None
            if element.tag == f"{_MAIN_NS}dimension":
                corners = [_cell_position(c) for c in element.get("ref", "").split(":")]
                if not corners or None in corners:
                    return None
                (top, left), (bottom, right) = corners[0], corners[-1]
                return abs(bottom - top) + 1, abs(right - left) + 1
    except (ParseError, zipfile.BadZipFile, EOFError, ValueError):
        return None  # the child reports a broken sheet with calamine's own words
    return None


def check_sheet_size(archive: zipfile.ZipFile, sheet: str, file_name: str) -> None:
    """Reject a sheet whose declared dimension is larger than the reader's budget."""
    claimed = sheet_dimension(archive, sheet)
    if claimed is None:
        return
    rows, columns = claimed
    if rows * columns > MAX_SHEET_CELLS:
        raise InboxFileRejected(
            file_name, f"the sheet claims {rows:,} rows × {columns:,} columns ({rows * columns:,} cells; its "
            f"<dimension> element), more than the {MAX_SHEET_CELLS:,} cells the inbox reads: reading it could "
            "take hundreds of GB of memory. Delete the empty rows and columns around the table, or save it as CSV",
            sheet=sheet)


# ---------------------------------------------------------------------------------------- child process


class _Unpickler(pickle.Unpickler):
    """Only the cell types calamine returns; the child is ours, but what it relays comes from the file."""

    ALLOWED: ClassVar[set[tuple[str, str]]] = {("datetime", "datetime"), ("datetime", "date"), ("datetime", "time"), ("datetime", "timedelta"),
               ("datetime", "timezone")}

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"unexpected type {module}.{name} from the workbook reader")


class WorkbookReader:
    """One child process reading one workbook: :meth:`sheet_names`, then :meth:`read` of the chosen sheet.

    Use as a context manager; leaving it kills the child if it is still running.
    """

    def __init__(self, data: bytes, file_name: str, *, memory_bytes: int | None = None, timeout: float | None = None):
        self.file_name = file_name
        self.memory_bytes = memory_bytes or WORKBOOK_MEMORY_BYTES
        self.timeout = timeout or WORKBOOK_TIMEOUT_SECONDS
        self._data = data
        self._timed_out = threading.Event()

    def __enter__(self) -> Self:
        self._stderr = tempfile.TemporaryFile()
        self._process = subprocess.Popen(
            [sys.executable, "-I", str(CHILD), str(self.memory_bytes)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
            env={**os.environ, "RUST_BACKTRACE": "0"},  # one line on an aborted allocation, not a stack trace
        )
        self._timer = threading.Timer(self.timeout, self._kill_on_timeout)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        for stream in (self._process.stdin, self._process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self._stderr.close()

    def _kill_on_timeout(self) -> None:
        self._timed_out.set()
        self._process.kill()

    def sheet_names(self) -> list[str]:
        try:
            self._process.stdin.write(len(self._data).to_bytes(8, "big") + self._data)
            self._process.stdin.flush()
            line = self._process.stdout.readline()
        except (BrokenPipeError, ConnectionResetError):
            line = b""
        if not line:
            raise self._failure(None)
        answer = json.loads(line)
        if "error" in answer:
            raise InboxFileRejected(self.file_name, f"unreadable workbook (truncated or corrupt: {answer['error']})")
        return list(answer["sheets"])

    def read(self, sheet: str) -> list[list]:
        try:
            self._process.stdin.write(json.dumps({"sheet": sheet}).encode() + b"\n")
            self._process.stdin.close()
            payload = self._process.stdout.read()
        except (BrokenPipeError, ConnectionResetError):
            payload = b""
        self._process.wait()
        if not payload:
            raise self._failure(sheet)
        status, result = _Unpickler(io.BytesIO(payload)).load()
        if status != "ok":
            raise InboxFileRejected(self.file_name, f"unreadable sheet ({result})", sheet=sheet)
        return result

    def _failure(self, sheet: str | None) -> InboxFileRejected:
        """Why the child ended without an answer, as a rejection of the file."""
        self._process.wait()
        if self._timed_out.is_set():
            return InboxFileRejected(
                self.file_name, f"reading the workbook took longer than {self.timeout:g} s, the inbox's time "
                "budget per workbook: the file was not read (save it again, or as CSV)", sheet=sheet)
        self._stderr.seek(0)
        stderr = self._stderr.read().decode("utf-8", "replace")
        code = self._process.returncode
        how = f"signal {signal.Signals(-code).name}" if code < 0 and -code in signal.valid_signals() else f"exit {code}"
        if "memory allocation of" in stderr or "MemoryError" in stderr:
            wanted = re.search(r"memory allocation of (\d+) bytes", stderr)
            asked = f" (it asked for {int(wanted.group(1)) / 2**30:,.0f} GiB)" if wanted else ""
            return InboxFileRejected(
                self.file_name, f"reading the workbook needs more than the {self.memory_bytes / 2**30:g} GiB "
                f"memory budget{asked}: a sheet whose cells span a huge range (e.g. a cell at XFD1048576). "
                "Delete the cells far from the table, or save it as CSV", sheet=sheet)
        last = next((line for line in reversed(stderr.strip().splitlines()) if line.strip()), "no message")
        return InboxFileRejected(self.file_name, f"the workbook reader crashed ({how}: {last[:300]})", sheet=sheet)
