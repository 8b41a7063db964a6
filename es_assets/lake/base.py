"""What every lake (local directory, S3 bucket) offers the extraction and the catalogs.

A day is written as a new *version* beside the published one and then published in one atomic
step, so readers see the old day or the new day, never a mix or a gap. Each version carries a
``_manifest.json`` (rows, files, columns); each source has a schema registry (``_schemas``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
import uuid
from pathlib import Path
from typing import Any, ContextManager, Protocol

import pyarrow.fs as pafs

from es_assets.config import LakeSettings
from es_assets.schema.fields import Field

MANIFEST = "_manifest.json"
VERSIONS_DIR = "_versions"
REGISTRY_DIR = "_schemas"


def partition_name(day: dt.date) -> str:
    return f"dt={day.isoformat()}"


def new_version_name() -> str:
    """Sortable and unique: when it was started, plus a random suffix."""
    # Microseconds: two runs of a day started within the same second still order by start.
    return f"{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}"


def manifest_json(manifest: dict[str, Any]) -> str:
    return json.dumps(manifest, indent=2, sort_keys=True, default=str)


@dataclasses.dataclass
class StagedFile:
    name: str
    rows: int
    bytes: int


@dataclasses.dataclass
class StagedPartition:
    """A day's new version, being written; invisible to readers until published.

    Slice threads add and drop files concurrently: they go through :meth:`add_file` and
    :meth:`drop_file`, which hold a lock, and readers see a snapshot in :attr:`files`.
    """

    source: str
    day: dt.date
    version: str
    directory: Path  # the local directory the slice writers write into
    location: str  # where the version lives once published (a path or an s3:// URI)
    _files: list[StagedFile] = dataclasses.field(default_factory=list, repr=False)
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def files(self) -> list[StagedFile]:
        with self._lock:
            return list(self._files)

    def add_file(self, staged_file: StagedFile) -> None:
        with self._lock:
            self._files.append(staged_file)

    def drop_file(self, name: str) -> None:
        with self._lock:
            self._files = [f for f in self._files if f.name != name]


class Lake(Protocol):
    uri: str
    settings: LakeSettings  # the file options (compression, file sizes) the writers use
    filesystem: pafs.FileSystem  # reads published files (their paths come from published_files)

    def stage(self, source: str, day: dt.date) -> ContextManager[StagedPartition]: ...

    def closed(self, staged: StagedPartition, path: Path, rows: int) -> None: ...

    def discarded(self, staged: StagedPartition, path: Path) -> None: ...

    def publish(self, staged: StagedPartition, manifest: dict[str, Any]) -> None: ...

    def remove_stale_versions(self, source: str, day: dt.date) -> None: ...

    def manifest(self, source: str, day: dt.date) -> dict[str, Any] | None: ...

    def published_days(self, source: str) -> list[dt.date]: ...

    def published_files(self, source: str, day: dt.date) -> list[str]: ...

    def published_location(self, source: str, day: dt.date) -> str | None: ...

    def table_location(self, source: str) -> str: ...

    def registered_fields(self, source: str) -> tuple[Field, ...] | None: ...

    def register_fields(self, source: str, fields: tuple[Field, ...]) -> None: ...


class StagedSink:
    """Adapts a lake to the slice writer's :class:`~es_assets.lake.parquet_files.FileSink`."""

    def __init__(self, lake: Lake, staged: StagedPartition) -> None:
        self.lake, self.staged = lake, staged

    def closed(self, path: Path, rows: int) -> None:
        self.lake.closed(self.staged, path, rows)

    def discarded(self, path: Path) -> None:
        self.lake.discarded(self.staged, path)
