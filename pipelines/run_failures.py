"""Why a load failed and what to run next, in a few lines, from the run's step failures.

Dagster wraps each step's exception (``DagsterExecutionStepExecutionError`` → ours → the library's); the
cause shown is the first of ours in that chain (a ``SourceResponseError`` names the URL and the problem),
once per failed step. A blocked publication is told from the warehouse itself (the open error flags,
their count and the top three, with ``pipelines.quality.audit.open_error_flags``) with the review loop
as the next commands. The tracebacks stay in the log file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.config import SNAPSHOT, Settings
from pipelines.console import count_of
from pipelines.run_progress import SOURCE_LABELS

PUBLISH_STEP = "kkik__published_mart"
#: The setting that says where each source step reads from.
SOURCE_SETTINGS = {"raw_kolada": "KKIK_KOLADA_URL", "raw_scb": "KKIK_SCB_URL",
                   "raw__skolverket__school_results": "KKIK_SKOLVERKET_URL", "raw_inbox": "KKIK_INBOX_DIR"}
TOP_FLAGS = 3
#: A cause line longer than this (an HTML error page quoted by the client) is cut; the log has it whole.
MAX_CAUSE = 600
#: Errors whose message already says what and where (the URL and the problem, the setting): shown as they are.
SELF_EXPLAINING_ERRORS = ("SourceResponseError", "ScbTableNotFound", "SettingsError")


@dataclass
class Diagnosis:
    """The cause lines and the next commands, printed last."""

    causes: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"  cause: {line}" if i == 0 else f"         {line}" for i, line in enumerate(self.causes)]
        out += [f"  next:  {line}" if i == 0 else f"         {line}" for i, line in enumerate(self.next_steps)]
        return out


def error_chain(error) -> list:
    """A ``SerializableErrorInfo`` and its causes (``raise … from``) and contexts, outermost first."""
    chain = []
    while error is not None and len(chain) < 20:
        chain.append(error)
        error = error.cause or error.context
    return chain


def root_message(failure_data) -> str:
    """The message of our own exception in the step's error chain (not Dagster's wrapper)."""
    chain = error_chain(failure_data.error) if failure_data is not None else []
    ours = [e for e in chain if _short(e.cls_name) not in ("Failure",) and not _short(e.cls_name).startswith("Dagster")]
    if ours:
        error, name = ours[0], _short(ours[0].cls_name)
        message = error.message.strip()
        message = re.sub(rf"^[\w.]*{re.escape(name)}: ", "", message)  # Dagster keeps "module.Class: " in front
        return message if name in SELF_EXPLAINING_ERRORS else f"{name}: {message}"
    user = getattr(failure_data, "user_failure_data", None)
    if user is not None and user.description:
        return user.description.strip()
    return chain[0].message.strip() if chain else "unknown error (see the log)"


def _short(cls_name: str) -> str:
    """``pipelines.sources.http.SourceResponseError`` → ``SourceResponseError``."""
    return cls_name.rsplit(".", 1)[-1]


def is_publication_blocked(failure_data) -> bool:
    return any(_short(e.cls_name) == "PublicationBlocked" for e in error_chain(getattr(failure_data, "error", None)))


def is_interrupted(failure_data) -> bool:
    """The step ended because the run was interrupted (Ctrl-C, a signal), not because anything was wrong."""
    return any(_short(e.cls_name) in ("DagsterExecutionInterruptedError", "KeyboardInterrupt")
               for e in error_chain(getattr(failure_data, "error", None)))


def diagnose(failures: list, settings: Settings, rerun: str, log_path: Path) -> Diagnosis:
    """The causes of the run's step failures (one per failed step) and what to do next."""
    diagnosis = Diagnosis()
    interrupted = [event.step_key for event in failures if is_interrupted(event.step_failure_data)]
    if interrupted:  # one cause: the interruption, whichever steps it ended
        steps = ", ".join(dict.fromkeys(interrupted))
        diagnosis.causes.append(f"interrupted (Ctrl-C or a signal) during {steps}")
        diagnosis.next_steps.append(f"re-run: {rerun} (it lands and builds again; an interrupted build is never "
                                    "published, `kkik publish` refuses it too)")
        return diagnosis
    seen: set[str] = set()
    for event in failures:
        step = event.step_key
        if step in seen:
            continue
        seen.add(step)
        data = event.step_failure_data
        if step == PUBLISH_STEP and is_publication_blocked(data):
            _blocked(diagnosis, settings, rerun)
        elif step in SOURCE_LABELS:
            _source_failed(diagnosis, step, root_message(data), settings, rerun)
        else:
            message = root_message(data).splitlines()
            diagnosis.causes.append(f"{step}: {message[0] if message else ''}")
            diagnosis.causes.extend(message[1:3])
            if not diagnosis.next_steps:
                diagnosis.next_steps.append(f"read the traceback in {log_path}; fix, then re-run: {rerun}")
    if not diagnosis.causes:
        diagnosis.causes.append(f"the run failed outside a step (see {log_path})")
        diagnosis.next_steps.append(f"read the log, then re-run: {rerun}")
    return diagnosis


