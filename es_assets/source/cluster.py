"""What the cluster is and what a day of a source holds: product, version, indices, counts, mappings."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import orjson

from es_assets.config import SourceSettings
from es_assets.errors import ClusterError, MissingIndexError
from es_assets.schema.pages import check_page_health
from es_assets.source.http import EsHttp


@dataclasses.dataclass(frozen=True)
class ClusterInfo:
    product: str  # "elasticsearch" | "opensearch"
    version: tuple[int, int, int]

    @property
    def sort_tiebreaker(self) -> str | None:
        """The PIT tiebreaker sort field, or None when PIT + search_after cannot be paged safely.

        Elasticsearch has ``_shard_doc`` since 7.12; OpenSearch since 3.3. Older servers are read
        with sliced scroll, which needs no tiebreaker.
        """
        if self.product == "elasticsearch" and self.version >= (7, 12, 0):
            return "_shard_doc"
        if self.product == "opensearch" and self.version >= (3, 3, 0):
            return "_shard_doc"
        return None

    @property
    def tiebreaker_spans_indices(self) -> bool:
        """Whether the tiebreaker's values are unique across the indices of one PIT.

        Elasticsearch's ``_shard_doc`` holds the shard's position in the PIT. OpenSearch's holds
        the shard's number within its index (measured on 3.8.0: shard 0 of two indices gives the
        same values), so ``search_after`` skips the documents of one index that tie the last hit
        of another; there a PIT is paged one index at a time.
        """
        return self.product == "elasticsearch"

    @property
    def refuse_partial_pit(self) -> dict[str, str]:
        """The PIT-open parameter that makes the server refuse a PIT missing shards, where it has one.

        OpenSearch creates partial PITs unless told not to (``allow_partial_pit_creation``, known since
        PITs came in 2.4). Elasticsearch refused them outright until 8.16, which added
        ``allow_partial_search_results`` (default false; unknown before, so a 400 there).
        """
        if self.product == "opensearch":
            return {"allow_partial_pit_creation": "false"}
        if self.version >= (8, 16, 0):
            return {"allow_partial_search_results": "false"}
        return {}

    @property
    def label(self) -> str:
        return f"{self.product} {'.'.join(map(str, self.version))}"


def detect_cluster(http: EsHttp) -> ClusterInfo:
    """Product and version from ``GET /`` (works without the X-Elastic-Product header).

    A server may refuse ``GET /`` (405: Elasticsearch 8/9 built without the root endpoint's
    module, as in the integration-test distributions); then the local node's info says the same.
    """
    root = orjson.loads(http.request("GET", "/", ok_statuses=(405,)))
    version = root.get("version") if isinstance(root, dict) else None
    if not isinstance(version, dict):
        version = _local_node_version(http)
    product = "opensearch" if version.get("distribution") == "opensearch" else "elasticsearch"
    numbers = [int(part) for part in str(version.get("number", "0.0.0")).split("-")[0].split(".")[:3]]
    parsed = tuple((numbers + [0, 0, 0])[:3])
    if product == "elasticsearch" and parsed < (7, 10, 0):
        raise ClusterError(f"Elasticsearch {version.get('number')} is too old; es_assets needs 7.10 or newer")
    return ClusterInfo(product=product, version=parsed)  # type: ignore[arg-type]


def _local_node_version(http: EsHttp) -> dict[str, str]:
    """``GET /``'s ``version`` object rebuilt from ``GET /_nodes/_local``.

    Elasticsearch nodes report a ``build_flavor``; OpenSearch nodes do not (it was removed at the fork).
    """
    nodes = http.json("GET", "/_nodes/_local", params={"filter_path": "nodes.*.version,nodes.*.build_flavor"})
    node = next(iter((nodes.get("nodes") or {}).values()), None)
    if not node or "version" not in node:
        raise ClusterError("the cluster tells neither at GET / nor at GET /_nodes/_local which version it runs")
    return {"number": node["version"], **({} if "build_flavor" in node else {"distribution": "opensearch"})}


@dataclasses.dataclass(frozen=True)
class DayWindow:
    """The half-open range [start, end) of one calendar day in the source's time zone."""

    day: dt.date
    start: dt.datetime
    end: dt.datetime

    @classmethod
    def of(cls, day: dt.date, timezone: str) -> "DayWindow":
        tz = ZoneInfo(timezone)
        start = dt.datetime.combine(day, dt.time(), tzinfo=tz)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz)
        return cls(day, start, end)

    def query(self, timestamp_field: str) -> dict[str, Any]:
        return {
            "range": {
                timestamp_field: {
                    "gte": _utc_iso(self.start),
                    "lt": _utc_iso(self.end),
                    "format": "strict_date_optional_time",
                }
            }
        }


