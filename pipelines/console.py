"""What the operator sees of a load: a few lines on the terminal, everything else in a log file.

``kkik load`` prints one line per stage and a summary; dbt's per-node lines, Dagster's INFO lines, warnings
and tracebacks go to ``data/logs/kkik_<time>.log`` (``KKIK_LOG_DIR``), whose path is printed. They reach
that file by three routes, all covered by pointing file descriptors 1 and 2 at it for the run:

* dagster-dbt re-emits each dbt event with ``sys.stdout.write`` (dbt's own stdout is a pipe it reads);
* Dagster's console logger is a ``logging.StreamHandler`` on ``sys.stderr``, created when the run starts;
* Dagster's compute-log capture (``LocalComputeLogManager``) tees each step's fds 1 and 2 into
  ``$DAGSTER_HOME/storage/<run>/compute_logs`` and back to the original fds.

``sys.stdout``/``sys.stderr`` stay the real file objects (the compute-log capture needs their ``fileno``).
The terminal is reached through a duplicate of the original fd 1. dbt is asked for no colours and
nothing writing to the log sees a terminal, so the file holds no ANSI escapes; any left are stripped
when the run ends. A closed pipe (``kkik load | head -1``) silences the terminal, never the run.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TextIO

ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")


class Console:
    """Lines for the operator: on the terminal (or pipe) and, when a log is open, in the log too.

    A broken pipe stops the terminal output and nothing else: the run goes on and the log stays complete.
    """

    def __init__(self, terminal: TextIO, log: TextIO | None = None):
        self.terminal = terminal
        self.log = log
        self.broken = False
        try:
            self.is_tty = terminal.isatty()
        except (ValueError, OSError):
            self.is_tty = False

    def line(self, text: str = "", *, to_terminal: bool = True) -> None:
        if self.log is not None:
            self.log.write(f"kkik: {ANSI_ESCAPE.sub('', text)}\n")
            self.log.flush()
        if self.broken or not to_terminal:
            return
        try:
            self.terminal.write(text + "\n")
            self.terminal.flush()
        except BrokenPipeError:
            self._silence()

    def _silence(self) -> None:
        """The reader went away: point the terminal at /dev/null so no later flush raises."""
        self.broken = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.terminal.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass

    def rich(self):
        """A rich console on the same terminal (for live progress), or None when not a terminal."""
        if not self.is_tty or self.broken:
            return None
        from rich.console import Console as RichConsole

        return RichConsole(file=self.terminal, highlight=False)


def new_log_path(log_dir: Path, now: datetime | None = None) -> Path:
    """``<log_dir>/kkik_<YYYYmmdd-HHMMSS>.log``, never an existing file."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    path = log_dir / f"kkik_{stamp}.log"
    n = 1
    while path.exists():
        n += 1
        path = log_dir / f"kkik_{stamp}_{n}.log"
    return path


@contextmanager
def output_to_log(log_dir: Path) -> Iterator[tuple[Console, Path]]:
    """For the block: fds 1 and 2 (and so dbt, Dagster, warnings, subprocesses) write to a new log file;
    the yielded console writes to the original terminal and copies each of its lines to the log."""
    log_dir.mkdir(parents=True, exist_ok=True)
    path = new_log_path(log_dir)
    os.environ.setdefault("DBT_USE_COLORS", "false")  # dbt's node lines without ANSI colours
    for stream in (sys.stdout, sys.stderr):
        _flush(stream)
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    log_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    terminal = os.fdopen(os.dup(saved[1]), "w", buffering=1, encoding="utf-8", errors="replace")
    log = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - closed in the finally below
    try:
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        yield Console(terminal, log), path
    finally:
        for stream in (sys.stdout, sys.stderr):
            _flush(stream)
        for fd, original in saved.items():
            os.dup2(original, fd)
            os.close(original)
        os.close(log_fd)
        log.close()
        _flush(terminal)
        terminal.close()
        strip_ansi(path)


def strip_ansi(path: Path) -> None:
    """Remove ANSI escape sequences from a finished log (a safety net: none should be written)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    clean = ANSI_ESCAPE.sub("", text)
    if clean != text:
        path.write_text(clean, encoding="utf-8")


def _flush(stream) -> None:
    try:
        stream.flush()
    except (BrokenPipeError, ValueError, OSError):
        pass


def count_of(n: int, noun: str) -> str:
    """``1 open error``, ``2,318 rows``: a count with its noun in the right number (plural in -s), for every
    count a user reads (the commands' lines, the watch's messages)."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def year_ranges(years: Iterable[int]) -> str:
    """"2015–2017" or "2015, 2017–2018": consecutive years as one range (the reports' and commands' words)."""
    runs: list[list[int]] = []
    for year in sorted(years):
        if runs and year == runs[-1][-1] + 1:
            runs[-1].append(year)
        else:
            runs.append([year])
    return ", ".join(str(run[0]) if len(run) == 1 else f"{run[0]}–{run[-1]}" for run in runs)


def years_span(years: Sequence[int]) -> str:
    """"year 2022" or "years 2018–2022": a run's (consecutive, sorted) years as the commands' first lines name them."""
    return f"year {years[0]}" if len(years) == 1 else f"years {years[0]}–{years[-1]}"


def display_path(path: Path, root: Path) -> str:
    """A path relative to the project root when it is inside it (shorter lines), else absolute."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
