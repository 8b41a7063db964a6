"""The Iceberg side of a lake: which catalog holds the tables, how a table is laid out, its files.

pyiceberg does the metadata (schemas, manifests, snapshots, the catalog's compare-and-swap); this
module decides the layout es_assets promises:

* the catalog: pyiceberg's SQL catalog on SQLite beside a ``file://`` lake, or the Glue Data
  Catalog for an ``s3://`` lake (Athena reads it as an Iceberg table);
* the table ``<lake>/<src>/`` (``metadata/`` and ``data/dt=YYYY-MM-DD/<version>/part-*.parquet``):
  the columns of the schema registry plus ``dt date``, partitioned by ``identity(dt)`` (the day in
  the source's time zone, which ``day(timestamp)`` cannot express) and sorted by the timestamp;
* a data file's Iceberg entry, built from the Parquet footer the slice writer just closed. The files
  are the Hive layout's files: they carry no ``dt`` column, the partition value lives in the
  manifest (the Iceberg spec's column-projection rule for identity partitions), and their columns
  map to Iceberg field ids through the table's name mapping (``schema.name-mapping.default``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Iterable

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NamespaceAlreadyExistsError, NoSuchTableError, TableAlreadyExistsError
from pyiceberg.expressions import EqualTo
from pyiceberg.io.pyarrow import (
    compute_statistics_plan,
    data_file_statistics_from_parquet_metadata,
    parquet_path_to_id_mapping,
)
from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
from pyiceberg.table import Table, TableProperties
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.transforms import IdentityTransform
from pyiceberg.typedef import Record

from es_assets.config import LakeSettings
from es_assets.errors import SchemaError
from es_assets.schema.fields import PARTITION_COLUMN

LOCAL_NAMESPACE = "es_assets"
_EPOCH = dt.date(1970, 1, 1)
# es_assets retries a lost race itself (see IcebergLake.publish): pyiceberg must not replay a stale
# overwrite on its own. Old metadata files are deleted by pyiceberg as they fall off the log.
TABLE_PROPERTIES = {
    TableProperties.COMMIT_NUM_RETRIES: "0",
    TableProperties.METADATA_DELETE_AFTER_COMMIT_ENABLED: "true",
    TableProperties.METADATA_PREVIOUS_VERSIONS_MAX: "20",
    "format-version": "2",
}


def open_iceberg_catalog(settings: LakeSettings) -> tuple[Catalog, str]:
    """The catalog of ``settings`` and the namespace (Glue database) the tables go in."""
    iceberg = settings.iceberg
    assert iceberg is not None  # config sets it for table_format: iceberg
    if settings.is_s3:
        from pyiceberg.catalog.glue import GlueCatalog

        properties = {"glue.region": iceberg.glue_region or "us-east-1", "s3.region": settings.region or "us-east-1"}
        if iceberg.glue_endpoint_url:
            properties["glue.endpoint"] = iceberg.glue_endpoint_url
        if settings.endpoint_url:
            properties["s3.endpoint"] = settings.endpoint_url
        assert iceberg.glue_database is not None
        return GlueCatalog("es_assets", **properties), iceberg.glue_database
    from pyiceberg.catalog.sql import SqlCatalog

    assert iceberg.catalog_path is not None
    Path(iceberg.catalog_path).parent.mkdir(parents=True, exist_ok=True)
    return SqlCatalog("es_assets", uri=f"sqlite:///{iceberg.catalog_path}", warehouse=settings.uri), LOCAL_NAMESPACE


def table_schema(file_schema: pa.Schema) -> pa.Schema:
    """The day's file columns plus the partition column ``dt``."""
    for field in file_schema:
        if _has_nanoseconds(field.type):
            raise SchemaError(
                f"column {field.name!r} holds nanosecond timestamps (date_nanos), which Iceberg format v2 cannot "
                "store; exclude the field (source_excludes) or use lake.table_format: hive"
            )
    return file_schema.append(pa.field(PARTITION_COLUMN, pa.date32()))


