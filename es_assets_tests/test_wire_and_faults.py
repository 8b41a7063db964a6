"""What es_assets sends on the wire, and what it does when the cluster or the network misbehaves.

Every test extracts one small day through :class:`FaultProxy` in front of a real server (every
version of the matrix, via ``server_url``) and checks the outcome in the lake itself: either the day holds
exactly the documents that were indexed, each once, or the run fails loudly and leaves the
previously published day as it was. Faults hit search pages only (mostly ``search_after`` pages,
i.e. mid-extraction), so the planning requests before them run normally.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import itertools
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import urllib3

from es_assets.config import ElasticsearchSettings, Settings, parse_settings
from es_assets.demo.k8s_logs import generate_docs, index_name, load_days
from es_assets.errors import AuthenticationError, ClusterError, ContextLost, IncompleteExtraction
from es_assets.extract import MAX_CONTEXT_RESTARTS, DayResult, extract_day
from es_assets.lake.base import VERSIONS_DIR, partition_name
from es_assets.lake.local import LocalLake
from es_assets.schema.fields import ID_COLUMN
from es_assets.source.cluster import detect_cluster, plan_day
from es_assets.source.http import EsHttp
from es_assets_tests.fault_proxy import Fault, FaultKind, FaultProxy, RecordedRequest, es_error

pytestmark = pytest.mark.integration

# The servers es_assets reads by PIT + _shard_doc. OpenSearch 2.19 has no _shard_doc: it is read by
# sliced scroll, where the PIT pages these faults target do not exist; its own tests are below and
# in test_real_servers.py.
PIT_SERVERS = ["elasticsearch-7.17.29", "elasticsearch-8.19.21", "elasticsearch-9.5.4", "opensearch-3.8.0"]
on_pit_servers = pytest.mark.parametrize("server_url", PIT_SERVERS, indirect=True)

SOURCE = "k8s"
DOCS = 600
PAGE_SIZE = 100  # six pages per slice-day: room to inject faults mid-extraction
RETRY_BUDGET_S = 20

_next_day = itertools.count()


@dataclasses.dataclass(frozen=True)
class LoadedDay:
    day: dt.date
    index: str
    ids: frozenset[str]


@pytest.fixture
def loaded_day(server_url: str) -> Iterator[LoadedDay]:
    """A fresh index holding DOCS synthetic documents of a day no other test uses."""
    day = dt.date(2031, 1, 1) + dt.timedelta(days=next(_next_day))
    load_days(server_url, [day], DOCS, shards=3)
    yield LoadedDay(day, index_name(day), frozenset(doc_id for doc_id, _ in generate_docs(day, DOCS)))
    urllib3.request("DELETE", f"{server_url}/{index_name(day)}")  # the servers live for the whole session


@pytest.fixture
def proxy(server_url: str) -> Iterator[FaultProxy]:
    with FaultProxy(server_url) as proxy:
        yield proxy


# --- helpers -------------------------------------------------------------------------------


def make_settings(
    proxy: FaultProxy,
    loaded: LoadedDay,
    tmp_path: Path,
    slices: int = 2,
    request_timeout_s: int = 10,
    retry_budget_s: int = RETRY_BUDGET_S,
) -> Settings:
    return parse_settings(
        {
            "elasticsearch": {
                "hosts": [proxy.url],
                "request_timeout_seconds": request_timeout_s,
                "retry_budget_seconds": retry_budget_s,
            },
            "lake": {"uri": f"file://{tmp_path / 'lake'}"},
            "catalog": {"kind": "duckdb", "duckdb_path": str(tmp_path / "catalog.duckdb")},
            "sources": [
                {
                    "name": SOURCE,
                    "index": loaded.index,
                    "timestamp_field": "@timestamp",
                    "start_date": loaded.day,
                    "page_size": PAGE_SIZE,
                    "slices": slices,
                }
            ],
        },
        base_dir=tmp_path,
    )


def extract(settings: Settings, day: dt.date) -> DayResult:
    """What the parquet asset does for one day: detect, plan, extract."""
    http = EsHttp(settings.elasticsearch)
    try:
        source = settings.sources[0]
        plan = plan_day(http, detect_cluster(http), source, day)
        return extract_day(http, source, LocalLake(settings.lake), plan)
    finally:
        http.close()


def published_ids(settings: Settings, day: dt.date) -> list[str]:
    directory = LocalLake(settings.lake.uri).published_partition(SOURCE, day)
    assert directory is not None, f"{day} is not published"
    tables = [pq.read_table(path, columns=[ID_COLUMN]) for path in sorted(directory.glob("*.parquet"))]
    return [str(value) for value in pa.concat_tables(tables).column(ID_COLUMN).to_pylist()]


def assert_exact_day(settings: Settings, loaded: LoadedDay, result: DayResult) -> None:
    ids = published_ids(settings, loaded.day)
    assert result.rows == result.expected_rows == len(ids) == len(loaded.ids)  # length too: no duplicates
    assert set(ids) == loaded.ids


def partition_snapshot(settings: Settings, day: dt.date) -> tuple[Path | None, dict[str, str]]:
    """The published version's directory and a digest of each of its files."""
    directory = LocalLake(settings.lake.uri).published_partition(SOURCE, day)
    files = sorted(directory.iterdir()) if directory is not None else []
    return directory, {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in files}


