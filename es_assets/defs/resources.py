"""Dagster resources over the engine: the cluster, the lake and the catalog, from one config file.

Each resource reads its section of ``es_assets.yaml`` when a run starts, so a run always uses the
file as it is now, and a bad file fails the run with the config error's own message.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

import dagster as dg

from es_assets.catalog import Catalog, open_catalog
from es_assets.config import Settings, config_path_from_env, load_settings
from es_assets.lake import open_lake
from es_assets.lake.base import Lake
from es_assets.source.cluster import ClusterInfo, detect_cluster
from es_assets.source.http import EsHttp


class _FromConfigFile(dg.ConfigurableResource):
    config_path: str

    def settings(self) -> Settings:
        return load_settings(self.config_path)


class ElasticsearchResource(_FromConfigFile):
    """The Elasticsearch/OpenSearch cluster the sources are read from."""

    @contextlib.contextmanager
    def connect(self, connections: int = 16) -> Iterator[tuple[EsHttp, ClusterInfo]]:
        http = EsHttp(self.settings().elasticsearch, connections_per_node=connections)
        try:
            yield http, detect_cluster(http)
        finally:
            http.close()


class LakeResource(_FromConfigFile):
    """Where the Parquet files go."""

    def lake(self) -> Lake:
        return open_lake(self.settings().lake)


class CatalogResource(_FromConfigFile):
    """Where the tables are registered (DuckDB locally, Glue/Athena on AWS)."""

    def catalog(self) -> Catalog:
        return open_catalog(self.settings())


def resources_for(config_path: str | None = None) -> dict[str, dg.ConfigurableResource]:
    # Absolute, so runs launched in other processes or directories read the same file.
    path = str(Path(config_path or config_path_from_env()).resolve())
    return {
        "elasticsearch": ElasticsearchResource(config_path=path),
        "lake": LakeResource(config_path=path),
        "catalog": CatalogResource(config_path=path),
    }
