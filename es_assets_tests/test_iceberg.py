"""lake.table_format: iceberg — each day one overwrite snapshot, the same guarantees as the Hive layout.

The table is read back the way users read it (DuckDB's iceberg extension through
``es_assets.query``; pyiceberg from the ``metadata_location`` Glue holds) and compared value for
value with what Elasticsearch holds. Killed and concurrent runs are real ``dagster asset
materialize`` processes, as in ``test_crash_and_concurrency.py``.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import signal
import time
from pathlib import Path
from typing import Any

import boto3
import orjson
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
import urllib3
from pyiceberg.table import StaticTable

from es_assets.config import load_settings, parse_settings
from es_assets.errors import ConfigError, PartitionBusy
from es_assets.demo import k8s_logs
from es_assets.lake import iceberg as iceberg_module
from es_assets.lake.iceberg import IcebergLake
from es_assets.lake.iceberg_tables import referenced_paths
from es_assets.query import run_query
from es_assets_tests.fault_proxy import FaultProxy
from es_assets_tests.support import (
    assert_rows_are_the_documents,
    aws_settings,
    counts_by_day,
    elasticsearch_documents,
    materialize_days,
    unique_prefix,
    write_config,
)
from es_assets_tests.test_crash_and_concurrency import DAY as CRASH_DAY
from es_assets_tests.test_crash_and_concurrency import slow_pages, start_run

DAYS = [dt.date(2026, 11, 20), dt.date(2026, 11, 21)]
DOCS_PER_DAY = 1_200
ICEBERG = {"uri": "file://./lake", "table_format": "iceberg"}


def table_rows(config: Path, sql: str = "SELECT * FROM k8s_logs", **time_travel: Any) -> list[dict[str, Any]]:
    """Rows as a user reads them: ``es_assets.query`` (DuckDB's iceberg_scan over the table)."""
    columns, rows = run_query(sql, str(config), **time_travel)
    return [dict(zip(columns, row)) for row in rows]


def iceberg_lake(config: Path) -> IcebergLake:
    return IcebergLake(load_settings(config).lake)


def assert_every_file_referenced_and_nothing_else(lake: IcebergLake, source: str = "k8s_logs") -> None:
    """No referenced file is missing and no file under the table is an orphan."""
    table = lake.table(source)
    assert table is not None
    referenced = referenced_paths(table)
    location = lake.table_location(source)
    listed = {
        lake.uri_of(info.path)
        for info in lake.filesystem.get_file_info(pafs.FileSelector(lake.fs_path(location), recursive=True))
        if info.type == pafs.FileType.File
    }
    assert referenced - listed == set(), "the table references files that are gone"
    assert listed - referenced == set(), "files under the table that no snapshot references"


# -- the value-for-value end-to-end test ----------------------------------------------------------
@pytest.fixture(scope="module")
def loaded(search_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    prefix = unique_prefix("iceberg")
    k8s_logs.load_days(search_url, DAYS, DOCS_PER_DAY, index_prefix=prefix)
    config = write_config(tmp_path_factory.mktemp("iceberg"), search_url, f"{prefix}*", DAYS[0],
                          source={"page_size": 400, "slices": 2}, lake=ICEBERG)
    result = materialize_days(config, DAYS[0], DAYS[-1])
    assert result.success
    return {"url": search_url, "prefix": prefix, "config": config, "result": result}


@pytest.mark.integration
def test_every_value_of_every_document_lands_in_the_iceberg_table(loaded: dict[str, Any]) -> None:
    rows = table_rows(loaded["config"])
    documents = elasticsearch_documents(loaded["url"], f"{loaded['prefix']}*")
    assert len(documents) == len(DAYS) * DOCS_PER_DAY
    assert counts_by_day(rows) == {day: DOCS_PER_DAY for day in DAYS}
    assert_rows_are_the_documents(rows, documents)


@pytest.mark.integration
def test_the_table_is_partitioned_by_dt_sorted_by_timestamp_with_iceberg_types(loaded: dict[str, Any]) -> None:
    table = iceberg_lake(loaded["config"]).table("k8s_logs")
    assert table is not None
    schema = table.schema()
    assert str(schema.find_type("timestamp")) == "timestamptz"
    assert str(schema.find_type("dt")) == "date"
    assert str(schema.find_type("tags")) == "list<string>"
    assert str(schema.find_type("http.status")) == "long"
    assert [(f.name, str(f.transform)) for f in table.spec().fields] == [("dt", "identity")]
    assert [schema.find_column_name(f.source_id) for f in table.sort_order().fields] == ["timestamp"]
    assert table.properties["schema.name-mapping.default"]  # es_assets' Parquet files carry no field ids


@pytest.mark.integration
def test_checks_pass_and_the_metadata_links_each_days_snapshot(loaded: dict[str, Any]) -> None:
    result = loaded["result"]
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == 6 and all(e.passed for e in evaluations), [e.check_name for e in evaluations if not e.passed]
    lake = iceberg_lake(loaded["config"])
    table_event = next(e for e in result.get_asset_materialization_events() if e.asset_key.path == ["athena", "k8s_logs"])
    snapshot_ids = table_event.materialization.metadata["iceberg_snapshot_ids"].value
    assert snapshot_ids == {str(day): lake.manifest("k8s_logs", day)["snapshot_id"] for day in DAYS}
    table = lake.table("k8s_logs")
    assert table is not None
    for day in DAYS:
        summary = table.snapshot_by_id(snapshot_ids[str(day)]).summary
        assert summary["es_assets.source"] == "k8s_logs" and summary["es_assets.day"] == str(day)
        assert summary["es_assets.rows"] == summary["es_assets.elasticsearch_count"] == str(DOCS_PER_DAY)
        assert summary["es_assets.run_id"] == result.run_id


@pytest.mark.integration
def test_reextracting_a_day_is_one_new_snapshot_and_the_same_rows(loaded: dict[str, Any]) -> None:
    lake = iceberg_lake(loaded["config"])
    before_rows = table_rows(loaded["config"])
    table = lake.table("k8s_logs")
    assert table is not None
    before = [s.snapshot_id for s in table.snapshots()]

    assert materialize_days(loaded["config"], DAYS[0], DAYS[0]).success

    table = lake.table("k8s_logs")
    assert table is not None
    added = [s for s in table.snapshots() if s.snapshot_id not in before]
    assert len(added) == 1 and added[0].summary.operation.value == "overwrite"
    assert added[0].summary["es_assets.day"] == str(DAYS[0])
    assert added[0].summary["deleted-data-files"] == added[0].summary["added-data-files"]
    after_rows = table_rows(loaded["config"])
    key = lambda row: (row["_index"], row["_id"])  # noqa: E731
    assert sorted(after_rows, key=key) == sorted(before_rows, key=key)
    assert len({key(row) for row in after_rows}) == len(after_rows) == len(DAYS) * DOCS_PER_DAY
    assert_every_file_referenced_and_nothing_else(lake)


# -- time travel, schema evolution --------------------------------------------------------------
@pytest.mark.integration
def test_time_travel_reads_the_previous_version_of_a_day(es_url: str, tmp_path: Path) -> None:
    prefix = unique_prefix("travel")
    day = dt.date(2026, 9, 14)
    k8s_logs.load_days(es_url, [day], 300, index_prefix=prefix)
    config = write_config(tmp_path, es_url, f"{prefix}*", day, lake=ICEBERG)
    assert materialize_days(config, day, day).success
    first = {row["_id"] for row in table_rows(config, "SELECT _id FROM k8s_logs")}
    k8s_logs.load_days(es_url, [day], 450, seed=7, index_prefix=prefix)  # late data: the day changed
    assert materialize_days(config, day, day).success

    now = {row["_id"] for row in table_rows(config, "SELECT _id FROM k8s_logs")}
    previous = table_rows(config, "SELECT _id, dt FROM k8s_logs", previous_version_of=("k8s_logs", day))
    assert len(now) == 450 and len(previous) == 300
    assert {row["_id"] for row in previous} == first and {row["dt"] for row in previous} == {day}


def _index_one_document(http: urllib3.PoolManager, es_url: str, index: str, properties: dict[str, Any],
                        document: dict[str, Any]) -> None:
    body = {"mappings": {"properties": {"@timestamp": {"type": "date"}, **properties}}}
    assert http.request("PUT", f"{es_url}/{index}", body=orjson.dumps(body)).status == 200
    assert http.request("PUT", f"{es_url}/{index}/_doc/1?refresh=true", body=orjson.dumps(document)).status in (200, 201)


@pytest.mark.integration
def test_a_new_field_on_a_later_day_is_a_new_column_and_old_days_stay_untouched(es_url: str, tmp_path: Path) -> None:
    prefix = unique_prefix("evolve")
    http = urllib3.PoolManager(headers={"Content-Type": "application/json"})
    day1, day2, day3 = dt.date(2026, 10, 5), dt.date(2026, 10, 6), dt.date(2026, 10, 7)
    _index_one_document(http, es_url, f"{prefix}{day1:%Y.%m.%d}", {"status": {"type": "long"}},
                        {"@timestamp": f"{day1}T12:00:00Z", "status": 200})
    _index_one_document(http, es_url, f"{prefix}{day2:%Y.%m.%d}",
                        {"status": {"type": "long"}, "region": {"type": "keyword"}},
                        {"@timestamp": f"{day2}T12:00:00Z", "status": 404, "region": "eu"})
    _index_one_document(http, es_url, f"{prefix}{day3:%Y.%m.%d}", {"status": {"type": "keyword"}},
                        {"@timestamp": f"{day3}T12:00:00Z", "status": "teapot"})
    config = write_config(tmp_path, es_url, f"{prefix}*", day1, lake=ICEBERG)
    lake = iceberg_lake(config)
    assert materialize_days(config, day1, day1).success
    day1_files = lake.published_files("k8s_logs", day1)

    assert materialize_days(config, day2, day2).success
    result = materialize_days(config, day3, day3, raise_on_error=False)

    table = lake.table("k8s_logs")
    assert table is not None
    assert str(table.schema().find_type("region")) == "string"  # a new column, by Iceberg schema evolution
    assert str(table.schema().find_type("status")) == "long"  # the kind change did not change the column
    assert lake.published_files("k8s_logs", day1) == day1_files  # nothing rewrote the old day
    rows = {row["dt"]: row for row in table_rows(config)}
    assert rows[day1]["status"] == 200 and rows[day1]["region"] is None
    assert rows[day2]["status"] == 404 and rows[day2]["region"] == "eu"
    assert rows[day3]["status"] is None and orjson.loads(rows[day3]["_unmapped"]) == {"status": "teapot"}
    schema_check = next(e for e in result.get_asset_check_evaluations() if e.check_name == "schema_compatible_with_table")
    assert not schema_check.passed  # the README's kind-change rule: someone must decide


# -- killed and concurrent runs -------------------------------------------------------------------
CRASH_DOCS = 2_000


@pytest.fixture(scope="module")
def crash_source(es_url: str) -> dict[str, Any]:
    prefix = unique_prefix("icecrash")
    k8s_logs.load_days(es_url, [CRASH_DAY], CRASH_DOCS, index_prefix=prefix)
    return {"es_url": es_url, "prefix": prefix}


@pytest.fixture(scope="module")
def undisturbed(crash_source: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    directory = tmp_path_factory.mktemp("iceberg-undisturbed")
    config = write_config(directory, crash_source["es_url"], f"{crash_source['prefix']}*", CRASH_DAY,
                          source={"page_size": 100, "slices": 2}, lake=ICEBERG)
    run = start_run(config, directory / "home")
    assert run.wait(timeout=300) == 0, run.stderr.read().decode()[-3000:] if run.stderr else ""
    return {row["_id"]: row for row in table_rows(config)}


def assert_whole_day_or_none(config: Path) -> None:
    lake = iceberg_lake(config)
    if lake.table("k8s_logs") is None or not lake.published_days("k8s_logs"):
        return
    assert len(table_rows(config, "SELECT _id FROM k8s_logs")) == CRASH_DOCS
    for path in lake.published_files("k8s_logs", CRASH_DAY):
        assert lake.filesystem.get_file_info(path).type == pafs.FileType.File, f"{path} is referenced but gone"


@pytest.mark.integration
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_run_killed_while_writing_or_committing_converges_and_leaves_no_orphan(
    crash_source: dict[str, Any], undisturbed: dict[str, dict[str, Any]], tmp_path: Path, seed: int
) -> None:
    with FaultProxy(crash_source["es_url"]) as proxy:
        slow_pages(proxy, delay_s=0.1)
        config = write_config(tmp_path, proxy.url, f"{crash_source['prefix']}*", CRASH_DAY,
                              source={"page_size": 100, "slices": 2}, lake=ICEBERG)
        for kill in range(3):  # the later kills land around the commit of a day that is already there
            run = start_run(config, tmp_path / "home")
            time.sleep(random.Random(seed * 10 + kill).uniform(2.0, 10.0))
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
            assert_whole_day_or_none(config)
        run = start_run(config, tmp_path / "home")
        assert run.wait(timeout=300) == 0, run.stderr.read().decode()[-3000:] if run.stderr else ""
    assert {row["_id"]: row for row in table_rows(config)} == undisturbed
    assert_every_file_referenced_and_nothing_else(iceberg_lake(config))


@pytest.mark.integration
def test_two_runs_of_one_day_at_once_commit_one_whole_day(
    crash_source: dict[str, Any], undisturbed: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    with FaultProxy(crash_source["es_url"]) as proxy:
        slow_pages(proxy, delay_s=0.3)
        config = write_config(tmp_path, proxy.url, f"{crash_source['prefix']}*", CRASH_DAY,
                              source={"page_size": 100, "slices": 2}, lake=ICEBERG)
        first = start_run(config, tmp_path / "home-1")
        time.sleep(1.0)
        second = start_run(config, tmp_path / "home-2")
        outcomes = [first.wait(timeout=300), second.wait(timeout=300)]
        logs = [run.stderr.read().decode() if run.stderr else "" for run in (first, second)]
    # Both commit (the one that began writing later on top of the other's snapshot), or the one that
    # began earlier finds the later one's commit and fails saying so. Never a mixed or doubled day.
    failed = [log for outcome, log in zip(outcomes, logs) if outcome != 0]
    assert sorted(outcomes) in ([0, 0], [0, 1]), logs
    assert all("another run committed k8s_logs 2026-08-03" in log for log in failed), failed
    rows = table_rows(config)
    assert len(rows) == CRASH_DOCS and {row["_id"]: row for row in rows} == undisturbed
    table = iceberg_lake(config).table("k8s_logs")
    assert table is not None and len(table.snapshots()) == outcomes.count(0)
    assert_every_file_referenced_and_nothing_else(iceberg_lake(config))


# -- S3 + Glue (moto) -------------------------------------------------------------------------------
@pytest.mark.integration
def test_the_glue_table_is_an_iceberg_table_with_a_loadable_metadata_location(
    es_url: str, moto_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    s3 = boto3.client("s3", endpoint_url=moto_url)
    s3.create_bucket(Bucket="iceberg-lake")
    prefix = unique_prefix("glue")
    day = dt.date(2026, 7, 1)
    k8s_logs.load_days(es_url, [day], 500, index_prefix=prefix)
    aws = aws_settings("iceberg-lake", "lake", moto_url, moto_url, "iceberg_db")
    config = write_config(tmp_path, es_url, f"{prefix}*", day, lake={**aws["lake"], "table_format": "iceberg"},
                          catalog=aws["catalog"])
    result = materialize_days(config, day, day)
    assert all(e.passed for e in result.get_asset_check_evaluations())
    assert materialize_days(config, day, day).success  # a second commit moves metadata_location on

    glue = boto3.client("glue", endpoint_url=moto_url)
    table = glue.get_table(DatabaseName="iceberg_db", Name="k8s_logs")["Table"]
    assert table["Parameters"]["table_type"] == "ICEBERG"
    loaded = StaticTable.from_metadata(table["Parameters"]["metadata_location"],
                                       properties={"s3.endpoint": moto_url, "s3.region": "us-east-1"})
    assert len(loaded.snapshots()) == 2
    rows = loaded.scan().to_arrow().to_pylist()
    documents = elasticsearch_documents(es_url, f"{prefix}*")
    assert {(r["_index"], r["_id"]) for r in rows} == {(d["_index"], d["_id"]) for d in documents}
    assert {r["dt"] for r in rows} == {day}
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="iceberg-lake", Prefix="lake/k8s_logs/")["Contents"]]
    assert all(k.startswith(("lake/k8s_logs/data/dt=2026-07-01/", "lake/k8s_logs/metadata/")) for k in keys)
    assert_every_file_referenced_and_nothing_else(IcebergLake(load_settings(config).lake))


# -- the commit protocol, on the engine alone (no Elasticsearch) ----------------------------------
RACE_DAY = dt.date(2026, 6, 1)


def local_iceberg_lake(directory: Path) -> IcebergLake:
    settings = parse_settings({
        "elasticsearch": {"hosts": ["http://127.0.0.1:9"]},
        "lake": {"uri": "file://./lake", "table_format": "iceberg"},
        "catalog": {"kind": "duckdb", "duckdb_path": "./catalog.duckdb"},
        "sources": [{"name": "src", "index": "logs-*", "timestamp_field": "@timestamp", "start_date": "2026-06-01"}],
    }, base_dir=directory, env={})
    return IcebergLake(settings.lake)


def stage_ids(lake: IcebergLake, ids: list[str]) -> tuple[Any, Any]:
    """A staged version of RACE_DAY holding one file with these ``_id``s (not yet published)."""
    stage = lake.stage("src", RACE_DAY)
    staged = stage.__enter__()
    path = staged.directory / "part-000-0000.parquet"
    timestamp = dt.datetime(2026, 6, 1, 12, tzinfo=dt.timezone.utc)
    pq.write_table(pa.table({
        "_index": pa.array(["logs"] * len(ids)), "_id": pa.array(ids),
        "timestamp": pa.array([timestamp] * len(ids), pa.timestamp("ms", tz="UTC")),
    }), path)
    lake.closed(staged, path, len(ids))
    return stage, staged


def publish_ids(lake: IcebergLake, stage: Any, staged: Any) -> None:
    try:
        lake.publish(staged, {"rows": sum(f.rows for f in staged.files), "timestamp_column": "timestamp"})
    finally:
        stage.__exit__(None, None, None)


def committed_ids(lake: IcebergLake) -> list[str]:
    table = lake.table("src")
    assert table is not None
    return sorted(table.scan(row_filter=f"dt = '{RACE_DAY}'").to_arrow().column("_id").to_pylist())


def test_a_commit_that_lost_the_catalog_race_retries_on_the_new_snapshot_without_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = local_iceberg_lake(tmp_path)
    publish_ids(lake, *stage_ids(lake, ["v0"]))
    stale = lake.table("src")  # what the losing run read before the other run committed
    first, second = stage_ids(lake, ["a1", "a2"]), stage_ids(lake, ["b1", "b2", "b3"])
    publish_ids(lake, *first)

    loads = iter([stale])
    fresh = iceberg_module.load_or_create_table
    monkeypatch.setattr(iceberg_module, "load_or_create_table", lambda *a: next(loads, None) or fresh(*a))
    publish_ids(lake, *second)  # its first attempt is refused by the catalog's compare-and-swap

    assert committed_ids(lake) == ["b1", "b2", "b3"]  # the other run's day replaced, not added to
    table = lake.table("src")
    assert table is not None and [s.summary["es_assets.version"] for s in table.snapshots()][-1] == second[1].version
    assert len(table.snapshots()) == 3
    assert_every_file_referenced_and_nothing_else(lake, "src")


def test_a_run_that_began_before_the_committed_one_fails_clearly_and_removes_its_files(tmp_path: Path) -> None:
    lake = local_iceberg_lake(tmp_path)
    older, newer = stage_ids(lake, ["old"]), stage_ids(lake, ["new"])
    publish_ids(lake, *newer)
    with pytest.raises(PartitionBusy, match="another run committed src 2026-06-01 .* after this one started"):
        publish_ids(lake, *older)
    assert committed_ids(lake) == ["new"]
    assert not older[1].directory.exists()
    assert_every_file_referenced_and_nothing_else(lake, "src")


def test_snapshots_past_the_retention_expire_and_their_files_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lake = local_iceberg_lake(tmp_path)
    first = stage_ids(lake, ["first"])
    publish_ids(lake, *first)
    publish_ids(lake, *stage_ids(lake, ["second"]))
    lake.remove_stale_versions("src", RACE_DAY)  # within the retention: both versions stay
    assert first[1].directory.exists()

    lake.retention = dt.timedelta(0)
    monkeypatch.setattr(iceberg_module, "_METADATA_GRACE_S", 0.0)
    lake.remove_stale_versions("src", RACE_DAY)
    table = lake.table("src")
    assert table is not None and len(table.snapshots()) == 1
    assert not first[1].directory.exists() and committed_ids(lake) == ["second"]
    assert_every_file_referenced_and_nothing_else(lake, "src")


@pytest.mark.parametrize(("lake", "catalog", "message"), [
    ({"table_format": "delta"}, None, "lake.table_format: 'delta' is not one of 'hive', 'iceberg'"),
    ({"iceberg": {"snapshot_retention_hours": 5}}, None, "lake.iceberg: only applies to lake.table_format: iceberg"),
    ({"table_format": "iceberg", "iceberg": {"snapshot_retention_hours": 0}}, None,
     "lake.iceberg.snapshot_retention_hours: input should be greater than 0"),
    ({"table_format": "iceberg", "uri": "s3://bucket/lake"}, None, "keeps an s3:// lake in Glue"),
])
def test_iceberg_settings_are_validated(lake: dict[str, Any], catalog: dict[str, Any] | None, message: str,
                                        tmp_path: Path) -> None:
    raw = {
        "elasticsearch": {"hosts": ["http://127.0.0.1:9"]},
        "lake": {"uri": "file://./lake", **lake},
        "catalog": catalog or {"kind": "duckdb", "duckdb_path": "./catalog.duckdb"},
        "sources": [{"name": "src", "index": "logs-*", "timestamp_field": "@timestamp", "start_date": "2026-06-01"}],
    }
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_settings(raw, base_dir=tmp_path, env={})


def test_an_iceberg_lake_defaults_to_a_sqlite_catalog_inside_it(tmp_path: Path) -> None:
    lake = local_iceberg_lake(tmp_path)
    assert lake.settings.iceberg is not None
    assert lake.settings.iceberg.catalog_path == str(tmp_path / "lake" / "_iceberg_catalog.db")
    assert lake.settings.iceberg.snapshot_retention_hours == 168
