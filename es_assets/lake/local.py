"""The lake on a local (or mounted) filesystem.

Layout (``<lake>`` is the directory of ``lake.uri``)::

    <lake>/<src>/dt=YYYY-MM-DD                      -> symlink to the day's current version
    <lake>/_versions/<src>/dt=YYYY-MM-DD/<version>/part-<slice>-<seq>.parquet
    <lake>/_versions/<src>/dt=YYYY-MM-DD/<version>/_manifest.json
    <lake>/_schemas/<src>.json                        -> the source's schema registry

Readers (the DuckDB view) glob ``<lake>/<src>/dt=*/*.parquet``. A run writes a new version
directory beside the old one and publishes it by atomically replacing the symlink
(``rename(2)``). Versions of a day that were never published (a crashed run) are removed by the
next run of that day. Names starting with ``_`` are skipped by Athena and Hive. A lock file per
day makes a second run of the same day fail at once instead of interleaving.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlparse

import pyarrow.fs as pafs

from es_assets.config import LocalLakeSettings
from es_assets.errors import PartitionBusy
from es_assets.lake.base import (
    MANIFEST,
    REGISTRY_DIR,
    VERSIONS_DIR,
    StagedFile,
    StagedPartition,
    manifest_json,
    new_version_name,
    partition_name,
)
from es_assets.schema.fields import Field
from es_assets.schema.registry import add_to_registry, fields_from_json, fields_to_json


def lake_root(uri: str) -> Path:
    parsed = urlparse(uri)
    return Path(parsed.netloc + parsed.path)


class LocalLake:
    """A lake in a directory; the published day is a symlink swapped atomically."""

    def __init__(self, lake: LocalLakeSettings | str) -> None:
        # A bare URI (a reader that only looks at published days) gets the default file options.
        self.settings = lake if isinstance(lake, LocalLakeSettings) else LocalLakeSettings.model_construct(uri=lake)
        self.uri = self.settings.uri
        self.root = lake_root(self.uri)
        self.filesystem = pafs.LocalFileSystem()

    def table_location(self, source: str) -> str:
        return str(self.root / source)

    def table_glob(self, source: str) -> str:
        return str(self.root / source / "dt=*" / "*.parquet")

    def published_partition(self, source: str, day: dt.date) -> Path | None:
        link = self.root / source / partition_name(day)
        return link.resolve() if link.exists() else None

    def published_location(self, source: str, day: dt.date) -> str | None:
        directory = self.published_partition(source, day)
        return str(directory) if directory else None

    def published_files(self, source: str, day: dt.date) -> list[str]:
        directory = self.published_partition(source, day)
        return [str(p) for p in sorted(directory.glob("*.parquet"))] if directory else []

    def manifest(self, source: str, day: dt.date) -> dict[str, Any] | None:
        """The published day's manifest (rows, files, schema), or None if the day is not published."""
        directory = self.published_partition(source, day)
        if directory is None or not (directory / MANIFEST).is_file():
            return None
        return json.loads((directory / MANIFEST).read_text())

    def published_days(self, source: str) -> list[dt.date]:
        table = self.root / source
        if not table.is_dir():
            return []
        return sorted(dt.date.fromisoformat(p.name[3:]) for p in table.glob("dt=*") if p.exists())

    @contextlib.contextmanager
    def stage(self, source: str, day: dt.date) -> Iterator[StagedPartition]:
        """Hold the day's lock and give a fresh version directory; remove it unless published."""
        day_versions = self.root / VERSIONS_DIR / source / partition_name(day)
        day_versions.mkdir(parents=True, exist_ok=True)
        with _exclusive_lock(day_versions / ".lock", f"{source} {day}"):
            self._remove_unpublished_versions(source, day)
            version = new_version_name()
            staged = StagedPartition(source, day, version, day_versions / version, str(day_versions / version))
            staged.directory.mkdir()
            try:
                yield staged
            finally:
                if self.published_partition(source, day) != staged.directory.resolve():
                    shutil.rmtree(staged.directory, ignore_errors=True)

    def closed(self, staged: StagedPartition, path: Path, rows: int) -> None:
        staged.add_file(StagedFile(path.name, rows, path.stat().st_size))

    def discarded(self, staged: StagedPartition, path: Path) -> None:
        path.unlink(missing_ok=True)
        staged.drop_file(path.name)

    def publish(self, staged: StagedPartition, manifest: dict[str, Any]) -> None:
        """Make the staged version the day's only visible version, in one atomic rename."""
        for staged_file in staged.files:
            _fsync(staged.directory / staged_file.name)
        manifest_path = staged.directory / MANIFEST
        manifest_path.write_text(manifest_json(manifest))
        _fsync(manifest_path)
        link = self.root / staged.source / partition_name(staged.day)
        link.parent.mkdir(parents=True, exist_ok=True)
        temporary = link.with_name(f".{link.name}.{uuid.uuid4().hex[:8]}")
        temporary.symlink_to(os.path.relpath(staged.directory, link.parent))
        os.replace(temporary, link)
        _fsync(link.parent)
        # Nothing reads a version but through the link, so the old one can go at once.
        self._remove_unpublished_versions(staged.source, staged.day)

    def remove_stale_versions(self, source: str, day: dt.date) -> None:
        """Nothing to do: publishing removed them, under the day's lock."""

    def registered_fields(self, source: str) -> tuple[Field, ...] | None:
        """The source's registered column tree, or None before its first published day."""
        path = self.root / REGISTRY_DIR / f"{source}.json"
        return fields_from_json(json.loads(path.read_text())["fields"]) if path.is_file() else None

    def register_fields(self, source: str, fields: tuple[Field, ...]) -> None:
        directory = self.root / REGISTRY_DIR
        directory.mkdir(parents=True, exist_ok=True)
        with _exclusive_lock(directory / f".{source}.lock", f"the schema registry of {source}", wait=True):
            merged = add_to_registry(self.registered_fields(source), fields, source)
            temporary = directory / f".{source}.{uuid.uuid4().hex[:8]}.json"
            temporary.write_text(json.dumps({"source": source, "fields": fields_to_json(merged)}, indent=1))
            os.replace(temporary, directory / f"{source}.json")

    def _remove_unpublished_versions(self, source: str, day: dt.date) -> None:
        published = self.published_partition(source, day)
        versions = self.root / VERSIONS_DIR / source / partition_name(day)
        for version in versions.iterdir() if versions.is_dir() else ():
            if version.is_dir() and version.resolve() != published:
                shutil.rmtree(version, ignore_errors=True)


@contextlib.contextmanager
def _exclusive_lock(path: Path, what: str, wait: bool = False) -> Iterator[None]:
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise PartitionBusy(f"another run is writing {what} right now; try again when it has finished") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
