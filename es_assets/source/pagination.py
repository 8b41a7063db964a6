"""Reading every document of a query exactly once: PIT + search_after, or sliced scroll.

Unlike ``elasticsearch.helpers.scan``, which stops quietly when a page comes back short because
shards failed, every page here is health-checked by the parser, pagination ends only on an empty
page, and each slice's documents are counted against the total the server reported for that
slice under the same context.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any, Iterator
from urllib.parse import quote

from es_assets.errors import ContextLost, IncompleteExtraction
from es_assets.schema.pages import FILTER_PATH, Page, PageParser, check_page_health
from es_assets.source.cluster import ClusterInfo
from es_assets.source.http import EsHttp, TransientFailure


@dataclasses.dataclass(frozen=True)
class SearchSpec:
    """What to read: the same for every slice of a day."""

    indices: str  # comma-separated concrete indices
    query: dict[str, Any]
    page_size: int
    keep_alive: str
    source_includes: tuple[str, ...] = ()
    source_excludes: tuple[str, ...] = ()

    def source_filter(self) -> dict[str, Any]:
        if not (self.source_includes or self.source_excludes):
            return {}
        return {"_source": {"includes": list(self.source_includes), "excludes": list(self.source_excludes)}}


class PointInTime:
    """A PIT over the day's indices; every slice of an attempt pages through the same one.

    A PIT opened on some of its shards only is refused three ways: the server is asked not to
    create one (where it knows how), the open answer's ``_shards`` is checked as every page is,
    and its shard total must cover the day's primary shards (a server may list only the shards
    that answered). Pages over a partial PIT look healthy; where the open answer says nothing,
    the day's independent count (:mod:`es_assets.day_guards`) still catches the missing documents.
    """

    def __init__(self, http: EsHttp, cluster: ClusterInfo, spec: SearchSpec, primary_shards: int) -> None:
        self.http, self.cluster, self.spec, self.primary_shards = http, cluster, spec, primary_shards
        self.id: str | None = None

    def __enter__(self) -> "PointInTime":
        path = quote(self.spec.indices, safe=",*")
        params = {"keep_alive": self.spec.keep_alive, **self.cluster.refuse_partial_pit}
        if self.cluster.product == "opensearch":
            response = self.http.json("POST", f"/{path}/_search/point_in_time", params=params)
            self.id = response["pit_id"]
        else:
            response = self.http.json("POST", f"/{path}/_pit", params=params)
            self.id = response["id"]
        try:
            check_pit_shards(response.get("_shards"), self.primary_shards, self.spec.indices)
        except IncompleteExtraction:
            self.__exit__()  # a with statement does not call __exit__ when __enter__ raises
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.id is None:
            return
        with contextlib.suppress(Exception):  # an expired PIT is already gone: nothing to free
            if self.cluster.product == "opensearch":
                self.http.request("DELETE", "/_search/point_in_time", body={"pit_id": [self.id]}, ok_statuses=(404,))
            else:
                self.http.request("DELETE", "/_pit", body={"id": self.id}, ok_statuses=(404,))


def check_pit_shards(shards: dict[str, Any] | None, primary_shards: int, indices: str) -> None:
    """Refuse a PIT that does not hold every primary shard of the day's indices.

    Elasticsearch before 8.16 sends no ``_shards`` on the open answer (and refuses partial PITs).
    """
    where = f"opening the point in time on {indices}"
    check_page_health(shards, False, where)
    if shards and shards.get("total", 0) < primary_shards:
        raise IncompleteExtraction(
            f"{where}: it holds {shards.get('total', 0)} of the {primary_shards} primary shards of the day's "
            "indices; the others were missing when it was opened"
        )


@dataclasses.dataclass
class SliceProgress:
    """Filled in while a slice is read: what the server said the slice holds."""

    expected: int | None = None


def read_pit_slice(
    http: EsHttp,
    parser: PageParser,
    pit: PointInTime,
    tiebreaker: str,
    slice_id: int,
    slice_count: int,
    progress: SliceProgress,
) -> Iterator[Page]:
    """Yield the pages of one slice of a PIT, sorted by the tiebreaker and paged with search_after
    (index by index where the tiebreaker's values repeat across indices)."""
    spec = pit.spec
    indices = spec.indices.split(",")
    passes = [spec.query] if pit.cluster.tiebreaker_spans_indices or len(indices) == 1 else [
        {"bool": {"filter": [spec.query, {"term": {"_index": index}}]}} for index in indices
    ]
    where = f"slice {slice_id + 1}/{slice_count}"
    pit_id = pit.id
    for query in passes:
        body: dict[str, Any] = {
            "size": spec.page_size,
            "query": query,
            "pit": {"id": pit_id, "keep_alive": spec.keep_alive},
            "sort": [{tiebreaker: "asc"}],
            "track_total_hits": True,
            **spec.source_filter(),
        }
        if slice_count > 1:
            body["slice"] = {"id": slice_id, "max": slice_count}
        while True:
            # PIT pages are idempotent (the same PIT, the same search_after): a cut-off body is asked again.
            page = http.read("POST", "/_search", lambda data: parser.parse(data, where), body=body,
                             params={"filter_path": FILTER_PATH})
            if body["track_total_hits"]:
                progress.expected = page.total if query is passes[0] else (
                    None if progress.expected is None or page.total is None else progress.expected + page.total)
                body["track_total_hits"] = False  # counted once a pass; later pages skip the work
            if page.hit_count == 0:
                break
            yield page
            if page.last_sort is None:
                raise IncompleteExtraction(f"{where}: a page came back without sort values; cannot continue")
            body["search_after"] = page.last_sort
            if page.pit_id:
                pit_id = body["pit"]["id"] = page.pit_id  # the server may hand out a refreshed id


def read_scroll_slice(
    http: EsHttp, parser: PageParser, spec: SearchSpec, slice_id: int, slice_count: int, progress: SliceProgress
) -> Iterator[Page]:
    """Yield the pages of one slice of a sliced scroll (servers without PIT tiebreakers).

    A scroll cannot be re-asked for a page: a continuation that fails may have moved the cursor,
    so such failures raise :class:`ContextLost` and the caller restarts the slice from scratch.
    """
    body: dict[str, Any] = {
        "size": spec.page_size,
        "query": spec.query,
        "sort": ["_doc"],
        "track_total_hits": True,
        **spec.source_filter(),
    }
    if slice_count > 1:
        body["slice"] = {"id": slice_id, "max": slice_count}
    where = f"scroll slice {slice_id + 1}/{slice_count}"
    params = {"scroll": spec.keep_alive, "filter_path": FILTER_PATH}

    def parse(data: bytes) -> Page:
        return parser.parse(data, where)

    page = http.read("POST", f"/{quote(spec.indices, safe=',*')}/_search", parse, body=body, params=params)
    scroll_id: str | None = None
    try:
        while True:
            scroll_id = page.scroll_id or scroll_id
            if progress.expected is None:
                progress.expected = page.total
            if page.hit_count == 0:
                return
            yield page
            try:
                page = http.read(
                    "POST", "/_search/scroll", parse, body={"scroll": spec.keep_alive, "scroll_id": scroll_id},
                    params={"filter_path": FILTER_PATH}, retry=False,
                )
            except TransientFailure as exc:
                raise ContextLost(f"{where}: scroll continuation failed ({exc}); the slice must restart") from exc
    finally:
        if scroll_id:
            with contextlib.suppress(Exception):
                http.request("DELETE", "/_search/scroll", body={"scroll_id": [scroll_id]}, ok_statuses=(404,))
