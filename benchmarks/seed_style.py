"""The approach es_assets replaces: client scroll, a pandas DataFrame per page, fastparquet files.

The official ``elasticsearch`` client (9.x) pages with ``search(scroll=...)`` / ``scroll()``;
each page's ``_source`` dicts go through ``pd.json_normalize`` (plus ``_index`` and ``_id``
columns), and every ten pages are concatenated and written with fastparquet, Snappy compressed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import fastparquet
import pandas as pd
from elastic_transport import HttpHeaders, Urllib3HttpNode
from elastic_transport._node import NodeApiResponse  # not re-exported at the top level
from elastic_transport.client_utils import DEFAULT, DefaultType
from elasticsearch import Elasticsearch

from benchmarks.job import KEEP_ALIVE, PAGE_SIZE, Job, VariantRun

PAGES_PER_FILE = 10

# What the 9.x client turns application/json into on every request (Accept and Content-Type).
_COMPAT_MEDIA_TYPE = re.compile(r"application/vnd\.elasticsearch\+json; compatible-with=\d+")


class PlainJsonNode(Urllib3HttpNode):
    """Sends plain ``application/json`` where the 9.x client insists on ``compatible-with=9``.

    The client rewrites even headers passed to its constructor, and OpenSearch (like Elasticsearch
    8) answers such requests with HTTP 406; the node, one layer below the client, is the last place
    the headers can be put back. It also adds the ``X-Elastic-Product`` header real OpenSearch does
    not send (the emulator does), without which the client refuses every response: what a user of
    the seed's code against OpenSearch would have to do too.
    """

    def perform_request(
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: HttpHeaders | None = None,
        request_timeout: DefaultType | float | None = DEFAULT,
    ) -> NodeApiResponse:
        if headers is not None:
            headers = HttpHeaders({name: _COMPAT_MEDIA_TYPE.sub("application/json", value)
                                   for name, value in headers.items()})
        response = super().perform_request(method, target, body=body, headers=headers,
                                           request_timeout=request_timeout)
        response.meta.headers = HttpHeaders({**response.meta.headers, "x-elastic-product": "Elasticsearch"})
        return response


def prepare(job: Job) -> VariantRun:
    # Elasticsearch (9, and the emulator) accepts the client as it comes; only OpenSearch needs the shim.
    node_class = PlainJsonNode if job.product == "opensearch" else Urllib3HttpNode
    client = Elasticsearch(job.url, node_class=node_class, request_timeout=300)
    out = Path(job.workdir)

    def run() -> tuple[int, dict[str, Any]]:
        frames: list[pd.DataFrame] = []
        docs = pages = files = 0

        def write() -> None:
            nonlocal files
            fastparquet.write(str(out / f"part-{files:04d}.parquet"), pd.concat(frames, ignore_index=True),
                              compression="SNAPPY")
            frames.clear()
            files += 1

        page = client.search(index=job.index, query=job.query, size=PAGE_SIZE, scroll=KEEP_ALIVE, sort=["_doc"])
        scroll_id = page["_scroll_id"]
        try:
            while hits := page["hits"]["hits"]:
                pages += 1
                docs += len(hits)
                frame = pd.json_normalize([hit["_source"] for hit in hits])
                frame.insert(0, "_id", [hit["_id"] for hit in hits])
                frame.insert(0, "_index", [hit["_index"] for hit in hits])
                frames.append(frame)
                if len(frames) == PAGES_PER_FILE:
                    write()
                page = client.scroll(scroll_id=scroll_id, scroll=KEEP_ALIVE)
                scroll_id = page["_scroll_id"]
            if frames:
                write()
        finally:
            client.clear_scroll(scroll_id=scroll_id)
        return docs, {"pages": pages}

    return run
