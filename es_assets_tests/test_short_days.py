"""A run never reports success while publishing a short or empty day.

The server tests run on both products (``search_url``) against a day held by two indices, with
one more day beside it so that the source's pattern keeps matching when the day's indices go.
Where a fault cannot be produced for real on one node (a point in time opened on some shards
only) the :class:`FaultProxy` makes it: it opens the PIT on the first index alone and rewrites
the open answer's ``_shards``, so the pages that follow report the surviving shard's hits with
healthy ``_shards`` and totals that agree, as OpenSearch does with a partial PIT. Each test
reads the lake back with DuckDB and compares it with what the cluster holds. The pure decisions
(count reconciliation, the shrink guard, the partial-PIT parameter) are unit-tested first.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import dagster as dg
import duckdb
import orjson
import pyarrow.dataset as pads
import pytest
import urllib3

from es_assets.config import Settings, load_settings
from es_assets.day_guards import late_documents, refuse_smaller_day
from es_assets.defs.assets import ALLOW_SMALLER_DAY_TAG, asset_keys
from es_assets.defs.checks import ROW_COUNT_CHECK
from es_assets.defs.sensors import decide_runs
from es_assets.definitions import build_definitions
from es_assets.demo.k8s_logs import generate_docs, index_mapping, index_name, load_days
from es_assets.errors import IncompleteExtraction, SmallerDayRefused, TruncatedResponse
from es_assets.extract import DayResult, extract_day
from es_assets.lake import open_lake
from es_assets.source.cluster import ClusterInfo, detect_cluster, plan_day
from es_assets.source.http import EsHttp, whole_json
from es_assets.source.pagination import check_pit_shards
from es_assets_tests.fault_proxy import Fault, FaultKind, FaultProxy, RecordedRequest
from es_assets_tests.support import aws_settings, elasticsearch_documents, unique_prefix, write_config
from es_assets_tests.test_wire_and_faults import claim_version, is_scroll_continuation, version_without_shard_doc

integration = pytest.mark.integration

SOURCE = "k8s_logs"
DAY = dt.date(2026, 5, 11)  # in the past: daily partitions end yesterday
NEXT_DAY = DAY + dt.timedelta(days=1)
DOCS_PER_INDEX = 300  # the day: two indices of 300 documents each
SHARDS_PER_INDEX = index_mapping()["settings"]["number_of_shards"]
PAGE_SIZE = 100


# --- the pure decisions (no server) --------------------------------------------------------


def test_documents_beyond_the_independent_count_are_late_data() -> None:
    assert late_documents(SOURCE, DAY, counted=600, written=640) == 40
    assert late_documents(SOURCE, DAY, counted=600, written=600) == 0


def test_fewer_documents_than_the_independent_count_fail_the_day_saying_how_many() -> None:
    with pytest.raises(IncompleteExtraction, match="wrote 298 documents but the day counted 600 .*302 missing"):
        late_documents(SOURCE, DAY, counted=600, written=298)


PUBLISHED = {"rows": 600, "indices": {"logs-a-2026.05.11": 300, "logs-b-2026.05.11": 300}}
BOTH = ("logs-a-2026.05.11", "logs-b-2026.05.11", "logs-a-2026.05.12")


@pytest.mark.parametrize(
    ("cluster_rows", "pattern_indices", "message"),
    [
        (500, BOTH, "the lake holds 600 rows for the day, the cluster now has 500; the published day was left"),
        (0, BOTH, "the lake holds 600 rows for the day, the cluster now has 0;"),  # documents deleted, index kept
        (300, ("logs-a-2026.05.11",), "the cluster now has 300 \\(logs-b-2026.05.11 no longer exists\\)"),
        (0, ("logs-a-2026.05.12",), "the indices holding 2026-05-11 \\(logs-a-2026.05.11, logs-b-2026.05.11\\) no "
                                    "longer exist; the lake keeps its copy \\(600 rows\\)"),
    ],
)
def test_a_smaller_day_is_refused_saying_what_the_lake_and_the_cluster_hold(
    cluster_rows: int, pattern_indices: tuple[str, ...], message: str
) -> None:
    with pytest.raises(SmallerDayRefused, match=message) as refused:
        refuse_smaller_day(SOURCE, DAY, PUBLISHED, cluster_rows, pattern_indices, allow_smaller=False)
    assert (refused.value.lake_rows, refused.value.cluster_rows) == (600, cluster_rows)
    refuse_smaller_day(SOURCE, DAY, PUBLISHED, cluster_rows, pattern_indices, allow_smaller=True)  # told to


def test_the_day_of_a_vanished_single_index_is_named_as_such() -> None:
    published = {"rows": 6000, "indices": {"logs-2026.11.20": 6000}}
    with pytest.raises(SmallerDayRefused, match=r"^k8s_logs 2026-11-20: the index holding 2026-11-20 "
                                                r"\(logs-2026.11.20\) no longer exists; the lake keeps its copy"):
        refuse_smaller_day(SOURCE, dt.date(2026, 11, 20), published, 0, ("logs-2026.11.21",), allow_smaller=False)


@pytest.mark.parametrize(("published", "cluster_rows"), [(None, 0), (PUBLISHED, 600), (PUBLISHED, 640),
                                                         ({"rows": 0, "indices": {}}, 0)])
def test_a_new_equal_or_larger_day_is_never_refused(published: dict[str, Any] | None, cluster_rows: int) -> None:
    refuse_smaller_day(SOURCE, DAY, published, cluster_rows, (), allow_smaller=False)


@pytest.mark.parametrize(
    ("cluster", "parameter"),
    [
        (ClusterInfo("opensearch", (3, 3, 0)), {"allow_partial_pit_creation": "false"}),
        (ClusterInfo("opensearch", (2, 19, 6)), {"allow_partial_pit_creation": "false"}),
        (ClusterInfo("elasticsearch", (9, 5, 4)), {"allow_partial_search_results": "false"}),
        (ClusterInfo("elasticsearch", (8, 16, 0)), {"allow_partial_search_results": "false"}),
        # Before 8.16 the parameter is unknown (a 400) and partial PITs are refused regardless.
        (ClusterInfo("elasticsearch", (8, 15, 3)), {}),
        (ClusterInfo("elasticsearch", (7, 17, 29)), {}),
    ],
)
def test_partial_points_in_time_are_refused_by_the_parameter_the_version_knows(
    cluster: ClusterInfo, parameter: dict[str, str]
) -> None:
    assert cluster.refuse_partial_pit == parameter


@pytest.mark.parametrize(
    ("shards", "message"),
    [
        ({"total": 2, "successful": 1, "skipped": 0, "failed": 1,
          "failures": [{"reason": {"type": "no_shard_available_action_exception", "reason": "shard 1 missing"}}]},
         "1 of 2 shards failed \\(1 answered\\): shard 1 missing"),
        ({"total": 1, "successful": 1, "skipped": 0, "failed": 0}, "it holds 1 of the 2 primary shards"),
    ],
)
def test_a_point_in_time_missing_shards_is_refused(shards: dict[str, Any], message: str) -> None:
    with pytest.raises(IncompleteExtraction, match=message):
        check_pit_shards(shards, primary_shards=2, indices="a,b")


def test_a_whole_point_in_time_passes() -> None:
    check_pit_shards({"total": 2, "successful": 2, "skipped": 0, "failed": 0}, primary_shards=2, indices="a,b")
    check_pit_shards(None, primary_shards=2, indices="a,b")  # Elasticsearch < 8.16 sends no _shards


def test_a_body_that_is_not_whole_json_is_a_truncated_response() -> None:
    assert whole_json(b'{"count": 3}') == {"count": 3}
    with pytest.raises(TruncatedResponse, match="not whole JSON"):
        whole_json(b'{"count": 3, "_shards": {"tot')


def test_the_sensor_leaves_a_day_that_shrank_to_a_deliberate_run(tmp_path: Path) -> None:
    source = load_settings(write_config(tmp_path, "http://127.0.0.1:9", "logs-*", DAY,
                                        source={"settle_minutes": 0, "late_data_days": 3})).sources[0]
    now = dt.datetime.combine(NEXT_DAY + dt.timedelta(days=1), dt.time(12), tzinfo=dt.timezone.utc)
    found = {DAY: "index name", NEXT_DAY: "index name"}
    decisions, notes = decide_runs(source, found, {DAY: 500, NEXT_DAY: 700}, {DAY: 600, NEXT_DAY: 600}, {}, now)
    assert [(d.day, d.reason) for d in decisions] == [(NEXT_DAY, "late data: 600 → 700 documents")]
    assert any(f"{DAY} has 500 documents, fewer than the lake's 600" in note and ALLOW_SMALLER_DAY_TAG in note
               for note in notes)


# --- the day on the servers ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SplitDay:
    """DAY held by two indices (``first``, ``second``); NEXT_DAY by one more, so the pattern outlives DAY's."""

    url: str
    pattern: str
    first: str
    second: str
    next_day: str

    @property
    def day_indices(self) -> tuple[str, str]:
        return self.first, self.second


