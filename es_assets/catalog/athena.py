"""The AWS catalog: a Glue table per source, queried with Athena.

Tables and partitions are written through the Glue API (no DDL strings to quote): columns come
from the source's schema registry, the partition key is ``dt`` (string, ``YYYY-MM-DD``), the
SerDe is Parquet. Registering a day points its partition at the day's published version, which
is the atomic switch for Athena readers; older versions are deleted only after that.

With ``partition_projection: true`` Athena computes partitions from ``dt`` instead (no Glue
partition per day, so no registration step and no partition limit), reading
``<table>/dt=YYYY-MM-DD/`` whole. A re-extracted day is then briefly visible twice (old and new
version) until the old one is deleted: use projection for append-only sources.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any, Sequence

import boto3
import pyarrow as pa

from es_assets.config import CatalogSettings
from es_assets.errors import EsAssetsError
from es_assets.lake.base import Lake
from es_assets.schema.fields import SourceSchema

_PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
_PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
_PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,254}")


class AthenaQueryFailed(EsAssetsError):
    """Athena ended a query in FAILED or CANCELLED; the message carries Athena's reason."""


def hive_type(arrow_type: pa.DataType) -> str:
    """The Athena/Hive type that reads a Parquet column of ``arrow_type``."""
    if pa.types.is_struct(arrow_type):
        fields = ",".join(f"{_identifier(f.name)}:{hive_type(f.type)}" for f in arrow_type)
        return f"struct<{fields}>"
    if pa.types.is_list(arrow_type):
        return f"array<{hive_type(arrow_type.value_type)}>"
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    if pa.types.is_decimal(arrow_type):
        return f"decimal({arrow_type.precision},{arrow_type.scale})"
    simple = {pa.string(): "string", pa.int64(): "bigint", pa.float64(): "double", pa.bool_(): "boolean",
              pa.binary(): "binary"}
    if arrow_type in simple:
        return simple[arrow_type]
    raise EsAssetsError(f"no Athena type for Arrow type {arrow_type}")


def _identifier(name: str) -> str:
    if not _IDENTIFIER.fullmatch(name):
        raise EsAssetsError(f"{name!r} is not a safe Athena identifier")
    return name


