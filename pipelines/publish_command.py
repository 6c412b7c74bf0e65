"""``kkik publish``: after a reviewer's acceptance, audit the built ``kkik_audit`` mart again and publish it.

A blocked load leaves a complete audited mart behind; what changed since is only the acceptances. So the
review loop needs no reload: the same audit (rules, GX suites, the publication gate, the current
``expectations/accepted_flags.csv``) runs on the mart as built, and the same publish step writes ``kkik`` and
the readers' copy when nothing blocks. No source is fetched and dbt does not run.
"""

from __future__ import annotations

import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.config import Settings

EXIT_PUBLISHED, EXIT_BLOCKED, EXIT_BAD_INPUT = 0, 1, 2
TOP_FLAGS = 3


def last_load_years(con) -> list[int]:
    """The years of the newest Kolada landing (what the blocked load audited)."""
    rows = con.execute(
        "select years from raw.load_log where source = 'kolada' order by finished_at desc limit 1").fetchall()
    return sorted(int(y) for y in rows[0][0].split(",")) if rows and rows[0][0] else []


def publish_built_mart(years: list[int] | None = None, accepted_flags_path: Path | None = None) -> int:
    from pipelines.config import Settings
    from pipelines.preflight import refuses_without_audit_mart
    from pipelines.warehouse import run_lock, run_lock_path, run_lock_refusal

    settings = Settings.from_env()
    # no warehouse and no run under way: refused before the run lock, so no lock file is left beside nothing
    nothing_there = not settings.duckdb_path.exists() and not run_lock_path(settings.duckdb_path).exists()
    if nothing_there and refuses_without_audit_mart("publish", settings):
        return EXIT_BAD_INPUT
    if accepted_flags_path is not None and not accepted_flags_path.is_file():
        print(f"kkik publish: {accepted_flags_path}: no such accepted-flags file (without --file: "
              "expectations/accepted_flags.csv)", file=sys.stderr)
        return EXIT_BAD_INPUT
    with run_lock(settings.duckdb_path) as held:
        if not held:
            print(f"kkik publish: {run_lock_refusal(settings.duckdb_path)}", file=sys.stderr)
            return EXIT_BLOCKED
        return _publish_built_mart(settings, years, accepted_flags_path)


def _publish_built_mart(settings: Settings, years: list[int] | None, accepted_flags_path: Path | None) -> int:
    from pipelines.console import count_of, years_span
    from pipelines.preflight import BadArguments, check_years_loaded, refuses_without_audit_mart
    from pipelines.quality.audit import audit_mart, open_error_flags
    from pipelines.quality.publish import (
        MartNotBuilt,
        PublicationBlocked,
        check_mart_built,
        flag_line,
        publish_mart,
    )
    from pipelines.summary import mart_summary
    from pipelines.warehouse import connect

    started = time.monotonic()
    if refuses_without_audit_mart("publish", settings):
        return EXIT_BAD_INPUT
    with connect(settings.duckdb_path, read_only=True) as con:
        years = years or last_load_years(con)
        try:
            check_mart_built(con)  # an interrupted or failed build is not audited, let alone published
        except MartNotBuilt as problem:
            print(f"kkik publish: {problem}", file=sys.stderr)
            return EXIT_BLOCKED
    if not years:
        print(f"kkik publish: {settings.duckdb_path} records no Kolada load: run `kkik load` first", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        check_years_loaded(years, settings)
    except BadArguments as problem:
        print(f"kkik publish: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    load_id = f"publish-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    summary, _ = audit_mart(settings.duckdb_path, years=years, load_id=load_id, quality_dir=settings.quality_dir,
                            accepted_flags_path=accepted_flags_path)
    other = (f"; and {count_of(summary.open_errors_other_years, 'open error flag')} of "
             f"{', '.join(map(str, summary.other_years))} from an earlier audit (block publication)"
             if summary.open_errors_other_years else "")
    print(f"  audit    {'ok' if summary.publishable else 'BLOCKED'}  {years_span(years)}: "
          f"{count_of(summary.errors, 'error flag')}, {summary.open_errors:,} open (block publication), "
          f"{summary.open_errors_outside_kkik:,} open outside the KKiK set (not blocking){other}; "
          f"{count_of(summary.warnings, 'warning')}")
    try:
        publish_mart(settings.duckdb_path, load_id=load_id, published_dir=settings.published_dir)
    except PublicationBlocked:
        with connect(settings.duckdb_path, read_only=True) as con:
            flags = open_error_flags(con)
        print(f"kkik publish: not published; {count_of(len(flags), 'open error flag')} block{'s' if len(flags) == 1 else ''} it. Top {TOP_FLAGS}:")
        for flag in flags[:TOP_FLAGS]:
            print(f"  {flag_line(flag)}")
        print("  next:  kkik watch --year Y, then correct the source and load again (`kkik load`: a corrected "
              "inbox file or Kolada value reaches the mart only through a load), or `kkik accept …` and `kkik publish`")
        return EXIT_BLOCKED
    print(f"kkik publish done in {time.monotonic() - started:.1f} s (no source fetched, dbt not run)")
    for line in mart_summary(settings.duckdb_path, settings.published_dir):
        print(f"  {line}")
    return EXIT_PUBLISHED