def versions_on_disk(settings: Settings, day: dt.date) -> list[Path]:
    lake = LocalLake(settings.lake.uri)
    return [p.resolve() for p in (lake.root / VERSIONS_DIR / SOURCE / partition_name(day)).iterdir() if p.is_dir()]


def pit_requests(proxy: FaultProxy, method: str) -> int:
    """How many PITs were opened (POST) or freed (DELETE), on either product's endpoint."""
    return sum(
        r.method == method and urlsplit(r.path).path.endswith(("/_pit", "/_search/point_in_time"))
        for r in proxy.requests
    )


def is_page(request: RecordedRequest) -> bool:
    """A search page of a slice (PIT searches go to /_search; the count has no sort)."""
    return request.method == "POST" and request.path.startswith("/_search?") and "sort" in request.json()


def is_later_page(request: RecordedRequest) -> bool:
    return is_page(request) and "search_after" in request.json()


def assert_retried(proxy: FaultProxy, kind: FaultKind, faults: int) -> None:
    """Each faulted page was asked again and answered, and no answered page was read twice."""
    pages = [r for r in proxy.requests if is_page(r)]
    faulted = [r.body for r in pages if r.fault is kind]
    answered = [r.body for r in pages if r.fault is None]
    assert len(faulted) == faults
    assert set(faulted) <= set(answered)
    assert len(answered) == len(set(answered))


def respond(status: int, body: bytes, times: int = 1) -> Fault:
    """Answer the next ``times`` search_after pages with an error instead of the cluster."""
    return Fault(match=is_later_page, kind=FaultKind.RESPOND, status=status, body=body, times=times)


def rewrite_page(change: Callable[[dict[str, Any]], object]) -> Fault:
    """Rewrite the first search_after page's JSON in place with ``change(page)``."""

    def rewrite(body: bytes) -> bytes:
        page = orjson.loads(body)
        change(page)
        return orjson.dumps(page)

    return Fault(match=is_later_page, kind=FaultKind.REWRITE, rewrite=rewrite)


# --- the wire ------------------------------------------------------------------------------


def assert_plain_json(proxy: FaultProxy) -> None:
    """Every request carried one plain JSON media type each way and es_assets' user agent."""
    assert proxy.requests
    for request in proxy.requests:
        where = f"{request.method} {request.path}"
        # Exactly one value each: the official client's compatible-with media types are refused
        # by Elasticsearch 8 and OpenSearch.
        assert request.header_values("content-type") == ["application/json"], where
        assert request.header_values("accept") == ["application/json"], where
        user_agents = request.header_values("user-agent")
        assert len(user_agents) == 1 and user_agents[0].startswith("es_assets/"), where
        for _, value in request.headers:
            assert "compatible-with" not in value and "vnd.elasticsearch" not in value, where


