"""Pure logic, unit-tested without servers: run decisions, error classification, field selection, column types."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson
import pytest

from es_assets.config import parse_settings
from es_assets.defs.metadata import mapping_types
from es_assets.defs.sensors import decide_runs
from es_assets.errors import AuthenticationError, ClusterError, ContextLost, MissingIndexError
from es_assets.schema.fields import Field, select_fields
from es_assets.source.http import _classify, _is_transient, error_type_and_reason

# --- decide_runs: which days the sensor asks for -------------------------------------------------

NOW = dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.timezone.utc)
TODAY = NOW.date()


def source(**overrides: object):  # type: ignore[no-untyped-def]
    raw = {
        "elasticsearch": {"hosts": ["http://127.0.0.1:9200"]},
        "lake": {"uri": "file://./lake"},
        "sources": [{"name": "k8s_logs", "index": "logs-*", "timestamp_field": "@timestamp",
                     "start_date": "2026-11-01", "settle_minutes": 30, "late_data_days": 3, **overrides}],
    }
    return parse_settings(raw, base_dir=Path("/tmp"), env={}).sources[0]


def day(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


def test_a_new_complete_day_is_requested_newest_first() -> None:
    found = {day(1): "i1", day(2): "i2"}
    decisions, _ = decide_runs(source(), found, {day(1): 10, day(2): 20}, {}, {}, NOW)
    assert [(d.day, d.count, d.reason) for d in decisions] == [(day(1), 10, "new"), (day(2), 20, "new")]


def test_today_and_a_day_inside_its_settle_time_wait() -> None:
    just_after_midnight = dt.datetime.combine(TODAY, dt.time(0, 10), tzinfo=dt.timezone.utc)
    decisions, notes = decide_runs(source(), {day(0): "i0", day(1): "i1"}, {day(1): 5}, {}, {}, just_after_midnight)
    assert decisions == []
    assert any(f"{day(1)} is not complete until" in note for note in notes)


def test_settle_time_follows_the_source_time_zone() -> None:
    # 23:50 UTC on day(1) is already 00:50 on TODAY in Paris: day(1) has settled there.
    moment = dt.datetime.combine(day(1), dt.time(23, 50), tzinfo=dt.timezone.utc)
    decisions, _ = decide_runs(source(timezone="Europe/Paris"), {day(1): "i"}, {day(1): 5}, {}, {}, moment)
    assert [d.day for d in decisions] == [day(1)]


def test_a_changed_count_of_a_recent_day_is_a_late_data_rerun() -> None:
    decisions, _ = decide_runs(source(), {day(2): "i"}, {day(2): 12}, {day(2): 10}, {}, NOW)
    assert [(d.day, d.reason) for d in decisions] == [(day(2), "late data: 10 → 12 documents")]


def test_a_changed_count_beyond_the_late_data_window_is_left_alone() -> None:
    decisions, _ = decide_runs(source(late_data_days=1), {day(2): "i"}, {day(2): 12}, {day(2): 10}, {}, NOW)
    assert decisions == []


def test_a_published_unchanged_day_is_not_requested() -> None:
    decisions, _ = decide_runs(source(), {day(1): "i"}, {day(1): 10}, {day(1): 10}, {}, NOW)
    assert decisions == []


def test_a_day_already_requested_for_its_count_is_not_asked_twice() -> None:
    decisions, notes = decide_runs(source(), {day(1): "i"}, {day(1): 10}, {}, {str(day(1)): 10}, NOW)
    assert decisions == [] and notes == [f"{day(1)} was requested already for 10 documents"]
    again, _ = decide_runs(source(), {day(1): "i"}, {day(1): 11}, {}, {str(day(1)): 10}, NOW)
    assert [d.count for d in again] == [11]  # a new count is a new request


def test_an_uncounted_day_is_skipped() -> None:
    assert decide_runs(source(), {day(9): "i"}, {}, {day(9): 3}, {}, NOW)[0] == []


# --- error classification: what a failed request becomes -----------------------------------------


def body(error_type: str, reason: str, **extra: object) -> bytes:
    return orjson.dumps({"error": {"root_cause": [{"type": error_type, "reason": reason}], "type": "outer",
                                   "reason": "outer reason", **extra}, "status": 500})


@pytest.mark.parametrize(("status", "data", "error", "words"), [
    (401, b"{}", AuthenticationError, "check elasticsearch.api_key"),
    (403, body("security_exception", "action is unauthorized"), AuthenticationError, "monitor cluster privilege"),
    (404, body("index_not_found_exception", "no such index [x]"), MissingIndexError, "no such index"),
    (404, body("search_context_missing_exception", "No search context found for id [7]"), ContextLost, "lost"),
    (500, body("illegal_argument_exception", "bad"), ClusterError, "HTTP 500 illegal_argument_exception: bad"),
])
def test_each_permanent_error_becomes_its_own_exception(
    status: int, data: bytes, error: type[ClusterError], words: str
) -> None:
    classified = _classify(status, data, "POST", "/logs-*/_search?scroll=1m", "http://es:9200")
    assert type(classified) is error
    assert words in str(classified)
    assert str(classified).startswith("POST /logs-*/_search on http://es:9200: ")  # no query string


@pytest.mark.parametrize(("status", "data", "transient"), [
    (429, body("es_rejected_execution_exception", "queue full"), True),
    (503, b"", True),
    (502, b"<html>bad gateway</html>", True),
    (500, body("es_rejected_execution_exception", "rejected"), True),
    (429, body("circuit_breaking_exception", "data too large", durability="TRANSIENT"), True),
    (429, orjson.dumps({"error": {"type": "circuit_breaking_exception", "reason": "x", "durability": "PERMANENT"}}),
     False),
    (400, body("parsing_exception", "bad query"), False),
    (404, body("index_not_found_exception", "gone"), False),
])
def test_only_errors_a_retry_can_cure_are_retried(status: int, data: bytes, transient: bool) -> None:
    assert _is_transient(status, data) is transient


def test_the_root_cause_is_reported_and_odd_bodies_do_not_crash() -> None:
    assert error_type_and_reason(body("inner", "why")) == ("inner", "why")
    assert error_type_and_reason(orjson.dumps({"error": "plain text"})) == ("", "plain text")
    assert error_type_and_reason(b"not json") == ("", "not json")
    assert error_type_and_reason(orjson.dumps({"error": 3})) == ("", "")


def test_an_error_about_one_index_names_it() -> None:
    closed = {"type": "index_closed_exception", "reason": "closed", "index": "logs-2026.11.20"}
    assert error_type_and_reason(orjson.dumps({"error": {"root_cause": [closed], **closed}})) == (
        "index_closed_exception", "closed (index logs-2026.11.20)")
    missing = {"type": "index_not_found_exception", "reason": "no such index [logs-x]", "index": "logs-x"}
    assert error_type_and_reason(orjson.dumps({"error": missing}))[1] == "no such index [logs-x]"


# --- select_fields: _source includes/excludes as columns ------------------------------------------

FIELDS = (
    Field("message", "message", "string"),
    Field("kubernetes", "kubernetes", "object", children=(
        Field("namespace_name", "namespace_name", "string"),
        Field("labels", "labels", "object", children=(Field("app", "app", "string"), Field("tier", "tier", "string"))),
    )),
    Field("secret", "secret", "string"),
)


def paths(fields: tuple[Field, ...], prefix: str = "") -> list[str]:
    out = []
    for f in fields:
        out += paths(f.children, prefix + f.source_name + ".") if f.kind == "object" else [prefix + f.source_name]
    return out


@pytest.mark.parametrize(("includes", "excludes", "expected"), [
    ((), (), ["message", "kubernetes.namespace_name", "kubernetes.labels.app", "kubernetes.labels.tier", "secret"]),
    ((), ("secret",), ["message", "kubernetes.namespace_name", "kubernetes.labels.app", "kubernetes.labels.tier"]),
    (("kubernetes",), (), ["kubernetes.namespace_name", "kubernetes.labels.app", "kubernetes.labels.tier"]),
    (("kubernetes.labels.*",), (), ["kubernetes.labels.app", "kubernetes.labels.tier"]),
    (("kubernetes.*",), ("kubernetes.labels.tier",), ["kubernetes.namespace_name", "kubernetes.labels.app"]),
    (("*.app", "message"), (), ["message", "kubernetes.labels.app"]),
    ((), ("kubernetes",), ["message", "secret"]),
    (("nothing_matches",), (), []),
])
def test_includes_and_excludes_select_columns_like_elasticsearch_source_filtering(
    includes: tuple[str, ...], excludes: tuple[str, ...], expected: list[str]
) -> None:
    assert paths(select_fields(FIELDS, includes, excludes)) == expected


# --- mapping types for the column descriptions ------------------------------------------------------


def test_mapping_types_walk_objects_and_join_conflicting_types() -> None:
    mappings = {
        "logs-1": {"mappings": {"properties": {
            "message": {"type": "text"}, "kubernetes": {"properties": {"pod": {"type": "keyword"}}}}}},
        "logs-2": {"mappings": {"properties": {"message": {"type": "keyword"}}}},
    }
    assert mapping_types(mappings) == {
        "message": "keyword | text", "kubernetes": "object", "kubernetes.pod": "keyword",
    }


# --- the staged partition's file list under concurrent slice threads --------------------------------


def test_staged_files_added_and_dropped_from_many_threads_are_all_accounted_for(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from es_assets.lake.base import StagedFile, StagedPartition

    staged = StagedPartition("k8s_logs", dt.date(2026, 11, 20), "v1", tmp_path, str(tmp_path))

    def slice_files(slice_id: int) -> None:
        for seq in range(200):
            staged.add_file(StagedFile(f"part-{slice_id}-{seq}.parquet", 1, 1))
            if seq % 2:  # a discarded file: the slice restarted
                staged.drop_file(f"part-{slice_id}-{seq}.parquet")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(slice_files, range(8)))
    names = {f.name for f in staged.files}
    assert names == {f"part-{s}-{q}.parquet" for s in range(8) for q in range(0, 200, 2)}
