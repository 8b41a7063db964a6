"""S3 failing under the lake: multipart uploads are retried or aborted, the old day stays.

moto's server on loopback with the fault proxy in front of it. Files are random bytes of 12 MB
with 5 MB parts (S3's minimum), so every upload is a real three-part multipart upload.
"""

from __future__ import annotations

import datetime as dt
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator

import boto3
import pytest
from boto3.s3.transfer import TransferConfig

from es_assets.config import S3LakeSettings
from es_assets.errors import PartitionBusy
from es_assets.lake.s3 import S3Lake
from es_assets.schema.fields import build_schema
from es_assets_tests.fault_proxy import Fault, FaultKind, FaultProxy, RecordedRequest

pytestmark = pytest.mark.integration

BUCKET = "faults"
DAY = dt.date(2026, 7, 1)
SLOW_DOWN = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
INTERNAL = b"<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>"


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def s3(moto_url: str) -> Any:
    client = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
    if BUCKET not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def proxy(moto_url: str) -> Iterator[FaultProxy]:
    with FaultProxy(moto_url) as running:
        yield running


def lake_via(endpoint: str, prefix: str) -> S3Lake:
    lake = S3Lake(S3LakeSettings(uri=f"s3://{BUCKET}/{prefix}", endpoint_url=endpoint, region="us-east-1"))
    lake.transfer = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024,
                                   max_concurrency=1)
    return lake


def publish_a_day(lake: S3Lake, payload: bytes) -> None:
    with lake.stage("src", DAY) as staged:
        path = staged.directory / "part-000-0000.parquet"
        path.write_bytes(payload)
        lake.closed(staged, path, rows=1)
        lake.publish(staged, {"rows": 1, "files": [f.name for f in staged.files]})


def published_bytes(s3: Any, lake: S3Lake) -> bytes:
    key = lake.published_files("src", DAY)[0].removeprefix(f"{BUCKET}/")
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def is_upload_part(request: RecordedRequest) -> bool:
    return request.method == "PUT" and "partNumber=" in request.path


def is_completion(request: RecordedRequest) -> bool:
    return request.method == "POST" and "uploadId=" in request.path


@pytest.mark.parametrize(
    ("match", "status", "body"),
    [
        (is_upload_part, 503, SLOW_DOWN),
        (is_upload_part, 500, INTERNAL),
        (is_completion, 503, SLOW_DOWN),
        (is_completion, 200, INTERNAL),  # S3's "200 with an error body" on completion
    ],
    ids=["part-slowdown", "part-500", "completion-slowdown", "completion-200-error"],
)
def test_a_transient_s3_failure_is_retried(s3: Any, proxy: FaultProxy, match: Any, status: int, body: bytes,
                                           request: pytest.FixtureRequest) -> None:
    lake = lake_via(proxy.url, request.node.callspec.id)
    proxy.add_fault(Fault(match=match, kind=FaultKind.RESPOND, times=1, status=status, body=body))
    payload = os.urandom(12 * 1024 * 1024)
    publish_a_day(lake, payload)
    assert any(r.fault is FaultKind.RESPOND for r in proxy.requests)  # the fault really happened
    assert published_bytes(s3, lake) == payload
    assert not s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads")


@pytest.mark.parametrize("match", [is_upload_part, is_completion], ids=["parts", "completion"])
def test_a_lasting_s3_failure_aborts_the_upload_and_keeps_the_old_day(
    s3: Any, moto_url: str, proxy: FaultProxy, match: Any, request: pytest.FixtureRequest
) -> None:
    prefix = f"lasting-{request.node.callspec.id}"
    old = os.urandom(6 * 1024 * 1024)
    publish_a_day(lake_via(moto_url, prefix), old)
    lake = lake_via(proxy.url, prefix)
    proxy.add_fault(Fault(match=match, kind=FaultKind.RESPOND, times=10**6, status=500, body=INTERNAL))
    with pytest.raises(Exception):
        publish_a_day(lake, os.urandom(12 * 1024 * 1024))
    assert published_bytes(s3, lake_via(moto_url, prefix)) == old
    assert not s3.list_multipart_uploads(Bucket=BUCKET, Prefix=prefix).get("Uploads")
    versions = {k["Key"].split("/")[3] for k in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix}/src/")["Contents"]}
    assert len(versions) == 1  # only the old version: the failed one left nothing behind


def test_two_runs_of_one_day_on_s3_cannot_both_publish(s3: Any, moto_url: str) -> None:
    first, second = lake_via(moto_url, "race"), lake_via(moto_url, "race")
    with first.stage("src", DAY) as slow, second.stage("src", DAY) as fast:
        for lake, staged, payload in ((first, slow, b"slow"), (second, fast, b"fast")):
            path = staged.directory / "part-000-0000.parquet"
            path.write_bytes(payload)
            lake.closed(staged, path, rows=1)
        second.publish(fast, {"rows": 1, "files": ["part-000-0000.parquet"]})
        with pytest.raises(PartitionBusy, match="another run published src 2026-07-01"):
            first.publish(slow, {"rows": 1, "files": ["part-000-0000.parquet"]})
    assert published_bytes(s3, first) == b"fast"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="race/src/")["Contents"]]
    assert {k.split("/")[3] for k in keys} == {fast.version}  # the loser cleaned up after itself


def test_concurrent_days_all_reach_the_schema_registry(moto_url: str) -> None:
    lakes = [lake_via(moto_url, "registry") for _ in range(3)]
    columns = [build_schema({"i": {"mappings": {"properties": {"@timestamp": {"type": "date"},
                                                               f"field_{n}": {"type": "keyword"}}}}},
                            "@timestamp").fields for n in range(3)]
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda pair: pair[0].register_fields("src", pair[1]), zip(lakes, columns)))
    registered = {f.source_name for f in lakes[0].registered_fields("src") or ()}
    assert registered == {"@timestamp", "field_0", "field_1", "field_2"}
