"""``kkik backfill`` and ``kkik load --kpis`` end to end, on a Kolada server built from committed data.

The Kolada server is the bundled snapshot plus four real Kolada figures outside the KKiK catalogue
(``tests/fixtures/kolada/non_kkik_values.parquet``, 2019–2022: a share, a count, a figure that can be negative
and one whose kind its title does not tell), laid out as snapshot data files in a temporary copy. The other
sources are the bundled snapshot, so the runs pass ``--allow-mixed-sources``. Two runs over 2018–2022 (the
years of ``make run``, whose real gaps are accepted): the default (the KKiK catalogue only) and a backfill with
``--kpis`` of the four; the KKiK result must not differ.
"""

from __future__ import annotations

import gzip
import json
import shutil

import duckdb
import pandas as pd
import pytest

from pipelines import cli
from pipelines.catalogue import kkik_kpi_ids
from pipelines.config import SNAPSHOT_DIR
from pipelines.snapshot.kolada_app import KoladaApp
from pipelines.snapshot.server import SnapshotServer
from tests.test_cli import PROJECT, isolated_env, run_kkik, set_isolated_env

NON_KKIK = ("N01724", "N00230", "N01964", "N05832")
FIXTURE = PROJECT / "tests" / "fixtures" / "kolada" / "non_kkik_values.parquet"
YEARS = ("--from", "2018", "--to", "2022")  # make run's years, whose real gaps are accepted


def write_snapshot_files(values: pd.DataFrame, folder) -> None:
    """Values (kpi, municipality, period, gender, value) as snapshot data files: one per figure, records in
    the API's shape (count 1, empty status, as the snapshot writes the scrape's values)."""
    folder.mkdir(parents=True, exist_ok=True)
    for kpi, frame in values.groupby("kpi"):
        records = [
            {"kpi": kpi, "municipality": municipality, "period": int(period),
             "values": [{"gender": g, "count": 1, "status": "", "value": None if pd.isna(v) else float(v),
                         "isdeleted": False} for g, v in sorted(zip(group["gender"], group["value"]),
                                                                 key=lambda gv: "TKM".index(gv[0]))]}
            for (municipality, period), group in frame.groupby(["municipality", "period"])
        ]
        with gzip.open(folder / f"{kpi}.json.gz", "wt", encoding="utf-8") as handle:
            json.dump(records, handle)


@pytest.fixture(scope="module")
def kolada_url(tmp_path_factory):
    snapshot = tmp_path_factory.mktemp("kolada_snapshot") / "kolada"
    shutil.copytree(SNAPSHOT_DIR / "kolada", snapshot)
    values = pd.read_parquet(FIXTURE).rename(
        columns={"kpi_id": "kpi", "municipality_id": "municipality", "year": "period"})
    assert set(values["kpi"]) == set(NON_KKIK) and not set(NON_KKIK) & set(kkik_kpi_ids())
    write_snapshot_files(values, snapshot / "data" / "real")
    with SnapshotServer([KoladaApp(snapshot_dir=snapshot)]) as server:
        yield server.source_url("kolada") + "/v3"


def mart(tmp) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(tmp / "warehouse.duckdb"), read_only=True) as con:
        return {
            "fct": con.execute("select kpi_id, count(*) as n from kkik.fct_kpi_value group by kpi_id").df(),
            # every value the server had for the four, of a municipality Kolada lists
            "served": con.execute("select kpi_id, count(*) as n from read_parquet(?) semi join kkik.dim_municipality "
                                  "using (municipality_id) group by kpi_id", [str(FIXTURE)]).df(),
            "dim": con.execute("select kpi_id, is_kkik, title, unit, direction, operating_area, municipality_type, "
                               "publication_date from kkik.dim_kpi").df(),
            "result": con.execute("select * from kkik.kkik_result order by kpi_id, municipality_id, year, gender"
                                  ).df(),
            "flags": con.execute("select kpi_id, severity, accepted, is_kkik from kkik_audit.kkik_flag").df(),
        }


@pytest.fixture(scope="module")
def loads(tmp_path_factory, kolada_url):
    default, wide = tmp_path_factory.mktemp("default"), tmp_path_factory.mktemp("wide")
    plain = run_kkik(["load", *(f"--year={y}" for y in range(2018, 2023)), "--allow-mixed-sources"],
                     isolated_env(default, KKIK_KOLADA_URL=kolada_url))
    backfill = run_kkik(["backfill", *YEARS, "--kpis", ",".join(NON_KKIK), "--allow-mixed-sources"],
                        isolated_env(wide, KKIK_KOLADA_URL=kolada_url))
    return (default, plain), (wide, backfill)


