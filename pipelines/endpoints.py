"""Where each source is reached: the live service, or the bundled snapshot served on loopback.

A setting of ``snapshot`` (the default) starts one ``SnapshotServer`` for the duration of a step and
hands the client its URL, so the offline job runs the production clients over real HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pipelines.config import SNAPSHOT
from pipelines.snapshot.server import SnapshotServer


def snapshot_apps() -> list:
    """Every bundled source app (imported here so the server module stays source-agnostic)."""
    from pipelines.snapshot.kolada_app import KoladaApp
    from pipelines.snapshot.scb_app import ScbApp
    from pipelines.snapshot.skolverket_app import SkolverketApp

    return [KoladaApp(), ScbApp(), SkolverketApp()]


@contextmanager
def snapshot_root(source: str) -> Iterator[str]:
    """The root URL under which the snapshot server answers like ``source`` (for the step's duration)."""
    with SnapshotServer(snapshot_apps()) as server:
        yield server.source_url(source)


@contextmanager
def kolada_base_url(configured_url: str, api_version: str) -> Iterator[str]:
    """The Kolada base URL for this step (``…/v3`` or ``…/v2``), starting the snapshot server if needed."""
    if configured_url != SNAPSHOT:
        yield configured_url
        return
    with snapshot_root("kolada") as root:
        yield f"{root}/{api_version}"
