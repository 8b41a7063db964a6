"""Helpers the tests share: a config file per test, Dagster runs, and reading both ends back."""

from __future__ import annotations

import datetime as dt
import random
import string
from pathlib import Path
from typing import Any, Iterable

import dagster as dg
import duckdb
import orjson
import urllib3
import yaml

from es_assets.config import Settings, load_settings
from es_assets.definitions import build_definitions
from es_assets.lake.local import LocalLake


def unique_prefix(label: str) -> str:
    """A fresh index prefix, so tests sharing one emulator never see each other's indices."""
    # Letters only: digits in the prefix could read as a date in an index name.
    return f"t-{label}-{''.join(random.choices(string.ascii_lowercase, k=8))}-"


def write_config(
    directory: Path,
    es_url: str,
    index: str,
    start_date: dt.date,
    source: dict[str, Any] | None = None,
    elasticsearch: dict[str, Any] | None = None,
    name: str = "k8s_logs",
    lake: dict[str, Any] | None = None,
    catalog: dict[str, Any] | None = None,
) -> Path:
    """An es_assets.yaml for one source, with the lake and the catalog inside ``directory``."""
    config = {
        "elasticsearch": {"hosts": [es_url], "retry_budget_seconds": 20, **(elasticsearch or {})},
        "lake": lake or {"uri": "file://./lake"},
        "catalog": catalog or {"kind": "duckdb", "duckdb_path": "./catalog.duckdb"},
        "sources": [
            {
                "name": name,
                "index": index,
                "timestamp_field": "@timestamp",
                "start_date": start_date.isoformat(),
                "array_fields": ["tags"],
                **(source or {}),
            }
        ],
    }
    path = directory / "es_assets.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def aws_settings(bucket: str, prefix: str, s3_endpoint: str, aws_endpoint: str, database: str,
                 projection: bool = False) -> dict[str, Any]:
    """``lake`` and ``catalog`` arguments of :func:`write_config` for an S3 lake and an Athena catalog."""
    return {
        "lake": {"uri": f"s3://{bucket}/{prefix}", "endpoint_url": s3_endpoint, "region": "us-east-1"},
        "catalog": {"kind": "athena", "database": database, "output_location": f"s3://{bucket}/athena-results/",
                    "endpoint_url": aws_endpoint, "region": "us-east-1", "partition_projection": projection},
    }


def materialize_days(config_path: Path, first: dt.date, last: dt.date, raise_on_error: bool = True
                     ) -> dg.ExecuteInProcessResult:
    """Materialize the whole asset graph for [first, last] in one Dagster run (a single-run backfill)."""
    defs = build_definitions(load_settings(config_path))
    return dg.materialize(
        list(defs.assets or []),  # type: ignore[arg-type]
        resources=defs.resources,
        instance=dg.DagsterInstance.ephemeral(),
        tags={
            "dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": last.isoformat(),
        },
        raise_on_error=raise_on_error,
    )


def lake_rows(settings: Settings, source: str) -> list[dict[str, Any]]:
    """Every row of the source's published days, read back with DuckDB (Hive-partitioned)."""
    glob = LocalLake(settings.lake.uri).table_glob(source)
    with duckdb.connect() as con:
        table = con.execute(f"SELECT * FROM read_parquet('{glob}', hive_partitioning = true, union_by_name = true)").to_arrow_table()
    return table.to_pylist()


def elasticsearch_documents(es_url: str, index: str) -> list[dict[str, Any]]:
    """Every document of ``index`` read by a plain scroll, independently of the engine's code.

    (The official client 9.x cannot be used here: it sends ``compatible-with=9`` media types,
    which Elasticsearch 8 rejects.)
    """
    http = urllib3.PoolManager(headers={"Content-Type": "application/json"})
    base = es_url.rstrip("/")
    response = orjson.loads(http.request(
        "POST", f"{base}/{index}/_search?scroll=1m", body=orjson.dumps({"size": 1000, "sort": ["_doc"]})
    ).data)
    documents: list[dict[str, Any]] = []
    while response["hits"]["hits"]:
        documents += [{"_index": h["_index"], "_id": h["_id"], "_source": h["_source"]} for h in response["hits"]["hits"]]
        response = orjson.loads(http.request(
            "POST", f"{base}/_search/scroll", body=orjson.dumps({"scroll": "1m", "scroll_id": response["_scroll_id"]})
        ).data)
    return documents


def without_nulls(value: Any) -> Any:
    """Drop null members of objects, recursively: a missing field and a null column read the same."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def expected_row(document: dict[str, Any]) -> dict[str, Any]:
    """A demo document as the README's rules say it lands: ``@timestamp`` → ``timestamp`` (UTC), nulls dropped."""
    source = dict(document["_source"])
    timestamp = dt.datetime.fromisoformat(source.pop("@timestamp").replace("Z", "+00:00"))
    return without_nulls({"_index": document["_index"], "_id": document["_id"], "timestamp": timestamp, **source})


def assert_rows_are_the_documents(rows: Iterable[dict[str, Any]], documents: Iterable[dict[str, Any]]) -> None:
    """Every document is one row, every value as the README's rules say it lands (``dt`` aside)."""
    actual = {(r["_index"], r["_id"]): without_nulls({k: v for k, v in r.items() if k != "dt"}) for r in rows}
    expected = {(d["_index"], d["_id"]): expected_row(d) for d in documents}
    assert actual.keys() == expected.keys()
    mismatches = [key for key in expected if actual[key] != expected[key]]
    assert not mismatches, f"{len(mismatches)} rows differ, e.g. {actual[mismatches[0]]} != {expected[mismatches[0]]}"


def counts_by_day(rows: Iterable[dict[str, Any]]) -> dict[dt.date, int]:
    counts: dict[dt.date, int] = {}
    for row in rows:
        counts[row["dt"]] = counts.get(row["dt"], 0) + 1
    return counts
