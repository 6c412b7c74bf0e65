"""The KPI and municipality metadata the watch needs, from what ships with the project.

``kkik watch --values FILE`` must run on nothing but a values file: the catalogue seed gives each key
figure's unit, direction and collection method; the bundled Kolada snapshot gives titles, the
municipality list and the similar-kommuner groups; the participant seed says who takes part.
"""

from __future__ import annotations

import gzip
import json
from functools import lru_cache

import pandas as pd

from pipelines.config import DBT_PROJECT_DIR, SNAPSHOT_DIR

KOLADA_DIR = SNAPSHOT_DIR / "kolada"


def _envelope(name: str) -> list[dict]:
    with gzip.open(KOLADA_DIR / name, "rt", encoding="utf-8") as handle:
        return json.load(handle)["values"]


@lru_cache(maxsize=1)
def bundled_kpis() -> pd.DataFrame:
    """The catalogue's key figures with Kolada's title and gender split (``run_watch``'s ``kpis``)."""
    catalogue = pd.read_csv(DBT_PROJECT_DIR / "seeds" / "kkik_catalogue.csv", dtype=str, keep_default_na=False)
    kolada = pd.DataFrame(_envelope("kpi.json.gz"))[["id", "title", "is_divided_by_gender"]]
    kolada = kolada.rename(columns={"id": "kpi_id", "title": "kolada_title"})
    kpis = catalogue.merge(kolada, on="kpi_id", how="left")
    kpis["title"] = kpis["kolada_title"].fillna(kpis["title"].replace("", None))
    kpis["is_divided_by_gender"] = kpis["is_divided_by_gender"].fillna(False).astype(bool)
    return kpis[["kpi_id", "title", "unit", "direction", "is_divided_by_gender", "collection_method",
                 "source_agency"]]


@lru_cache(maxsize=1)
def bundled_similar_groups() -> pd.DataFrame:
    """Each kommun's newest "Liknande kommuner, övergripande" group: ``similar_group, municipality_id``
    (members), plus the owner of each group in ``owner_id``."""
    municipalities = {m["title"]: m["id"] for m in _envelope("municipality.json.gz") if m["type"] == "K"}
    rows, newest = [], {}
    for group in _envelope("municipality_groups.json.gz"):
        title = group["title"]
        if not title.startswith("Liknande kommuner, övergripande, "):
            continue
        name, _, year = title.removeprefix("Liknande kommuner, övergripande, ").rpartition(", ")
        owner = municipalities.get(name)
        if owner and (owner not in newest or year > newest[owner][0]):
            newest[owner] = (year, group)
    for owner, (_, group) in newest.items():
        for member in group["members"]:
            rows.append({"similar_group": group["id"], "owner_id": owner,
                         "municipality_id": member.get("member_id") or member.get("id")})
    return pd.DataFrame(rows, columns=["similar_group", "owner_id", "municipality_id"])


@lru_cache(maxsize=1)
def bundled_municipalities() -> pd.DataFrame:
    """Kommuner, Riket and regions with county, similar group and participation (``municipalities``)."""
    frame = pd.DataFrame(_envelope("municipality.json.gz")).rename(columns={"id": "municipality_id", "title": "name"})
    frame["is_kommun"] = frame["type"] == "K"
    frame["county_id"] = frame["municipality_id"].str[:2].where(frame["is_kommun"])
    owners = bundled_similar_groups()[["owner_id", "similar_group"]].drop_duplicates("owner_id")
    frame = frame.merge(owners.rename(columns={"owner_id": "municipality_id"}), on="municipality_id", how="left")
    participants = pd.read_csv(DBT_PROJECT_DIR / "seeds" / "kkik_participants_synthetic.csv", dtype=str)
    frame["is_participant"] = frame["municipality_id"].isin(set(participants["municipality_id"]))
    return frame[["municipality_id", "name", "county_id", "is_kommun", "similar_group", "is_participant"]]