@on_pit_servers
def test_every_request_is_plain_json_and_pages_use_pit_search_after(
    proxy: FaultProxy, loaded_day: LoadedDay, tmp_path: Path
) -> None:
    settings = make_settings(proxy, loaded_day, tmp_path)
    result = extract(settings, loaded_day.day)
    assert_exact_day(settings, loaded_day, result)
    assert result.method == "pit"

    assert_plain_json(proxy)

    pages = [r for r in proxy.requests if is_page(r)]
    assert len(pages) >= DOCS // PAGE_SIZE
    for page in pages:
        body = page.json()
        assert body["pit"]["id"], page.body
        assert body["sort"] == [{"_shard_doc": "asc"}], page.body
        assert "filter_path" in parse_qs(urlsplit(page.path).query), page.path
    assert any("search_after" in page.json() for page in pages)
    assert not any(
        urlsplit(r.path).path.endswith("/scroll") or "scroll" in parse_qs(urlsplit(r.path).query)
        for r in proxy.requests
    )
    assert pit_requests(proxy, "POST") == pit_requests(proxy, "DELETE") == 1


# --- transient faults: retried, the day completes exactly ----------------------------------


@on_pit_servers
def test_a_429_storm_is_ridden_out(proxy: FaultProxy, loaded_day: LoadedDay, tmp_path: Path) -> None:
    settings = make_settings(proxy, loaded_day, tmp_path, slices=1)  # one slice: the 429s hit one page in a row
    rejected = es_error(429, "es_rejected_execution_exception", "rejected execution of search (queue capacity 1000)")
    proxy.add_fault(respond(429, rejected, times=5))
    result = extract(settings, loaded_day.day)
    assert_exact_day(settings, loaded_day, result)
    assert_retried(proxy, FaultKind.RESPOND, 5)


@on_pit_servers
def test_gateway_errors_are_retried(proxy: FaultProxy, loaded_day: LoadedDay, tmp_path: Path) -> None:
    settings = make_settings(proxy, loaded_day, tmp_path)
    proxy.add_fault(respond(502, b"<html>502 Bad Gateway</html>"))
    proxy.add_fault(respond(503, es_error(503, "unavailable_shards_exception", "primary shard is not active")))
    proxy.add_fault(respond(504, b"<html>504 Gateway Time-out</html>"))
    result = extract(settings, loaded_day.day)
    assert_exact_day(settings, loaded_day, result)
    assert_retried(proxy, FaultKind.RESPOND, 3)


@on_pit_servers
def test_connection_resets_are_retried(proxy: FaultProxy, loaded_day: LoadedDay, tmp_path: Path) -> None:
    settings = make_settings(proxy, loaded_day, tmp_path)
    proxy.add_fault(Fault(match=is_later_page, kind=FaultKind.RESET, times=2))
    result = extract(settings, loaded_day.day)
    assert_exact_day(settings, loaded_day, result)
    assert_retried(proxy, FaultKind.RESET, 2)


@on_pit_servers
def test_a_truncated_body_is_retried(proxy: FaultProxy, loaded_day: LoadedDay, tmp_path: Path) -> None:
    """urllib3 enforces Content-Length, so a cut-off body is a connection error, retried."""
    settings = make_settings(proxy, loaded_day, tmp_path)
    proxy.add_fault(Fault(match=is_later_page, kind=FaultKind.TRUNCATE))
    result = extract(settings, loaded_day.day)
    assert_exact_day(settings, loaded_day, result)
    assert_retried(proxy, FaultKind.TRUNCATE, 1)


@on_pit_servers
def test_a_request_slower_than_the_timeout_is_retried(
    proxy: FaultProxy, loaded_day: LoadedDay, tmp_path: Path
) -> None:
    settings = make_settings(proxy, loaded_day, tmp_path, slices=1, request_timeout_s=1)
    proxy.add_fault(Fault(match=is_later_page, kind=FaultKind.DELAY, delay_s=2.0))
    result = extract(settings, loaded_day.day)
    assert_exact_day(settings, loaded_day, result)
    assert_retried(proxy, FaultKind.DELAY, 1)


