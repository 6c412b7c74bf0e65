"""Dagster resources: configuration only, so assets stay thin and the same code runs offline and live."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster import ConfigurableResource

from pipelines.config import (
    LIVE_KOLADA_CALLS_PER_SECOND,
    LIVE_KOLADA_URL,
    LIVE_SCB_URL,
    NOT_SET,
    SNAPSHOT,
    SNAPSHOT_CALLS_PER_SECOND,
    Settings,
    SettingsError,
    published_dir_beside,
)
from pipelines.endpoints import kolada_base_url, snapshot_root


class WarehouseResource(ConfigurableResource):
    """Where the DuckDB warehouse, the raw landing folder and the readers' published copy are."""

    duckdb_path: str
    raw_dir: str
    quality_dir: str
    #: empty: ``published/`` beside the warehouse file (see ``pipelines.config.published_dir_beside``)
    published_dir: str = ""

    @property
    def path(self) -> Path:
        return Path(self.duckdb_path)

    @property
    def published_path(self) -> Path:
        return Path(self.published_dir) if self.published_dir else published_dir_beside(self.path)

    @property
    def raw_path(self) -> Path:
        return Path(self.raw_dir)

    @property
    def quality_path(self) -> Path:
        return Path(self.quality_dir)

    def export_for_dbt(self) -> None:
        """dbt reads the file path from ``KKIK_DUCKDB_PATH`` (profiles.yml); its subprocess inherits it."""
        os.environ["KKIK_DUCKDB_PATH"] = self.duckdb_path


class KoladaResource(ConfigurableResource):
    """The Kolada API: ``snapshot`` serves the bundled snapshot on loopback; a URL reaches the live API."""

    base_url: str = LIVE_KOLADA_URL
    api_version: str = "v3"
    #: the client's minimum interval between calls is 1/this (Kolada's polite 5 live; see pipelines/config.py)
    calls_per_second: float = LIVE_KOLADA_CALLS_PER_SECOND

    @contextmanager
    def open_client(self) -> Iterator[KoladaClient]:  # noqa: F821 (imported lazily)
        from pipelines.sources.kolada import KoladaClient

        with (kolada_base_url(self.base_url, self.api_version) as url,
              KoladaClient(url, api_version=self.api_version, calls_per_second=self.calls_per_second) as client):
            yield client


class ScbResource(ConfigurableResource):
    """SCB's PxWeb API: ``snapshot``, or the API base URL (v2 ``…/api/v2``, v1 ``…/OV0104/v1/doris/sv/ssd``)."""

    base_url: str = LIVE_SCB_URL
    api_version: str = "v2"

    @contextmanager
    def open_client(self) -> Iterator[ScbClient]:  # noqa: F821
        from pipelines.sources.scb import ScbClient

        if self.base_url != SNAPSHOT:
            with ScbClient(self.base_url, api_version=self.api_version) as client:
                yield client
            return
        with snapshot_root("scb") as root, ScbClient.for_root(root, api_version=self.api_version) as client:
            yield client


class SkolverketResource(ConfigurableResource):
    """Where Skolverket's "Sök statistik" kommun exports are fetched: ``snapshot`` or a configured URL."""

    base_url: str = NOT_SET

    @contextmanager
    def open_client(self) -> Iterator[SkolverketClient]:  # noqa: F821
        from pipelines.sources.skolverket import SkolverketClient

        if self.base_url == NOT_SET:
            raise SettingsError("KKIK_SKOLVERKET_URL is not set: Skolverket has no default live URL; set it to "
                                "where the kommun exports are kept, or to `snapshot` for the bundled ones")
        if self.base_url != SNAPSHOT:
            with SkolverketClient(self.base_url) as client:
                yield client
            return
        with (snapshot_root("skolverket") as root,
              SkolverketClient(root, calls_per_second=SNAPSHOT_CALLS_PER_SECOND) as client):
            yield client


def resources_from_env() -> dict:
    """The resources for a run, read from the ``KKIK_*`` environment (see pipelines/config.py)."""
    settings = Settings.from_env()
    return {
        "warehouse": WarehouseResource(duckdb_path=str(settings.duckdb_path), raw_dir=str(settings.raw_dir),
                                       quality_dir=str(settings.quality_dir),
                                       published_dir=str(settings.published_dir)),
        "kolada": KoladaResource(base_url=settings.kolada_url, api_version=settings.kolada_api_version,
                                 calls_per_second=settings.kolada_calls_per_second),
        "scb": ScbResource(base_url=settings.scb_url, api_version=settings.scb_api_version),
        "skolverket": SkolverketResource(base_url=settings.skolverket_url),
    }
