"""The lake as an Apache Iceberg table: each day replaced by one overwrite snapshot.

A run writes the day's files under a new version directory of the table
(``<lake>/<src>/data/dt=YYYY-MM-DD/<version>/``; on S3 each file is uploaded as its slice closes it)
and then commits **one** Iceberg overwrite that removes the day's previous files and adds all of its
new ones, with the run's facts in the snapshot summary. A reader sees the old day or the new one.

* A failed run deletes its own files; a killed one leaves files no snapshot references, which the
  next commit of the day removes (with any metadata files a killed commit left behind).
* Two runs of one day: the catalog's compare-and-swap lets one commit through. The other reloads the
  table and retries on the new snapshot, replacing whatever the day holds then, unless a run that
  started *later* has committed the day meanwhile: then it fails saying so (the newest run wins, as
  on the Hive layout), and its files are discarded.
* Snapshots older than ``lake.iceberg.snapshot_retention_hours`` expire in :meth:`remove_stale_versions`,
  which also deletes the files only expired snapshots referenced.

The schema registry (``_schemas/<src>.json``) stays where the Hive layout keeps it: it holds what an
Iceberg schema cannot (each column's Elasticsearch path, kind and date formats).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import random
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pyarrow.fs as pafs
import pyarrow.parquet as pq
from pyiceberg.exceptions import CommitFailedException, NoSuchTableError
from pyiceberg.table import Table

from es_assets.config import LakeSettings
from es_assets.errors import PartitionBusy
from es_assets.lake.base import StagedFile, StagedPartition, new_version_name, partition_name
from es_assets.lake.iceberg_tables import (
    data_file,
    day_files,
    days_in,
    load_or_create_table,
    open_iceberg_catalog,
    referenced_paths,
    table_schema,
)
from es_assets.schema.fields import Field

if TYPE_CHECKING:
    from es_assets.lake.local import LocalLake
    from es_assets.lake.s3 import S3Lake

log = logging.getLogger(__name__)

COMMIT_ATTEMPTS = 8
SUMMARY_PREFIX = "es_assets."
# Unreferenced metadata files younger than this may belong to a commit in flight: left for later.
_METADATA_GRACE_S = 3600.0


def version_of(path: str) -> str:
    """The version directory a data file was written in (``.../dt=<day>/<version>/part-...``)."""
    return path.rsplit("/", 2)[-2]


class IcebergLake:
    def __init__(self, settings: LakeSettings) -> None:
        self.uri = settings.uri
        self.settings = settings
        assert settings.iceberg is not None
        self.retention = dt.timedelta(hours=settings.iceberg.snapshot_retention_hours)
        self.catalog, self.namespace = open_iceberg_catalog(settings)
        if settings.is_s3:
            from es_assets.lake.s3 import S3Lake

            self._s3: S3Lake | None = S3Lake(settings)  # uploads, deletes and the schema registry
            self.filesystem: pafs.FileSystem = self._s3.filesystem
            self._registry: LocalLake | S3Lake = self._s3
        else:
            from es_assets.lake.local import LocalLake

            self._s3 = None
            self.filesystem = pafs.LocalFileSystem()
            self._registry = LocalLake(settings)
        # Per staged version: each closed file's name, footer and size (the commit's statistics).
        self._footers: dict[str, list[tuple[str, pq.FileMetaData, int]]] = {}
        self._footers_lock = threading.Lock()
        self._started: dict[str, float] = {}
        self._committed: set[str] = set()

    # -- naming -------------------------------------------------------------------------------
    def table_location(self, source: str) -> str:
        return f"{self.uri}/{source}"

    def _day_location(self, source: str, day: dt.date) -> str:
        return f"{self.table_location(source)}/data/{partition_name(day)}"

    def fs_path(self, uri: str) -> str:
        """A table URI as :attr:`filesystem` names it: /path locally, bucket/key on S3."""
        return uri.removeprefix("file://").removeprefix("s3://")

    def uri_of(self, fs_path: str) -> str:
        """The URI the table's metadata uses for a :attr:`filesystem` path."""
        return ("s3://" if self._s3 is not None else "file://") + fs_path

    def _key(self, uri: str) -> str:
        return self.fs_path(uri).split("/", 1)[1]  # bucket/key -> key

    # -- the table ----------------------------------------------------------------------------
    def table(self, source: str) -> Table | None:
        try:
            return self.catalog.load_table((self.namespace, source))
        except NoSuchTableError:
            return None

    def published_days(self, source: str) -> list[dt.date]:
        table = self.table(source)
        if table is None or table.current_snapshot() is None:
            return []
        return days_in(task.file for task in table.scan().plan_files())

    def published_files(self, source: str, day: dt.date) -> list[str]:
        table = self.table(source)
        return sorted(self.fs_path(f.file_path) for f in day_files(table, day)) if table else []

    def published_location(self, source: str, day: dt.date) -> str | None:
        files = self.published_files(source, day)
        return files[0].rsplit("/", 1)[0] if files else None

    def manifest(self, source: str, day: dt.date) -> dict[str, Any] | None:
        """What the current snapshot holds of the day, and the summary of the commit that wrote it."""
        table = self.table(source)
        files = day_files(table, day) if table else []
        if table is None or not files:
            return None
        version = version_of(files[0].file_path)
        snapshot = next((s for s in reversed(table.snapshots())
                         if s.summary is not None and s.summary[f"{SUMMARY_PREFIX}version"] == version), None)
        summary = {key.removeprefix(SUMMARY_PREFIX): value for key, value in
                   (snapshot.summary.model_dump().items() if snapshot and snapshot.summary else ())
                   if key.startswith(SUMMARY_PREFIX)}
        return {**summary, "source": source, "day": day.isoformat(), "rows": sum(f.record_count for f in files),
                "files": sorted(f.file_path.rsplit("/", 1)[1] for f in files), "version": version,
                "snapshot_id": snapshot.snapshot_id if snapshot else None,
                "metadata_location": table.metadata_location}

    def previous_snapshot_id(self, source: str, day: dt.date) -> int | None:
        """The snapshot just before the commit that wrote the day's current version (time travel)."""
        manifest = self.manifest(source, day)
        table = self.table(source)
        if manifest is None or table is None or manifest["snapshot_id"] is None:
            return None
        snapshot = table.snapshot_by_id(manifest["snapshot_id"])
        return snapshot.parent_snapshot_id if snapshot else None

    # -- writing ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def stage(self, source: str, day: dt.date) -> Iterator[StagedPartition]:
        version = new_version_name()
        location = f"{self._day_location(source, day)}/{version}"
        if self._s3 is not None:  # files stream out to S3; only the ones being written are local
            directory = Path(tempfile.mkdtemp(prefix=f"es_assets-{source}-{day}-"))
        else:
            directory = Path(self.fs_path(location))
            directory.mkdir(parents=True)
        staged = StagedPartition(source, day, version, directory, location)
        self._footers[version], self._started[version] = [], time.time()
        try:
            yield staged
        finally:
            self._footers.pop(version, None)
            self._started.pop(version, None)
            if self._s3 is not None:
                shutil.rmtree(directory, ignore_errors=True)
            if version not in self._committed and not self._maybe_referenced(source, location):
                self._delete_version(location)

    def closed(self, staged: StagedPartition, path: Path, rows: int) -> None:
        footer, size = pq.read_metadata(path), path.stat().st_size
        if self._s3 is not None:
            self._s3.upload(path, self._key(f"{staged.location}/{path.name}"))
            path.unlink()
        staged.add_file(StagedFile(path.name, rows, size))
        with self._footers_lock:  # slice threads close files concurrently
            self._footers[staged.version].append((path.name, footer, size))

    def discarded(self, staged: StagedPartition, path: Path) -> None:
        if self._s3 is not None:
            self._s3.client.delete_object(Bucket=self._s3.bucket, Key=self._key(f"{staged.location}/{path.name}"))
        else:
            path.unlink(missing_ok=True)
        staged.drop_file(path.name)
        with self._footers_lock:
            self._footers[staged.version] = [f for f in self._footers[staged.version] if f[0] != path.name]

    def publish(self, staged: StagedPartition, manifest: dict[str, Any]) -> None:
        """Replace the day with the staged files in one overwrite commit (retried on a lost race)."""
        footers = self._footers[staged.version]
        file_schema = footers[0][1].schema.to_arrow_schema()
        summary = {f"{SUMMARY_PREFIX}{key}": str(value) for key, value in {
            "source": staged.source, "day": staged.day.isoformat(), "rows": manifest["rows"],
            "elasticsearch_count": manifest.get("elasticsearch_count", manifest["rows"]),
            "run_id": manifest.get("run_id") or "", "version": staged.version,
        }.items()}
        for attempt in range(COMMIT_ATTEMPTS):
            table = load_or_create_table(self.catalog, self.namespace, staged.source,
                                         self.table_location(staged.source), file_schema,
                                         manifest.get("timestamp_column"))
            current = day_files(table, staged.day)
            newer = sorted({v for f in current if (v := version_of(f.file_path)) > staged.version})
            if newer:
                raise PartitionBusy(
                    f"another run committed {staged.source} {staged.day} (version {newer[-1]}) after this one "
                    "started; this run's files were discarded (run the day again if its data should win)"
                )
            try:
                with table.transaction() as transaction:
                    with transaction.update_schema() as update:
                        update.union_by_name(table_schema(file_schema))  # new fields become new columns
                    with transaction.update_snapshot(snapshot_properties=summary).overwrite() as overwrite:
                        for old in current:
                            overwrite.delete_data_file(old)
                        for name, footer, size in footers:
                            overwrite.append_data_file(data_file(transaction.table_metadata,
                                                                 f"{staged.location}/{name}", footer, size, staged.day))
            except CommitFailedException as exc:
                log.info("%s %s: another commit landed first (%s); retrying on the new snapshot",
                         staged.source, staged.day, exc)
                time.sleep(random.uniform(0.05, 0.2) * 2 ** attempt)
                continue
            self._committed.add(staged.version)
            break
        else:
            raise PartitionBusy(f"{staged.source} {staged.day}: the table kept changing during {COMMIT_ATTEMPTS} "
                                "commit attempts; run the day again")
        self._remove_orphans(staged.source, staged.day, staged.version, self._started[staged.version])

    def remove_stale_versions(self, source: str, day: dt.date) -> None:
        """Expire snapshots past the retention, then delete the files nothing references any more."""
        table = self.table(source)
        if table is None or table.current_snapshot() is None:
            return
        cutoff = dt.datetime.now(dt.timezone.utc) - self.retention
        if any(s.timestamp_ms < cutoff.timestamp() * 1000 for s in table.snapshots()):
            table.maintenance.expire_snapshots().older_than(cutoff).commit()
        files = day_files(table, day)
        if files:
            self._remove_orphans(source, day, version_of(files[0].file_path), time.time() - _METADATA_GRACE_S)

    # -- cleanup ------------------------------------------------------------------------------
    def _remove_orphans(self, source: str, day: dt.date, version: str, older_than: float) -> None:
        """Delete the day's version directories older than ``version`` that no snapshot references,
        and unreferenced metadata files written before ``older_than`` (a killed commit's).

        A version started before ``version`` can no longer commit (see :meth:`publish`), so its files
        are safe to remove even if its run is still going.
        """
        table = self.table(source)
        if table is None:
            return
        referenced = referenced_paths(table)
        day_location = self._day_location(source, day)
        in_use = {version_of(p) for p in referenced if p.startswith(day_location + "/")}
        listed = self.filesystem.get_file_info(pafs.FileSelector(self.fs_path(day_location), allow_not_found=True))
        for info in listed:
            if info.type == pafs.FileType.Directory and info.base_name < version and info.base_name not in in_use:
                self._delete_version(f"{day_location}/{info.base_name}")
        metadata = pafs.FileSelector(self.fs_path(f"{self.table_location(source)}/metadata"), allow_not_found=True)
        for info in self.filesystem.get_file_info(metadata):
            if (info.type == pafs.FileType.File and self.uri_of(info.path) not in referenced
                    and info.mtime is not None and info.mtime.timestamp() < older_than):
                self.filesystem.delete_file(info.path)

    def _maybe_referenced(self, source: str, location: str) -> bool:
        """Whether a snapshot may reference files under ``location`` (True when that cannot be known)."""
        try:
            table = self.table(source)
            return table is not None and any(p.startswith(location + "/") for p in referenced_paths(table))
        except Exception:  # keep the files: the next commit of the day removes them if they are orphans
            log.warning("%s: could not read the table to clean up %s; leaving it to the next run", source, location)
            return True

    def _delete_version(self, location: str) -> None:
        if self._s3 is not None:
            self._s3.delete_prefix(self._key(location) + "/")
        else:
            shutil.rmtree(self.fs_path(location), ignore_errors=True)

    # -- the schema registry ------------------------------------------------------------------
    def registered_fields(self, source: str) -> tuple[Field, ...] | None:
        return self._registry.registered_fields(source)

    def register_fields(self, source: str, fields: tuple[Field, ...]) -> None:
        self._registry.register_fields(source, fields)
