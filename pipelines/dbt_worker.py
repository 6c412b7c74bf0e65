"""The load's dbt process, started with the run so that its start-up and parse overlap the source steps.

dagster-dbt starts ``dbt build`` when the dbt step begins, and the step then waits ≈ 3 s for dbt's
interpreter, its imports and its (partial) parse before the first model. This program is that dbt process
started earlier (``KkikDbtCliResource.setup_for_execution``, while the sources land on the other core):
it imports dbt and parses the project, then waits for one line on stdin, a JSON object
``{"args": [...]}`` with the dbt arguments of the step. It runs them on the parsed manifest
(parsed again if the arguments could change the parse) and exits with the dbt CLI's exit code (0 success,
1 a model or test failed, 2 dbt itself failed). Its log on stdout is dbt's structured log
(``DBT_LOG_FORMAT=json``), so dagster-dbt reads its events exactly as it reads the dbt CLI's. End of input
without a line (the run ended before its dbt step) ends it without running anything.

Both ends of that exchange are here: :func:`start` and :class:`StartedDbt` in the load's process, :func:`main`
in the worker's, which imports nothing of the pipeline (only dbt and the standard library).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

#: dbt's saved parse, which the next run reuses where the project, the profile and the variables are unchanged.
PARTIAL_PARSE_FILE = "partial_parse.msgpack"
#: How long an unused worker may take to end once told there is nothing to run.
STOP_TIMEOUT_SECONDS = 30.0
#: Where the worker says how its parse went (the dbt step's timing line reads it).
STATUS_FILE = "dbt_worker.json"
#: Arguments that make dbt parse differently (the pre-parsed manifest would not be theirs).
PARSE_ARGUMENTS = ("--vars", "--target", "-t", "--profile", "--project-dir", "--profiles-dir", "--no-partial-parse")
#: dbt's events that say the saved parse could not be reused.
FULL_PARSE_EVENTS = ("UnableToPartialParse", "PartialParsingNotEnabled")


@dataclass
class StartedDbt:
    """A dbt worker started with the run: :meth:`run` hands it the step's arguments, :meth:`stop` ends it."""

    process: subprocess.Popen
    target: Path
    used: bool = False
    ran: bool = False

    def waiting(self) -> bool:
        """The worker is alive and has not been given a command yet."""
        return not self.used and self.process.poll() is None

    def run(self, args: list[str]) -> subprocess.Popen:
        """Hand the worker ``dbt <args>``; returns the process, named ``dbt <args>`` for dagster-dbt's messages."""
        assert self.process.stdin is not None
        self.used = self.ran = True
        self.process.stdin.write((json.dumps({"args": list(args)}) + "\n").encode())
        self.process.stdin.close()
        self.process.args = ["dbt", *args]
        return self.process

    def stop(self) -> str:
        """End a worker that was not used (it exits on end of input), or collect one that ended by itself;
        returns what it wrote."""
        if self.used:
            return ""
        self.used = True
        try:
            out, _ = self.process.communicate(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, _ = self.process.communicate()
        return (out or b"").decode(errors="replace")

    def status(self) -> dict:
        """The worker's account of its parse (seconds, ``reused``/``full``/``failed``), or {} if it wrote none."""
        try:
            return json.loads((self.target / STATUS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}


def start(project_dir: Path, target: Path, env: Mapping[str, str]) -> StartedDbt:
    """Start the worker for the dbt project in ``project_dir`` (its working directory) writing to ``target``.

    As dagster-dbt does before it starts dbt, a target folder without a saved parse gets the project's own
    (the one ``dagster-dbt project prepare-and-package`` wrote), so even the first run parses partially.
    """
    target.mkdir(parents=True, exist_ok=True)
    (target / STATUS_FILE).unlink(missing_ok=True)
    saved = project_dir / "target" / PARTIAL_PARSE_FILE
    if saved.exists() and not (target / PARTIAL_PARSE_FILE).exists():
        shutil.copy(saved, target / PARTIAL_PARSE_FILE)
    process = subprocess.Popen([sys.executable, "-m", "pipelines.dbt_worker"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=project_dir, env=dict(env))
    return StartedDbt(process=process, target=target)


def changes_the_parse(args: list[str]) -> bool:
    """Whether ``args`` carry a setting that the parse depends on."""
    return any(arg.split("=", 1)[0] in PARSE_ARGUMENTS for arg in args)


def exit_code(result) -> int:
    """The dbt CLI's exit code for a ``dbtRunnerResult``."""
    if result.success:
        return 0
    return 2 if result.exception is not None else 1


def main() -> int:
    started = time.time()
    from dbt.cli.main import dbtRunner

    events: set[str] = set()
    parse = dbtRunner(callbacks=[lambda event: events.add(event.info.name)]).invoke(["parse"])
    parsed = time.time()
    manifest = parse.result if parse.success else None
    target = Path(os.environ.get("DBT_TARGET_PATH", "target"))
    status = {"started": started, "parsed": parsed, "parse_seconds": round(parsed - started, 3),
              "parse": "failed" if manifest is None else
                       "full" if events.intersection(FULL_PARSE_EVENTS) else "reused"}
    target.mkdir(parents=True, exist_ok=True)
    (target / STATUS_FILE).write_text(json.dumps(status), encoding="utf-8")

    line = sys.stdin.readline()
    if not line.strip():
        return 0
    args = list(json.loads(line)["args"])
    reuse = manifest if manifest is not None and not changes_the_parse(args) else None
    return exit_code(dbtRunner(manifest=reuse).invoke(args))


if __name__ == "__main__":
    sys.exit(main())
