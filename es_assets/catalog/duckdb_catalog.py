"""The embedded catalog: one DuckDB view per source over the lake's Hive-partitioned Parquet.

It stands in for Athena locally: the same ``SELECT ... FROM <source>`` runs against it. The view
reads ``dt=*/*.parquet`` through the published day symlinks only, so unpublished versions are
never seen, and ``union_by_name`` lets days with more columns sit beside older ones.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

import duckdb

from es_assets.errors import EsAssetsError

_LOCK_WAIT_S = 60.0


class DuckDBCatalog:
    def __init__(self, database_path: str) -> None:
        self.database_path = database_path

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        """Open the database, waiting while another process (a run, the UI) holds its lock."""
        deadline = time.monotonic() + _LOCK_WAIT_S
        while True:
            try:
                return duckdb.connect(self.database_path, read_only=read_only)
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise EsAssetsError(f"cannot open the DuckDB catalog {self.database_path}: {exc}") from None
                time.sleep(0.5)

    def register_table(self, table: str, parquet_glob: str) -> None:
        """Create or refresh the source's view over every published day."""
        _check_identifier(table)
        with self.connect() as con:
            con.execute(
                f'CREATE OR REPLACE VIEW "{table}" AS SELECT * FROM read_parquet('
                f"'{_sql_string(parquet_glob)}', hive_partitioning = true, union_by_name = true)"
            )

    def day_row_count(self, table: str, day: dt.date) -> int:
        _check_identifier(table)
        with self.connect(read_only=True) as con:
            return con.execute(f'SELECT count(*) FROM "{table}" WHERE dt = ?', [day]).fetchone()[0]

    def query(self, sql: str, parameters: list[Any] | None = None) -> tuple[list[str], list[tuple[Any, ...]]]:
        with self.connect(read_only=True) as con:
            cursor = con.execute(sql, parameters or [])
            return [d[0] for d in cursor.description], cursor.fetchall()


def _check_identifier(name: str) -> None:
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", name):
        raise EsAssetsError(f"{name!r} is not a safe table name")


def _sql_string(value: str) -> str:
    return value.replace("'", "''")