@pytest.fixture
def split_day(search_url: str) -> Iterator[SplitDay]:
    prefix = unique_prefix("short")
    load_days(search_url, [DAY, NEXT_DAY], DOCS_PER_INDEX, seed=1, index_prefix=f"{prefix}a-")
    load_days(search_url, [DAY], DOCS_PER_INDEX, seed=2, index_prefix=f"{prefix}b-")
    indices = SplitDay(search_url, f"{prefix}*", index_name(DAY, f"{prefix}a-"), index_name(DAY, f"{prefix}b-"),
                       index_name(NEXT_DAY, f"{prefix}a-"))
    yield indices
    for index in (indices.first, indices.second, indices.next_day):  # the emulators keep indices in memory
        urllib3.request("DELETE", f"{search_url}/{index}")


@pytest.fixture
def proxy(search_url: str) -> Iterator[FaultProxy]:
    with FaultProxy(search_url) as proxy:
        yield proxy


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto accepts any credentials; the standard chain must find some."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def config_for(directory: Path, url: str, days: SplitDay, **lake_and_catalog: Any) -> Path:
    return write_config(directory, url, days.pattern, DAY, source={"page_size": PAGE_SIZE, "slices": 2},
                        **lake_and_catalog)


def extract(settings: Settings, day: dt.date = DAY) -> DayResult:
    """What the parquet asset does for one day: detect, plan, extract."""
    http = EsHttp(settings.elasticsearch)
    try:
        source = settings.sources[0]
        return extract_day(http, source, open_lake(settings.lake), plan_day(http, detect_cluster(http), source, day))
    finally:
        http.close()


