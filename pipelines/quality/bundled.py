"""The KPI and municipality metadata the watch needs, from what ships with the project.

``kkik watch --values FILE`` must run on nothing but a values file and watch any Kolada figure: the
catalogue seed gives each key figure's unit, direction and collection method, Kolada's metadata the kind
of every other figure; the bundled Kolada snapshot gives titles, the
municipality list and the similar-kommuner groups (classified by the warehouse's own model,
int_municipalities_classified); the participant seed says who takes part.
"""

from __future__ import annotations

import gzip
import json
from functools import lru_cache

import pandas as pd

from pipelines.config import DBT_PROJECT_DIR, SNAPSHOT_DIR
from pipelines.quality.warehouse import kolada_kinds, land_municipalities

KOLADA_DIR = SNAPSHOT_DIR / "kolada"


def _envelope(name: str) -> list[dict]:
    with gzip.open(KOLADA_DIR / name, "rt", encoding="utf-8") as handle:
        return json.load(handle)["values"]


@lru_cache(maxsize=1)
def bundled_kpis() -> pd.DataFrame:
    """Every Kolada figure, as ``run_watch``'s ``kpis``: the catalogue's key figures as staff describe them
    (unit, direction, collection method, source), and every other Kolada figure with its kind read from
    Kolada's metadata by the warehouse's model ``int_kolada_kpi_kinds`` (direction none: not coloured)."""
    catalogue = pd.read_csv(DBT_PROJECT_DIR / "seeds" / "kkik_catalogue.csv", dtype=str, keep_default_na=False)
    kolada = pd.DataFrame(_envelope("kpi.json.gz")).rename(columns={"id": "kpi_id"})
    kinds = kolada_kinds(kolada[["kpi_id", "title", "description"]])
    kolada = kolada[["kpi_id", "title", "is_divided_by_gender"]].rename(columns={"title": "kolada_title"})
    kpis = catalogue.merge(kolada, on="kpi_id", how="left")
    kpis["title"] = kpis["kolada_title"].fillna(kpis["title"].replace("", None))
    others = kinds[~kinds["kpi_id"].isin(catalogue["kpi_id"])].merge(
        kolada[["kpi_id", "is_divided_by_gender"]], on="kpi_id", how="left")
    others = others.assign(direction="none", collection_method="read_from_source", source_agency="")
    kpis["is_additive"] = False
    columns = ["kpi_id", "title", "unit", "direction", "is_divided_by_gender", "collection_method", "source_agency",
               "is_additive"]
    kpis = pd.concat([kpis[columns], others[columns]], ignore_index=True)
    kpis["is_divided_by_gender"] = kpis["is_divided_by_gender"].fillna(False).astype(bool)
    return kpis


@lru_cache(maxsize=1)
def _classified() -> pd.DataFrame:
    """int_municipalities_classified on the bundled Kolada snapshot: the warehouse's one definition of
    county, SKR group and each kommun's newest "Liknande kommuner, övergripande" group."""
    municipalities = pd.DataFrame(_envelope("municipality.json.gz")).rename(
        columns={"id": "municipality_id", "title": "municipality_name", "type": "municipality_type"})
    members = [
        {"group_id": group["id"], "group_title": group["title"],
         "municipality_id": member.get("member_id") or member.get("id")}
        for group in _envelope("municipality_groups.json.gz") for member in group["members"]
    ]
    return land_municipalities(municipalities[["municipality_id", "municipality_name", "municipality_type"]],
                               pd.DataFrame(members, columns=["group_id", "group_title", "municipality_id"]))


@lru_cache(maxsize=1)
def bundled_similar_groups() -> pd.DataFrame:
    """The members of each kommun's similar group: ``similar_group, municipality_id``, plus the kommun
    whose group it is in ``owner_id``."""
    groups = _envelope("municipality_groups.json.gz")
    owners = _classified().dropna(subset=["similar_group_id"])
    owner_of = dict(zip(owners["similar_group_id"], owners["municipality_id"]))
    rows = [{"similar_group": group["id"], "owner_id": owner_of[group["id"]],
             "municipality_id": member.get("member_id") or member.get("id")}
            for group in groups if group["id"] in owner_of for member in group["members"]]
    return pd.DataFrame(rows, columns=["similar_group", "owner_id", "municipality_id"])


@lru_cache(maxsize=1)
def bundled_municipalities() -> pd.DataFrame:
    """Kommuner, Riket and regions with county, similar group and participation (``municipalities``)."""
    frame = _classified().drop(columns="similar_group").rename(
        columns={"municipality_name": "name", "county_code": "county_id", "similar_group_id": "similar_group"})
    participants = pd.read_csv(DBT_PROJECT_DIR / "seeds" / "kkik_participants_synthetic.csv", dtype=str)
    frame["is_participant"] = frame["municipality_id"].isin(set(participants["municipality_id"]))
    return frame[["municipality_id", "name", "county_id", "is_kommun", "similar_group", "is_participant"]]
