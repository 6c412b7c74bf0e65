"""A BI tool in another process reads the published copy while the pipeline publishes: nobody waits or fails."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from pipelines.quality.publish import publish_mart
from tests.publish.conftest import make_audit_mart

READER = Path(__file__).with_name("bi_reader.py")


class PollingReader:
    """``bi_reader.py`` in a subprocess (``poll``: reconnects each time, ``hold``: keeps its connection);
    ``stop()`` returns what it saw."""

    def __init__(self, mode: str, published: Path, work: Path):
        self.stop_file, self.out = work / f"stop-{mode}", work / f"{mode}.json"
        self.process = subprocess.Popen([sys.executable, str(READER), mode, str(published), str(self.stop_file),
                                         str(self.out)])


    def stop(self) -> dict:
        self.stop_file.touch()
        assert self.process.wait(timeout=60) == 0
        return json.loads(self.out.read_text())


def test_a_polling_reader_never_blocks_publication_and_sees_only_whole_publications(tmp_path):
    small, large = tmp_path / "small" / "warehouse.duckdb", tmp_path / "large" / "warehouse.duckdb"
    small.parent.mkdir()
    large.parent.mkdir()
    make_audit_mart(small, kommuner=10)
    make_audit_mart(large, kommuner=40, kpis=5)
    published = tmp_path / "published"
    first = publish_mart(small, load_id="run-0", published_dir=published)
    counts = {"small": {t: n.after for t, n in first.row_counts.items()}}

    poller, holder = PollingReader("poll", published, tmp_path), PollingReader("hold", published, tmp_path)
    time.sleep(1.5)  # both readers are polling; the holder holds the first publication open
    for run in range(1, 9):
        summary = publish_mart(large if run % 2 else small, load_id=f"run-{run}", published_dir=published)
        counts["large" if run % 2 else "small"] = {t: n.after for t, n in summary.row_counts.items()}
        time.sleep(0.25)
    seen, held = poller.stop(), holder.stop()

    assert seen["errors"] == [] and held["errors"] == []
    assert len(seen["polls"]) >= 10
    results = {poll["kkik_result"] for poll in seen["polls"]}
    assert results <= {counts["small"]["kkik_result"], counts["large"]["kkik_result"]}
    assert len(results) == 2  # it did see publications change under it
    for poll in seen["polls"]:  # every Parquet file is one whole publication's
        for table, rows in poll["parquet"].items():
            if table != "kkik_publication":
                assert rows in (counts["small"][table], counts["large"][table]), (table, rows)
    # the connection held open all along kept reading the publication it opened, undisturbed
    assert len(held["polls"]) >= 10
    assert {poll["kkik_result"] for poll in held["polls"]} == {counts["small"]["kkik_result"]}
