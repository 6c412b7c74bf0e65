"""The survey inbox: files that data staff drop, validated on arrival and landed in raw DuckDB tables.

About half of KKiK's key figures come from external surveys (Servicemätningen, the user surveys of
individ- och familjeomsorg and of the funktionshinder area, SKR's Insikt) and from what the municipalities
measure themselves (e.g. U11401, plats på förskola på önskat placeringsdatum). They arrive as files, not
APIs, and are where most errors enter. Data staff drop each file as published in
``<inbox>/<file_type>/`` (the inbox path is configuration; ``KKIK_INBOX_DIR``, default ``data/inbox``; the
bundled examples are in ``snapshot/inbox``). One schema per file type, as data, in
``expectations/inbox/<file_type>.yml`` (format: :mod:`pipelines.inbox.schemas`).

Modules: ``schemas`` (the declared schemas), ``readers`` (xlsx/CSV, encodings, delimiters, header row),
``workbook`` (the workbook reader's budgets and its child process),
``validate`` (cells and rows), ``landing`` (registry, raw tables, quarantine, transactions).

What happens to a file
----------------------
1. **Identity.** A file is its content: the SHA-256 of its bytes. A hash already in ``raw.inbox_files``
   (accepted *or* rejected) is skipped, whatever the file is called, so the same file dropped twice is
   loaded once, and a rejected file is not retried until its content changes (fix the file and drop it
   again; or, after fixing a schema, delete its registry row to retry the same bytes).
2. **File-level problems reject the whole file** with :class:`InboxFileRejected`, whose message names the
   file, sheet, row and column (``–`` where one does not apply): an empty file; bytes that are neither UTF-8
   nor Windows-1252 (or a file named .xlsx that is not a workbook, or an unreadable workbook); a workbook
   without a sheet of an accepted name (a renamed sheet); no header row in the first rows; a missing
   required column (or a column given twice); a header without data rows.
   **Files that cannot poison a load** are rejected and registered the same way, so the next load skips
   them and goes on: a workbook cut short (an incomplete zip); a workbook whose chosen sheet claims more
   cells than the reader's budget (``<dimension ref="A1:XFD1048576">``), or whose reading needs more memory
   or time than the budget of the child process that reads it (``workbook``); a file larger than
   ``landing.MAX_FILE_BYTES``; a symbolic link that points outside the inbox (never read; registered by the
   link's own name and target).
3. **Row-level problems send that row to quarantine** (``raw.inbox_quarantine``: file, sheet, row number,
   column, value, reason, ``reason_code`` (machine-readable, e.g. ``unknown_municipality``; the list is
   ``validate.REASON_CODES``), the row as JSON; one quarantine row per problem) and the rest of the file lands:
   an unknown municipality code; text in a number column; a value outside its range (a share outside
   0–100, a negative count, a year outside the schema's range); an empty required cell; a value not in a
   strict list (unknown gender or myndighetsområde); duplicate rows (an exact repeat: the first copy lands,
   the repeats go to quarantine; the same key with different values: all those rows go, since which one is
   right is for the sender to say).
4. **Unless too many rows are bad.** If more than the schema's ``max_bad_row_share`` (e.g. 20 %) of the data
   rows have problems, the whole file is rejected (a sign of a wrong layout: shifted columns, another
   survey's file), nothing of it lands, and all its row problems are still written to the quarantine (with
   ``file_status = 'rejected'``) so the sender can see them.
5. **One transaction per file**: its rows in ``raw.inbox__<file_type>`` (with ``load_id``, ``file_sha256``,
   ``file_name``, ``sheet``, ``row_number``), its quarantine rows and its registry row commit together.
6. **Nothing a user dropped is ever deleted, moved or rewritten.** The inbox is only read.

Made-up samples are flagged ``is_synthetic``: a file whose name contains ``made_up_sample`` or
``synthetic``, or a row whose ``synthetic`` column (published e.g. as "Syntetisk") says yes.
"""

from pipelines.inbox.errors import InboxFileRejected
from pipelines.inbox.landing import (
    FileOutcome,
    InboxSummary,
    create_raw_tables,
    ensure_inbox_tables,
    find_new_files,
    land_inbox,
    municipality_ids_from_warehouse,
    read_municipality_ids,
)
from pipelines.inbox.schemas import InboxSchema, SchemaError, load_schema, load_schemas

__all__ = [
    "FileOutcome",
    "InboxFileRejected",
    "InboxSchema",
    "InboxSummary",
    "SchemaError",
    "create_raw_tables",
    "ensure_inbox_tables",
    "find_new_files",
    "land_inbox",
    "load_schema",
    "load_schemas",
    "municipality_ids_from_warehouse",
    "read_municipality_ids",
]
