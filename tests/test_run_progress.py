"""The console's account of the audit stage: what blocks, what does not, what was accepted."""

import pytest

from pipelines.run_progress import Stage, stage_account


def audit_stage(**meta) -> Stage:
    stage = Stage(name="audit", expected={"kkik_audit__kkik_flag"})
    stage.materializations.append(("kkik_audit__kkik_flag", "kkik_audit/kkik_flag", meta))
    return stage


@pytest.mark.parametrize("meta, account", [
    # the snapshot's load: nothing blocks; two open errors of figures outside the set; the rest accepted
    ({"errors": 84, "open_errors": 0, "open_errors_outside_kkik": 2, "accepted_errors": 82, "warnings": 2809},
     ("84 error flags: none blocking, 2 open outside the KKiK set (not blocking; `kkik watch --year YYYY` lists "
      "them), 82 accepted; 2,809 warnings")),
    ({"errors": 3, "open_errors": 3, "warnings": 1}, "3 error flags: 3 open (block publication); 1 warning"),
    ({"errors": 1, "open_errors": 0, "accepted_errors": 1, "warnings": 0},
     "1 error flag: none blocking, 1 accepted; 0 warnings"),
    # a blocked load of 2017 left its open flags; this run audited 2018-2022, whose values the mart also holds
    ({"errors": 95, "open_errors": 10, "accepted_errors": 85, "warnings": 5, "open_errors_other_years": 6,
      "other_years": "2017"},
     ("95 error flags: 10 open (block publication), 85 accepted; and 6 open error flags of 2017 from an earlier "
     "audit (block publication); 5 warnings")),
])
def test_the_audit_line_says_what_blocks_and_what_was_accepted(meta, account):
    assert stage_account(audit_stage(**meta)) == account


def test_an_interrupted_load_says_so_and_not_that_a_source_failed(tmp_path):
    """Ctrl-C during a load ends each running step with Dagster's interruption error: one cause, the
    interruption, not "SCB: DagsterExecutionInterruptedError, check the service"."""
    from types import SimpleNamespace

    from dagster._utils.error import SerializableErrorInfo

    from pipelines.config import Settings
    from pipelines.run_failures import diagnose

    def failure(step: str) -> SimpleNamespace:
        error = SerializableErrorInfo(message="dagster._core.errors.DagsterExecutionInterruptedError\n", stack=[],
                                      cls_name="DagsterExecutionInterruptedError")
        return SimpleNamespace(step_key=step, step_failure_data=SimpleNamespace(error=error, user_failure_data=None))

    diagnosis = diagnose([failure("raw_scb"), failure("kkik_dbt_models")], Settings.from_env(),
                         "kkik load", tmp_path / "kkik.log")
    assert diagnosis.causes == ["interrupted (Ctrl-C or a signal) during raw_scb, kkik_dbt_models"]
    assert diagnosis.next_steps[0].startswith("re-run: kkik load (it lands and builds again")


def test_a_blocked_load_suggests_an_accept_command_that_works(tmp_path, monkeypatch):
    """The top flag is KPI-wide (no kommun): the suggested `kkik accept` leaves that filter out rather than
    `--municipality None`, and a flag of a year outside the last load is published with `--year`."""
    from types import SimpleNamespace

    import duckdb
    from dagster._utils.error import SerializableErrorInfo

    from pipelines.config import Settings
    from pipelines.landing.schema import ensure_raw_tables
    from pipelines.quality.audit import FLAG_TABLE, FLAG_TABLE_DDL
    from pipelines.run_failures import PUBLISH_STEP, diagnose

    path = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("KKIK_DUCKDB_PATH", str(path))
    with duckdb.connect(str(path)) as con:
        ensure_raw_tables(con)
        con.execute("insert into raw.load_log (load_id, source, years) values ('load-1', 'kolada', '2021,2022')")
        con.execute("create schema kkik_audit")
        con.execute(FLAG_TABLE_DDL)
        con.execute(f"""insert into {FLAG_TABLE} (flag_rank, kpi_id, municipality_id, year, gender, rule_id,
                            severity, message, accepted, is_kkik, rule_group, load_id, flagged_at)
            values (1, 'N00914', null, 2017, null, 'completeness.lost_vs_published', 'error', 'lost', false, true,
                    'completeness', 'load-0', now()),
                   (2, 'N00914', null, 2017, null, 'completeness.short_vs_other_years', 'error', 'short', false,
                    true, 'completeness', 'load-0', now())""")
    error = SerializableErrorInfo(message="blocked", stack=[], cls_name="PublicationBlocked")
    event = SimpleNamespace(step_key=PUBLISH_STEP, step_failure_data=SimpleNamespace(error=error, user_failure_data=None))
    diagnosis = diagnose([event], Settings.from_env(), "kkik load", tmp_path / "kkik.log")
    assert "  N00914 – 2017 – completeness.lost_vs_published: lost" in diagnosis.causes
    assert ("kkik accept --by NAME --reason TEXT --rule completeness.lost_vs_published --kpi N00914 --year 2017"
            "   (the first of the 2; fewer filters accept several at once)" in diagnosis.next_steps)
    assert diagnosis.next_steps[-1] == "then publish the built mart without a reload: kkik publish --year 2017"


