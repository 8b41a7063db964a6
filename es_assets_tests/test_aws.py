"""The AWS path end to end: the lake on S3 and the table in Glue/Athena, on moto's server.

moto is a real HTTP server on loopback speaking the S3, Glue and Athena APIs to the real boto3;
it cannot run SQL, so Athena *query results* are the one thing not exercised here (the queries
issued are checked instead). DuckDB reads the Parquet back from moto's S3 through pyarrow.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Iterator

import boto3
import duckdb
import pyarrow.dataset as pads
import pytest

from es_assets.catalog.athena import AthenaCatalog
from es_assets.config import Settings, load_settings
from es_assets.demo import k8s_logs
from es_assets.lake.s3 import S3Lake
from es_assets_tests.fault_proxy import Fault, FaultKind, FaultProxy
from es_assets_tests.support import (
    aws_settings,
    elasticsearch_documents,
    expected_row,
    materialize_days,
    unique_prefix,
    without_nulls,
    write_config,
)

pytestmark = pytest.mark.integration

DAYS = [dt.date(2026, 9, 14), dt.date(2026, 9, 15)]
DOCS_PER_DAY = 400
BUCKET = "lake"
DATABASE = "es_assets_test"


@pytest.fixture(scope="module", autouse=True)
def aws_credentials() -> Iterator[None]:
    """moto accepts any credentials; the standard chain must find some."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        patch.delenv("AWS_PROFILE", raising=False)
        yield


