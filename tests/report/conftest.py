"""A small hand-made published mart: the `kkik` schema with the columns the report reads.

Known colours, a missing value, a figure without direction, a K/M split, a report-year offset, a
figure-year without any kommun value, a figure whose newest kommun value is a year old and whose Riket
Kolada does not publish, and a different (wrong) value in `kkik_audit` that must never show.
"""

from __future__ import annotations

import duckdb
import pytest

from pipelines.quality.warehouse import macro

KOMMUNER = {"0114": ("Upplands Väsby", "01", "Region Stockholm"), "0115": ("Vallentuna", "01", "Region Stockholm"),
            "0117": ("Österåker", "01", "Region Stockholm"), "2380": ("Östersund", "23", "Region Jämtland Härjedalen"),
            "2321": ("Åre", "23", "Region Jämtland Härjedalen")}
# kpi, title, area, direction, unit, divided by gender, offset, similar group kind
KPIS = [
    ("U23401", "Väntetid särskilt boende, medelvärde", "Stöd och omsorg", "lower", "days", True, 0, "äldreomsorg"),
    ("N11008", "Kostnad förskola, kr/inskrivet barn", "Barn och unga", "none", "kr", False, 1, "förskola"),
    ("U07414", "Kommunalt avfall till materialåtervinning, andel (%)", "Samhälle och miljö", "higher", "percent",
     False, 0, "övergripande"),
    ("U31402", "Väntetid försörjningsstöd, medelvärde", "Stöd och omsorg", "lower", "days", False, 0,
     "ekonomiskt bistånd"),
]
#: Figures for which Kolada has no value for Riket (own reporting): riket_value is null.
NO_RIKET = {"U31402"}
# (kpi, kommun, period, gender) -> (value, colour); KKiK year = period + offset
VALUES = {
    ("U23401", "0114", 2019, "T"): (40.0, "green"), ("U23401", "0114", 2020, "T"): (55.0, "yellow"),
    ("U23401", "0114", 2021, "T"): (None, "grey"), ("U23401", "0114", 2022, "T"): (90.0, "red"),
    ("U23401", "0114", 2022, "K"): (95.0, "red"), ("U23401", "0114", 2022, "M"): (70.0, "yellow"),
    ("N11008", "0114", 2018, "T"): (150000.0, "white"), ("N11008", "0114", 2021, "T"): (161234.0, "white"),
    ("U07414", "0114", 2019, "T"): (30.0, "red"), ("U07414", "0114", 2021, "T"): (45.0, "yellow"),
    ("U07414", "0114", 2022, "T"): (60.0, "green"),
    # the kommun's newest value is KKiK 2021; the other kommuner have 2022
    ("U31402", "0114", 2020, "T"): (20.0, "red"), ("U31402", "0114", 2021, "T"): (15.0, "yellow"),
    ("U31402", "0114", 2022, "T"): (None, "grey"),
}
OTHERS = {"0115": 1.0, "0117": 2.0, "2380": 3.0, "2321": 4.0}


def _result_rows():
    offsets = {k[0]: k[6] for k in KPIS}
    rows = []
    keys = set(VALUES)
    for (kpi, kommun, period, gender) in list(keys):
        for other in OTHERS:
            if other != kommun:
                keys.add((kpi, other, period, gender))
    for kpi, kommun, period, gender in sorted(keys):
        if kommun == "0114":
            value, colour = VALUES[(kpi, kommun, period, gender)]
        else:
            base = VALUES.get((kpi, "0114", period, gender), (None, "grey"))[0]
            value = None if base is None and kpi not in ("U23401", "U31402") else (base or 50.0) + OTHERS[kommun]
            colour = "yellow" if value is not None else "grey"
        previous = VALUES.get((kpi, kommun, period - 1, gender), (None,))[0] if kommun == "0114" else None
        rows.append({
            "kpi_id": kpi, "municipality_id": kommun, "year": period, "kkik_year": period + offsets[kpi], "gender": gender,
            "value": value, "colour": colour, "is_in_kkik_set": True, "national_rank": 1 if value is not None else None,
            "n_ranked": 5, "national_min": None, "national_q1": None, "national_median": None,
            "national_q3": None, "national_max": None,
            "riket_value": None if kpi in NO_RIKET else 66.0,
            "county_mean": 48.5, "similar_group_mean": 47.25 if kommun == "0114" else None, "similar_group_n": 4,
            "previous_value": previous, "change_from_previous_year": (value - previous) if value is not None
            and previous is not None else None, "is_synthetic": (kpi == "N11008" and period == 2021),
            "status": None,
        })
    return rows