def test_the_inbox_account_names_what_it_did_not_read_and_counts_the_quarantine():
    from pipelines.run_progress import _source_account

    stage = Stage(name="sources", expected={"raw_inbox"}, succeeded={"raw_inbox"})
    stage.materializations += [
        ("raw_inbox", "raw/inbox__insikt", {"files_accepted": 1, "files_rejected": 0, "rows_landed": 1055,
                                            "rows_quarantined": 2}),
        ("raw_inbox", "raw/inbox__ifo", {"files_accepted": 0, "files_rejected": 1, "rows_landed": 0,
                                         "rejections": "brukarundersokning_ifo/a.xlsx: the sheet 'Data' is missing"}),
        ("raw_inbox", "raw/inbox_quarantine", {"rows_quarantined": 2, "ignored": "folder unknown_type/ (no such "
                                               "file type); stray.csv (not in a file type's folder)"}),
    ]
    assert _source_account("raw_inbox", stage) == (
        "inbox 1 new file, 1,055 rows (2 quarantined: raw.inbox_quarantine), 1 REJECTED: "
        "brukarundersokning_ifo/a.xlsx: the sheet 'Data' is missing (raw.inbox_files has every reason); "
        "NOT READ: folder unknown_type/ (no such file type); stray.csv (not in a file type's folder)")


def test_the_publish_line_says_its_count_is_over_every_year_of_the_flags():
    """The audit line counts the run's years, the publish step lets through every accepted error in kkik_flag:
    after a one-year load they differ (15 and 82), so the publish line says which it counts."""
    stage = Stage(name="publish", expected={"kkik__published_mart"}, succeeded={"kkik__published_mart"})
    stage.materializations.append(("kkik__published_mart", "kkik/published_mart", {"accepted_errors_let_through": 82}))
    assert stage_account(stage) == "kkik.* replaced (82 accepted error flags let through, every year kkik_flag holds)"


def test_the_inbox_account_names_the_earlier_versions_put_back():
    from pipelines.run_progress import _source_account

    stage = Stage(name="sources", expected={"raw_inbox"}, succeeded={"raw_inbox"})
    stage.materializations += [
        ("raw_inbox", "raw/inbox__insikt", {"files_accepted": 0, "files_rejected": 0, "rows_landed": 0}),
        ("raw_inbox", "raw/inbox_files", {"files_reinstated": 2, "reinstated_files": "insikt/a.csv\ninsikt/b.csv",
                                          "reinstatements": "insikt/a.csv: reinstated: …\ninsikt/b.csv: reinstated: …"}),
    ]
    assert _source_account("raw_inbox", stage) == (
        "inbox 0 new files, 0 rows, 2 earlier versions current again: insikt/a.csv; insikt/b.csv")


def test_the_inbox_account_names_copies_of_landed_files(tmp_path):
    """A file whose content landed under another name is skipped (it is no new version of anything): the
    line names it and the name it counts under, from the landing's own outcome."""
    import shutil

    from pipelines.assets.inbox import registry_metadata
    from pipelines.config import PROJECT_ROOT
    from pipelines.inbox import land_inbox, read_municipality_ids
    from pipelines.run_progress import _source_account
    from tests.inbox.conftest import FIXTURES

    inbox = tmp_path / "inbox" / "insikt"
    inbox.mkdir(parents=True)
    shutil.copyfile(FIXTURES / "good" / "insikt" / "insikt_2022_excerpt_windows1252.csv", inbox / "a.csv")
    ids = read_municipality_ids(PROJECT_ROOT / "snapshot" / "kolada" / "municipality.json.gz")
    land_inbox(tmp_path / "inbox", tmp_path / "w.duckdb", municipality_ids=ids, load_id="first")
    shutil.copyfile(inbox / "a.csv", inbox / "b.csv")
    summary = land_inbox(tmp_path / "inbox", tmp_path / "w.duckdb", municipality_ids=ids, load_id="second")
    assert [(f.file_name, f.copy_of) for f in summary.copies] == [("insikt/b.csv", "insikt/a.csv")]
    assert [f.file_name for f in summary.skipped] == ["insikt/a.csv", "insikt/b.csv"]  # a.csv: the current one

    stage = Stage(name="sources", expected={"raw_inbox"}, succeeded={"raw_inbox"})
    stage.materializations += [
        ("raw_inbox", "raw/inbox__insikt", {"files_accepted": 0, "files_rejected": 0, "rows_landed": 0}),
        ("raw_inbox", "raw/inbox_files", registry_metadata(summary)),
    ]
    assert _source_account("raw_inbox", stage) == (
        "inbox 0 new files, 0 rows, 1 copy of a landed file not landed again: insikt/b.csv (landed before as "
        "insikt/a.csv)")
