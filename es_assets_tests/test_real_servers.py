"""What only a real server shows: PIT slices over real shards, the scroll fallback of OpenSearch 2.19,
indices closed or deleted under a running extraction, and the server's own limit on open contexts.

Nothing here rewrites a response: the proxy only records the traffic (and, for the index tests,
closes or deletes the index at the moment the first later page passes), so every error the
engine meets is the one the server produced.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import urllib3

from es_assets.demo.k8s_logs import load_days
from es_assets.config import Settings
from es_assets.errors import ClusterError, IncompleteExtraction
from es_assets.extract import DayResult
from es_assets.lake.local import LocalLake
from es_assets_tests.fault_proxy import Fault, FaultKind, FaultProxy
from es_assets_tests.test_wire_and_faults import (
    PIT_SERVERS,
    SOURCE,
    LoadedDay,
    assert_exact_day,
    extract,
    generate_docs,
    index_name,
    is_later_page,
    is_page,
    is_scroll_continuation,
    make_settings,
    partition_snapshot,
    pit_requests,
    versions_on_disk,
)

pytestmark = pytest.mark.integration

DOCS = 900
SHARDS = 3
_next_day = itertools.count()


@pytest.fixture
def day_on_three_shards(server_url: str) -> Iterator[LoadedDay]:
    day = dt.date(2032, 1, 1) + dt.timedelta(days=next(_next_day))
    load_days(server_url, [day], DOCS, shards=SHARDS)
    yield LoadedDay(day, index_name(day), frozenset(doc_id for doc_id, _ in generate_docs(day, DOCS)))
    urllib3.request("DELETE", f"{server_url}/{index_name(day)}")


def open_contexts(server_url: str) -> int:
    """Search contexts (scrolls, PITs) open on the node, as the server counts them."""
    stats = orjson.loads(urllib3.request("GET", f"{server_url}/_nodes/stats/indices/search").data)
    return sum(node["indices"]["search"]["open_contexts"] for node in stats["nodes"].values())


@pytest.fixture
def contexts_before(server_url: str) -> int:
    """Contexts open before the test: killed runs of other tests may hold some until their keep-alive ends."""
    return open_contexts(server_url)


def assert_no_context_left(server_url: str, before: int) -> None:
    # Freeing is synchronous, but a context a failed request opened may be released a moment later.
    deadline = time.monotonic() + 10
    while open_contexts(server_url) > before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert open_contexts(server_url) <= before


def set_cluster_setting(server_url: str, name: str, value: Any) -> None:
    response = urllib3.request("PUT", f"{server_url}/_cluster/settings", headers={"Content-Type": "application/json"},
                               body=orjson.dumps({"persistent": {name: value}}))
    assert response.status == 200, response.data


def recording_responses(proxy: FaultProxy) -> list[dict[str, Any]]:
    """Every search page's response, as the server sent it (an identity rewrite that keeps a copy)."""
    responses: list[dict[str, Any]] = []

    def keep(body: bytes) -> bytes:
        responses.append(orjson.loads(body))
        return body

    proxy.add_fault(Fault(match=is_page, kind=FaultKind.REWRITE, rewrite=keep, times=10**6))
    return responses


# --- PIT over several shards ----------------------------------------------------------------


