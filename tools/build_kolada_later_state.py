"""Build the Kolada snapshot's later state: what Kolada would answer some weeks after the bundled snapshot.

KKiK's collection period is a stream of changes: figures appear "vartefter de blir klara", values are revised,
a value is withdrawn. No real change history is in ../shared (the scrape is one state), so the changes are
GENERATED from the bundled snapshot by a fixed seed and every one is marked ``"synthetic": true``:

* added: N00914 (förvärvsarbetande 20–64 år) for 2022, which the real data does not have yet: every kommun,
  Riket and region, T/K/M, its 2021 value plus a small change (a figure published for all kommuner at once);
* revised: a handful of real values of other figures, changed by a few per cent (a corrected submission);
* deleted: a few values withdrawn (Kolada answers them with ``isdeleted`` true and a null value).

Each change has the date it was made; the snapshot server answers ``from_date`` with the changes made on or
after that date (``pipelines/snapshot/kolada_app.py``). Run: ``python tools/build_kolada_later_state.py``.
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

SNAPSHOT = Path(__file__).resolve().parents[1] / "snapshot" / "kolada"
OUT = SNAPSHOT / "later" / "changes.synthetic.json"
SEED = 20241001
BASE_DATE = "2024-08-30"  # the scrape the snapshot's values come from (manifest.json provenance)
ADDED_ON, REVISED_ON, DELETED_ON = "2024-09-16", "2024-10-01", "2024-10-01"
REVISED = {"N15428": 3, "U21468": 2, "N00938": 1}  # figure -> how many kommun values are revised
DELETED = {"N05401": 2, "U23471": 1}


def records(kpi: str) -> list[dict]:
    with gzip.open(SNAPSHOT / "data" / "real" / f"{kpi}.json.gz", "rt", encoding="utf-8") as fh:
        return json.load(fh)


def kommun_values(kpi: str, year: int) -> list[tuple[str, str, float]]:
    return [(r["municipality"], v["gender"], v["value"]) for r in records(kpi) if r["period"] == year
            and not r["municipality"].startswith("00") for v in r["values"] if v["value"] is not None]


def main() -> None:
    rng = random.Random(SEED)
    changes = []
    for record in records("N00914"):
        if record["period"] != 2021:
            continue
        for entry in record["values"]:
            if entry["value"] is None:
                continue
            value = round(min(100.0, entry["value"] + rng.gauss(0.3, 0.6)), 6)
            changes.append({"kpi": "N00914", "municipality": record["municipality"], "period": 2022,
                            "gender": entry["gender"], "change": "added", "value": value, "changed_on": ADDED_ON})
    for kpi, n in REVISED.items():
        year = 2022 if kpi != "N00938" else 2021
        for municipality, gender, value in rng.sample(kommun_values(kpi, year), n):
            changes.append({"kpi": kpi, "municipality": municipality, "period": year, "gender": gender,
                            "change": "revised", "value_before": value,
                            "value": round(value * rng.choice([0.96, 0.97, 1.03, 1.05]), 6), "changed_on": REVISED_ON})
    for kpi, n in DELETED.items():
        for municipality, gender, value in rng.sample(kommun_values(kpi, 2022), n):
            changes.append({"kpi": kpi, "municipality": municipality, "period": 2022, "gender": gender,
                            "change": "deleted", "value_before": value, "value": None, "changed_on": DELETED_ON})
    OUT.parent.mkdir(parents=True, exist_ok=True)
    payload = {"synthetic": True, "base_date": BASE_DATE, "seed": SEED,
               "description": "GENERATED later state of the bundled Kolada snapshot (tools/build_kolada_later_state.py)",
               "changes": changes}
    OUT.write_text(json.dumps(payload, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    counts = {kind: sum(c["change"] == kind for c in changes) for kind in ("added", "revised", "deleted")}
    print(f"{OUT}: {counts}")


if __name__ == "__main__":
    main()
