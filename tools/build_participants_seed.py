"""Write dbt_project/seeds/kkik_participants_synthetic.csv: a SYNTHETIC list of KKiK participants.

SKR publishes who takes part ("about 260 of 290") but no list was available offline, so this draws 260
kommuner with a fixed seed, the same set for each KKiK year. Replace the file with SKR's real list
(columns kkik_year, municipality_id) when you have it and drop the `_synthetic` suffix.
Run: python tools/build_participants_seed.py --shared ../shared/data
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from pathlib import Path

SEED = 20261123
PARTICIPANTS = 260
YEARS = range(2017, 2027)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    args = parser.parse_args()
    municipalities = json.loads((args.shared / "kolada" / "municipality.json").read_text(encoding="utf-8"))
    kommuner = sorted(m["id"] for m in municipalities if m["type"] == "K")
    chosen = sorted(random.Random(SEED).sample(kommuner, PARTICIPANTS))
    out = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds" / "kkik_participants_synthetic.csv"
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["kkik_year", "municipality_id", "provenance"])
        for year in YEARS:
            for municipality_id in chosen:
                writer.writerow([year, municipality_id, "synthetic"])
    print(f"wrote {out} ({len(chosen)} kommuner x {len(YEARS)} years)")


if __name__ == "__main__":
    main()