@pytest.mark.parametrize("server_url", PIT_SERVERS, indirect=True)
def test_pit_slices_page_every_shard_in_shard_doc_order_and_their_totals_make_the_day(
    server_url: str, day_on_three_shards: LoadedDay, tmp_path: Path, contexts_before: int
) -> None:
    with FaultProxy(server_url) as proxy:
        responses = recording_responses(proxy)
        settings = make_settings(proxy, day_on_three_shards, tmp_path, slices=SHARDS)
        result = extract(settings, day_on_three_shards.day)
    assert result.method == "pit" and result.slices == SHARDS
    assert_exact_day(settings, day_on_three_shards, result)
    pages = [r.json() for r in proxy.requests if is_page(r)]
    assert {p["slice"]["id"] for p in pages} == set(range(SHARDS)) and all(p["slice"]["max"] == SHARDS for p in pages)
    assert all(p["sort"] == [{"_shard_doc": "asc"}] for p in pages)
    # Each slice's first page counts the slice (track_total_hits); the counts add up to the day.
    totals = [r["hits"]["total"]["value"] for r in responses if "total" in r.get("hits", {})]
    assert len(totals) == SHARDS and sum(totals) == DOCS
    # A _shard_doc value is (shard index << 32) + Lucene doc id: hits came from all three shards,
    # each page in increasing order.
    sort_values = [[hit["sort"][0] for hit in r.get("hits", {}).get("hits", [])] for r in responses]
    assert all(values == sorted(values) and len(set(values)) == len(values) for values in sort_values)
    assert len({value >> 32 for values in sort_values for value in values}) == SHARDS
    assert pit_requests(proxy, "POST") == pit_requests(proxy, "DELETE") == 1
    assert_no_context_left(server_url, contexts_before)


# --- OpenSearch 2.19: no _shard_doc, sliced scroll --------------------------------------------


@pytest.mark.parametrize("server_url", ["opensearch-2.19.6"], indirect=True)
def test_opensearch_2_is_read_by_sliced_scroll_and_every_scroll_is_cleared(
    server_url: str, day_on_three_shards: LoadedDay, tmp_path: Path, contexts_before: int
) -> None:
    with FaultProxy(server_url) as proxy:
        settings = make_settings(proxy, day_on_three_shards, tmp_path, slices=SHARDS)
        result = extract(settings, day_on_three_shards.day)
    assert result.method == "scroll"
    assert_exact_day(settings, day_on_three_shards, result)
    assert pit_requests(proxy, "POST") == 0
    first_pages = [r for r in proxy.requests if r.method == "POST" and "scroll=" in r.path]
    assert {r.json()["slice"]["id"] for r in first_pages} == set(range(SHARDS))
    cleared = [r for r in proxy.requests if r.method == "DELETE" and r.path.startswith("/_search/scroll")]
    assert len(cleared) == SHARDS
    assert_no_context_left(server_url, contexts_before)


# --- an index closed or deleted under a running extraction ------------------------------------


@pytest.mark.parametrize("action", ["close", "delete"])
@pytest.mark.parametrize("server_url", ["elasticsearch-7.17.29", "elasticsearch-9.5.4", "opensearch-2.19.6",
                                        "opensearch-3.8.0"], indirect=True)
def test_an_index_closed_or_deleted_mid_extraction_fails_the_day_and_keeps_the_published_one(
    server_url: str, day_on_three_shards: LoadedDay, tmp_path: Path, contexts_before: int, action: str
) -> None:
    settings, before, outcome = extract_while_the_index_goes(server_url, day_on_three_shards, tmp_path, action)
    assert isinstance(outcome, (ClusterError, IncompleteExtraction)), f"the day was published: {outcome}"
    message = str(outcome)
    # The server's own answers: the PIT's shard contexts are gone, the index is closed, or it is gone
    # when a scroll slice restarts.
    assert any(word in message for word in ("context", "shard", "index_closed_exception", "no such index")), message
    assert partition_snapshot(settings, day_on_three_shards.day) == before
    assert versions_on_disk(settings, day_on_three_shards.day) == [before[0]]
    assert_no_context_left(server_url, contexts_before)


def extract_while_the_index_goes(
    server_url: str, loaded: LoadedDay, tmp_path: Path, action: str
) -> tuple[Settings, tuple[Path | None, dict[str, str]], DayResult | Exception]:
    """Publish the day, then extract it again closing or deleting its index as the first later page passes."""
    with FaultProxy(server_url) as proxy:
        settings = make_settings(proxy, loaded, tmp_path, slices=1)
        assert_exact_day(settings, loaded, extract(settings, loaded.day))
        before = partition_snapshot(settings, loaded.day)
        done: list[int] = []

        def act_on_the_index(body: bytes) -> bytes:
            if not done:
                method, path = ("POST", f"/{loaded.index}/_close") if action == "close" else ("DELETE", f"/{loaded.index}")
                done.append(urllib3.request(method, server_url + path).status)
            return body

        proxy.add_fault(Fault(match=lambda r: is_later_page(r) or is_scroll_continuation(r), kind=FaultKind.REWRITE,
                              rewrite=act_on_the_index))
        try:
            outcome: DayResult | Exception = extract(settings, loaded.day)
        except (ClusterError, IncompleteExtraction) as exc:
            outcome = exc
    assert done == [200]
    return settings, before, outcome


