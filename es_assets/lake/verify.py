"""Checks on published Parquet, read back with DuckDB: what is really in the lake."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import duckdb
import pyarrow.parquet as pq


def _file_list(paths: Sequence[Path]) -> str:
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


def count_rows_and_duplicates(paths: Sequence[Path]) -> tuple[int, int]:
    """(rows, rows whose (_index, _id) appeared before) across the given files."""
    if not paths:
        return 0, 0
    with duckdb.connect() as con:
        rows, distinct = con.execute(
            f"SELECT count(*), count(DISTINCT (_index, _id)) FROM read_parquet({_file_list(paths)})"
        ).fetchone()
    return rows, rows - distinct


def schema_conflicts(new_file: Path, others: Mapping[str, Path]) -> list[str]:
    """Columns whose type differs between ``new_file`` and any of ``others`` (label -> a file of another day)."""
    new_types = {field.name: field.type for field in pq.read_schema(new_file)}
    conflicts = []
    for label, other in sorted(others.items()):
        for field in pq.read_schema(other):
            if field.name in new_types and new_types[field.name] != field.type:
                conflicts.append(f"{field.name}: {new_types[field.name]} here, {field.type} in {label}")
    return conflicts