class AthenaCatalog:
    def __init__(self, settings: CatalogSettings, session: boto3.Session | None = None) -> None:
        self.settings = settings
        session = session or boto3.Session(region_name=settings.region)
        self.glue = session.client("glue", endpoint_url=settings.endpoint_url)
        self.athena = session.client("athena", endpoint_url=settings.endpoint_url)
        self.database = _identifier(settings.database or "")

    @property
    def description(self) -> str:
        return f"athena:{self.database} (workgroup {self.settings.workgroup})"

    # -- registration -------------------------------------------------------------------------
    def register(self, source: str, lake: Lake, days: Sequence[dt.date], schema: SourceSchema,
                 start_date: dt.date) -> None:
        """Create or evolve the table, then point each day's partition at its published version."""
        self._ensure_database()
        self._ensure_table(source, lake, schema, start_date)
        if self.settings.partition_projection:
            return
        for day in days:
            location = lake.published_location(source, day)
            if location is None:
                raise EsAssetsError(f"{source} {day}: nothing published to register")
            partition = {"Values": [day.isoformat()], "StorageDescriptor": self._storage(location, schema)}
            try:
                self.glue.update_partition(DatabaseName=self.database, TableName=source,
                                           PartitionValueList=[day.isoformat()], PartitionInput=partition)
            except self.glue.exceptions.EntityNotFoundException:
                self.glue.create_partition(DatabaseName=self.database, TableName=source, PartitionInput=partition)

    def problems(self, source: str, lake: Lake, days: Sequence[dt.date]) -> dict[str, str]:
        """Days whose Glue partition does not point at the published version."""
        if self.settings.partition_projection:
            return {}
        problems = {}
        for day in days:
            try:
                partition = self.glue.get_partition(DatabaseName=self.database, TableName=source,
                                                    PartitionValues=[day.isoformat()])["Partition"]
                location = partition["StorageDescriptor"]["Location"]
            except self.glue.exceptions.EntityNotFoundException:
                location = None
            if location != lake.published_location(source, day):
                problems[str(day)] = f"partition points at {location}, published is {lake.published_location(source, day)}"
        return problems

    def preview(self, source: str, day: dt.date) -> tuple[list[str], list[tuple[Any, ...]]]:
        # An Athena query costs money and time per day: the UI gets the table's columns instead.
        table = self.glue.get_table(DatabaseName=self.database, Name=source)["Table"]
        columns = table["StorageDescriptor"]["Columns"]
        return ["column", "type"], [(c["Name"], c["Type"]) for c in columns]

    def _ensure_database(self) -> None:
        try:
            self.glue.create_database(DatabaseInput={"Name": self.database,
                                                     "Description": "Elasticsearch extracts by es_assets"})
        except self.glue.exceptions.AlreadyExistsException:
            pass

    def _ensure_table(self, source: str, lake: Lake, schema: SourceSchema, start_date: dt.date) -> None:
        location = lake.table_location(source)
        parameters = {"classification": "parquet", "EXTERNAL": "TRUE", "es_assets.source": source}
        if self.settings.partition_projection:
            parameters.update({
                "projection.enabled": "true",
                "projection.dt.type": "date",
                "projection.dt.format": "yyyy-MM-dd",
                "projection.dt.range": f"{start_date.isoformat()},NOW",
                "projection.dt.interval": "1",
                "projection.dt.interval.unit": "DAYS",
                "storage.location.template": location + "dt=${dt}/",
            })
        table = {
            "Name": _identifier(source),
            "TableType": "EXTERNAL_TABLE",
            "Parameters": parameters,
            "StorageDescriptor": self._storage(location, schema),
            "PartitionKeys": [{"Name": "dt", "Type": "string"}],
        }
        try:
            self.glue.create_table(DatabaseName=self.database, TableInput=table)
        except self.glue.exceptions.AlreadyExistsException:
            self.glue.update_table(DatabaseName=self.database, TableInput=table)

    def _storage(self, location: str, schema: SourceSchema) -> dict[str, Any]:
        return {
            "Columns": [{"Name": _identifier(f.name), "Type": hive_type(f.type)} for f in schema.arrow_schema],
            "Location": location,
            "InputFormat": _PARQUET_INPUT,
            "OutputFormat": _PARQUET_OUTPUT,
            "SerdeInfo": {"SerializationLibrary": _PARQUET_SERDE, "Parameters": {"serialization.format": "1"}},
        }

    # -- queries ------------------------------------------------------------------------------
    def query(self, sql: str, parameters: list[Any] | None = None, timeout_s: float = 600.0
              ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run ``sql`` in the workgroup and return its result; a failure raises Athena's reason."""
        request: dict[str, Any] = {
            "QueryString": sql,
            "QueryExecutionContext": {"Database": self.database},
            "WorkGroup": self.settings.workgroup,
            "ResultConfiguration": {"OutputLocation": self.settings.output_location},
        }
        if parameters:
            request["ExecutionParameters"] = [str(p) for p in parameters]
        execution_id = self.athena.start_query_execution(**request)["QueryExecutionId"]
        deadline, delay = time.monotonic() + timeout_s, 0.2
        while True:
            status = self.athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]["Status"]
            if status["State"] == "SUCCEEDED":
                break
            if status["State"] in ("FAILED", "CANCELLED"):
                raise AthenaQueryFailed(
                    f"Athena query {execution_id} {status['State'].lower()}: {status.get('StateChangeReason', 'no reason given')}"
                )
            if time.monotonic() > deadline:
                self.athena.stop_query_execution(QueryExecutionId=execution_id)
                raise AthenaQueryFailed(f"Athena query {execution_id} did not finish in {timeout_s:.0f}s; stopped it")
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
        rows: list[tuple[Any, ...]] = []
        columns: list[str] = []
        for page in self.athena.get_paginator("get_query_results").paginate(QueryExecutionId=execution_id):
            result_set = page["ResultSet"]
            if not columns:
                columns = [c["Name"] for c in result_set.get("ResultSetMetadata", {}).get("ColumnInfo", [])]
            for row in result_set.get("Rows", []):
                values = tuple(cell.get("VarCharValue") for cell in row.get("Data", []))
                if values != tuple(columns):  # the first row of the first page repeats the header
                    rows.append(values)
        return columns, rows

