"""The embedded catalog: one DuckDB view per source over the lake's Hive-partitioned Parquet.

It stands in for Athena locally: the same ``SELECT ... FROM <source>`` runs against it. Over a
local lake the view globs the published day symlinks (``dt=*/*.parquet``), so unpublished
versions are never seen; over an S3 lake it lists the published files of each day (DuckDB's
httpfs extension, shipped as a PyPI package, reads them). ``union_by_name`` lets days with more
columns sit beside older ones.
"""

from __future__ import annotations

import datetime as dt
import importlib
import re
import time
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import urlparse

import duckdb

from es_assets.config import LakeSettings
from es_assets.errors import EsAssetsError
from es_assets.lake.base import Lake
from es_assets.schema.fields import SourceSchema

_LOCK_WAIT_S = 60.0


class DuckDBCatalog:
    def __init__(self, database_path: str, lake_settings: LakeSettings | None = None) -> None:
        self.database_path = database_path
        self.lake_settings = lake_settings

    @property
    def description(self) -> str:
        return f"duckdb:{self.database_path}"

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        """Open the database, waiting while another process (a run, the UI) holds its lock."""
        deadline = time.monotonic() + _LOCK_WAIT_S
        while True:
            try:
                con = duckdb.connect(self.database_path, read_only=read_only)
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise EsAssetsError(f"cannot open the DuckDB catalog {self.database_path}: {exc}") from None
                time.sleep(0.5)
        if self.lake_settings is not None and self.lake_settings.is_s3:
            enable_s3(con, self.lake_settings)
        return con

    def register(self, source: str, lake: Lake, days: Sequence[dt.date], schema: SourceSchema,
                 start_date: dt.date) -> None:
        """Create or refresh the source's view over every published day (it reads the files' own schema)."""
        _check_identifier(source)
        if self.lake_settings is not None and self.lake_settings.is_s3:
            files = [f"s3://{path}" for day in lake.published_days(source) for path in lake.published_files(source, day)]
            reader = "[" + ", ".join(f"'{_sql_string(f)}'" for f in files) + "]"
        else:
            reader = f"'{_sql_string(str(Path(lake.table_location(source)) / 'dt=*' / '*.parquet'))}'"
        with self.connect() as con:
            con.execute(
                f'CREATE OR REPLACE VIEW "{source}" AS SELECT * FROM read_parquet('
                f"{reader}, hive_partitioning = true, union_by_name = true)"
            )

    def problems(self, source: str, lake: Lake, days: Sequence[dt.date]) -> dict[str, str]:
        """Days whose row count in the view differs from their published manifest."""
        problems = {}
        with self.connect(read_only=True) as con:
            for day in days:
                rows = con.execute(f'SELECT count(*) FROM "{source}" WHERE dt = ?', [day]).fetchone()[0]
                expected = (lake.manifest(source, day) or {}).get("rows")
                if rows != expected:
                    problems[str(day)] = f"{rows} rows in the table, {expected} in Parquet"
        return problems

    def preview(self, source: str, day: dt.date) -> tuple[list[str], list[tuple[Any, ...]]]:
        return self.query(f'SELECT * EXCLUDE (_unmapped) FROM "{source}" WHERE dt = ? LIMIT 5', [day])

    def query(self, sql: str, parameters: list[Any] | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
        with self.connect(read_only=True) as con:
            cursor = con.execute(sql, parameters or [])
            return [d[0] for d in cursor.description], cursor.fetchall()


def load_packaged_extension(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Load a DuckDB extension from its PyPI package ``duckdb-extension-<name>``: no download at run time."""
    package = importlib.import_module(f"duckdb_extension_{name}")
    extension = Path(package.__file__).parent / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    con.execute(f"LOAD '{_sql_string(str(extension))}'")


def enable_s3(con: duckdb.DuckDBPyConnection, settings: LakeSettings) -> None:
    """Load httpfs from its PyPI package (no download) and give it the lake's credentials."""
    from es_assets.lake.s3 import s3_session

    load_packaged_extension(con, "httpfs")
    session = s3_session(settings.region)
    credentials = session.get_credentials()
    options = {"TYPE": "s3", "REGION": settings.region or session.region_name or "us-east-1"}
    if credentials:
        frozen = credentials.get_frozen_credentials()
        options.update(KEY_ID=frozen.access_key, SECRET=frozen.secret_key)
        if frozen.token:
            options["SESSION_TOKEN"] = frozen.token
    if settings.endpoint_url:
        endpoint = urlparse(settings.endpoint_url)
        options.update(ENDPOINT=endpoint.netloc, URL_STYLE="path", USE_SSL=str(endpoint.scheme == "https").lower())
    body = ", ".join(f"{key} {value}" if key == "USE_SSL" else f"{key} '{_sql_string(value)}'"
                     for key, value in options.items())
    con.execute(f"CREATE OR REPLACE TEMPORARY SECRET es_assets_lake ({body})")


def _check_identifier(name: str) -> None:
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", name):
        raise EsAssetsError(f"{name!r} is not a safe table name")


def _sql_string(value: str) -> str:
    return value.replace("'", "''")