def materialize(config: Path, day: dt.date, *assets: str, tags: dict[str, str] | None = None,
                instance: dg.DagsterInstance | None = None) -> dg.ExecuteInProcessResult:
    """Materialize ``assets`` ("elasticsearch", "parquet", "athena"; all three if none) for one day."""
    defs = build_definitions(load_settings(config))
    keys = dict(zip(("elasticsearch", "parquet", "athena"), asset_keys(SOURCE)))
    return dg.materialize(
        list(defs.assets or []),  # type: ignore[arg-type]
        selection=[keys[a] for a in assets or keys],
        partition_key=day.isoformat(),
        resources=defs.resources,
        instance=instance or dg.DagsterInstance.ephemeral(),
        tags=tags,
        raise_on_error=False,
    )


def failures(result: dg.ExecuteInProcessResult) -> str:
    return "\n".join(event.step_failure_data.error.to_string() for event in result.get_step_failure_events())


def lake_documents(settings: Settings, day: dt.date = DAY) -> list[tuple[str, str]]:
    """The published day's (_index, _id), read back by DuckDB from either kind of lake."""
    lake = open_lake(settings.lake)
    files = lake.published_files(SOURCE, day)
    assert files, f"{day} is not published"
    dataset = pads.dataset(files, filesystem=lake.filesystem, format="parquet")
    with duckdb.connect() as con:
        con.register("day", dataset)
        return sorted(con.execute('SELECT "_index", "_id" FROM day').fetchall())


def cluster_documents(days: SplitDay, indices: tuple[str, ...]) -> list[tuple[str, str]]:
    return sorted((d["_index"], d["_id"]) for d in elasticsearch_documents(days.url, ",".join(indices)))


def published_version(settings: Settings, day: dt.date = DAY) -> tuple[str | None, dict[str, Any] | None]:
    lake = open_lake(settings.lake)
    return lake.published_location(SOURCE, day), lake.manifest(SOURCE, day)


def publish_the_day(config: Path, days: SplitDay) -> tuple[Settings, list[tuple[str, str]]]:
    """Run the whole graph for DAY; the lake then holds exactly the documents of the day's indices."""
    assert materialize(config, DAY).success
    settings = load_settings(config)
    published = lake_documents(settings)
    assert published == cluster_documents(days, days.day_indices)
    return settings, published


