"""The catalog stage: where each source becomes a queryable table (DuckDB locally, Athena on AWS)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol, Sequence

from es_assets.config import CatalogSettings, LakeSettings, SourceSettings
from es_assets.lake.base import Lake
from es_assets.schema.fields import SourceSchema


class Catalog(Protocol):
    description: str

    def register(self, source: str, lake: Lake, days: Sequence[dt.date], schema: SourceSchema,
                 start_date: dt.date) -> None: ...

    def problems(self, source: str, lake: Lake, days: Sequence[dt.date]) -> dict[str, str]: ...

    def preview(self, source: str, day: dt.date) -> tuple[list[str], list[tuple[Any, ...]]]: ...

    def query(self, sql: str, parameters: list[Any] | None = None) -> tuple[list[str], list[tuple[Any, ...]]]: ...


def catalogue_days(catalog: Catalog, lake: Lake, source: SourceSettings, days: Sequence[dt.date]) -> None:
    """Point the source's table at the published days, then remove the versions readers no longer use."""
    registered = lake.registered_fields(source.name)
    assert registered is not None  # a published day registered its columns
    schema = SourceSchema(fields=registered, timestamp_field=source.timestamp_field)
    catalog.register(source.name, lake, days, schema, source.start_date)
    for day in days:  # readers now use the new versions: the old ones can go
        lake.remove_stale_versions(source.name, day)


def open_catalog(catalog: CatalogSettings, lake: LakeSettings) -> Catalog:
    """The catalog ``catalog`` describes, over the lake ``lake`` describes."""
    if lake.table_format == "iceberg":
        from es_assets.catalog.iceberg_catalog import IcebergAthenaCatalog, IcebergDuckDBCatalog

        if catalog.kind == "athena":
            return IcebergAthenaCatalog(catalog, lake)
        return IcebergDuckDBCatalog(lake)
    if catalog.kind == "athena":
        from es_assets.catalog.athena import AthenaCatalog

        return AthenaCatalog(catalog)
    from es_assets.catalog.duckdb_catalog import DuckDBCatalog

    return DuckDBCatalog(catalog.duckdb_path, lake)