def _has_nanoseconds(arrow_type: pa.DataType) -> bool:
    if pa.types.is_timestamp(arrow_type):
        return arrow_type.unit == "ns"
    if pa.types.is_struct(arrow_type):
        return any(_has_nanoseconds(f.type) for f in arrow_type)
    if pa.types.is_list(arrow_type):
        return _has_nanoseconds(arrow_type.value_type)
    return False


def load_or_create_table(catalog: Catalog, namespace: str, source: str, location: str, file_schema: pa.Schema,
                         timestamp_column: str | None) -> Table:
    """The source's table; created on its first day with the partition spec and the sort order."""
    identifier = (namespace, source)
    try:
        return catalog.load_table(identifier)
    except NoSuchTableError:
        pass
    try:
        catalog.create_namespace(namespace)
    except NamespaceAlreadyExistsError:
        pass
    schema = table_schema(file_schema)
    try:
        with catalog.create_table_transaction(identifier, schema=schema, location=location,
                                              properties=TABLE_PROPERTIES) as create:
            with create.update_spec() as spec:
                spec.add_identity(PARTITION_COLUMN)
            if timestamp_column in schema.names:
                with create.update_sort_order() as order:
                    order.asc(timestamp_column, IdentityTransform())
            # Files written by es_assets carry no field ids: readers map their columns by name.
            create.set_properties(**{
                TableProperties.DEFAULT_NAME_MAPPING: create.table_metadata.schema().name_mapping.model_dump_json()
            })
    except TableAlreadyExistsError:
        pass  # another run created it first
    return catalog.load_table(identifier)


def day_filter(day: dt.date) -> EqualTo:
    return EqualTo(PARTITION_COLUMN, day)


def day_files(table: Table, day: dt.date, snapshot_id: int | None = None) -> list[DataFile]:
    """The data files of ``day`` in the current snapshot (or in ``snapshot_id``)."""
    if table.current_snapshot() is None:
        return []
    return [task.file for task in table.scan(row_filter=day_filter(day), snapshot_id=snapshot_id).plan_files()]


def data_file(metadata: TableMetadata, path: str, footer: pq.FileMetaData, size: int, day: dt.date) -> DataFile:
    """The manifest entry of one of the day's Parquet files (statistics from its footer)."""
    schema = metadata.schema()
    statistics = data_file_statistics_from_parquet_metadata(
        parquet_metadata=footer,
        stats_columns=compute_statistics_plan(schema, metadata.properties),
        parquet_column_mapping=parquet_path_to_id_mapping(schema),
    )
    return DataFile.from_args(
        content=DataFileContent.DATA,
        file_path=path,
        file_format=FileFormat.PARQUET,
        partition=Record((day - _EPOCH).days),  # a date partition value is days since the epoch
        file_size_in_bytes=size,
        sort_order_id=None,  # extraction order, not sorted: see the README
        spec_id=metadata.default_spec_id,
        equality_ids=None,
        key_metadata=None,
        **statistics.to_serialized_dict(),
    )


def referenced_paths(table: Table) -> set[str]:
    """Every file the table's metadata reaches: metadata files, manifest lists, manifests, data files."""
    metadata = table.metadata
    paths = {table.metadata_location, *(entry.metadata_file for entry in metadata.metadata_log)}
    manifests = {}
    for snapshot in metadata.snapshots:
        paths.add(snapshot.manifest_list)
        manifests.update((m.manifest_path, m) for m in snapshot.manifests(table.io))
    for path, manifest in manifests.items():  # snapshots share most manifests: read each once
        paths.add(path)
        paths.update(entry.data_file.file_path for entry in manifest.fetch_manifest_entry(table.io))
    return paths


def days_in(files: Iterable[DataFile]) -> list[dt.date]:
    return sorted({_EPOCH + dt.timedelta(days=f.partition[0]) for f in files})