def bulk(url: str, lines: list[bytes]) -> None:
    response = urllib3.request("POST", f"{url}/_bulk?refresh=true", body=b"\n".join(lines) + b"\n",
                               headers={"Content-Type": "application/x-ndjson"})
    assert not orjson.loads(response.data)["errors"]


def is_pit_request(request: RecordedRequest, method: str) -> bool:
    """Opening (POST) or freeing (DELETE) a PIT, on either product's endpoint."""
    return request.method == method and urlsplit(request.path).path.endswith(("/_pit", "/_search/point_in_time"))


def is_pit_open(request: RecordedRequest) -> bool:
    return is_pit_request(request, "POST")


def pit_requests(proxy: FaultProxy, method: str) -> int:
    return sum(is_pit_request(r, method) for r in proxy.requests)


def on_the_first_index_only(request: RecordedRequest) -> RecordedRequest:
    """The PIT-open request as if the day's second index had no shard available."""
    path, query = request.path.split("?", 1)
    indices, endpoint = path.lstrip("/").split("/", 1)
    return dataclasses.replace(request, path=f"/{indices.split(',')[0]}/{endpoint}?{query}")


def open_answer(change: Callable[[dict[str, Any]], object]) -> Callable[[bytes], bytes]:
    def rewrite(body: bytes) -> bytes:
        answer = orjson.loads(body)
        change(answer)
        return orjson.dumps(answer)

    return rewrite


# How a server may answer the open of a PIT that got the shards of one of the day's two indices: admitting the
# failure (OpenSearch with allow_partial_pit_creation=true), listing only the shard that answered,
# or saying nothing about shards (as Elasticsearch before 8.16 does).
PARTIAL_OPEN_ANSWERS: dict[str, tuple[Callable[[dict[str, Any]], object], str]] = {
    "admitting_a_failed_shard": (
        lambda answer: answer.update(_shards={
            "total": 2 * SHARDS_PER_INDEX, "successful": SHARDS_PER_INDEX, "skipped": 0, "failed": SHARDS_PER_INDEX,
            "failures": [{"shard": 0, "index": "second", "reason": {
                "type": "no_shard_available_action_exception", "reason": "the second index has no active shard"}}],
        }),
        rf"opening the point in time on .*: {SHARDS_PER_INDEX} of {2 * SHARDS_PER_INDEX} shards failed "
        r".*the second index has no active shard",
    ),
    "listing_only_the_shards_that_answered": (
        lambda answer: answer.update(
            _shards={"total": SHARDS_PER_INDEX, "successful": SHARDS_PER_INDEX, "skipped": 0, "failed": 0}),
        rf"opening the point in time on .*: it holds {SHARDS_PER_INDEX} of the {2 * SHARDS_PER_INDEX} primary shards",
    ),
    "saying_nothing_about_shards": (
        lambda answer: answer.pop("_shards", None),
        rf"wrote {DOCS_PER_INDEX} documents but the day counted {2 * DOCS_PER_INDEX} .*{DOCS_PER_INDEX} missing",
    ),
}


@integration
@pytest.mark.parametrize("answer", list(PARTIAL_OPEN_ANSWERS))
def test_a_partial_point_in_time_fails_the_day_and_keeps_the_published_one(
    split_day: SplitDay, proxy: FaultProxy, tmp_path: Path, answer: str
) -> None:
    settings = load_settings(config_for(tmp_path, proxy.url, split_day))
    http = EsHttp(settings.elasticsearch)
    cluster = detect_cluster(http)
    http.close()
    if cluster.sort_tiebreaker is None:
        pytest.skip(f"{cluster.label} is read by sliced scroll: no point in time to open partially")
    assert extract(settings).rows == 2 * DOCS_PER_INDEX
    before = published_version(settings)
    assert lake_documents(settings) == cluster_documents(split_day, split_day.day_indices)

    change, message = PARTIAL_OPEN_ANSWERS[answer]
    proxy.add_fault(Fault(match=is_pit_open, kind=FaultKind.REWRITE, rewrite_request=on_the_first_index_only,
                          rewrite=open_answer(change)))
    with pytest.raises(IncompleteExtraction, match=message):
        extract(settings)

    assert published_version(settings) == before
    assert lake_documents(settings) == cluster_documents(split_day, split_day.day_indices)
    assert pit_requests(proxy, "POST") == pit_requests(proxy, "DELETE") == 2  # the refused PIT was freed too
    for request in filter(is_pit_open, proxy.requests):  # asked for no partial PIT, where the server knows how
        query = parse_qs(urlsplit(request.path).query)
        assert {name: query[name][0] for name in cluster.refuse_partial_pit} == cluster.refuse_partial_pit


