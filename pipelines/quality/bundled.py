"""The KPI and municipality metadata the watch needs, from what ships with the project.

``kkik watch --values FILE`` must run on nothing but a values file and watch any Kolada figure: the
catalogue seed gives each key figure's unit, direction and collection method, Kolada's metadata the kind
and collection method of every other figure (both through the warehouse's int_kpis_all); the bundled Kolada
snapshot gives titles, the
municipality list and the similar-kommuner groups (classified by the warehouse's own model,
int_municipalities_classified); the participant seed says who takes part.
"""

from __future__ import annotations

import gzip
import json
from functools import lru_cache

import pandas as pd

from pipelines.config import DBT_PROJECT_DIR, SNAPSHOT_DIR
from pipelines.quality.warehouse import run_model

KOLADA_DIR = SNAPSHOT_DIR / "kolada"


def _envelope(name: str) -> list[dict]:
    with gzip.open(KOLADA_DIR / name, "rt", encoding="utf-8") as handle:
        return json.load(handle)["values"]


#: what ``run_watch`` takes of a figure (the columns of the warehouse's int_kpis_all it uses)
KPI_COLUMNS = ["kpi_id", "title", "unit", "direction", "is_divided_by_gender", "collection_method", "source_agency",
               "is_additive", "similar_group_kind"]


@lru_cache(maxsize=1)
def bundled_kpis() -> pd.DataFrame:
    """Every Kolada figure, as ``run_watch``'s ``kpis``: the warehouse's own ``int_kpis_all`` (one definition of
    a figure's unit, direction, collection method and similar-kommuner kind) run on the catalogue seed and the
    bundled Kolada metadata: the catalogue's key figures as staff describe them, every other Kolada figure
    with its kind and collection method read from Kolada's metadata (int_kolada_kpi_kinds; direction none:
    not coloured)."""
    catalogue = pd.read_csv(DBT_PROJECT_DIR / "seeds" / "kkik_catalogue.csv", dtype=str, keep_default_na=False)
    kolada = pd.DataFrame(_envelope("kpi.json.gz")).rename(columns={"id": "kpi_id"})
    for column in ("publication_date", "prel_publication_date"):
        kolada[column] = pd.to_datetime(kolada[column], errors="coerce")
    kolada["publ_period"] = pd.to_numeric(kolada["publ_period"], errors="coerce").astype("Int64")
    rows = catalogue.replace("", None)
    for column in ("first_kkik_year", "last_kkik_year", "kkik_year_offset"):  # the seed's numbers, as dbt types them
        rows[column] = pd.to_numeric(rows[column], errors="coerce").astype("Int64")
    seed = pd.read_csv(DBT_PROJECT_DIR / "seeds" / "similar_group_kinds.csv", dtype=str)
    metadata = kolada[["kpi_id", "title", "description", "auspice", "operating_area", "is_divided_by_gender",
                       "municipality_type", "perspective", "has_ou_data", "publ_period", "prel_publication_date",
                       "publication_date"]]
    kpis = run_model("int_kpis_all", {"kkik_catalogue": rows, "int_kolada_kpis_latest": metadata,
                                      "similar_group_kinds": seed}, views=["int_kolada_kpi_kinds"])
    return kpis[KPI_COLUMNS].assign(is_divided_by_gender=kpis["is_divided_by_gender"].fillna(False).astype(bool))


@lru_cache(maxsize=1)
def _staged_municipalities() -> dict[str, pd.DataFrame]:
    """The bundled Kolada municipalities and group members as the staging models give them."""
    municipalities = pd.DataFrame(_envelope("municipality.json.gz")).rename(
        columns={"id": "municipality_id", "title": "municipality_name", "type": "municipality_type"})
    members = [
        {"group_id": group["id"], "group_title": group["title"],
         "municipality_id": member.get("member_id") or member.get("id")}
        for group in _envelope("municipality_groups.json.gz") for member in group["members"]
    ]
    return {"stg_kolada__municipalities": municipalities[["municipality_id", "municipality_name",
                                                          "municipality_type"]].assign(is_latest_load=True),
            "stg_kolada__municipality_group_members": pd.DataFrame(
                members, columns=["group_id", "group_title", "municipality_id"]).assign(is_latest_load=True)}


@lru_cache(maxsize=1)
def _classified() -> pd.DataFrame:
    """int_municipalities_classified on the bundled Kolada snapshot: the warehouse's one definition of
    county, SKR group and each kommun's newest "Liknande kommuner, övergripande" group."""
    return run_model("int_municipalities_classified", _staged_municipalities(), views=["int_similar_kommun_groups"])


@lru_cache(maxsize=1)
def bundled_similar_groups() -> pd.DataFrame:
    """The members of each kommun's similar groups (every area kind and group year, the warehouse's
    int_similar_kommun_groups): ``similar_group, municipality_id``, and the kommun whose group it is
    (``owner_id``), its ``similar_group_kind`` and ``group_year``."""
    owners = run_model("int_similar_kommun_groups", _staged_municipalities())
    owners = owners.drop(columns="similar_group").rename(columns={"municipality_id": "owner_id",
                                                                  "similar_group_id": "similar_group"})
    members = _staged_municipalities()["stg_kolada__municipality_group_members"].rename(
        columns={"group_id": "similar_group"})
    return owners[["similar_group", "owner_id", "similar_group_kind", "group_year"]].merge(
        members[["similar_group", "municipality_id"]], on="similar_group")[
        ["similar_group", "owner_id", "similar_group_kind", "group_year", "municipality_id"]]


@lru_cache(maxsize=1)
def bundled_municipalities() -> pd.DataFrame:
    """Kommuner, Riket and regions with county, similar group and participation (``municipalities``)."""
    frame = _classified().drop(columns="similar_group").rename(
        columns={"municipality_name": "name", "county_code": "county_id", "similar_group_id": "similar_group"})
    participants = pd.read_csv(DBT_PROJECT_DIR / "seeds" / "kkik_participants_synthetic.csv", dtype=str)
    frame["is_participant"] = frame["municipality_id"].isin(set(participants["municipality_id"]))
    return frame[["municipality_id", "name", "county_id", "is_kommun", "similar_group", "is_participant"]]