@pytest.mark.slow
def test_a_backfill_with_kpis_lands_every_figure_and_publishes_the_kkik_result_unchanged(loads):
    (default, plain), (wide, backfill) = loads
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert backfill.returncode == 0, backfill.stdout + backfill.stderr
    assert "kkik backfill: years 2018–2022" in backfill.stdout
    before, after = mart(default), mart(wide)

    landed = dict(zip(after["fct"]["kpi_id"], after["fct"]["n"]))
    served = dict(zip(after["served"]["kpi_id"], after["served"]["n"]))
    assert {kpi: landed.get(kpi) for kpi in NON_KKIK} == served and sum(served.values()) > 13_000
    assert not set(NON_KKIK) & set(before["fct"]["kpi_id"])

    dim = after["dim"].set_index("kpi_id")
    assert len(dim) >= 6099 and dim["is_kkik"].sum() == len(kkik_kpi_ids())
    assert set(dim.index[dim["is_kkik"]]) == set(kkik_kpi_ids())
    assert not dim.loc[list(NON_KKIK), "is_kkik"].any()
    assert (dim.loc[list(NON_KKIK), "direction"] == "none").all()
    assert dim.loc["N01724", "unit"] == "percent" and dim.loc["N01724", "title"].startswith("Högutbildade")
    assert dim.loc[list(NON_KKIK), "operating_area"].notna().all()

    assert not set(NON_KKIK) & set(after["result"]["kpi_id"])
    pd.testing.assert_frame_equal(before["result"].drop(columns=["is_in_kkik_set"], errors="ignore"),
                                  after["result"].drop(columns=["is_in_kkik_set"], errors="ignore"))

    flags = after["flags"]
    outside = flags[flags["kpi_id"].isin(NON_KKIK)]
    assert len(outside) > 0 and not outside["is_kkik"].any()  # the watch ran on them
    # is_kkik on every flag: its figure is in the catalogue, or it has none (the gate, GX); those block
    in_catalogue = flags["kpi_id"].isna() | flags["kpi_id"].isin(kkik_kpi_ids())
    assert (flags["is_kkik"].astype(bool) == in_catalogue).all()
    blocking = (flags["severity"] == "error") & ~flags["accepted"] & flags["is_kkik"]
    assert not blocking.any() and ((flags["severity"] == "error") & ~flags["accepted"] & ~flags["is_kkik"]).any()


def test_an_unknown_kpi_id_is_refused_before_anything_is_written(tmp_path, monkeypatch, capsys):
    set_isolated_env(monkeypatch, tmp_path)
    assert cli.main(["load", "--year", "2022", "--kpis", "N01724,N99999"]) == 2
    assert "KPI id(s) N99999 not in Kolada's KPI list" in capsys.readouterr().err
    assert cli.main(["backfill", "--from", "2021", "--to", "2022", "--kpis", "GNOPE"]) == 2
    assert "KPI group(s) GNOPE not among Kolada's KPI groups" in capsys.readouterr().err
    assert cli.main(["load", "--year", "2022", "--kpis", "N1"]) == 2
    assert "'N1' is neither a Kolada KPI id" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_backfill_range_is_checked_like_the_years_of_a_load(tmp_path, monkeypatch, capsys):
    set_isolated_env(monkeypatch, tmp_path)
    assert cli.main(["backfill", "--from", "2022", "--to", "2019"]) == 2
    assert "--from 2022 is after --to 2019" in capsys.readouterr().err
    # 1994 is a partition now; the bundled snapshot has 2017–2022 only
    assert cli.main(["backfill", "--from", "1994", "--to", "2022"]) == 2
    assert "outside the bundled Kolada snapshot (2017–2022)" in capsys.readouterr().err
    assert cli.main(["backfill", "--from", "1993", "--to", "2022"]) == 2  # the snapshot's range is the narrower
    assert ("years 1993–2016 are outside the bundled Kolada snapshot (2017–2022); choose years in 2017–2022"
            in capsys.readouterr().err)
    assert list(tmp_path.iterdir()) == []


def test_1994_is_a_year_a_live_load_may_ask_for(tmp_path, monkeypatch):
    import dataclasses

    from pipelines.config import LIVE_KOLADA_URL, Settings
    from pipelines.preflight import BadArguments, check_years

    set_isolated_env(monkeypatch, tmp_path)
    live = dataclasses.replace(Settings.from_env(), kolada_url=LIVE_KOLADA_URL)
    check_years(list(range(1994, 2023)), live)  # Kolada's every year: no BadArguments
    with pytest.raises(BadArguments, match="year 1993 is outside the job's year partitions"):
        check_years([1993, 1994], live)
