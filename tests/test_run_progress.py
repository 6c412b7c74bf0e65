"""The console's account of the audit stage: what blocks, what does not, what was accepted."""

import pytest

from pipelines.run_progress import Stage, stage_account


def audit_stage(**meta) -> Stage:
    stage = Stage(name="audit", expected={"kkik_audit__kkik_flag"})
    stage.materializations.append(("kkik_audit__kkik_flag", "kkik_audit/kkik_flag", meta))
    return stage


@pytest.mark.parametrize("meta, account", [
    # the snapshot's load: nothing blocks; two open errors of figures outside the set; the rest accepted
    ({"errors": 84, "open_errors": 0, "open_errors_outside_kkik": 2, "warnings": 2809},
     ("84 error flags: none blocking, 2 open outside the KKiK set (not blocking; `kkik watch --year YYYY` lists "
      "them), 82 accepted; 2,809 warnings")),
    ({"errors": 3, "open_errors": 3, "warnings": 1}, "3 error flags: 3 open (block publication); 1 warning"),
    ({"errors": 1, "open_errors": 0, "warnings": 0}, "1 error flag: none blocking, 1 accepted; 0 warnings"),
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