def _utc_iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclasses.dataclass(frozen=True)
class DayPlan:
    """What extracting one day of a source will read; recorded as the ``elasticsearch/<src>`` asset."""

    source: str
    day: dt.date
    cluster: ClusterInfo
    indices: dict[str, int]  # index -> documents of the day in it
    total: int
    mappings: dict[str, Any]  # index -> GET _mapping body, for the indices of the day
    primary_shards: int
    store_bytes: int  # estimated bytes of the day's documents in the cluster (pro rata of the indices)
    health: str
    without_timestamp: int  # documents in the day's indices with no timestamp: they belong to no day
    pattern_indices: tuple[str, ...]  # every index the source's pattern matches now (any day)

    @property
    def index_expression(self) -> str:
        return ",".join(sorted(self.indices))

    def slices(self, configured: int | None) -> int:
        """Parallel slices: configured, else one per primary shard, at most two per CPU, at least 1."""
        if self.total == 0:
            return 1
        if configured:
            return configured
        return max(1, min(self.primary_shards, 2 * (os.cpu_count() or 1), max(1, self.total // 10_000)))


def plan_day(http: EsHttp, cluster: ClusterInfo, source: SourceSettings, day: dt.date) -> DayPlan:
    """Count the day, find the indices that hold it and their mappings and health."""
    pattern = quote(source.index, safe="*,-")
    all_mappings = http.json("GET", f"/{pattern}/_mapping", params={"ignore_unavailable": "true"})
    if not all_mappings:
        raise MissingIndexError(
            f"source {source.name!r}: index pattern {source.index!r} matches no index, alias or data stream"
        )
    window = DayWindow.of(day, source.timezone)
    day_query = window.query(source.timestamp_field)
    indices = _documents_per_index(http, pattern, day_query, sorted(all_mappings))
    holding = {index: count for index, count in indices.items() if count}
    # With no documents the day's schema still comes from the pattern, so the table keeps its columns.
    mappings = {index: all_mappings[index] for index in (holding or all_mappings)}
    stats = _index_stats(http, ",".join(sorted(holding or all_mappings)))
    # Only the indices of the day: over the whole pattern this would cost more every day kept.
    without_timestamp = http.json(
        "POST", f"/{quote(','.join(sorted(mappings)), safe=',')}/_count",
        body={"query": {"bool": {"must_not": {"exists": {"field": source.timestamp_field}}}}},
    )["count"]
    total = sum(holding.values())
    return DayPlan(
        source=source.name,
        day=day,
        cluster=cluster,
        indices=holding,
        total=total,
        mappings=mappings,
        primary_shards=sum(stats[index]["primary_shards"] for index in holding) if holding else 0,
        store_bytes=int(sum(stats[i]["bytes"] * holding[i] / max(stats[i]["docs"], 1) for i in holding)),
        health=_health(http, ",".join(sorted(holding))) if holding else "green",
        without_timestamp=without_timestamp,
        pattern_indices=tuple(sorted(all_mappings)),
    )


def _documents_per_index(http: EsHttp, pattern: str, day_query: dict[str, Any], indices: list[str]) -> dict[str, int]:
    response = http.json(
        "POST",
        f"/{pattern}/_search",
        body={
            "size": 0,
            "track_total_hits": True,
            "query": day_query,
            "aggs": {"by_index": {"terms": {"field": "_index", "size": 10_000}}},
        },
        params={"filter_path": "hits.total,aggregations,_shards,timed_out"},
    )
    # This count is what the extraction is held to: a count with failed shards would be short too.
    check_page_health(response.get("_shards"), response.get("timed_out"), "counting the day")
    total = response["hits"]["total"]["value"]
    counts = {b["key"]: b["doc_count"] for b in response.get("aggregations", {}).get("by_index", {}).get("buckets", [])}
    if sum(counts.values()) == total:
        return counts
    # Some servers cannot aggregate on _index: count index by index instead.
    return {index: _count(http, index, day_query) for index in indices}


def _count(http: EsHttp, index: str, query: dict[str, Any]) -> int:
    response = http.json("POST", f"/{quote(index)}/_count", body={"query": query})
    check_page_health(response.get("_shards"), False, f"counting the day in {index}")
    return int(response["count"])


def _index_stats(http: EsHttp, expression: str) -> dict[str, dict[str, int]]:
    rows = http.json("GET", f"/_cat/indices/{quote(expression, safe='*,-')}", params={"format": "json", "bytes": "b"})
    return {
        row["index"]: {
            "primary_shards": int(row.get("pri") or 1),
            "docs": int(row.get("docs.count") or 0),
            "bytes": int(row.get("pri.store.size") or row.get("store.size") or 0),
        }
        for row in rows
    }


def _health(http: EsHttp, expression: str) -> str:
    health = http.json("GET", f"/_cluster/health/{quote(expression, safe='*,-')}")
    status = str(health.get("status", "unknown"))
    if status == "red":
        raise ClusterError(
            f"indices {expression} are red (unassigned primary shards): extracting now would miss documents"
        )
    return status
