"""The floors: page through the day with PIT + search_after over urllib3, writing nothing.

``raw`` does not parse the pages at all: it finds the last hit's sort values by searching the
body backwards for ``"sort":[``, and counts hits by counting that marker. The marker cannot occur
inside a JSON string (its quotes would be escaped) and the synthetic documents have no ``sort``
key, so on this data it matches exactly the hits' sort values. ``raw+parse`` reads the same pages
and turns each into Python objects with ``orjson.loads``: the least any Python pipeline that looks
at the documents pays.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import orjson
import urllib3

from benchmarks.job import KEEP_ALIVE, PAGE_SIZE, Job, VariantRun

SORT_MARKER = b'"sort":['


class _Http:
    """Plain JSON over one urllib3 pool; any status but 200 is an error."""

    def __init__(self, url: str) -> None:
        self.base = url.rstrip("/")
        self.pool = urllib3.PoolManager(
            headers={"content-type": "application/json", "accept": "application/json"},
            timeout=urllib3.Timeout(connect=10, read=300),
            retries=False,
        )

    def send(self, method: str, path: str, body: Any = None) -> bytes:
        payload = None if body is None else orjson.dumps(body)
        response = self.pool.request(method, self.base + path, body=payload)
        if response.status != 200:
            raise RuntimeError(f"{method} {path} -> HTTP {response.status}: {response.data[:500]!r}")
        return response.data


def prepare(job: Job) -> VariantRun:
    http = _Http(job.url)
    parse = job.kind == "raw+parse"
    opensearch = job.product == "opensearch"
    search_path = f"/_search?filter_path={quote(job.filter_path, safe=',')}"

    # OpenSearch's _shard_doc repeats across indices: page one index at a time, as the engine does
    # (es_assets.source.pagination.read_pit_slice).
    indices = orjson.loads(http.send("GET", f"/_cat/indices/{job.index}?h=index&format=json"))
    passes = [job.query] if not opensearch or len(indices) == 1 else [
        {"bool": {"filter": [job.query, {"term": {"_index": row["index"]}}]}} for row in indices
    ]

    def run() -> tuple[int, dict[str, Any]]:
        if opensearch:
            pit_path = f"/{job.index}/_search/point_in_time?keep_alive={KEEP_ALIVE}"
            pit_id = orjson.loads(http.send("POST", pit_path))["pit_id"]
        else:
            pit_id = orjson.loads(http.send("POST", f"/{job.index}/_pit?keep_alive={KEEP_ALIVE}"))["id"]
        docs = pages = 0
        try:
            for query in passes:
                body: dict[str, Any] = {
                    "size": PAGE_SIZE,
                    "query": query,
                    "pit": {"id": pit_id, "keep_alive": KEEP_ALIVE},
                    "sort": [{"_shard_doc": "asc"}],
                    "track_total_hits": False,
                }
                while True:
                    data = http.send("POST", search_path, body)
                    pages += 1
                    if parse:
                        hits = orjson.loads(data).get("hits", {}).get("hits", [])
                        if not hits:
                            break
                        docs += len(hits)
                        body["search_after"] = hits[-1]["sort"]
                    else:
                        last = data.rfind(SORT_MARKER)
                        if last < 0:
                            break
                        docs += data.count(SORT_MARKER)
                        values = data[last + len(SORT_MARKER) : data.index(b"]", last)]
                        body["search_after"] = orjson.loads(b"[" + values + b"]")  # a few bytes
        finally:
            if opensearch:
                http.send("DELETE", "/_search/point_in_time", {"pit_id": [pit_id]})
            else:
                http.send("DELETE", "/_pit", {"id": pit_id})
        return docs, {"pages": pages}

    return run
