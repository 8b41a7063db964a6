"""The es_assets engine, as the Dagster asset runs it: detect, plan, extract one day into a file:// lake.

The source is configured as a new user would: the corpus's index pattern and ``@timestamp``, no
``array_fields`` or other tuning for the data at hand.

The timed step includes everything the asset does against the cluster for a day (``GET /``, the
mapping, counts and stats of the plan, the PIT and its count, the pages, the verification and the
atomic publish), so the comparison with the floors is not flattered by leaving work out.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from es_assets.config import parse_settings
from es_assets.extract import extract_day
from es_assets.lake import open_lake
from es_assets.source.cluster import detect_cluster, plan_day
from es_assets.source.http import EsHttp

from benchmarks.job import KEEP_ALIVE, PAGE_SIZE, Job, VariantRun

def prepare(job: Job) -> VariantRun:
    workdir = Path(job.workdir)
    iceberg = job.kind == "es_assets-iceberg"
    commit_s = _time_iceberg_commits() if iceberg else []
    settings = parse_settings(
        {
            "elasticsearch": {"hosts": [job.url], "request_timeout_seconds": 300},
            "lake": {"uri": f"file://{workdir / 'lake'}", **({"table_format": "iceberg"} if iceberg else {})},
            "catalog": {"kind": "duckdb", "duckdb_path": str(workdir / "catalog.duckdb")},
            "sources": [
                {
                    "name": job.source,
                    "index": job.index,
                    "timestamp_field": "@timestamp",
                    "start_date": job.day,
                    "slices": job.slices,
                    "page_size": PAGE_SIZE,
                    "pit_keep_alive": KEEP_ALIVE,
                }
            ],
        },
        base_dir=workdir,
        env={},
    )
    source = settings.source(job.source)
    http = EsHttp(settings.elasticsearch)

    def run() -> tuple[int, dict[str, Any]]:
        try:
            cluster = detect_cluster(http)
            plan = plan_day(http, cluster, source, source.start_date)
            result = extract_day(http, source, open_lake(settings.lake), plan)
        finally:
            http.close()
        return result.rows, {
            "method": result.method,
            "slices": result.slices,
            "documents_normalized_slowly": result.documents_normalized_slowly,
            "unmapped_documents": result.unmapped_documents,
            "context_restarts": result.context_restarts,
            "compression": settings.lake.compression,
            **({"iceberg_commit_s": sum(commit_s)} if iceberg else {}),
        }

    return run


def _time_iceberg_commits() -> list[float]:
    """Time each Iceberg commit (schema update, manifests, catalog swap, orphan check) of this process."""
    from es_assets.lake.iceberg import IcebergLake

    durations: list[float] = []
    publish = IcebergLake.publish

    def timed(self: IcebergLake, *args: Any) -> None:
        started = time.perf_counter()
        try:
            publish(self, *args)
        finally:
            durations.append(time.perf_counter() - started)

    IcebergLake.publish = timed  # type: ignore[method-assign]
    return durations
