"""The lake on S3 (or an S3-compatible store such as MinIO or moto).

Layout under ``s3://<bucket>/<prefix>``::

    <src>/dt=YYYY-MM-DD/<version>/part-<slice>-<seq>.parquet    the files of one version of a day
    <src>/dt=YYYY-MM-DD/<version>/_manifest.json
    _published/<src>/dt=YYYY-MM-DD.json                        which version is the day (+ its manifest)
    _schemas/<src>.json                                        the source's schema registry

Each file is uploaded as soon as its slice closes it (multipart for large files; the transfer
manager aborts a failed upload), so a day streams out with one file per slice on local disk.
Publishing writes the day's pointer object in one conditional PUT (it fails if another run
published the day since this one began, so two runs of a day never interleave their cleanups;
the schema registry is merged the same way); the Athena table's partition is then
pointed at the new version and only after that are older versions deleted
(:meth:`remove_stale_versions`), so an Athena or DuckDB reader sees one whole version at any time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlparse

import boto3
import pyarrow.fs as pafs
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from es_assets.config import LakeSettings
from es_assets.errors import PartitionBusy, SchemaError
from es_assets.lake.base import (
    MANIFEST,
    REGISTRY_DIR,
    StagedFile,
    StagedPartition,
    manifest_json,
    new_version_name,
    partition_name,
)
from es_assets.schema.fields import Field
from es_assets.schema.registry import add_to_registry, fields_from_json, fields_to_json

PUBLISHED_DIR = "_published"
_ANY = object()  # _put without a condition
_REGISTRY_ATTEMPTS = 10
_TRANSFER = TransferConfig(multipart_threshold=64 * 1024 * 1024, multipart_chunksize=64 * 1024 * 1024)


def s3_session(region: str | None) -> boto3.Session:
    """The standard AWS credential chain (environment, profile, instance role)."""
    return boto3.Session(region_name=region)


class S3Lake:
    def __init__(self, settings: LakeSettings) -> None:
        parsed = urlparse(settings.uri)
        self.uri = settings.uri
        self.settings = settings
        self.bucket = parsed.netloc
        self.prefix = parsed.path.strip("/")
        session = s3_session(settings.region)
        self.client = session.client("s3", endpoint_url=settings.endpoint_url)
        self.filesystem = s3_filesystem(session, settings)
        self.transfer = _TRANSFER
        self._published_etags: dict[tuple[str, dt.date, str], str | None] = {}
        self._extra_args: dict[str, str] = {}
        if settings.sse == "s3":
            self._extra_args = {"ServerSideEncryption": "AES256"}
        elif settings.sse == "kms":
            self._extra_args = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": settings.kms_key_id or ""}

    # -- naming -------------------------------------------------------------------------------
    def _key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def _day_prefix(self, source: str, day: dt.date) -> str:
        return self._key(source, partition_name(day)) + "/"

    def table_location(self, source: str) -> str:
        return f"s3://{self.bucket}/{self._key(source)}/"

    # -- reading ------------------------------------------------------------------------------
    def _pointer(self, source: str, day: dt.date) -> dict[str, Any] | None:
        return self._get_json(self._pointer_key(source, day))

    def _pointer_key(self, source: str, day: dt.date) -> str:
        return self._key(PUBLISHED_DIR, source, f"{partition_name(day)}.json")

    def manifest(self, source: str, day: dt.date) -> dict[str, Any] | None:
        pointer = self._pointer(source, day)
        return pointer["manifest"] if pointer else None

    def published_location(self, source: str, day: dt.date) -> str | None:
        pointer = self._pointer(source, day)
        return pointer["location"] if pointer else None

    def published_files(self, source: str, day: dt.date) -> list[str]:
        pointer = self._pointer(source, day)
        if not pointer:
            return []
        base = pointer["location"].removeprefix("s3://").rstrip("/")
        return [f"{base}/{name}" for name in pointer["manifest"]["files"]]

    def published_days(self, source: str) -> list[dt.date]:
        prefix = self._key(PUBLISHED_DIR, source) + "/dt="
        names = [key[len(prefix):-len(".json")] for key in self._list(prefix)]
        return sorted(dt.date.fromisoformat(name) for name in names)

    # -- writing ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def stage(self, source: str, day: dt.date) -> Iterator[StagedPartition]:
        version = new_version_name()
        # What was published when this run began: publishing is a compare-and-swap against it.
        _, published_etag = self._get_json_and_etag(self._pointer_key(source, day))
        directory = Path(tempfile.mkdtemp(prefix=f"es_assets-{source}-{day}-"))
        staged = StagedPartition(
            source, day, version, directory, f"s3://{self.bucket}/{self._day_prefix(source, day)}{version}"
        )
        self._published_etags[(source, day, version)] = published_etag
        try:
            yield staged
        finally:
            self._published_etags.pop((source, day, version), None)
            shutil.rmtree(directory, ignore_errors=True)
            pointer = self._pointer(source, day)
            if not pointer or pointer["version"] != version:
                self._delete_version(source, day, version)

    def closed(self, staged: StagedPartition, path: Path, rows: int) -> None:
        size = path.stat().st_size
        self.upload(path, self._version_key(staged, path.name))
        path.unlink()  # uploaded: local disk holds only the files still being written
        staged.add_file(StagedFile(path.name, rows, size))

    def discarded(self, staged: StagedPartition, path: Path) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._version_key(staged, path.name))
        staged.drop_file(path.name)

    def publish(self, staged: StagedPartition, manifest: dict[str, Any]) -> None:
        """Swap the day's pointer to this version, unless another run published the day meanwhile."""
        self._put(self._version_key(staged, MANIFEST), manifest_json(manifest))
        pointer = {"version": staged.version, "location": staged.location, "manifest": manifest}
        expected = self._published_etags[(staged.source, staged.day, staged.version)]
        if not self._put(self._pointer_key(staged.source, staged.day), manifest_json(pointer), expected):
            raise PartitionBusy(
                f"another run published {staged.source} {staged.day} while this one was writing it; "
                "this run's version was discarded (run the day again if its data should win)"
            )

    def remove_stale_versions(self, source: str, day: dt.date) -> None:
        """Delete the day's versions older than the published one (newer ones may still be running)."""
        pointer = self._pointer(source, day)
        if not pointer:
            return
        day_prefix = self._day_prefix(source, day)
        versions = {key[len(day_prefix):].split("/", 1)[0] for key in self._list(day_prefix)}
        for version in sorted(v for v in versions if v < pointer["version"]):
            self._delete_version(source, day, version)

    # -- the schema registry ------------------------------------------------------------------
    def registered_fields(self, source: str) -> tuple[Field, ...] | None:
        data = self._get_json(self._key(REGISTRY_DIR, f"{source}.json"))
        return fields_from_json(data["fields"]) if data else None

    def register_fields(self, source: str, fields: tuple[Field, ...]) -> None:
        """Merge a day's columns in with a conditional write, so concurrent days never lose one."""
        key = self._key(REGISTRY_DIR, f"{source}.json")
        for _ in range(_REGISTRY_ATTEMPTS):
            data, etag = self._get_json_and_etag(key)
            merged = add_to_registry(fields_from_json(data["fields"]) if data else None, fields, source)
            if self._put(key, json.dumps({"source": source, "fields": fields_to_json(merged)}, indent=1), etag):
                return
        raise SchemaError(f"{source}: the schema registry kept changing under this run; run the day again")

    # -- S3 plumbing --------------------------------------------------------------------------
    def _version_key(self, staged: StagedPartition, name: str) -> str:
        return f"{self._day_prefix(staged.source, staged.day)}{staged.version}/{name}"

    def upload(self, path: Path, key: str) -> None:
        """One file to ``key``, multipart above 64 MB (aborted by the transfer manager if it fails)."""
        self.client.upload_file(str(path), self.bucket, key, ExtraArgs=self._extra_args, Config=self.transfer)

    def _delete_version(self, source: str, day: dt.date, version: str) -> None:
        self.delete_prefix(f"{self._day_prefix(source, day)}{version}/")

    def delete_prefix(self, prefix: str) -> None:
        """Every object under ``prefix``, and the parts of uploads under it that never completed."""
        keys = self._list(prefix)
        for start in range(0, len(keys), 1000):
            self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in keys[start:start + 1000]], "Quiet": True}
            )
        # An upload interrupted mid-way leaves invisible parts that still cost money: abort them.
        uploads = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=prefix).get("Uploads", [])
        for upload in uploads:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"])

    def _list(self, prefix: str) -> list[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        return [obj["Key"] for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
                for obj in page.get("Contents", [])]

    def _get_json(self, key: str) -> Any:
        return self._get_json_and_etag(key)[0]

    def _get_json_and_etag(self, key: str) -> tuple[Any, str | None]:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None, None
            raise
        return json.loads(response["Body"].read()), response["ETag"]

    def _put(self, key: str, text: str, expected_etag: str | None | object = _ANY) -> bool:
        """Write an object; with ``expected_etag`` only over that version (None: only if absent).

        Returns False when the condition failed: someone else wrote the object meanwhile.
        """
        conditions: dict[str, str] = {}
        if expected_etag is None:
            conditions["IfNoneMatch"] = "*"
        elif isinstance(expected_etag, str):
            conditions["IfMatch"] = expected_etag
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=text.encode(), ContentType="application/json",
                                   **self._extra_args, **conditions)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "ConditionalRequestConflict"):
                return False
            raise
        return True


def s3_filesystem(session: boto3.Session, settings: LakeSettings) -> pafs.S3FileSystem:
    """pyarrow's S3 filesystem with the same credentials and endpoint as boto3."""
    credentials = session.get_credentials()
    frozen = credentials.get_frozen_credentials() if credentials else None
    options: dict[str, Any] = {"region": settings.region or session.region_name or "us-east-1"}
    if frozen:
        options.update(access_key=frozen.access_key, secret_key=frozen.secret_key, session_token=frozen.token)
    if settings.endpoint_url:
        endpoint = urlparse(settings.endpoint_url)
        options.update(endpoint_override=endpoint.netloc, scheme=endpoint.scheme)
    return pafs.S3FileSystem(**options)
