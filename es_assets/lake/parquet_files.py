"""Rolling Parquet files for one slice: pages in, bounded row groups and files out."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

# Row groups of this many rows compress well and keep a slice's buffer to a few tens of MB.
ROW_GROUP_ROWS = 50_000
_ZSTD_LEVEL = 3


@dataclasses.dataclass
class FileStats:
    path: Path
    rows: int
    bytes: int


class SliceFileWriter:
    """Writes one slice's pages as ``part-<slice>-<seq>.parquet`` files of at most ``max_file_rows`` rows.

    Timestamps are written as INT64 (never INT96) with their UTC annotation, which Athena and
    DuckDB both read as ``timestamp``.
    """

    def __init__(
        self, directory: Path, slice_id: int, schema: pa.Schema, compression: str, max_file_rows: int
    ) -> None:
        self.directory = directory
        self.slice_id = slice_id
        self.schema = schema
        self.compression = None if compression == "none" else compression
        self.max_file_rows = max_file_rows
        self.files: list[FileStats] = []
        self._writer: pq.ParquetWriter | None = None
        self._current_path: Path | None = None
        self._buffer: list[pa.Table] = []
        self._buffered_rows = 0
        self._file_rows = 0

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files) + self._file_rows + self._buffered_rows

    def write(self, table: pa.Table) -> None:
        self._buffer.append(table)
        self._buffered_rows += table.num_rows
        if self._buffered_rows >= ROW_GROUP_ROWS:
            self._flush()

    def close(self, write_empty: bool = False) -> list[FileStats]:
        """Flush and close; with ``write_empty`` a slice with no rows still leaves one (empty) file."""
        self._flush()
        if self._writer is None and write_empty and not self.files:
            self._open_file()
        self._close_file()
        return self.files

    def discard(self) -> None:
        """Throw away everything this slice wrote (its context was lost and it starts again)."""
        if self._writer is not None:
            self._writer.close()
        paths = [f.path for f in self.files] + ([self._current_path] if self._current_path else [])
        for path in paths:
            path.unlink(missing_ok=True)
        self.files, self._buffer, self._buffered_rows = [], [], 0
        self._writer, self._current_path, self._file_rows = None, None, 0

    def _flush(self) -> None:
        if not self._buffered_rows:
            return
        table = pa.concat_tables(self._buffer)
        self._buffer, self._buffered_rows = [], 0
        offset = 0
        while offset < table.num_rows:
            if self._writer is None:
                self._open_file()
            take = min(table.num_rows - offset, self.max_file_rows - self._file_rows)
            assert self._writer is not None
            self._writer.write_table(table.slice(offset, take), row_group_size=ROW_GROUP_ROWS)
            self._file_rows += take
            offset += take
            if self._file_rows >= self.max_file_rows:
                self._close_file()

    def _open_file(self) -> None:
        self._current_path = self.directory / f"part-{self.slice_id:03d}-{len(self.files):04d}.parquet"
        self._writer = pq.ParquetWriter(
            self._current_path,
            self.schema,
            compression=self.compression,
            compression_level=_ZSTD_LEVEL if self.compression == "zstd" else None,
            use_dictionary=True,
            write_statistics=True,
        )
        self._file_rows = 0

    def _close_file(self) -> None:
        if self._writer is None or self._current_path is None:
            return
        self._writer.close()
        self.files.append(FileStats(self._current_path, self._file_rows, self._current_path.stat().st_size))
        self._writer, self._current_path, self._file_rows = None, None, 0