def build_mart(path) -> None:
    con = duckdb.connect(str(path))
    for schema, wrong in (("kkik", False), ("kkik_audit", True)):
        con.execute(f"create schema {schema}")
        con.execute(f"""create table {schema}.dim_kpi (kpi_id varchar, title varchar, area varchar, category varchar,
            direction varchar, unit varchar, source_agency varchar, collection_method varchar,
            is_divided_by_gender boolean, first_kkik_year integer, last_kkik_year integer,
            kkik_year_offset integer, similar_group_kind varchar)""")
        for kpi, title, area, direction, unit, by_gender, offset, kind in KPIS:
            con.execute(f"insert into {schema}.dim_kpi values (?, ?, ?, 'Resultat', ?, ?, 'Testkälla', "
                        "'read_from_source', ?, 2015, null, ?, ?)",
                        [kpi, title, area, direction, unit, by_gender, offset, kind])
        con.execute(f"""create table {schema}.dim_municipality (municipality_id varchar, municipality_name varchar,
            county_code varchar, county_region_name varchar, is_kommun boolean)""")
        for code, (name, county, region) in KOMMUNER.items():
            con.execute(f"insert into {schema}.dim_municipality values (?, ?, ?, ?, true)", [code, name, county, region])
        con.execute(f"insert into {schema}.dim_municipality values ('0000', 'Riket', null, null, false)")
        rows = _result_rows()
        columns = list(rows[0])
        types = {"kpi_id": "varchar", "municipality_id": "varchar", "gender": "varchar", "colour": "varchar",
                 "status": "varchar", "is_in_kkik_set": "boolean", "is_synthetic": "boolean", "year": "integer",
                 "kkik_year": "integer", "national_rank": "integer", "n_ranked": "integer",
                 "similar_group_n": "integer"}
        con.execute(f"create table {schema}.kkik_result ("
                    + ", ".join(f"{c} {types.get(c, 'double')}" for c in columns) + ")")
        for row in rows:
            if wrong and row["value"] is not None:
                row = {**row, "value": row["value"] + 1000}
            con.execute(f"insert into {schema}.kkik_result values ({', '.join('?' * len(columns))})",
                        [row[c] for c in columns])
        # the national statistics as kkik_result computes them (macro robust_stats): over these rows' values
        con.execute(f"""update {schema}.kkik_result as result set national_min = stats.low,
                national_q1 = stats.q1, national_median = stats.median, national_q3 = stats.q3,
                national_max = stats.high
            from (select kpi_id, year, gender, min(value) as low, max(value) as high, {macro("robust_stats", "value")}
                from {schema}.kkik_result group by kpi_id, year, gender) as stats
            where result.kpi_id = stats.kpi_id and result.year = stats.year and result.gender = stats.gender""")
        con.execute(f"""create table {schema}.fct_kpi_value as
            select kpi_id, municipality_id, year, gender, 'kolada' as source from {schema}.kkik_result
            where value is not null""")
    con.close()


@pytest.fixture(scope="module")
def mart(tmp_path_factory):
    path = tmp_path_factory.mktemp("mart") / "mart.duckdb"
    build_mart(path)
    return path