def _source_failed(diagnosis: Diagnosis, step: str, message: str, settings: Settings, rerun: str) -> None:
    label = SOURCE_LABELS[step]
    first = message.splitlines()[0] if message else "failed"
    diagnosis.causes.append(f"{label}: {first if len(first) <= MAX_CAUSE else first[:MAX_CAUSE - 1] + '…'}")
    origin = settings.source_origins()[label]
    variable = SOURCE_SETTINGS[step]
    where = "the bundled snapshot" if origin == SNAPSHOT else (origin or "not set")
    if not any(line.startswith("check ") for line in diagnosis.next_steps):
        diagnosis.next_steps.insert(0, f"check the service or {variable} (now {where}), then re-run: {rerun}")
    else:
        diagnosis.next_steps[0] = diagnosis.next_steps[0].replace(", then re-run", f" and {variable}, then re-run")


def _blocked(diagnosis: Diagnosis, settings: Settings, rerun: str) -> None:
    from pipelines.publish_command import last_load_years
    from pipelines.publishing.revision import last_publication
    from pipelines.quality.audit import open_error_flags
    from pipelines.quality.publish import flag_line
    from pipelines.warehouse import connect
    from pipelines.watch_commands import accept_filters

    with connect(settings.duckdb_path, read_only=True) as con:
        flags = open_error_flags(con)
        loaded = last_load_years(con)
        published = last_publication(con) is not None  # else there is nothing the changes could be against
    diagnosis.causes.append(f"publication blocked by {count_of(len(flags), 'open error flag')} (kkik_audit.kkik_flag); "
                            f"kkik.* is unchanged. Top {min(TOP_FLAGS, len(flags))}:")
    diagnosis.causes += [f"  {flag_line(flag)}" for flag in flags[:TOP_FLAGS]]
    if not flags:
        return
    kpi, municipality, year, _, rule, _ = flags[0]
    filters = accept_filters(rule=rule, kpi=kpi, municipality=municipality, year=year)
    # a flag of a year outside the last load (an earlier audit's) is accepted when that year is audited again
    publish = "kkik publish" if year is None or year in loaded else f"kkik publish --year {year}"
    diagnosis.next_steps += [
        f"kkik watch --year {year}   (the ranked report: reports/kkik_watch_{year}.html)" if year is not None
        else "kkik watch --year YYYY   (the ranked report)",
        *(["kkik changes --pending   (what this load changed against the published mart)"] if published else []),
        "correct the data at its source and load again (a corrected inbox file too), or accept a flag that is right:",
        f"kkik accept --by NAME --reason TEXT {filters}"
        + (f"   (the first of the {len(flags)}; fewer filters accept several at once)" if len(flags) > 1 else ""),
        f"then publish the built mart without a reload: {publish}",
    ]