@integration
def test_an_index_deleted_between_the_two_assets_leaves_the_published_day_and_says_why(
    split_day: SplitDay, tmp_path: Path
) -> None:
    config = config_for(tmp_path, split_day.url, split_day)
    settings, published = publish_the_day(config, split_day)
    before = published_version(settings)

    planned = materialize(config, DAY, "elasticsearch")
    assert planned.success
    for index in split_day.day_indices:  # between elasticsearch/<src> and parquet/<src>
        assert urllib3.request("DELETE", f"{split_day.url}/{index}").status == 200
    extracted = materialize(config, DAY, "parquet")

    assert not extracted.success
    first, second = sorted(split_day.day_indices)
    assert (f"the indices holding {DAY} ({first}, {second}) no longer exist; the lake keeps its copy "
            f"({2 * DOCS_PER_INDEX} rows)") in failures(extracted)
    assert ALLOW_SMALLER_DAY_TAG in failures(extracted)
    assert published_version(settings) == before
    assert lake_documents(settings) == published


@integration
@pytest.mark.parametrize("lake_kind", ["local", "s3"])
def test_a_day_removed_by_retention_keeps_its_published_copy_on_a_rerun(
    split_day: SplitDay, tmp_path: Path, lake_kind: str, request: pytest.FixtureRequest
) -> None:
    if lake_kind == "s3":
        request.getfixturevalue("aws_credentials")
        moto_url = request.getfixturevalue("moto_url")
        bucket = "short-days"
        s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
        if bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
            s3.create_bucket(Bucket=bucket)
        config = config_for(tmp_path, split_day.url, split_day,
                            **aws_settings(bucket, tmp_path.name, moto_url, moto_url, "short_days"))
    else:
        config = config_for(tmp_path, split_day.url, split_day)
    settings = load_settings(config)
    for day in (DAY, NEXT_DAY):
        assert materialize(config, day).success
    published = {day: lake_documents(settings, day) for day in (DAY, NEXT_DAY)}
    assert published[DAY] == cluster_documents(split_day, split_day.day_indices)
    before = published_version(settings)

    for index in split_day.day_indices:  # retention deletes the day's indices; the next day's stays
        assert urllib3.request("DELETE", f"{split_day.url}/{index}").status == 200
    rerun = materialize(config, DAY)

    assert not rerun.success
    assert f"the indices holding {DAY}" in failures(rerun) and "the lake keeps its copy" in failures(rerun)
    assert published_version(settings) == before
    assert {day: lake_documents(settings, day) for day in (DAY, NEXT_DAY)} == published


@integration
def test_a_deliberate_shrink_publishes_the_smaller_day_only_with_the_run_tag(
    split_day: SplitDay, tmp_path: Path
) -> None:
    config = config_for(tmp_path, split_day.url, split_day)
    settings, published = publish_the_day(config, split_day)
    before = published_version(settings)
    deleted = sorted(doc_id for index, doc_id in published if index == split_day.first)[:100]
    # Removed on purpose (e.g. a GDPR request).
    bulk(split_day.url, [orjson.dumps({"delete": {"_index": split_day.first, "_id": doc_id}}) for doc_id in deleted])

    refused = materialize(config, DAY)
    assert not refused.success
    assert (f"the lake holds {2 * DOCS_PER_INDEX:,} rows for the day, the cluster now has "
            f"{2 * DOCS_PER_INDEX - 100}") in failures(refused)
    assert published_version(settings) == before
    assert lake_documents(settings) == published

    allowed = materialize(config, DAY, tags={ALLOW_SMALLER_DAY_TAG: "true"})
    assert allowed.success
    assert lake_documents(settings) == cluster_documents(split_day, split_day.day_indices)
    assert len(lake_documents(settings)) == 2 * DOCS_PER_INDEX - 100
    assert published_version(settings)[1]["rows"] == 2 * DOCS_PER_INDEX - 100  # type: ignore[index]


def is_later_page(request: RecordedRequest) -> bool:
    return (request.method == "POST" and request.path.startswith("/_search?")
            and "search_after" in (request.json() or {}))


def is_day_count(request: RecordedRequest) -> bool:
    """The plan's count of the day (a size-0 search with the per-index aggregation)."""
    return request.method == "POST" and "/_search?" in request.path and "aggs" in (request.json() or {})


