"""The child process that opens a workbook with python-calamine, under a memory limit.

Run as a script by path (``python _workbook_child.py MEMORY_BYTES``), never imported by the pipeline: it
imports only the standard library and python-calamine, so it starts in a few tens of milliseconds, and a
workbook that makes the reader allocate without bound (a cell at XFD1048576 makes calamine ask for 512 GiB)
or crash ends this process, not the load. The parent is :mod:`pipelines.inbox.workbook`.

Protocol (binary, on stdin/stdout):

1. parent → child: 8 bytes big-endian length, then the workbook's bytes;
2. child → parent: one JSON line, ``{"sheets": [...]}`` or ``{"error": "..."}``;
3. parent → child: one JSON line, ``{"sheet": NAME}`` (or ``{"sheet": null}``: stop);
4. child → parent: a pickle of ``("ok", grid)`` or ``("error", message)``; the grid is a list of rows of
   cells (str, int, float, bool, None, datetime/date/time/timedelta).
"""

import io
import json
import pickle
import sys


def _limit_memory(limit: int) -> None:
    """Cap the address space; an allocation beyond it fails (calamine then aborts: the parent sees a signal).
    Where the platform has no such limit (Windows; macOS refuses RLIMIT_AS), the reader still runs in its
    own process, so a crash is still only this process's."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass


def _reply(payload: object) -> None:
    sys.stdout.buffer.write(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.buffer.flush()


def main() -> int:
    _limit_memory(int(sys.argv[1]))
    from python_calamine import CalamineWorkbook

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    size = int.from_bytes(stdin.read(8), "big")
    data = stdin.read(size)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = [str(n) for n in workbook.sheet_names]
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - calamine raises its own types for corrupt zips and XML
        stdout.write(json.dumps({"error": str(exc)}).encode() + b"\n")
        stdout.flush()
        return 0
    stdout.write(json.dumps({"sheets": names}).encode() + b"\n")
    stdout.flush()
    chosen = json.loads(stdin.readline() or b'{"sheet": null}')["sheet"]
    if chosen is None:
        return 0
    try:
        grid = workbook.get_sheet_by_name(chosen).to_python(skip_empty_area=False)
    except MemoryError:
        raise  # the parent reads "MemoryError" on stderr and reports the memory budget
    except Exception as exc:  # noqa: BLE001 - whatever calamine says about the sheet goes back to the parent
        _reply(("error", str(exc)))
        return 0
    _reply(("ok", [list(row) for row in grid]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
