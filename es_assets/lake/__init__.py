"""The writer stage: rolling Parquet files, versioned days published atomically, read-back checks."""

from __future__ import annotations

from es_assets.config import LakeSettings
from es_assets.lake.base import Lake


def open_lake(settings: LakeSettings) -> Lake:
    """The lake ``settings.uri`` names: a local directory or an S3 prefix, as Hive layout or an Iceberg table."""
    if settings.table_format == "iceberg":
        from es_assets.lake.iceberg import IcebergLake  # pyiceberg is only needed for Iceberg tables

        return IcebergLake(settings)
    if settings.is_s3:
        from es_assets.lake.s3 import S3Lake  # boto3 is only needed for S3 lakes

        return S3Lake(settings)
    from es_assets.lake.local import LocalLake

    return LocalLake(settings)