@on_pit_servers
def test_a_lost_pit_restarts_the_day_on_a_new_pit(proxy: FaultProxy, loaded_day: LoadedDay, tmp_path: Path) -> None:
    settings = make_settings(proxy, loaded_day, tmp_path)
    missing = es_error(404, "search_context_missing_exception", "No search context found for id [42]")
    proxy.add_fault(respond(404, missing))
    result = extract(settings, loaded_day.day)
    assert_exact_day(settings, loaded_day, result)
    assert result.context_restarts == 1
    pit_ids = {r.json()["pit"]["id"] for r in proxy.requests if is_page(r) and r.fault is None}
    assert len(pit_ids) == 2  # the restart paged through a new PIT
    assert pit_requests(proxy, "POST") == pit_requests(proxy, "DELETE") == 2  # and the lost one was freed
    assert versions_on_disk(settings, loaded_day.day) == [
        LocalLake(settings.lake.uri).published_partition(SOURCE, loaded_day.day)
    ]


@on_pit_servers
def test_a_pit_lost_again_and_again_fails_the_day(proxy: FaultProxy, loaded_day: LoadedDay, tmp_path: Path) -> None:
    settings = make_settings(proxy, loaded_day, tmp_path, slices=1)
    missing = es_error(404, "search_context_missing_exception", "No search context found for id [42]")
    proxy.add_fault(respond(404, missing, times=100))
    with pytest.raises(IncompleteExtraction, match="search context was lost") as failure:
        extract(settings, loaded_day.day)
    assert isinstance(failure.value.__cause__, ContextLost)
    assert sum(r.fault is FaultKind.RESPOND for r in proxy.requests) == MAX_CONTEXT_RESTARTS + 1
    assert LocalLake(settings.lake.uri).published_partition(SOURCE, loaded_day.day) is None


# --- faults that must fail the day and leave the published one alone -----------------------


@on_pit_servers
def test_a_page_with_failed_shards_fails_the_day_and_keeps_the_published_one(
    proxy: FaultProxy, loaded_day: LoadedDay, tmp_path: Path
) -> None:
    settings = make_settings(proxy, loaded_day, tmp_path)
    assert_exact_day(settings, loaded_day, extract(settings, loaded_day.day))
    before = partition_snapshot(settings, loaded_day.day)

    def fail_a_shard(page: dict[str, Any]) -> None:
        shards = page["_shards"]
        shards.update(successful=shards["successful"] - 1, failed=1, failures=[{
            "shard": 0, "index": loaded_day.index, "node": "n1",
            "reason": {"type": "node_disconnected_exception", "reason": "node n1 left the cluster"},
        }])  # fmt: skip
        page["hits"]["hits"] = page["hits"]["hits"][: PAGE_SIZE // 2]  # HTTP 200 with fewer hits

    proxy.add_fault(rewrite_page(fail_a_shard))
    with pytest.raises(IncompleteExtraction, match=r"shards failed.*node n1 left the cluster"):
        extract(settings, loaded_day.day)
    assert partition_snapshot(settings, loaded_day.day) == before
    assert versions_on_disk(settings, loaded_day.day) == [before[0]]
    assert set(published_ids(settings, loaded_day.day)) == loaded_day.ids


@on_pit_servers
def test_a_page_that_timed_out_fails_the_day(proxy: FaultProxy, loaded_day: LoadedDay, tmp_path: Path) -> None:
    settings = make_settings(proxy, loaded_day, tmp_path)
    proxy.add_fault(rewrite_page(lambda page: page.update(timed_out=True)))
    with pytest.raises(IncompleteExtraction, match="timed out"):
        extract(settings, loaded_day.day)
    assert LocalLake(settings.lake.uri).published_partition(SOURCE, loaded_day.day) is None
    assert versions_on_disk(settings, loaded_day.day) == []


@on_pit_servers
def test_a_short_page_from_a_healthy_looking_response_fails_the_day(
    proxy: FaultProxy, loaded_day: LoadedDay, tmp_path: Path
) -> None:
    """No shard admits a failure, yet a page comes back empty: the slice counts must catch it."""
    settings = make_settings(proxy, loaded_day, tmp_path)
    proxy.add_fault(rewrite_page(lambda page: page["hits"].update(hits=[])))
    with pytest.raises(IncompleteExtraction, match="but Elasticsearch counts"):
        extract(settings, loaded_day.day)
    assert LocalLake(settings.lake.uri).published_partition(SOURCE, loaded_day.day) is None


@on_pit_servers
@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (401, "unable to authenticate user [reader] for REST request [/_search]"),
        (403, "action [indices:data/read/search] is unauthorized for user [reader]"),
    ],
)
def test_rejected_credentials_fail_at_once(
    proxy: FaultProxy, loaded_day: LoadedDay, tmp_path: Path, status: int, reason: str
) -> None:
    settings = make_settings(proxy, loaded_day, tmp_path, slices=1)
    proxy.add_fault(respond(status, es_error(status, "security_exception", reason), times=100))
    started = time.monotonic()
    with pytest.raises(AuthenticationError, match=f"HTTP {status}"):
        extract(settings, loaded_day.day)
    assert time.monotonic() - started < 5
    assert sum(r.fault is FaultKind.RESPOND for r in proxy.requests) == 1  # no retry storm
    assert LocalLake(settings.lake.uri).published_partition(SOURCE, loaded_day.day) is None


