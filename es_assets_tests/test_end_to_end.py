"""Elasticsearch → Dagster → Parquet lake → DuckDB, on every real server version, every value compared."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from es_assets.config import load_settings
from es_assets.demo import k8s_logs
from es_assets.lake.local import LocalLake
from es_assets.query import run_query
from es_assets_tests.support import (
    assert_rows_are_the_documents,
    counts_by_day,
    elasticsearch_documents,
    lake_rows,
    materialize_days,
    unique_prefix,
    write_config,
)

pytestmark = pytest.mark.integration

DAYS = [dt.date(2026, 11, 20), dt.date(2026, 11, 21)]
DOCS_PER_DAY = 1_500
SHARDS = 3  # more shards than slices: slices and _shard_doc are real


@pytest.fixture(scope="module")
def loaded(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two days of container logs in 3-shard indices of ``server_url`` and a config whose lake is empty."""
    prefix = unique_prefix("e2e")
    counts = k8s_logs.load_days(server_url, DAYS, DOCS_PER_DAY, index_prefix=prefix, shards=SHARDS)
    config = write_config(tmp_path_factory.mktemp("e2e"), server_url, f"{prefix}*", DAYS[0],
                          source={"page_size": 500, "slices": 2})
    return {"url": server_url, "prefix": prefix, "counts": counts, "config": config}


@pytest.fixture(scope="module")
def materialized(loaded: dict[str, Any]) -> dict[str, Any]:
    result = materialize_days(loaded["config"], DAYS[0], DAYS[-1])
    assert result.success
    return {**loaded, "result": result}


def test_every_value_of_every_document_lands_in_the_lake(materialized: dict[str, Any]) -> None:
    settings = load_settings(materialized["config"])
    rows = lake_rows(settings, "k8s_logs")
    documents = elasticsearch_documents(materialized["url"], f"{materialized['prefix']}*")
    assert len(documents) == len(DAYS) * DOCS_PER_DAY

    assert counts_by_day(rows) == {day: DOCS_PER_DAY for day in DAYS}
    assert_rows_are_the_documents(rows, documents)


def test_column_types_are_athena_friendly(materialized: dict[str, Any]) -> None:
    settings = load_settings(materialized["config"])
    columns, rows = run_query("SELECT column_name, data_type FROM information_schema.columns "
                              "WHERE table_name = 'k8s_logs'", str(materialized["config"]))
    types = dict(rows)
    assert types["timestamp"] == "TIMESTAMP WITH TIME ZONE"
    assert types["tags"] == "VARCHAR[]"
    assert types["_index"] == types["_id"] == "VARCHAR"
    assert "status BIGINT" in types["http"] and "latency_ms DOUBLE" in types["http"]
    day_dir = LocalLake(settings.lake.uri).published_partition("k8s_logs", DAYS[0])
    assert day_dir is not None
    parquet = pq.ParquetFile(sorted(day_dir.glob("*.parquet"))[0])
    timestamp = parquet.schema.column(parquet.schema_arrow.get_field_index("timestamp"))
    assert timestamp.physical_type == "INT64"  # never INT96
    assert parquet.metadata.row_group(0).column(0).compression == "ZSTD"


def test_lake_layout_is_hive_partitioned_by_day(materialized: dict[str, Any]) -> None:
    settings = load_settings(materialized["config"])
    table_dir = Path(settings.lake.uri.removeprefix("file://")) / "k8s_logs"
    assert sorted(p.name for p in table_dir.iterdir()) == [f"dt={day}" for day in DAYS]
    for day in DAYS:
        names = sorted(p.name for p in (table_dir / f"dt={day}").glob("*.parquet"))
        assert names and all(n.startswith("part-") for n in names)


def test_the_analysis_query_runs_through_the_catalog(materialized: dict[str, Any]) -> None:
    columns, rows = run_query(
        "SELECT level, count(*) AS n FROM k8s_logs GROUP BY 1 ORDER BY 1", str(materialized["config"])
    )
    assert columns == ["level", "n"]
    assert sum(n for _, n in rows) == len(DAYS) * DOCS_PER_DAY
    assert {level for level, _ in rows} <= {"DEBUG", "INFO", "WARN", "ERROR"}


def test_checks_pass_and_metadata_describes_the_day(materialized: dict[str, Any]) -> None:
    result = materialized["result"]
    evaluations = result.get_asset_check_evaluations()
    assert {e.check_name for e in evaluations} == {
        "row_count_matches_elasticsearch", "no_duplicate_documents", "schema_compatible_with_table",
        "table_serves_the_published_day", "documents_without_timestamp", "every_day_with_data_is_in_the_lake",
    }
    assert all(e.passed for e in evaluations)
    parquet_events = [
        e for e in result.get_asset_materialization_events() if e.asset_key.path == ["parquet", "k8s_logs"]
    ]
    assert sorted(e.partition for e in parquet_events) == [str(day) for day in DAYS]
    metadata = parquet_events[0].materialization.metadata
    assert metadata["rows"].value == len(DAYS) * DOCS_PER_DAY
    assert metadata["files"].value >= len(DAYS)
    columns = {c.name: c for c in metadata["dagster/column_schema"].schema.columns}
    # Each column names its Elasticsearch path and mapping type (the demo maps these explicitly).
    assert columns["kubernetes.namespace_name"].description == "Elasticsearch `kubernetes.namespace_name` (keyword)"
    assert columns["timestamp"].description == "Elasticsearch `@timestamp` (date)"  # Athena-safe name
    days = metadata["days"].value
    assert [record.data["day"] for record in days.records] == [str(day) for day in DAYS]
    assert sum(record.data["rows"] for record in days.records) == len(DAYS) * DOCS_PER_DAY


def test_rematerializing_a_day_replaces_it_with_the_same_rows(materialized: dict[str, Any]) -> None:
    settings = load_settings(materialized["config"])
    lake = LocalLake(settings.lake.uri)
    before = lake_rows(settings, "k8s_logs")
    old_version = lake.published_partition("k8s_logs", DAYS[0])

    assert materialize_days(materialized["config"], DAYS[0], DAYS[0]).success

    after = lake_rows(settings, "k8s_logs")
    new_version = lake.published_partition("k8s_logs", DAYS[0])
    assert new_version != old_version and old_version is not None and not old_version.exists()
    key = lambda row: (row["_index"], row["_id"])  # noqa: E731
    assert sorted(after, key=key) == sorted(before, key=key)
    assert len({key(row) for row in after}) == len(after)  # no duplicates