def client(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")


def aws_config(directory: Path, es_url: str, prefix: str, s3_endpoint: str, aws_endpoint: str,
               projection: bool = False) -> Path:
    return write_config(directory, es_url, f"{prefix}*", DAYS[0],
                        **aws_settings(BUCKET, "warehouse", s3_endpoint, aws_endpoint, DATABASE, projection))


@pytest.fixture(scope="module")
def aws(es_url: str, moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two days in Elasticsearch, a bucket on moto, and a config with an S3 lake and an Athena catalog."""
    s3 = client("s3", moto_url)
    if BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=BUCKET)
    prefix = unique_prefix("aws")
    k8s_logs.load_days(es_url, DAYS, DOCS_PER_DAY, index_prefix=prefix)
    config = aws_config(tmp_path_factory.mktemp("aws"), es_url, prefix, moto_url, moto_url)
    assert materialize_days(config, DAYS[0], DAYS[-1]).success
    return {"es_url": es_url, "moto": moto_url, "prefix": prefix, "config": config, "s3": s3}


def read_lake(settings: Settings) -> list[dict[str, Any]]:
    """Every published row, read from S3 by DuckDB through pyarrow's S3FileSystem."""
    lake = S3Lake(settings.lake)
    files = [path for day in lake.published_days("k8s_logs") for path in lake.published_files("k8s_logs", day)]
    dataset = pads.dataset(files, filesystem=lake.filesystem, format="parquet")
    with duckdb.connect() as con:
        con.register("lake", dataset)
        return con.execute("SELECT * FROM lake").to_arrow_table().to_pylist()


def test_objects_land_under_versioned_day_prefixes(aws: dict[str, Any]) -> None:
    keys = {o["Key"]: o["Size"] for o in aws["s3"].list_objects_v2(Bucket=BUCKET, Prefix="warehouse/")["Contents"]}
    for day in DAYS:
        pointer = f"warehouse/_published/k8s_logs/dt={day}.json"
        assert pointer in keys
        parts = [k for k in keys if k.startswith(f"warehouse/k8s_logs/dt={day}/") and k.endswith(".parquet")]
        assert parts and all(keys[k] > 1000 for k in parts)
        assert all(k.split("/")[-1].startswith("part-") for k in parts)
    assert "warehouse/_schemas/k8s_logs.json" in keys


def test_duckdb_reads_back_what_elasticsearch_holds(aws: dict[str, Any]) -> None:
    rows = read_lake(load_settings(aws["config"]))
    documents = elasticsearch_documents(aws["es_url"], f"{aws['prefix']}*")
    actual = {(r["_index"], r["_id"]): without_nulls(r) for r in rows}
    expected = {(d["_index"], d["_id"]): expected_row(d) for d in documents}
    assert len(rows) == len(DAYS) * DOCS_PER_DAY == len(actual)
    assert actual == expected


def test_glue_table_and_partitions(aws: dict[str, Any]) -> None:
    glue = client("glue", aws["moto"])
    table = glue.get_table(DatabaseName=DATABASE, Name="k8s_logs")["Table"]
    storage = table["StorageDescriptor"]
    assert table["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
    assert storage["SerdeInfo"]["SerializationLibrary"] == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    assert storage["Location"] == f"s3://{BUCKET}/warehouse/k8s_logs/"
    columns = {c["Name"]: c["Type"] for c in storage["Columns"]}
    assert columns["timestamp"] == "timestamp"
    assert columns["tags"] == "array<string>"
    assert columns["_id"] == "string"
    assert columns["http"].startswith("struct<") and "status:bigint" in columns["http"]
    lake = S3Lake(load_settings(aws["config"]).lake)
    partitions = glue.get_partitions(DatabaseName=DATABASE, TableName="k8s_logs")["Partitions"]
    locations = {p["Values"][0]: p["StorageDescriptor"]["Location"] for p in partitions}
    assert locations == {str(day): lake.published_location("k8s_logs", day) for day in DAYS}


def test_the_query_helper_issues_the_query_to_athena(aws: dict[str, Any]) -> None:
    catalog = AthenaCatalog(load_settings(aws["config"]).catalog)
    sql = "SELECT level, count(*) FROM k8s_logs GROUP BY level ORDER BY 2 DESC"
    catalog.query(sql)  # moto accepts and records it; it cannot compute results
    athena = client("athena", aws["moto"])
    issued = [athena.get_query_execution(QueryExecutionId=i)["QueryExecution"]
              for i in athena.list_query_executions()["QueryExecutionIds"]]
    assert any(q["Query"] == sql and q["QueryExecutionContext"]["Database"] == DATABASE for q in issued)


def test_rematerializing_swaps_the_day_and_removes_the_old_version(aws: dict[str, Any]) -> None:
    settings = load_settings(aws["config"])
    lake = S3Lake(settings.lake)
    old_location = lake.published_location("k8s_logs", DAYS[0])
    before = sorted(read_lake(settings), key=lambda r: r["_id"])

    assert materialize_days(aws["config"], DAYS[0], DAYS[0]).success

    new_location = lake.published_location("k8s_logs", DAYS[0])
    assert new_location != old_location
    assert sorted(read_lake(settings), key=lambda r: r["_id"]) == before
    old_prefix = old_location.removeprefix(f"s3://{BUCKET}/") + "/"
    assert aws["s3"].list_objects_v2(Bucket=BUCKET, Prefix=old_prefix).get("KeyCount", 0) == 0
    glue = client("glue", aws["moto"])
    partition = glue.get_partition(DatabaseName=DATABASE, TableName="k8s_logs", PartitionValues=[str(DAYS[0])])
    assert partition["Partition"]["StorageDescriptor"]["Location"] == new_location


def test_failed_upload_leaves_the_old_day_and_no_orphans(aws: dict[str, Any], tmp_path: Path) -> None:
    settings = load_settings(aws["config"])
    lake = S3Lake(settings.lake)
    published = lake.published_location("k8s_logs", DAYS[1])
    before = aws["s3"].list_objects_v2(Bucket=BUCKET, Prefix="warehouse/k8s_logs/")["KeyCount"]
    with FaultProxy(aws["moto"]) as proxy:
        proxy.add_fault(Fault(
            match=lambda r: r.method == "PUT" and ".parquet" in r.path,
            kind=FaultKind.RESPOND, times=1000, status=500,
            body=b"<Error><Code>InternalError</Code><Message>injected</Message></Error>",
        ))
        config = aws_config(tmp_path, aws["es_url"], aws["prefix"], proxy.url, aws["moto"])
        result = materialize_days(config, DAYS[1], DAYS[1], raise_on_error=False)
    assert not result.success
    assert lake.published_location("k8s_logs", DAYS[1]) == published
    assert aws["s3"].list_objects_v2(Bucket=BUCKET, Prefix="warehouse/k8s_logs/")["KeyCount"] == before
    assert not aws["s3"].list_multipart_uploads(Bucket=BUCKET).get("Uploads")


def test_partition_projection_needs_no_partitions(aws: dict[str, Any], tmp_path: Path) -> None:
    config = aws_config(tmp_path, aws["es_url"], aws["prefix"], aws["moto"], aws["moto"], projection=True)
    config.write_text(config.read_text().replace("name: k8s_logs", "name: k8s_projected"))
    assert materialize_days(config, DAYS[0], DAYS[0]).success
    glue = client("glue", aws["moto"])
    parameters = glue.get_table(DatabaseName=DATABASE, Name="k8s_projected")["Table"]["Parameters"]
    assert parameters["projection.enabled"] == "true"
    assert parameters["projection.dt.range"] == f"{DAYS[0]},NOW"
    assert parameters["storage.location.template"] == f"s3://{BUCKET}/warehouse/k8s_projected/dt=${{dt}}/"
    assert glue.get_partitions(DatabaseName=DATABASE, TableName="k8s_projected")["Partitions"] == []
