"""Checks on published Parquet, read back with DuckDB: what is really in the lake (local or S3)."""

from __future__ import annotations

from typing import Mapping, Sequence

import duckdb
import pyarrow.dataset as pads
import pyarrow.fs as pafs
import pyarrow.parquet as pq


def count_rows_and_duplicates(filesystem: pafs.FileSystem, paths: Sequence[str]) -> tuple[int, int]:
    """(rows, rows whose (_index, _id) appeared before) across the given files."""
    if not paths:
        return 0, 0
    files = pads.dataset(list(paths), filesystem=filesystem, format="parquet")
    with duckdb.connect() as con:
        con.register("files", files)
        rows, distinct = con.execute("SELECT count(*), count(DISTINCT (_index, _id)) FROM files").fetchone()
    return rows, rows - distinct


def schema_conflicts(filesystem: pafs.FileSystem, new_file: str, others: Mapping[str, str]) -> list[str]:
    """Columns whose type differs between ``new_file`` and any of ``others`` (label -> a file of another day)."""
    new_types = {field.name: field.type for field in pq.read_schema(new_file, filesystem=filesystem)}
    conflicts = []
    for label, other in sorted(others.items()):
        for field in pq.read_schema(other, filesystem=filesystem):
            if field.name in new_types and new_types[field.name] != field.type:
                conflicts.append(f"{field.name}: {new_types[field.name]} here, {field.type} in {label}")
    return conflicts
