"""``kkik`` as an operator uses it: refused arguments, a broken pipe, and what a load prints.

The loads run the real ``kkik`` command in a subprocess (the console redirects file descriptors, which
only a process of its own shows honestly), with every path (warehouse, raw, logs, Dagster home) in a
temporary folder.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines import cli
from pipelines.config import SNAPSHOT_DIR

KKIK = [sys.executable, "-c", "import sys; from pipelines.cli import main; sys.exit(main())"]
PROJECT = Path(__file__).resolve().parents[1]


def isolated_env(tmp: Path, **extra: str) -> dict[str, str]:
    """The environment of a load that writes only under ``tmp``, on the bundled snapshot."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KKIK_") and k != "DAGSTER_HOME"}
    env.update(PYTHONPATH=str(PROJECT), KKIK_SOURCES="snapshot", KKIK_DUCKDB_PATH=str(tmp / "warehouse.duckdb"),
               KKIK_RAW_DIR=str(tmp / "raw"), KKIK_QUALITY_DIR=str(tmp / "quality"), KKIK_LOG_DIR=str(tmp / "logs"),
               DAGSTER_HOME=str(tmp / "dagster_home"))
    env.update(extra)
    return env


def set_isolated_env(monkeypatch, tmp: Path, **extra: str) -> None:
    for name in [k for k in os.environ if k.startswith("KKIK_")]:
        monkeypatch.delenv(name)
    for name, value in isolated_env(tmp, **extra).items():
        if name.startswith("KKIK_") or name == "DAGSTER_HOME":
            monkeypatch.setenv(name, value)