@on_pit_servers
def test_a_permanent_circuit_breaker_is_not_retried(proxy: FaultProxy, loaded_day: LoadedDay, tmp_path: Path) -> None:
    settings = make_settings(proxy, loaded_day, tmp_path, slices=1, retry_budget_s=3)
    cause = {
        "type": "circuit_breaking_exception",
        "reason": "[parent] Data too large, data for [<http_request>] would be [1073741900/1gb], "
        "which is larger than the limit of [1073741824/1gb]",
        "bytes_wanted": 1073741900, "bytes_limit": 1073741824, "durability": "PERMANENT",
    }  # fmt: skip
    # Elasticsearch's CircuitBreakingException.status() is TOO_MANY_REQUESTS for both durabilities.
    proxy.add_fault(respond(429, orjson.dumps({"error": {"root_cause": [cause], **cause}, "status": 429}), times=100))
    with pytest.raises(ClusterError, match="circuit_breaking_exception"):
        extract(settings, loaded_day.day)
    assert sum(r.fault is FaultKind.RESPOND for r in proxy.requests) == 1


# --- servers without PIT tiebreakers, and indices that go away -----------------------------


def claim_version(number: str) -> Fault:
    """Make the server report another version (as an Elasticsearch 7.11 would), where it says it.

    That is ``GET /``, or ``GET /_nodes/_local`` on servers that answer ``GET /`` with 405.
    """

    def rewrite(body: bytes) -> bytes:
        if not body.startswith(b"{"):  # a 405 without a JSON body
            return body
        answer = orjson.loads(body)
        if isinstance(answer.get("version"), dict):
            answer["version"]["number"] = number
        for node in (answer.get("nodes") or {}).values():
            node["version"] = number
        return orjson.dumps(answer)

    return Fault(match=lambda r: r.method == "GET" and urlsplit(r.path).path in ("/", "/_nodes/_local"),
                 kind=FaultKind.REWRITE, rewrite=rewrite, times=10**6)


def version_without_shard_doc(server_url: str) -> str:
    """A version of the same product from before `_shard_doc` (Elasticsearch 7.12, OpenSearch 3.3)."""
    http = EsHttp(ElasticsearchSettings(hosts=(server_url,)))
    try:
        return "2.11.0" if detect_cluster(http).product == "opensearch" else "7.11.2"
    finally:
        http.close()


def is_scroll_continuation(request: RecordedRequest) -> bool:
    return request.method == "POST" and request.path.startswith("/_search/scroll")


