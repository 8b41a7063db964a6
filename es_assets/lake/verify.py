"""Checks on published Parquet, read back with DuckDB: what is really in the lake (local or S3)."""

from __future__ import annotations

from typing import Iterator, Mapping, Sequence

import duckdb
import pyarrow as pa
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
    """Columns whose kind differs between ``new_file`` and any of ``others`` (label -> a file of another day).

    Column trees are compared field by field: a struct that gained or lost a field is drift (the
    registry reports it as new columns), not a conflict; a leaf whose type changed, an object that
    became a scalar or a scalar that became a list is.
    """
    new_schema = pq.read_schema(new_file, filesystem=filesystem)
    conflicts = []
    for label, other in sorted(others.items()):
        for field in pq.read_schema(other, filesystem=filesystem):
            if field.name in new_schema.names:
                here = new_schema.field(field.name).type
                conflicts += [f"{path}: {a} here, {b} in {label}" for path, a, b in kind_changes(here, field.type, field.name)]
    return conflicts


def kind_changes(here: pa.DataType, there: pa.DataType, path: str) -> Iterator[tuple[str, pa.DataType, pa.DataType]]:
    """(path, type here, type there) for every node present in both trees whose kind differs."""
    if pa.types.is_struct(here) and pa.types.is_struct(there):
        theirs = {child.name: child.type for child in there}
        for child in here:
            if child.name in theirs:
                yield from kind_changes(child.type, theirs[child.name], f"{path}.{child.name}")
    elif pa.types.is_list(here) and pa.types.is_list(there):
        yield from kind_changes(here.value_type, there.value_type, f"{path}[]")
    elif here != there:
        yield path, here, there
