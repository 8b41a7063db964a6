"""Dagster resources over the engine: the cluster, the lake and the catalog, built once from the settings.

Each resource's fields are the settings themselves (hosts, the lake URI, the catalog's database ...),
so the UI shows them and a run uses exactly what the definitions were built from; nothing re-reads
the config file at run time. Secrets are ``EnvVar`` fields: Dagster stores the variable's name and
each run process reads the value from its own environment.
"""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar, Iterator, Optional

import dagster as dg
from pydantic import PrivateAttr, TypeAdapter

from es_assets.catalog import Catalog, open_catalog
from es_assets.config import (
    AthenaCatalogSettings,
    CatalogSettings,
    DuckDBCatalogSettings,
    ElasticsearchSettings,
    LakeSettings,
    Secret,
    Settings,
)
from es_assets.lake import open_lake
from es_assets.lake.base import Lake
from es_assets.source.cluster import ClusterInfo, detect_cluster
from es_assets.source.http import EsHttp

_LAKE = TypeAdapter(LakeSettings)
_CATALOG = TypeAdapter(CatalogSettings)


def _set(**fields: Any) -> dict[str, Any]:
    """The fields that are set: an unset optional key is not a key of the settings' variant."""
    return {key: value for key, value in fields.items() if value is not None}


def _env_var(secret: Secret | None) -> dg.EnvVar | None:
    """The secret as its environment variable: the run's process reads the value, Dagster keeps the name."""
    if secret is None:
        return None
    if secret.env_var is None:
        raise ValueError("a secret for a resource must come from an ${ENV_VAR} reference")
    return dg.EnvVar(secret.env_var)


class ElasticsearchResource(dg.ConfigurableResource):
    """The Elasticsearch/OpenSearch cluster the sources are read from."""

    hosts: list[str]
    api_key: Optional[str] = None  # an EnvVar
    username: Optional[str] = None
    password: Optional[str] = None  # an EnvVar
    ca_certs: Optional[str] = None
    verify_certs: bool
    request_timeout_seconds: float
    retry_budget_seconds: float

    @classmethod
    def from_settings(cls, settings: ElasticsearchSettings) -> "ElasticsearchResource":
        return cls(
            hosts=list(settings.hosts),
            api_key=_env_var(settings.api_key),
            username=settings.username,
            password=_env_var(settings.password),
            ca_certs=settings.ca_certs,
            verify_certs=settings.verify_certs,
            request_timeout_seconds=settings.request_timeout_s,
            retry_budget_seconds=settings.retry_budget_s,
        )

    def settings(self) -> ElasticsearchSettings:
        return ElasticsearchSettings.model_validate(_set(
            hosts=self.hosts,
            api_key=Secret(self.api_key) if self.api_key else None,
            username=self.username,
            password=Secret(self.password) if self.password else None,
            ca_certs=self.ca_certs,
            verify_certs=self.verify_certs,
            request_timeout_seconds=self.request_timeout_seconds,
            retry_budget_seconds=self.retry_budget_seconds,
        ))

    @contextlib.contextmanager
    def connect(self, connections: int = 16) -> Iterator[tuple[EsHttp, ClusterInfo]]:
        http = EsHttp(self.settings(), connections_per_node=connections)
        try:
            yield http, detect_cluster(http)
        finally:
            http.close()


class IcebergConfig(dg.Config):
    """``lake.iceberg`` (see :class:`es_assets.config.IcebergSettings`)."""

    catalog_path: Optional[str] = None
    snapshot_retention_hours: int = 168
    glue_database: Optional[str] = None
    glue_region: Optional[str] = None
    glue_endpoint_url: Optional[str] = None


class LakeResource(dg.ConfigurableResource):
    """Where the Parquet files go: a local directory or an S3 prefix. One lake object per run."""

    uri: str
    compression: str
    target_file_rows: int
    target_file_bytes: int
    endpoint_url: Optional[str] = None
    region: Optional[str] = None
    sse: Optional[str] = None
    kms_key_id: Optional[str] = None
    table_format: str = "hive"
    iceberg: Optional[IcebergConfig] = None
    _lake: Optional[Lake] = PrivateAttr(None)

    @classmethod
    def from_settings(cls, settings: LakeSettings) -> "LakeResource":
        return cls(**settings.model_dump())

    def settings(self) -> LakeSettings:
        return _LAKE.validate_python(_set(**self.model_dump(exclude={"_lake"})))

    def lake(self) -> Lake:
        if self._lake is None:
            self._lake = open_lake(self.settings())
        return self._lake


class CatalogResource(dg.ConfigurableResource):
    """Where the tables are registered; its subclass names the kind (DuckDB, Glue/Athena)."""

    def settings(self) -> CatalogSettings:
        return _CATALOG.validate_python({"kind": self.kind, **_set(**self.model_dump())})

    def catalog(self, lake: LakeResource) -> Catalog:
        return open_catalog(self.settings(), lake.settings())

    @classmethod
    def from_settings(cls, settings: CatalogSettings) -> "CatalogResource":
        if isinstance(settings, AthenaCatalogSettings):
            return AthenaCatalogResource(**settings.model_dump(exclude={"kind"}))
        return DuckDBCatalogResource(**settings.model_dump(exclude={"kind"}))


class DuckDBCatalogResource(CatalogResource):
    """A DuckDB file with one view per source."""

    kind: ClassVar[str] = "duckdb"
    duckdb_path: str


class AthenaCatalogResource(CatalogResource):
    """A Glue table per source, queried with Athena."""

    kind: ClassVar[str] = "athena"
    database: str
    workgroup: str
    output_location: str
    region: Optional[str] = None
    endpoint_url: Optional[str] = None
    partition_projection: bool


def resources_for(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    return {
        "elasticsearch": ElasticsearchResource.from_settings(settings.elasticsearch),
        "lake": LakeResource.from_settings(settings.lake),
        "catalog": CatalogResource.from_settings(settings.catalog),
    }