def run_kkik(args: list[str], env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([*KKIK, *args], check=False, env=env, cwd=PROJECT, capture_output=True, text=True, timeout=timeout)


# -- refused before anything runs ------------------------------------------------------------------------


@pytest.mark.parametrize("years, message", [
    (["--year", "1890"], "year 1890 is outside the bundled Kolada snapshot (2017–2022); choose years in 2017–2022"),
    (["--year", "2016", "--year", "2017"], "year 2016 is outside the bundled Kolada snapshot (2017–2022)"),
    (["--year", "2023"], "year 2023 is outside the bundled Kolada snapshot (2017–2022)"),
    (["--year", "2019", "--year", "2021"], "must form a consecutive range"),
])
def test_bad_years_exit_2_and_write_nothing(years, message, tmp_path, monkeypatch, capsys):
    set_isolated_env(monkeypatch, tmp_path)
    assert cli.main(["load", *years]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # no raw folder, log, warehouse or Dagster home


def test_mixed_sources_are_refused_and_name_each_origin(tmp_path, monkeypatch, capsys):
    set_isolated_env(monkeypatch, tmp_path, KKIK_KOLADA_URL="https://api.kolada.se/v3")
    assert cli.main(["load", "--year", "2022"]) == 2
    err = capsys.readouterr().err
    assert "mix live (Kolada) and the bundled snapshot (SCB, Skolverket, inbox)" in err
    assert "--allow-mixed-sources" in err
    assert list(tmp_path.iterdir()) == []


def test_the_default_is_live_and_skolverket_must_be_set(tmp_path, monkeypatch, capsys):
    set_isolated_env(monkeypatch, tmp_path)
    monkeypatch.delenv("KKIK_SOURCES")
    from pipelines.config import LIVE_KOLADA_URL, LIVE_SCB_URL, Settings

    settings = Settings.from_env()
    assert (settings.kolada_url, settings.scb_url) == (LIVE_KOLADA_URL, LIVE_SCB_URL)
    assert settings.inbox_dir == PROJECT / "data" / "inbox" and not settings.snapshot_sources()
    assert cli.main(["load", "--year", "2022"]) == 2
    assert "KKIK_SKOLVERKET_URL is not set" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_the_removed_parallel_option_is_refused_and_writes_nothing(tmp_path, monkeypatch, capsys):
    set_isolated_env(monkeypatch, tmp_path)
    assert cli.main(["load", "--year", "2022", "--parallel"]) == 2
    assert "unrecognized arguments: --parallel" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("sources, setting, expected", [
    ("snapshot", None, 1000.0),  # the loopback snapshot server: no waiting between calls
    ("live", None, 5.0),  # the live API: Kolada's polite rate
    ("live", "2.5", 2.5),
    ("snapshot", "5", 5.0),
])
def test_the_kolada_rate_is_polite_live_and_free_on_the_snapshot(sources, setting, expected, tmp_path, monkeypatch):
    set_isolated_env(monkeypatch, tmp_path, KKIK_SOURCES=sources)
    if setting is not None:
        monkeypatch.setenv("KKIK_KOLADA_CALLS_PER_SECOND", setting)
    from pipelines.config import Settings
    from pipelines.resources import resources_from_env

    assert Settings.from_env().kolada_calls_per_second == expected
    assert resources_from_env()["kolada"].calls_per_second == expected


@pytest.mark.parametrize("setting", ["0", "-1", "fast"])
def test_a_bad_kolada_rate_is_refused_naming_the_variable(setting, tmp_path, monkeypatch, capsys):
    set_isolated_env(monkeypatch, tmp_path, KKIK_KOLADA_CALLS_PER_SECOND=setting)
    assert cli.main(["load", "--year", "2022"]) == 2
    assert f"KKIK_KOLADA_CALLS_PER_SECOND must be a number of calls per second > 0, not '{setting}'" in \
        capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [["watch", "--year", "2030"], ["publish", "--year", "2030"],
                                     ["publish", "--year", "2022", "--year", "2030"]])
def test_watch_or_publish_of_a_year_without_data_exits_2(command, tmp_path, monkeypatch, capsys):
    """Not an empty page, nor an audit that writes flags of a year the mart lacks (which the next
    publication would publish)."""
    set_isolated_env(monkeypatch, tmp_path)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("create schema kkik_audit")
        con.execute("create table kkik_audit.fct_kpi_value as select 'N15428' as kpi_id, '0180' as municipality_id, "
                    "unnest([2021, 2022]) as year, 'T' as gender, 80.0 as value")
    out = ["--out-dir", str(tmp_path / "reports")] if command[0] == "watch" else []
    assert cli.main(command + out) == 2
    err = capsys.readouterr().err
    assert f"kkik {command[0]}: no values for 2030" in err and "years loaded: 2021–2022" in err
    assert not (tmp_path / "reports").exists()
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select table_name from information_schema.tables").fetchall() == [("fct_kpi_value",)]


def test_accept_without_a_warehouse_exits_2_and_writes_nothing(tmp_path, monkeypatch, capsys):
    set_isolated_env(monkeypatch, tmp_path)
    acceptances = tmp_path / "accepted.csv"
    assert cli.main(["accept", "--by", "A", "--reason", "B", "--file", str(acceptances)]) == 2
    assert "does not exist: run `kkik load` first" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # no warehouse, lock file or acceptances file


def test_publish_without_a_warehouse_or_with_a_missing_accepted_flags_file_exits_2(tmp_path, monkeypatch, capsys):
    """Refused before the run lock (no lock file beside a warehouse that is not there); a --file that does not
    exist is a mistyped path, not an empty list of acceptances."""
    set_isolated_env(monkeypatch, tmp_path)
    assert cli.main(["publish"]) == 2
    assert "does not exist: run `kkik load` first" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("create schema kkik_audit")
        con.execute("create table kkik_audit.fct_kpi_value as select 'N15428' as kpi_id, '0180' as municipality_id, "
                    "2022 as year, 'T' as gender, 80.0 as value")
    missing = tmp_path / "nodir" / "accepted.csv"
    assert cli.main(["publish", "--file", str(missing)]) == 2
    assert f"kkik publish: {missing}: no such accepted-flags file" in capsys.readouterr().err


def test_accept_names_kkik_publish_next_and_says_when_nothing_matches(tmp_path, monkeypatch, capsys):
    set_isolated_env(monkeypatch, tmp_path)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("create schema kkik_audit")
        con.execute("create table kkik_audit.fct_kpi_value as select 'N00914' as kpi_id, '0840' as municipality_id, "
                    "2022 as year, 'T' as gender, 87.6 as value")
        con.execute("create table kkik_audit.kkik_flag as select 'gender.total_between' as rule_id, 'N00914' as kpi_id, "
                    "'0840' as municipality_id, 2022 as year, 'T' as gender, 'error' as severity, false as accepted")
    acceptances = tmp_path / "accepted.csv"
    assert cli.main(["accept", "--by", "A", "--reason", "B", "--rule", "range.negative",
                     "--file", str(acceptances)]) == 0
    assert "no open error flag matches these filters" in capsys.readouterr().out
    assert not acceptances.exists()
    assert cli.main(["accept", "--by", "A", "--reason", "B", "--rule", "gender.total_between",
                     "--file", str(acceptances)]) == 0
    assert "1 open error flag accepted" in (out := capsys.readouterr().out) and "next: `kkik publish`" in out
    assert "(--rule gender.total_between)" in out and "  gender.total_between N00914 0840 2022 T" in out
    assert acceptances.read_text(encoding="utf-8").splitlines()[1].startswith("gender.total_between,N00914,0840,2022,T,A,B,")


def closed_pipe_run(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run kkik with its stdout read by nobody (``kkik … | head -1`` once head has gone)."""
    process = subprocess.Popen([*KKIK, *args], env=env, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # the reader is gone before the first line
    err = process.stderr.read().decode()
    return process.wait(timeout=600), err


def test_a_closed_pipe_ends_quietly(tmp_path):
    values = tmp_path / "values.csv"
    values.write_text("kpi_id,municipality_id,year,gender,value\n"
                      + "".join(f"N15428,{m},{y},T,{v}\n" for m, v in [("0180", 80.1), ("1480", 75.2)]
                                for y in (2021, 2022)), encoding="utf-8")
    code, err = closed_pipe_run(["watch", "--values", str(values), "--out", str(tmp_path / "flags.csv")],
                                isolated_env(tmp_path))
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert code == 141 and (tmp_path / "flags.csv").exists()  # the work was done; only the printing stopped


# -- what a load prints ------------------------------------------------------------------------------------

ANSI = re.compile(r"\x1b\[")


def log_path_of(stdout: str) -> Path:
    match = re.search(r"log:\s+(\S+\.log)", stdout)
    assert match, stdout
    path = Path(match.group(1))
    return path if path.is_absolute() else PROJECT / path


@pytest.fixture(scope="module")
def good_load(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("load")
    result = run_kkik(["load", "--year", "2021", "--year", "2022"], isolated_env(tmp))
    return tmp, result


@pytest.mark.slow
def test_a_successful_load_prints_a_short_account_with_the_summary_last(good_load):
    tmp, result = good_load
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) <= 35, result.stdout
    assert result.stderr == ""
    assert lines[0].startswith("kkik load: years 2021–2022")
    for source in ("Kolada", "SCB", "Skolverket"):
        assert re.search(rf"^  {source}:\s+the bundled snapshot", result.stdout, re.MULTILINE), source
    stages = [line.split()[0] for line in lines if re.match(r"^  (sources|dbt|audit|publish|reports) ", line)]
    assert stages == ["sources", "dbt", "audit", "publish", "reports"]
    assert all(" ok " in line for line in lines if re.match(r"^  (sources|dbt|audit|publish|reports) ", line))
    # the reports line says which year, how many files and where they are
    reports = re.search(r"^  reports .* KKiK 2022: 290 kommun and (\d+) county reports \(HTML\) in (\S+)/;",
                        result.stdout, re.MULTILINE)
    assert reports, result.stdout
    folder = Path(reports.group(2)) if Path(reports.group(2)).is_absolute() else PROJECT / reports.group(2)
    assert len(list(folder.glob("kkik_*_2022.html"))) >= 290 + int(reports.group(1))
    done = next(i for i, line in enumerate(lines) if line.startswith("kkik load done in"))
    assert lines[done + 1].startswith("  published kkik.kkik_result:") and "error watch" in result.stdout.split(
        "kkik load done")[1]
    assert "Running with dbt" not in result.stdout and "Traceback" not in result.stdout
    # dbt's node lines and Dagster's INFO lines are in the log file, without ANSI escapes
    log = log_path_of(result.stdout).read_text(encoding="utf-8")
    assert str(tmp) in str(log_path_of(result.stdout))
    assert "OK created sql table model" in log and " - dagster - INFO - " in log
    assert not ANSI.search(log)
    # the run is in the persistent Dagster home, where `dagster dev` finds it
    from dagster import DagsterInstance

    os.environ["DAGSTER_HOME"] = str(tmp / "dagster_home")
    try:
        with DagsterInstance.get() as instance:
            runs = instance.get_runs()
            assert [run.job_name for run in runs] == ["kkik_yearly_load"] and runs[0].is_success
    finally:
        del os.environ["DAGSTER_HOME"]


@pytest.mark.slow
def test_a_failing_source_ends_with_the_url_the_error_and_the_next_command(tmp_path, httpserver):
    httpserver.expect_request(re.compile("^/v3/.*")).respond_with_data("upstream broke", status=500)
    url = httpserver.url_for("/v3").rstrip("/")
    env = isolated_env(tmp_path, KKIK_KOLADA_URL=url)
    result = run_kkik(["load", "--year", "2022", "--allow-mixed-sources"], env)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert re.search(rf"^  Kolada:\s+{re.escape(url)}$", result.stdout, re.MULTILINE)
    cause = next(i for i, line in enumerate(lines) if line.startswith("  cause: "))
    assert lines[cause - 1].startswith("kkik load FAILED after")
    assert lines[cause].startswith(f"  cause: Kolada: {url}/") and "HTTP 500" in lines[cause]
    assert lines[-1] == (f"  next:  check the service or KKIK_KOLADA_URL (now {url}), then re-run: "
                         "kkik load --year 2022 --allow-mixed-sources")
    assert len(lines) <= 20 and "Traceback" not in result.stdout + result.stderr
    assert "FAILED: None" not in result.stdout and result.stdout.count("HTTP 500") == 1
    assert re.search(r"^  sources\s+FAILED .*Kolada FAILED · SCB [0-9,]+ rows · Skolverket [0-9,]+ rows · inbox not run$",
                     result.stdout, re.MULTILINE)
    assert re.search(r"^  dbt\s+skipped", result.stdout, re.MULTILINE)
    log = log_path_of(result.stdout).read_text(encoding="utf-8")  # the details are in the log
    assert "STEP_FAILURE" in log and "Stack Trace:" in log and "SourceResponseError" in log


@pytest.mark.slow
def test_a_blocked_publication_ends_with_the_flags_and_the_review_commands(tmp_path):
    """A slipped digit in an own-reporting file (Upplands Väsby's total 92.5 → 9.5, women 92.2, men 92.6)
    is an open error: the load is refused publication and says what to run."""
    inbox = tmp_path / "inbox"
    shutil.copytree(SNAPSHOT_DIR / "inbox", inbox)
    sample = inbox / "egen_rapportering" / "Inmatning_U11401_2022_made_up_sample.csv"
    text = sample.read_text(encoding="utf-8")
    planted = "2022;Totalt;92,5;297;321;ja"
    assert text.count(planted) == 1
    sample.write_text(text.replace(planted, "2022;Totalt;9,5;297;321;ja"), encoding="utf-8")
    env = isolated_env(tmp_path, KKIK_INBOX_DIR=str(inbox))
    result = run_kkik(["load", "--year", "2021", "--year", "2022", "--allow-mixed-sources"], env)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    cause = next(i for i, line in enumerate(lines) if line.startswith("  cause: "))
    n_open = int(re.search(r"publication blocked by (\d+) open error flag", lines[cause]).group(1))
    assert n_open >= 1
    top = lines[cause + 1: cause + 1 + min(3, n_open)]
    assert any("U11401 0114 2022 T" in line for line in top), top
    assert lines[-4].startswith("  next:  kkik watch --year 2022")
    assert lines[-2].strip().startswith("kkik accept --by NAME --reason TEXT --rule ")
    assert lines[-1].strip() == "then publish the built mart without a reload: kkik publish"
    assert "Traceback" not in result.stdout + result.stderr and "FAILED: None" not in result.stdout
    assert result.stdout.count("publication blocked") == 1 and len(lines) <= 35
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:  # nothing was published
        assert con.execute("select count(*) from information_schema.tables where table_schema = 'kkik' "
                           "and table_name = 'kkik_result'").fetchall() == [(0,)]

    # the review loop without a reload: accept the flag as printed, then `kkik publish`
    acceptances = tmp_path / "accepted_flags.csv"
    shutil.copy(SNAPSHOT_DIR.parent / "expectations" / "accepted_flags.csv", acceptances)
    blocked = run_kkik(["publish", "--file", str(acceptances)], env)
    assert blocked.returncode == 1 and "U11401 0114 2022 T" in blocked.stdout
    accept = lines[-2].strip().split() + ["--file", str(acceptances)]
    accept[accept.index("NAME")], accept[accept.index("TEXT")] = "Test reviewer", "checked with the kommun (test)"
    assert run_kkik(accept[1:], env).returncode == 0
    raw_folders = sorted((tmp_path / "raw").rglob("*"))
    published = run_kkik(["publish", "--file", str(acceptances)], env)
    assert published.returncode == 0, published.stdout + published.stderr
    assert "no source fetched, dbt not run" in published.stdout
    assert sorted((tmp_path / "raw").rglob("*")) == raw_folders  # nothing fetched
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from kkik.kkik_result").fetchall()[0][0] > 0
    assert (tmp_path / "published" / "mart.duckdb").exists()


@pytest.mark.slow
def test_a_load_whose_reader_goes_away_still_runs_to_its_end(tmp_path, httpserver):
    """``kkik load | head -1``: the console goes quiet, the run goes on and its log keeps every line."""
    httpserver.expect_request(re.compile("^/v3/.*")).respond_with_data("no such endpoint", status=404)
    env = isolated_env(tmp_path, KKIK_KOLADA_URL=httpserver.url_for("/v3").rstrip("/"))
    code, err = closed_pipe_run(["load", "--year", "2022", "--allow-mixed-sources"], env)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert code == 1  # the load's own outcome (Kolada answered 404), not the pipe's
    (log,) = (tmp_path / "logs").glob("kkik_*.log")
    assert "kkik:   cause: Kolada: " in log.read_text(encoding="utf-8")


def test_a_live_scb_table_that_is_not_found_fails_that_source_with_how_to_find_its_id(tmp_path, monkeypatch):
    """SCB answers 404 for the employment table (its id is a placeholder): the SCB step fails with a message
    that names the table and the search that finds its id; the other sources still land; no stack trace
    reaches the console (the cause line is the message itself)."""
    import dataclasses

    from dagster import DagsterInstance, materialize

    from pipelines.assets.agencies import raw_scb
    from pipelines.assets.kolada import raw_kolada
    from pipelines.jobs import range_tags
    from pipelines.landing import scb as scb_landing
    from pipelines.resources import KoladaResource, ScbResource, WarehouseResource
    from pipelines.run_failures import diagnose
    from pipelines.snapshot.scb_app import ScbApp
    from pipelines.snapshot.server import SnapshotServer
    from pipelines.sources.scb import EMPLOYMENT_SHARE, POPULATION

    assert not EMPLOYMENT_SHARE.verified and POPULATION.verified  # marked in the table definitions
    moved = dataclasses.replace(EMPLOYMENT_SHARE, table_id="TAB_NOT_THERE")
    monkeypatch.setattr(scb_landing, "landed_tables", lambda: [(POPULATION, "population"),
                                                                (moved, "employment_share")])
    set_isolated_env(monkeypatch, tmp_path)
    from pipelines.config import Settings

    with SnapshotServer([ScbApp()]) as server:
        scb_url = server.source_url("scb") + "/api/v2"
        warehouse = WarehouseResource(duckdb_path=str(tmp_path / "w.duckdb"), raw_dir=str(tmp_path / "raw"),
                                      quality_dir=str(tmp_path / "q"))
        result = materialize([raw_scb, raw_kolada], instance=DagsterInstance.ephemeral(), raise_on_error=False,
                             resources={"warehouse": warehouse, "scb": ScbResource(base_url=scb_url),
                                        "kolada": KoladaResource(base_url="snapshot")},
                             tags=range_tags([2021]))
    failures = [event for event in result.all_events if event.event_type_value == "STEP_FAILURE"]
    assert [event.step_key for event in failures] == ["raw_scb"]  # Kolada landed all the same
    monkeypatch.setenv("KKIK_SCB_URL", scb_url)
    lines = diagnose(failures, Settings.from_env(), "kkik load --year 2021", tmp_path / "x.log").lines()
    assert lines[0] == (
        f"  cause: SCB: {scb_url}/tables/TAB_NOT_THERE/metadata?lang=sv: SCB table TAB_NOT_THERE (employment_share: "
        f"{EMPLOYMENT_SHARE.label}) was not found (HTTP 404). Its id is a placeholder that could not be verified "
        f"offline. Find the real id with GET {scb_url}/tables?query=f%C3%B6rv%C3%A4rvsarbetande%2020-64&lang=sv "
        "and set it in pipelines/sources/scb.py")
    assert lines[-1] == f"  next:  check the service or KKIK_SCB_URL (now {scb_url}), then re-run: kkik load --year 2021"


@pytest.mark.parametrize("command", [["load", "--year", "2022"], ["publish"]])
def test_a_second_run_on_the_same_warehouse_is_not_started(command, tmp_path, monkeypatch, capsys):
    """Two loads at once interleaved their steps (one publishing while the other's audit wrote flags)."""
    from pipelines.config import Settings
    from pipelines.warehouse import run_lock

    set_isolated_env(monkeypatch, tmp_path)
    settings = Settings.from_env()
    with run_lock(settings.duckdb_path) as held:  # as a running `kkik load` holds it
        assert held
        assert cli.main(command) == 1
    assert "not started" in (err := capsys.readouterr().err) and "is running on" in err
    assert not settings.duckdb_path.exists() and not settings.log_dir.exists()  # nothing was done


@pytest.mark.parametrize("where", ["a_folder", "under_a_file"])
def test_a_warehouse_that_cannot_be_written_is_refused_before_any_source_is_fetched(where, tmp_path, monkeypatch,
                                                                                  capsys):
    set_isolated_env(monkeypatch, tmp_path)
    (tmp_path / "blocker").write_text("a file")
    path = tmp_path / "warehouse.duckdb" if where == "a_folder" else tmp_path / "blocker" / "warehouse.duckdb"
    if where == "a_folder":
        path.mkdir()
    monkeypatch.setenv("KKIK_DUCKDB_PATH", str(path))
    assert cli.main(["load", "--year", "2022"]) == 2
    err = capsys.readouterr().err
    assert f"the warehouse {path} cannot be written" in err and "KKIK_DUCKDB_PATH" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["blocker"] + ["warehouse.duckdb"] * (where == "a_folder"))
