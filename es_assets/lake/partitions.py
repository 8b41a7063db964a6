"""The lake's layout and its one promise: a day is replaced as a whole or not at all.

Layout (``<lake>`` is the directory of ``lake.uri``)::

    <lake>/<src>/dt=YYYY-MM-DD                      -> symlink to the day's current version
    <lake>/_versions/<src>/dt=YYYY-MM-DD/<version>/part-<slice>-<seq>.parquet
    <lake>/_versions/<src>/dt=YYYY-MM-DD/<version>/_manifest.json
    <lake>/_schemas/<src>.json                        -> the source's schema registry

Readers (DuckDB, Athena over a synced copy) glob ``<lake>/<src>/dt=*/*.parquet``. A run writes a
new version directory beside the old one and publishes it by atomically replacing the symlink
(``rename(2)``), so a reader sees the old day or the new day, never a mix or a gap. Versions of a
day that were never published (a crashed run) are removed by the next run of that day. Names
starting with ``_`` are skipped by Athena and Hive, so ``_versions`` is invisible to them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse

from es_assets.errors import EsAssetsError, SchemaError
from es_assets.schema.fields import Field
from es_assets.schema.registry import column_paths, fields_from_json, fields_to_json, reconcile

MANIFEST = "_manifest.json"
VERSIONS_DIR = "_versions"
REGISTRY_DIR = "_schemas"


class PartitionBusy(EsAssetsError):
    """Another run is writing the same day right now."""


def lake_root(uri: str) -> Path:
    parsed = urlparse(uri)
    return Path(parsed.netloc + parsed.path)


def partition_name(day: dt.date) -> str:
    return f"dt={day.isoformat()}"


@dataclasses.dataclass(frozen=True)
class StagedPartition:
    """A day's new version, written but not yet visible to readers."""

    source: str
    day: dt.date
    directory: Path  # where the Parquet files go
    link: Path  # the published name, <lake>/<src>/dt=...

    def files(self) -> list[Path]:
        return sorted(self.directory.glob("*.parquet"))


class LocalLake:
    """A lake on a local (or mounted) filesystem."""

    def __init__(self, uri: str) -> None:
        self.root = lake_root(uri)

    def table_glob(self, source: str) -> str:
        return str(self.root / source / "dt=*" / "*.parquet")

    def published_partition(self, source: str, day: dt.date) -> Path | None:
        link = self.root / source / partition_name(day)
        return link.resolve() if link.exists() else None

    def manifest(self, source: str, day: dt.date) -> dict[str, object] | None:
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
            version = f"{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
            staged = StagedPartition(
                source=source,
                day=day,
                directory=day_versions / version,
                link=self.root / source / partition_name(day),
            )
            staged.directory.mkdir()
            try:
                yield staged
            finally:
                if self.published_partition(source, day) != staged.directory.resolve():
                    shutil.rmtree(staged.directory, ignore_errors=True)

    def publish(self, staged: StagedPartition, manifest: dict[str, object]) -> None:
        """Make the staged version the day's only visible version, in one atomic rename."""
        for path in staged.files():
            _fsync(path)
        manifest_path = staged.directory / MANIFEST
        manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str))
        _fsync(manifest_path)
        staged.link.parent.mkdir(parents=True, exist_ok=True)
        previous = staged.link.resolve() if staged.link.is_symlink() else None
        temporary = staged.link.with_name(f".{staged.link.name}.{uuid.uuid4().hex[:8]}")
        temporary.symlink_to(os.path.relpath(staged.directory, staged.link.parent))
        os.replace(temporary, staged.link)
        _fsync(staged.link.parent)
        if previous is not None and previous != staged.directory.resolve():
            shutil.rmtree(previous, ignore_errors=True)

    def registered_fields(self, source: str) -> tuple[Field, ...] | None:
        """The source's registered column tree, or None before its first published day."""
        path = self.root / REGISTRY_DIR / f"{source}.json"
        return fields_from_json(json.loads(path.read_text())["fields"]) if path.is_file() else None

    def register_fields(self, source: str, fields: tuple[Field, ...]) -> None:
        """Add a day's columns to the registry; refuse if a concurrent run took one of its names."""
        directory = self.root / REGISTRY_DIR
        directory.mkdir(parents=True, exist_ok=True)
        with _exclusive_lock(directory / f".{source}.lock", f"the schema registry of {source}", wait=True):
            merged, _ = reconcile(self.registered_fields(source), fields)
            if not column_paths(fields).items() <= column_paths(merged).items():
                raise SchemaError(
                    f"{source}: another run registered columns with the same names at the same time; run the day again"
                )
            temporary = directory / f".{source}.{uuid.uuid4().hex[:8]}.json"
            temporary.write_text(json.dumps({"source": source, "fields": fields_to_json(merged)}, indent=1))
            os.replace(temporary, directory / f"{source}.json")

    def _remove_unpublished_versions(self, source: str, day: dt.date) -> None:
        published = self.published_partition(source, day)
        for version in (self.root / VERSIONS_DIR / source / partition_name(day)).iterdir():
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