def cut_close_delimited(match: Callable[[RecordedRequest], bool]) -> Fault:
    return Fault(match=match, kind=FaultKind.TRUNCATE_CLOSE_DELIMITED)


def asked_again(proxy: FaultProxy, match: Callable[[RecordedRequest], bool]) -> bool:
    """The request that was cut was sent again, the same, and answered whole."""
    cut = [r for r in proxy.requests if match(r) and r.fault is FaultKind.TRUNCATE_CLOSE_DELIMITED]
    answered = [(r.path, r.body) for r in proxy.requests if match(r) and r.fault is None]
    return len(cut) == 1 and (cut[0].path, cut[0].body) in answered


@integration
def test_a_close_delimited_truncated_body_is_retried_and_the_day_is_exact(
    split_day: SplitDay, proxy: FaultProxy, tmp_path: Path
) -> None:
    settings = load_settings(config_for(tmp_path, proxy.url, split_day))
    proxy.add_fault(cut_close_delimited(is_day_count))  # a plan request
    proxy.add_fault(cut_close_delimited(is_later_page))  # a PIT page, mid-extraction
    result = extract(settings)
    assert result.rows == result.counted_rows == 2 * DOCS_PER_INDEX
    assert lake_documents(settings) == cluster_documents(split_day, split_day.day_indices)
    assert asked_again(proxy, is_day_count) and asked_again(proxy, is_later_page)


@integration
def test_a_close_delimited_truncated_scroll_continuation_restarts_its_slice(
    split_day: SplitDay, proxy: FaultProxy, tmp_path: Path
) -> None:
    """A scroll continuation is not safe to repeat (its cursor may have moved): the slice starts over."""
    proxy.add_fault(claim_version(version_without_shard_doc(split_day.url)))
    proxy.add_fault(cut_close_delimited(is_scroll_continuation))
    settings = load_settings(config_for(tmp_path, proxy.url, split_day))
    result = extract(settings)
    assert result.method == "scroll" and result.context_restarts == 1
    assert lake_documents(settings) == cluster_documents(split_day, split_day.day_indices)


def is_health_check(request: RecordedRequest) -> bool:
    """The plan's health check of the day's indices: its last request, after every count."""
    return request.method == "GET" and request.path.startswith("/_cluster/health/")


def index_late_documents(days: SplitDay, count: int) -> Callable[[bytes], bytes]:
    """A response rewrite that indexes ``count`` more documents into the day, then passes the body on."""

    def index_then_answer(body: bytes) -> bytes:
        lines = []
        for i, (_, source) in enumerate(generate_docs(DAY, count, seed=9)):
            lines += [orjson.dumps({"index": {"_index": days.first, "_id": f"late-{i}"}}), orjson.dumps(source)]
        bulk(days.url, lines)
        return body

    return index_then_answer


@integration
def test_late_data_is_reported_not_failed(split_day: SplitDay, proxy: FaultProxy, tmp_path: Path) -> None:
    config = config_for(tmp_path, proxy.url, split_day)
    settings = load_settings(config)
    # After the day is counted, before it is read (PIT or scroll), 40 documents arrive.
    proxy.add_fault(Fault(match=is_health_check, kind=FaultKind.REWRITE, rewrite=index_late_documents(split_day, 40)))
    instance = dg.DagsterInstance.ephemeral()
    result = materialize(config, DAY, "parquet", instance=instance)

    assert result.success, failures(result)
    assert lake_documents(settings) == cluster_documents(split_day, split_day.day_indices)
    assert len(lake_documents(settings)) == 2 * DOCS_PER_INDEX + 40
    parquet_key = asset_keys(SOURCE)[1]
    [materialization] = [m.materialization for m in result.get_asset_materialization_events()
                         if m.asset_key == parquet_key]
    assert materialization.metadata["late_documents"].value == 40
    assert materialization.metadata["elasticsearch_count"].value == 2 * DOCS_PER_INDEX
    [row_count] = [c for c in result.get_asset_check_evaluations() if c.check_name == ROW_COUNT_CHECK]
    assert row_count.passed and row_count.metadata["late_documents"].value == 40
    assert published_version(settings)[1]["late_documents"] == 40  # type: ignore[index]
    messages = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert any("40 documents were indexed into the day after it was counted" in m for m in messages)
