"""Reading the Iceberg tables: DuckDB's iceberg extension locally, Athena over the Glue Data Catalog.

There is nothing to register per day: the day's overwrite commit is the registration (the local
SQL catalog or Glue then points at the new metadata file). Locally every query opens DuckDB with
the iceberg and avro extensions from their PyPI packages and one view per table over the current
metadata file (or, for time travel, over an older snapshot); in AWS, pyiceberg's Glue catalog keeps
the Glue table (``table_type=ICEBERG``, ``metadata_location``) that Athena reads.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping, Sequence

import duckdb

from es_assets.catalog.athena import AthenaCatalog
from es_assets.catalog.duckdb_catalog import enable_s3, load_packaged_extension
from es_assets.config import CatalogSettings, LakeSettings
from es_assets.errors import EsAssetsError
from es_assets.lake.base import Lake
from es_assets.lake.iceberg import IcebergLake
from es_assets.schema.fields import SourceSchema


def _rows_by_day(lake: Lake, source: str, days: Sequence[dt.date]) -> dict[dt.date, Any]:
    return {day: (lake.manifest(source, day) or {}).get("rows") for day in days}


class IcebergDuckDBCatalog:
    """The local catalog (pyiceberg's SQL catalog on SQLite), read through DuckDB (which can also read a
    Glue-held table from S3, as the demo on moto does)."""

    def __init__(self, lake_settings: LakeSettings) -> None:
        self.lake_settings = lake_settings
        self.tables = IcebergLake(lake_settings)
        assert lake_settings.iceberg is not None
        self.catalog_path = lake_settings.iceberg.catalog_path

    @property
    def description(self) -> str:
        return f"iceberg:sqlite:{self.catalog_path} (read by DuckDB)"

    def register(self, source: str, lake: Lake, days: Sequence[dt.date], schema: SourceSchema,
                 start_date: dt.date) -> None:
        """Nothing to do: each day's commit already made it the table's current state."""

    def problems(self, source: str, lake: Lake, days: Sequence[dt.date]) -> dict[str, str]:
        """Days whose row count read through DuckDB's iceberg_scan differs from the day's commit."""
        expected = _rows_by_day(lake, source, days)
        problems = {}
        for day in days:
            _, rows = self.query(f'SELECT count(*) FROM "{source}" WHERE dt = ?', [day])
            if rows[0][0] != expected[day]:
                problems[str(day)] = f"{rows[0][0]} rows read from the Iceberg table, {expected[day]} committed"
        return problems

    def preview(self, source: str, day: dt.date) -> tuple[list[str], list[tuple[Any, ...]]]:
        return self.query(f'SELECT * EXCLUDE (_unmapped) FROM "{source}" WHERE dt = ? LIMIT 5', [day])

    def query(self, sql: str, parameters: list[Any] | None = None,
              as_of: Mapping[str, int] | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run ``sql`` with one view per table; ``as_of`` reads a table at an older snapshot id."""
        as_of = dict(as_of or {})
        with duckdb.connect() as con:
            load_packaged_extension(con, "avro")
            load_packaged_extension(con, "iceberg")
            if self.lake_settings.is_s3:  # a Glue-held table read by DuckDB (the demo on moto)
                enable_s3(con, self.lake_settings)
            for _, name in self.tables.catalog.list_tables(self.tables.namespace):
                table = self.tables.table(name)
                if table is None or table.current_snapshot() is None:
                    continue
                location = table.metadata_location.replace("'", "''")
                snapshot = f", snapshot_from_id = {int(as_of.pop(name))}" if name in as_of else ""
                con.execute(f"CREATE TEMPORARY VIEW \"{name}\" AS SELECT * FROM iceberg_scan('{location}'{snapshot})")
            if as_of:
                raise EsAssetsError(f"no Iceberg table named {', '.join(sorted(as_of))} to read at an older snapshot")
            cursor = con.execute(sql, parameters or [])
            return [d[0] for d in cursor.description], cursor.fetchall()


class IcebergAthenaCatalog(AthenaCatalog):
    """Glue holds the table (kept by pyiceberg's Glue catalog at every commit); Athena queries it."""

    def __init__(self, settings: CatalogSettings, lake_settings: LakeSettings) -> None:
        super().__init__(settings)
        self.tables = IcebergLake(lake_settings)

    @property
    def description(self) -> str:
        return f"athena:{self.database} (Iceberg tables in Glue, workgroup {self.settings.workgroup})"

    def register(self, source: str, lake: Lake, days: Sequence[dt.date], schema: SourceSchema,
                 start_date: dt.date) -> None:
        """Nothing to do: each day's commit updated the Glue table's ``metadata_location``."""

    def problems(self, source: str, lake: Lake, days: Sequence[dt.date]) -> dict[str, str]:
        """Days the Glue table (what Athena reads) does not serve as committed."""
        try:
            parameters = self.glue.get_table(DatabaseName=self.database, Name=source)["Table"].get("Parameters", {})
        except self.glue.exceptions.EntityNotFoundException:
            return {str(day): f"no Glue table {self.database}.{source}" for day in days}
        if parameters.get("table_type", "").upper() != "ICEBERG":
            return {str(day): f"the Glue table is not an Iceberg table: {parameters}" for day in days}
        from pyiceberg.table import StaticTable

        glue_view = StaticTable.from_metadata(parameters["metadata_location"], properties=self.tables.catalog.properties)
        expected = _rows_by_day(lake, source, days)
        problems = {}
        for day in days:
            rows = sum(task.file.record_count for task in glue_view.scan(row_filter=f"dt = '{day}'").plan_files())
            if rows != expected[day]:
                problems[str(day)] = f"{rows} rows in the Glue table's snapshot, {expected[day]} committed"
        return problems

    def query(self, sql: str, parameters: list[Any] | None = None, timeout_s: float = 600.0,
              as_of: Mapping[str, int] | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
        if as_of:
            hints = ", ".join(f"FROM {name} FOR VERSION AS OF {snapshot}" for name, snapshot in as_of.items())
            raise EsAssetsError(f"Athena reads older snapshots in the SQL itself: write {hints}")
        return super().query(sql, parameters, timeout_s)
