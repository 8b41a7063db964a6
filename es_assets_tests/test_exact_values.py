"""Values that do not convert exactly to their column land in ``_unmapped`` as ``_source`` has them,
through real indices, Dagster and the lake, read back with DuckDB (README "Coercion is exact or not at all").

Day 1's index maps a field of every column type the servers all have; it registers the column
types. Day 2's index is ``dynamic: false`` (the server stores any value without checking it) and maps
``ratio``, a ``long`` on day 1, as a ``double``: the registry keeps day 1's columns, so each of day
2's documents carries one value that has no exact equal in its registered column.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from typing import Any

import orjson
import pytest
import urllib3

from es_assets.config import load_settings
from es_assets_tests.support import lake_rows, materialize_days, unique_prefix, write_config

pytestmark = pytest.mark.integration

DAY1, DAY2 = dt.date(2026, 10, 12), dt.date(2026, 10, 13)
HTTP = urllib3.PoolManager(headers={"Content-Type": "application/json"})
UTC = dt.timezone.utc

DAY1_MAPPING = {"dynamic": "strict", "properties": {
    "@timestamp": {"type": "date"},
    "count": {"type": "long"},
    "ratio": {"type": "long"},
    "score": {"type": "double"},
    "ok": {"type": "boolean"},
    "when": {"type": "date"},
    "when_ns": {"type": "date_nanos"},
    "blob": {"type": "binary"},
    "where": {"type": "geo_point"},
    "name": {"type": "keyword"},
}}
DAY2_MAPPING = {"dynamic": False, "properties": {"@timestamp": {"type": "date"}, "ratio": {"type": "double"}}}

# (document id, field, the value's JSON text as indexed): none has an exact equal in the column.
NOT_EXACT = [
    ("fraction_in_long", "count", "1.5"),
    ("fraction_string_in_long", "count", '"1.9"'),
    ("beyond_int64", "count", "9223372036854775808"),
    ("word_in_long", "count", '"abc"'),
    ("boolean_in_long", "count", "true"),
    ("day_2_double_in_day_1_long", "ratio", "1.5"),
    ("another_day_2_double", "ratio", "2.25"),
    ("nan_string_in_double", "score", '"NaN"'),
    ("infinity_string_in_double", "score", '"Infinity"'),
    ("integer_a_double_cannot_hold", "score", "9007199254740993"),
    ("yes_in_boolean", "ok", '"yes"'),
    ("empty_string_in_boolean", "ok", '""'),
    ("one_in_boolean", "ok", "1"),
    ("day_that_does_not_exist", "when", '"2026-02-30T00:00:00Z"'),
    ("hour_24", "when", '"2026-10-13T24:00:00Z"'),
    ("before_date_nanos_begin", "when_ns", '"1500-01-01T00:00:00Z"'),
    ("base64_with_stray_bits", "blob", '"AP9="'),
    ("not_base64", "blob", '"not base64!"'),
    ("geo_point_with_a_third_coordinate", "where", "[13.4, 52.5, 30]"),
    ("geo_point_with_another_key", "where", '{"lat": 52.5, "lon": 13.4, "z": 30}'),
    ("geohash", "where", '"u33dc0"'),
    ("object_in_keyword", "name", '{"first": "a"}'),
]
# (document id, field, JSON text, column value): exact, so they land in the column.
EXACT = [
    ("integral_fraction_in_long", "count", "2.0", 2),
    ("day_2_integral_double_in_day_1_long", "ratio", "3.0", 3),
    ("numeric_string_in_long", "count", '"10"', 10),
    ("string_true_in_boolean", "ok", '"true"', True),
]


def exactly(text: str | bytes) -> Any:
    """JSON with every number kept to its last digit (NaN included), to compare originals."""
    def number(literal: str) -> tuple[str, str]:
        return ("number", repr(decimal.Decimal(literal).normalize()))

    return json.loads(text, parse_float=number, parse_int=number, parse_constant=number)


def index(url: str, name: str, mapping: dict[str, Any], documents: dict[str, str]) -> None:
    created = HTTP.request("PUT", f"{url}/{name}", body=orjson.dumps({"mappings": mapping}))
    assert created.status == 200, created.data
    body = "".join(json.dumps({"index": {"_index": name, "_id": doc_id}}) + "\n" + text + "\n"
                   for doc_id, text in documents.items())
    response = orjson.loads(HTTP.request("POST", f"{url}/_bulk?refresh=true", body=body.encode()).data)
    assert not response["errors"], [item for item in response["items"] if "error" in item["index"]]


def document(day: dt.date, hour: int, field: str, literal: str) -> str:
    return f'{{"@timestamp": "{day}T{hour:02d}:00:00Z", "{field}": {literal}}}'


@pytest.fixture(scope="module")
def lake(search_url: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    """(rows by _id read back with DuckDB, _source texts by _id as the server returns them)."""
    prefix = unique_prefix("exact")
    index(search_url, f"{prefix}{DAY1:%Y.%m.%d}", DAY1_MAPPING, {"fits": (
        f'{{"@timestamp": "{DAY1}T12:00:00Z", "count": 1, "ratio": 2, "score": 0.5, "ok": true,'
        f' "when": "{DAY1}T12:00:00.123Z", "when_ns": "{DAY1}T12:00:00.123456789Z", "blob": "AP8=",'
        ' "where": {"lat": 52.5, "lon": 13.4}, "name": "a"}')})
    day2 = {doc_id: document(DAY2, i % 24, field, literal)
            for i, (doc_id, field, literal, *_) in enumerate(NOT_EXACT + EXACT)}
    day2["finer_than_a_millisecond"] = document(DAY2, 23, "when", f'"{DAY2}T23:59:59.999999Z"')
    index(search_url, f"{prefix}{DAY2:%Y.%m.%d}", DAY2_MAPPING, day2)

    config = write_config(tmp_path_factory.mktemp("exact"), search_url, f"{prefix}*", DAY1)
    assert materialize_days(config, DAY1, DAY2, raise_on_error=False).success  # ratio's change fails only a check

    stored = HTTP.request("POST", f"{search_url}/{prefix}*/_search",
                          body=orjson.dumps({"size": 1000, "_source": True}))
    hits = json.loads(stored.data, parse_float=str, parse_int=str, parse_constant=str)["hits"]["hits"]
    sources = {hit["_id"]: hit["_source"] for hit in hits}
    rows = {row["_id"]: row for row in lake_rows(load_settings(config), "k8s_logs")}
    assert rows.keys() == sources.keys()
    return rows, sources


@pytest.mark.parametrize(("doc_id", "field", "literal"), [pytest.param(*case, id=case[0]) for case in NOT_EXACT])
def test_a_value_with_no_exact_equal_in_its_column_is_kept_in_unmapped_as_indexed(
        lake: tuple[dict[str, Any], dict[str, Any]], doc_id: str, field: str, literal: str) -> None:
    rows, _ = lake
    row = rows[doc_id]
    assert row[field] is None
    assert exactly(row["_unmapped"]) == {field: exactly(literal)}


@pytest.mark.parametrize(("doc_id", "field", "literal", "column"), [pytest.param(*case, id=case[0]) for case in EXACT])
def test_a_value_that_converts_exactly_lands_in_its_column(
        lake: tuple[dict[str, Any], dict[str, Any]], doc_id: str, field: str, literal: str, column: Any) -> None:
    rows, _ = lake
    assert (rows[doc_id][field], rows[doc_id]["_unmapped"]) == (column, None)


def test_a_date_finer_than_milliseconds_keeps_the_millisecond_and_its_original_text(
        lake: tuple[dict[str, Any], dict[str, Any]]) -> None:
    rows, _ = lake
    row = rows["finer_than_a_millisecond"]
    assert row["when"] == dt.datetime(2026, 10, 13, 23, 59, 59, 999_000, tzinfo=UTC)
    assert json.loads(row["_unmapped"]) == {"when": f"{DAY2}T23:59:59.999999Z"}


def test_the_server_returns_every_value_as_it_was_indexed(lake: tuple[dict[str, Any], dict[str, Any]]) -> None:
    # The premise of the tests above: `literal` is what _source holds on this server.
    _, sources = lake
    for doc_id, field, literal in NOT_EXACT:
        assert sources[doc_id][field] == json.loads(literal, parse_float=str, parse_int=str), doc_id