def test_a_server_without_shard_doc_is_read_by_sliced_scroll(
    proxy: FaultProxy, loaded_day: LoadedDay, tmp_path: Path, server_url: str
) -> None:
    proxy.add_fault(claim_version(version_without_shard_doc(server_url)))
    settings = make_settings(proxy, loaded_day, tmp_path, slices=2)
    result = extract(settings, loaded_day.day)
    assert result.method == "scroll"
    assert_exact_day(settings, loaded_day, result)  # the server accepted every request
    assert pit_requests(proxy, "POST") == 0
    assert any(is_scroll_continuation(r) for r in proxy.requests)
    assert_plain_json(proxy)


def test_a_failed_scroll_continuation_restarts_only_its_slice(
    proxy: FaultProxy, loaded_day: LoadedDay, tmp_path: Path, server_url: str
) -> None:
    proxy.add_fault(claim_version(version_without_shard_doc(server_url)))
    # A continuation cannot be asked twice (the cursor may have moved): the slice starts over.
    proxy.add_fault(Fault(match=is_scroll_continuation, kind=FaultKind.RESPOND, status=503,
                          body=es_error(503, "unavailable_shards_exception", "injected"), times=1))
    settings = make_settings(proxy, loaded_day, tmp_path, slices=2)
    result = extract(settings, loaded_day.day)
    assert result.context_restarts == 1
    assert_exact_day(settings, loaded_day, result)


def test_an_index_deleted_during_the_run_gives_the_whole_day_or_a_clear_failure(
    proxy: FaultProxy, loaded_day: LoadedDay, tmp_path: Path, server_url: str
) -> None:
    settings = make_settings(proxy, loaded_day, tmp_path, slices=1)
    extract(settings, loaded_day.day)  # a good day is published first
    before = partition_snapshot(settings, loaded_day.day)
    deleted: list[int] = []

    def delete_the_index(body: bytes) -> bytes:
        if not deleted:
            deleted.append(urllib3.request("DELETE", f"{server_url}/{loaded_day.index}").status)
        return body

    proxy.add_fault(Fault(match=lambda r: is_later_page(r) or is_scroll_continuation(r), kind=FaultKind.REWRITE,
                          rewrite=delete_the_index))
    try:
        result = extract(settings, loaded_day.day)
    except (ClusterError, IncompleteExtraction) as exc:  # missing index, lost context, failed shards
        assert loaded_day.index in str(exc) or "shard" in str(exc) or "context" in str(exc)
        assert partition_snapshot(settings, loaded_day.day) == before
    else:
        # The point in time still held the day: the whole day, exactly, as of the PIT.
        assert_exact_day(settings, loaded_day, result)
    assert deleted == [200]


@on_pit_servers
def test_source_filtering_sends_and_writes_only_the_selected_fields(
    proxy: FaultProxy, loaded_day: LoadedDay, tmp_path: Path
) -> None:
    settings = make_settings(proxy, loaded_day, tmp_path, slices=1)
    source = settings.sources[0].model_copy(update={
        "source_includes": ("@timestamp", "level", "kubernetes.*"), "source_excludes": ("kubernetes.labels",),
    })
    settings = settings.model_copy(update={"sources": (source,)})
    result = extract(settings, loaded_day.day)
    assert_exact_day(settings, loaded_day, result)
    pages = [r.json() for r in proxy.requests if is_page(r)]
    assert pages and all(p["_source"] == {"includes": list(source.source_includes),
                                          "excludes": list(source.source_excludes)} for p in pages)
    directory = LocalLake(settings.lake.uri).published_partition(SOURCE, loaded_day.day)
    assert directory is not None
    table = pa.concat_tables(pq.read_table(p) for p in sorted(directory.glob("*.parquet")))
    assert table.column_names == ["_index", "_id", "timestamp", "kubernetes", "level", "_unmapped"]
    assert "labels" not in table.schema.field("kubernetes").type.names
    expected = {doc_id: doc for doc_id, doc in generate_docs(loaded_day.day, DOCS)}
    for row in table.to_pylist():
        document = expected[row["_id"]]
        assert row["level"] == document["level"]
        assert row["kubernetes"]["namespace_name"] == document["kubernetes"]["namespace_name"]
        assert row["_unmapped"] is None  # nothing excluded comes back as "unmapped"