# --- the server's own limit on open contexts -----------------------------------------------------


@pytest.mark.parametrize(("server_url", "setting", "limit"), [
    # One PIT serves every slice: a limit of 0 is what refuses it.
    pytest.param("opensearch-3.8.0", "search.max_open_pit_context", 0, id="opensearch-3.8.0-pit"),
    # One scroll per slice; a limit of 1 is ridden out (a slice retries once another has cleared its scroll).
    pytest.param("opensearch-2.19.6", "search.max_open_scroll_context", 0, id="opensearch-2.19.6-scroll"),
], indirect=["server_url"])
def test_the_servers_context_limit_fails_the_day_clearly_and_leaks_no_context(
    server_url: str, day_on_three_shards: LoadedDay, tmp_path: Path, contexts_before: int, setting: str, limit: int
) -> None:
    with FaultProxy(server_url) as proxy:
        settings = make_settings(proxy, day_on_three_shards, tmp_path, slices=SHARDS, retry_budget_s=3)
        assert_exact_day(settings, day_on_three_shards, extract(settings, day_on_three_shards.day))
        before = partition_snapshot(settings, day_on_three_shards.day)
        set_cluster_setting(server_url, setting, limit)
        try:
            with pytest.raises((ClusterError, IncompleteExtraction), match="(?i)too many"):
                extract(settings, day_on_three_shards.day)
        finally:
            set_cluster_setting(server_url, setting, None)
    assert partition_snapshot(settings, day_on_three_shards.day) == before
    assert LocalLake(settings.lake.uri).published_partition(SOURCE, day_on_three_shards.day) == before[0]
    assert_no_context_left(server_url, contexts_before)


@pytest.mark.parametrize("server_url", ["elasticsearch-9.5.4", "opensearch-3.8.0"], indirect=True)
def test_a_day_over_several_indices_is_read_whole_though_opensearch_repeats_tiebreaker_values_across_them(
        server_url: str, tmp_path: Path) -> None:
    # Rollovers: three indices hold the day. OpenSearch's _shard_doc values of shard 0 of one
    # index equal those of shard 0 of the others, so paging the PIT over them with search_after
    # skipped the documents tied with a page's last hit (found by the benchmark): three ties a
    # value, and 100-document pages end inside a tie.
    day = dt.date(2032, 6, 1) + dt.timedelta(days=next(_next_day))
    prefixes = ("logs-k8s-roll-a-", "logs-k8s-roll-b-", "logs-k8s-roll-c-")
    for seed, prefix in enumerate(prefixes):
        load_days(server_url, [day], DOCS, seed=seed, shards=2, index_prefix=prefix)
    try:
        loaded = LoadedDay(day, "logs-k8s-roll-*", frozenset())
        with FaultProxy(server_url) as proxy:
            settings = make_settings(proxy, loaded, tmp_path, slices=1)  # 100-document pages
            result = extract(settings, day)
        directory = LocalLake(settings.lake.uri).published_partition(SOURCE, day)
        assert directory is not None
        table = pa.concat_tables(pq.read_table(path, columns=["_index", "_id"]) for path in sorted(directory.glob("*.parquet")))
    finally:
        for prefix in prefixes:
            urllib3.request("DELETE", f"{server_url}/{index_name(day, prefix)}")

    read = list(zip(table.column("_index").to_pylist(), table.column("_id").to_pylist()))
    indexed = {(index_name(day, prefix), doc_id) for prefix in prefixes for doc_id, _ in generate_docs(day, DOCS)}
    assert result.rows == result.expected_rows == len(read) == len(prefixes) * DOCS
    assert set(read) == indexed
