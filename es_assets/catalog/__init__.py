"""The catalog stage: where each source becomes a queryable table (DuckDB locally, Athena on AWS)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol, Sequence

from es_assets.config import CatalogSettings, LakeSettings
from es_assets.lake.base import Lake
from es_assets.schema.fields import SourceSchema


class Catalog(Protocol):
    description: str

    def register(self, source: str, lake: Lake, days: Sequence[dt.date], schema: SourceSchema,
                 start_date: dt.date) -> None: ...

    def problems(self, source: str, lake: Lake, days: Sequence[dt.date]) -> dict[str, str]: ...

    def preview(self, source: str, day: dt.date) -> tuple[list[str], list[tuple[Any, ...]]]: ...

    def query(self, sql: str, parameters: list[Any] | None = None) -> tuple[list[str], list[tuple[Any, ...]]]: ...


def open_catalog(catalog: CatalogSettings, lake: LakeSettings) -> Catalog:
    """The catalog ``catalog`` describes, over the lake ``lake`` describes."""
    if catalog.kind == "athena":
        from es_assets.catalog.athena import AthenaCatalog

        return AthenaCatalog(catalog)
    from es_assets.catalog.duckdb_catalog import DuckDBCatalog

    return DuckDBCatalog(catalog.duckdb_path, lake)
