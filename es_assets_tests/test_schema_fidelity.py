"""Hostile documents in three daily indices with conflicting mappings, through Dagster into the lake.

Every value of every document, read back with DuckDB, is compared with the document's ``_source`` as
the server returns it. The expected values come from :func:`expected_document`, written here from the
README's "Schema rules" and independent of ``es_assets.schema`` on purpose: it must not share the
engine's mistakes.

The three indices (one per day, UTC):

* day 1, ``dynamic: strict``: every type of the README table; ``status`` is long, ``bytes`` integer,
  ``ratio`` long;
* day 2, ``dynamic: false``: ``status`` keyword, ``bytes`` long, ``ratio`` double, extra source fields.
  It also holds a late document whose timestamp falls on day 1, so day 1's schema is the union of both
  indices (status → string, ratio → double, bytes → int64);
* day 3, ``dynamic: strict``: ``status`` long again, ``code`` keyword (long on day 1), a field and an
  object member added.

A column keeps the type of the first day it appears on ("stable across days", README; the schema
registry of ``es_assets/schema/registry.py``), so day 3's ``status`` values land in day 1's string column.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import datetime as dt
import decimal
import json
import math
import re
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import urllib3

from es_assets.config import load_settings
from es_assets.lake.local import LocalLake
from es_assets.query import run_query
from es_assets_tests.support import lake_rows, materialize_days, unique_prefix, without_nulls, write_config

pytestmark = pytest.mark.integration

SOURCE = "hostile"
DAY1, DAY2, DAY3 = dt.date(2026, 11, 20), dt.date(2026, 11, 21), dt.date(2026, 11, 22)
DAYS = (DAY1, DAY2, DAY3)
ARRAY_FIELDS = ("tags",)  # what write_config configures
UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
HTTP = urllib3.PoolManager(headers={"Content-Type": "application/json"})


# -- the corpus ---------------------------------------------------------------------------------

def index_mappings(backend: str) -> dict[dt.date, dict[str, Any]]:
    """The explicit mapping of each day's index."""
    common = {
        "@timestamp": {"type": "date"},
        "message": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
        "user": {"type": "keyword"},
        "ok": {"type": "boolean"},
        "score": {"type": "double"},
        "tags": {"type": "keyword"},
        "logged_at_ns": {"type": "date_nanos"},
        "http": {"properties": {"method": {"type": "keyword"}, "status_code": {"type": "long"}}},
        "events": {"type": "nested", "properties": {"name": {"type": "keyword"}, "at": {"type": "date"}}},
    }
    return {
        DAY1: {"dynamic": "strict", "properties": {
            **common,
            "status": {"type": "long"},
            "status_alias": {"type": "alias", "path": "status"},
            "code": {"type": "long"},
            "bytes": {"type": "integer"},
            "ratio": {"type": "long"},
            "price": {"type": "unsigned_long"},
            "location": {"type": "geo_point"},
            "payload": {"type": "object", "enabled": False},
            # OpenSearch has no `flattened`; its `flat_object` is a type es_assets does not know: JSON text too.
            "attrs": {"type": "flattened" if backend == "elasticsearch" else "flat_object"},
            "blob": {"type": "binary"},
            "legacy_time": {"type": "date", "format": "yyyy/MM/dd HH:mm:ss"},
            "epoch_s": {"type": "date", "format": "epoch_second"},
            "Host": {"type": "keyword"},
            "host": {"type": "keyword"},
            "dt": {"type": "keyword"},  # clashes with the lake's partition column
        }},
        DAY2: {"dynamic": False, "properties": {
            **common,
            "status": {"type": "keyword"},
            "bytes": {"type": "long"},
            "ratio": {"type": "double"},
            "price": {"type": "unsigned_long"},
            "location": {"type": "geo_point"},
        }},
        DAY3: {"dynamic": "strict", "properties": {
            **common,
            "status": {"type": "long"},
            "ratio": {"type": "double"},
            "region": {"type": "keyword"},
            "code": {"type": "keyword"},  # long on day 1: the column stays int64
            "http": {"properties": {"method": {"type": "keyword"}, "status_code": {"type": "long"},
                                    "route": {"type": "keyword"}}},
        }},
    }


@dataclasses.dataclass(frozen=True)
class Case:
    name: str  # the document's _id
    index_day: dt.date  # the daily index it is written to
    fields: dict[str, Any]
    only: str | None = None  # the one product it is indexed on (the other rejects or rewrites it)

    @property
    def source(self) -> dict[str, Any]:
        return {"@timestamp": f"{self.index_day}T12:00:00Z", **self.fields}


UNICODE = "nul\u0000byte, \u202eRTL\u202c, \u200fمرحبا עולם, 😀🚀, e\u0301, 中文, \"quoted\" \\ \t"

CASES = [
    Case("plain_values_of_every_type", DAY1, {
        "message": "GET /health", "user": "alice", "ok": True, "score": 0.25, "tags": ["a", "b"],
        "logged_at_ns": "2026-11-20T12:00:00.123456789Z",
        "http": {"method": "GET", "status_code": 200},
        "events": [{"name": "start", "at": "2026-11-20T11:59:00Z"},
                   {"name": "stop", "at": "2026-11-20T12:00:00.5+01:00"}],
        "price": 42, "location": {"lat": 52.52, "lon": 13.405},
        "payload": {"a": [1, {"b": None}], "c": "x", "big": 18446744073709551615},
        "attrs": {"k8s": {"pod": "api-1", "labels": {"app": "api"}}},
        "blob": "aGVsbG8=", "legacy_time": "2026/11/20 08:30:00", "epoch_s": 1795132800,
        "Host": "EDGE", "host": "edge", "dt": "not-the-partition",
    }),
    # One field, two mappings in one day (day 1 = index 1 + the late document of index 2).
    Case("long_and_keyword_in_one_day_widen_to_string", DAY1, {"status": 200}),
    Case("long_and_double_in_one_day_widen_to_double", DAY1, {"ratio": 3}),
    Case("integer_and_long_in_one_day_stay_int64", DAY1, {"bytes": 2147483647}),
    # Coercion.
    Case("string_in_long", DAY1, {"http": {"status_code": "404"}}),
    Case("fraction_in_long_kept_in_unmapped", DAY1, {"http": {"status_code": 1.9}}),
    Case("integral_fraction_in_long", DAY1, {"http": {"status_code": 2.0}}),
    Case("string_true_in_boolean", DAY1, {"ok": "true"}),
    Case("string_false_in_boolean", DAY1, {"ok": "false"}),
    Case("numbers_and_booleans_in_string_fields", DAY1, {"user": 12, "message": 1.5, "Host": True}),
    Case("string_in_unsigned_long", DAY1, {"price": "7"}),
    # Arrays.
    Case("one_element_arrays_unwrapped", DAY1, {"user": ["solo"], "ok": [False], "http": {"status_code": [5]}}),
    Case("empty_arrays_are_null", DAY1, {"user": [], "score": [], "http": {"method": []}}),
    Case("multi_value_arrays_kept_in_unmapped", DAY1,
         {"user": ["a", "b"], "score": [1.5, -2.0], "http": {"method": ["GET", "HEAD"], "status_code": 200}}),
    Case("scalar_in_a_list_column", DAY1, {"tags": "single"}),
    Case("empty_list_column", DAY1, {"tags": []}),
    Case("nulls_inside_a_list_column", DAY1, {"tags": ["a", None, "b"]}),
    Case("nested_single_object", DAY1, {"events": {"name": "only"}}),
    Case("nested_with_nulls", DAY1, {"events": [{"name": None, "at": "2026-11-20T01:00:00+01:00"}, {"name": "b"}]}),
    Case("object_in_a_one_element_array", DAY1, {"http": [{"method": "POST", "status_code": 201}]}),
    Case("objects_in_a_multi_element_array", DAY1, {"http": [{"method": "GET"}, {"method": "PUT"}]}),
    Case("geo_point_in_a_one_element_array", DAY1, {"location": [{"lat": 1.5, "lon": 2.5}]}),
    # Dates.
    Case("timestamp_last_ms_of_the_day", DAY1, {"@timestamp": "2026-11-20T23:59:59.999Z"}),
    Case("timestamp_first_ms_of_the_day", DAY1, {"@timestamp": "2026-11-20T00:00:00.000Z"}),
    Case("timestamp_with_positive_offset", DAY1, {"@timestamp": "2026-11-20T08:00:00+05:30"}),
    Case("timestamp_on_the_previous_local_day", DAY1, {"@timestamp": "2026-11-19T20:00:00-08:00"}),
    Case("timestamp_without_offset_is_utc", DAY1, {"@timestamp": "2026-11-20T12:34:56"}),
    Case("timestamp_date_only", DAY1, {"@timestamp": "2026-11-20"}),
    Case("timestamp_epoch_millis_number", DAY1, {"@timestamp": 1795132801234}),
    Case("timestamp_epoch_millis_string", DAY1, {"@timestamp": "1795140000000"}),
    Case("timestamp_nanoseconds_at_ms_and_in_unmapped", DAY1, {"@timestamp": "2026-11-20T10:00:00.123456789Z"}),
    Case("custom_format_date", DAY1, {"legacy_time": "2026/11/20 23:59:59"}),
    Case("epoch_second_string", DAY1, {"epoch_s": "1795132801"}),
    Case("date_nanos_with_offset", DAY1, {"logged_at_ns": "2026-11-20T10:00:00.987654321+01:00"}),
    # Text, numbers, geo points, bytes.
    Case("unicode_text", DAY1, {"user": UNICODE, "message": UNICODE, "http": {"method": "😀"}}),
    Case("long_max", DAY1, {"http": {"status_code": 9223372036854775807}}),
    Case("long_min", DAY1, {"http": {"status_code": -9223372036854775808}}),
    Case("unsigned_long_max", DAY1, {"price": 18446744073709551615}),
    Case("unsigned_long_max_as_string", DAY1, {"price": "18446744073709551615"}),
    Case("unsigned_long_2_pow_63", DAY1, {"price": 9223372036854775808}),
    Case("negative_zero", DAY1, {"score": -0.0}),
    Case("geo_point_geojson_array", DAY1, {"location": [13.405, 52.52]}),
    Case("geo_point_lat_lon_string", DAY1, {"location": "52.52,13.405"}),
    Case("geo_point_wkt", DAY1, {"location": "POINT (13.405 52.52)"}),
    Case("binary_not_utf8", DAY1, {"blob": "AP8="}),
    Case("dotted_keys_in_source", DAY1, {"http.method": "PATCH", "http": {"status_code": 204}}),
    Case("disabled_object_holds_any_json", DAY1, {"payload": [1, "two", {"3": None}, -0.0]}),
    # Day 2: keyword status, dynamic: false.
    Case("late_document_lands_on_its_utc_day", DAY2, {"@timestamp": "2026-11-21T01:30:00+02:00", "status": "late"}),
    Case("keyword_status", DAY2, {"status": "ok", "ratio": 0.5}),
    Case("long_after_a_day_of_integer_and_long_stays_int64", DAY2, {"bytes": 3000000000}),
    Case("number_in_keyword_status", DAY2, {"status": 503}),
    Case("timestamp_first_ms_of_day_2", DAY2, {"@timestamp": "2026-11-21T00:00:00.000Z"}),
    Case("timestamp_last_ms_of_day_2", DAY2, {"@timestamp": "2026-11-21T23:59:59.999Z"}),
    Case("unmapped_fields_kept", DAY2, {
        "user": "bob", "request_id": "r-1", "debug": {"trace": [1, 2], "flag": None},
        "http": {"method": "GET", "referrer": "https://example.org/ü"},
    }),
    Case("unmapped_dotted_key", DAY2, {"kubernetes.pod": "api-1", "kubernetes": {"node": "n1"}}),
    Case("unmapped_big_integers", DAY2, {"trace_id": 18446744073709551615, "span_id": -9223372036854775808}),
    # The Elasticsearch emulator itself stores a number beyond 64 bits as a float: only OpenSearch keeps it.
    Case("integer_beyond_64_bits", DAY2, {"user": 2**96 + 1, "span": 2**96 + 1}, only="opensearch"),
    Case("plain_day_2", DAY2, {
        "message": "day two", "user": "carol", "ok": False, "score": 1e-300, "tags": ["x"], "price": 0,
        "location": {"lat": -33.9, "lon": 151.2}, "logged_at_ns": "2026-11-21T05:00:00.000000001Z",
        "http": {"method": "DELETE", "status_code": 500}, "events": [{"name": "e", "at": 1795219200000}],
    }),
    # Day 3: only fast-path types; documents that fit, then a few that do not.
    *[Case(f"plain_day_3_{i}", DAY3, {
        "@timestamp": f"2026-11-22T{i:02d}:15:00.{i:03d}Z", "message": f"request {i}", "user": f"user-{i}",
        "ok": i % 2 == 0, "score": i / 4, "ratio": i * 0.5, "status": 200 + i, "tags": ["blue", f"t{i}"],
        "logged_at_ns": f"2026-11-22T{i:02d}:15:00.{i:09d}Z", "region": "eu-west-1",
        "http": {"method": "GET", "status_code": 200, "route": f"/r/{i}"},
        "events": [{"name": "start", "at": f"2026-11-22T{i:02d}:14:59+01:00"}],
    }) for i in range(8)],
    Case("code_on_day_1", DAY1, {"code": 7}),
    Case("keyword_code_in_the_int64_column_of_day_1", DAY3, {"code": "42"}),
    Case("keyword_code_that_is_no_number_kept_in_unmapped", DAY3, {"code": "A-1"}),
    Case("string_in_long_on_day_3", DAY3, {"status": "10"}),
    Case("fraction_in_long_on_day_3", DAY3, {"status": 1.9}),
    Case("unicode_on_day_3", DAY3, {"message": UNICODE, "@timestamp": "2026-11-22T08:00:00+05:30"}),
]


# -- the expected values, from the README's rules ---------------------------------------------------

STRING_TYPES = {"keyword", "text", "wildcard", "constant_keyword", "match_only_text", "ip", "version"}
INTEGER_TYPES = {"long", "integer", "short", "byte"}
DOUBLE_TYPES = {"double", "float", "half_float", "scaled_float"}
TYPED_LEAVES = STRING_TYPES | INTEGER_TYPES | DOUBLE_TYPES | {
    "unsigned_long", "boolean", "binary", "date", "date_nanos", "geo_point"}
ENGINE_COLUMNS = {"_index", "_id", "_unmapped", "dt"}
ISO_DATE = re.compile(r"(\d{4}-\d\d-\d\d)(?:T(\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?)?(Z|[+-]\d\d:\d\d)?")


@dataclasses.dataclass(frozen=True)
class Json:
    """A column the README stores as JSON text: compared by meaning, not by spelling."""

    value: Any


def es_type(spec: dict[str, Any]) -> str:
    return spec.get("type", "object")


def is_struct(spec: dict[str, Any]) -> bool:
    return es_type(spec) == "object" and "properties" in spec and spec.get("enabled") is not False


def is_json_text(spec: dict[str, Any]) -> bool:
    """flattened, ``enabled: false`` objects and types es_assets does not know."""
    kind = es_type(spec)
    if kind in ("object", "nested"):
        return spec.get("enabled") is False
    return kind not in TYPED_LEAVES


def union(properties: list[dict[str, Any]]) -> dict[str, Any]:
    """The day's mapping: the union of its indices' mappings, widened where they disagree."""
    merged: dict[str, Any] = {}
    for props in properties:
        for key, spec in props.items():
            merged[key] = widen(merged[key], spec) if key in merged else spec
    return merged


def widen(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    if left == right:
        return left
    if is_struct(left) and is_struct(right):
        return {"properties": union([left["properties"], right["properties"]])}
    types = {es_type(left), es_type(right)}
    if types <= INTEGER_TYPES:
        return {"type": "long"}  # "int64 (one width, stable across days)"
    if types <= INTEGER_TYPES | DOUBLE_TYPES:
        return {"type": "double"}
    return {"type": "keyword"}


def keep_first_types(first_seen: dict[str, Any], today: dict[str, Any]) -> dict[str, Any]:
    """Today's mapping with every field typed as on the first day it appeared; new fields join ``first_seen``."""
    kept = {}
    for key, spec in today.items():
        if key not in first_seen:
            first_seen[key] = copy.deepcopy(spec)
        if is_struct(spec) and is_struct(first_seen[key]):
            kept[key] = {"properties": keep_first_types(first_seen[key]["properties"], spec["properties"])}
        else:
            kept[key] = first_seen[key]
    return kept


def column_names(keys: list[str], taken: set[str]) -> dict[str, str]:
    """Lower case ``[a-z0-9_]``, ``@timestamp`` → ``timestamp``, clashes numbered in sorted key order."""
    names: dict[str, str] = {}
    taken = set(taken)
    for key in sorted(keys):
        base = re.sub(r"[^a-z0-9_]", "_", key.removeprefix("@").lower())
        name, n = base, 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        names[key] = name
    return names


def expand_dotted_keys(value: dict[str, Any]) -> dict[str, Any]:
    """``{"a.b": 1, "a": {"c": 2}}`` is ``{"a": {"b": 1, "c": 2}}`` (no path of the corpus is given twice)."""
    expanded: dict[str, Any] = {}
    for key, item in value.items():
        head, *rest = key.split(".")
        for part in reversed(rest):
            item = {part: item}
        expanded[head] = {**expanded[head], **item} if head in expanded else item
    return expanded


def expected_document(properties: dict[str, Any], source: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(columns, ``_unmapped`` by dotted path) of one ``_source`` under the day's mapping."""
    unmapped: dict[str, Any] = {}
    return object_value(properties, source, "", unmapped, ENGINE_COLUMNS), unmapped


def object_value(properties: dict[str, Any], value: dict[str, Any], prefix: str, unmapped: dict[str, Any],
                 taken: set[str] = frozenset()) -> dict[str, Any]:
    columns = {key: spec for key, spec in properties.items() if es_type(spec) != "alias"}
    names = column_names(list(columns), taken)
    row = {}
    for key, raw in expand_dotted_keys(value).items():
        if key not in columns:
            unmapped[prefix + key] = raw
        elif raw is not None:
            row[names[key]] = field_value(columns[key], raw, prefix + key, unmapped)
    return row


def field_value(spec: dict[str, Any], raw: Any, path: str, unmapped: dict[str, Any]) -> Any:
    kind = es_type(spec)
    if kind == "nested" or path in ARRAY_FIELDS:  # list columns: a scalar is a one-element list
        items = raw if isinstance(raw, list) else [raw]
        if kind == "nested":
            return [None if item is None else object_value(spec["properties"], item, path + ".", unmapped)
                    for item in items]
        return [None if item is None else leaf_value(spec, item, path, unmapped) for item in items]
    if is_json_text(spec):
        return Json(raw)
    if isinstance(raw, list) and not is_geo_pair(kind, raw):  # scalar columns: unwrap, null, or keep aside
        if len(raw) > 1:
            unmapped[path] = raw
            return None
        if not raw or raw[0] is None:
            return None
        raw = raw[0]
    if kind == "object":
        return object_value(spec["properties"], raw, path + ".", unmapped)
    return leaf_value(spec, raw, path, unmapped)


def leaf_value(spec: dict[str, Any], raw: Any, path: str, unmapped: dict[str, Any]) -> Any:
    try:
        value = convert(spec, raw)
    except (ValueError, TypeError, ArithmeticError, KeyError):
        unmapped[path] = raw  # "the column is null and the original JSON value is kept in _unmapped"
        return None
    if es_type(spec) == "date" and epoch_ns(raw, spec.get("format")) % 10**6:
        unmapped[path] = raw  # "digits below the column's unit: ... its original text is kept in _unmapped as well"
    return value


def convert(spec: dict[str, Any], raw: Any) -> Any:
    kind = es_type(spec)
    if kind in STRING_TYPES:
        return raw if isinstance(raw, str) else json.dumps(raw)  # "a number in a string column is its JSON text"
    if isinstance(raw, bool) and kind != "boolean":
        raise TypeError("Elasticsearch takes no boolean as a number or a date")
    if kind in INTEGER_TYPES | {"unsigned_long"}:  # "10" → 10, 2.0 → 2; 1.9 is no integer ("exact or not at all")
        number = decimal.Decimal(raw) if isinstance(raw, (str, float)) else raw
        if number != int(number) or (isinstance(raw, float) and abs(raw) > 2**53):
            raise ValueError("not an integer, exactly")
        low, high = (0, 2**64) if kind == "unsigned_long" else (-(2**63), 2**63)
        if not low <= number < high:
            raise ValueError("beyond the column's range")
        return int(number) if kind in INTEGER_TYPES else decimal.Decimal(int(number))
    if kind in DOUBLE_TYPES:
        return float(raw)
    if kind == "boolean":
        return raw if isinstance(raw, bool) else {"true": True, "false": False}[raw]
    if kind == "binary":
        return base64.b64decode(raw)
    if kind == "date":  # milliseconds
        return from_epoch_ns(epoch_ns(raw, spec.get("format")) // 1_000_000 * 1_000_000)
    if kind == "date_nanos":
        return from_epoch_ns(epoch_ns(raw, spec.get("format")))
    if kind == "geo_point":
        return geo_point(raw)
    raise AssertionError(f"the corpus has no {kind} leaf")


def epoch_ns(raw: Any, date_format: str | None = None) -> int:
    if date_format == "epoch_second":
        return int(raw) * 10**9
    if date_format == "yyyy/MM/dd HH:mm:ss":
        moment = dt.datetime.strptime(raw, "%Y/%m/%d %H:%M:%S").replace(tzinfo=UTC)
        return (moment - EPOCH) // dt.timedelta(seconds=1) * 10**9
    if isinstance(raw, int) or raw.isdigit():  # epoch milliseconds
        return int(raw) * 10**6
    match = ISO_DATE.fullmatch(raw)
    assert match, f"the corpus has no date like {raw!r}"
    day, time, fraction, offset = match.groups()
    moment = dt.datetime.fromisoformat(f"{day}T{time or '00:00:00'}{offset or 'Z'}")  # no offset: UTC
    return (moment - EPOCH) // dt.timedelta(seconds=1) * 10**9 + int((fraction or "0").ljust(9, "0"))


def from_epoch_ns(nanoseconds: int) -> dt.datetime:
    # DuckDB reads timestamps in microseconds (date_nanos too): nanoseconds are checked on the Parquet files.
    return EPOCH + dt.timedelta(microseconds=nanoseconds // 1000)


def is_geo_pair(kind: str, raw: list[Any]) -> bool:
    return kind == "geo_point" and len(raw) == 2 and all(type(x) in (int, float) for x in raw)


def geo_point(raw: Any) -> dict[str, float]:
    if isinstance(raw, dict):
        return {"lat": float(raw["lat"]), "lon": float(raw["lon"])}
    if isinstance(raw, list):  # GeoJSON order
        return {"lat": float(raw[1]), "lon": float(raw[0])}
    if raw.startswith("POINT"):
        lon, lat = raw[raw.index("(") + 1:raw.index(")")].split()
        return {"lat": float(lat), "lon": float(lon)}
    lat, lon = raw.split(",")
    return {"lat": float(lat), "lon": float(lon)}


def utc_day(source: dict[str, Any]) -> dt.date:
    return from_epoch_ns(epoch_ns(source["@timestamp"])).date()


# -- comparing --------------------------------------------------------------------------------

class _Absent:
    def __repr__(self) -> str:
        return "<absent>"


ABSENT = _Absent()


def differences(actual: Any, expected: Any, path: str) -> list[str]:
    """Every place where ``actual`` differs from ``expected``; types count, and -0.0 is not 0.0."""
    if isinstance(expected, Json):
        if not isinstance(actual, str):
            return [f"{path}: the lake has {actual!r}, not JSON text of {expected.value!r}"]
        return differences(json.loads(actual), expected.value, f"{path} (JSON)")  # json keeps big integers
    if isinstance(expected, dict) and isinstance(actual, dict):
        return [d for key in sorted(expected.keys() | actual.keys())
                for d in differences(actual.get(key, ABSENT), expected.get(key, ABSENT), f"{path}.{key}")]
    if isinstance(expected, list) and isinstance(actual, list) and len(actual) == len(expected):
        return [d for i, (a, e) in enumerate(zip(actual, expected)) for d in differences(a, e, f"{path}[{i}]")]
    same = type(actual) is type(expected) and actual == expected
    if same and isinstance(expected, float):
        same = math.copysign(1.0, actual) == math.copysign(1.0, expected)
    return [] if same else [f"{path}: the lake has {actual!r}, the rules say {expected!r}"]


def by_leaf_path(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` and ``{"a.b": 1}`` both become ``{"a.b": 1}``: one path, two spellings."""
    if isinstance(value, dict) and value:
        return {path: leaf for key, item in value.items()
                for path, leaf in by_leaf_path(item, f"{prefix}{key}.").items()}
    return {prefix.removesuffix("."): value}


# -- the servers and the lake ----------------------------------------------------------------------

def cases_for(backend: str) -> list[Case]:
    return [case for case in CASES if case.only in (None, backend)]


def product(url: str) -> str:
    version = orjson.loads(HTTP.request("GET", url).data)["version"]
    return "opensearch" if version.get("distribution") == "opensearch" else "elasticsearch"


def index_day(url: str, index: str, mapping: dict[str, Any], cases: list[Case]) -> None:
    created = HTTP.request("PUT", f"{url}/{index}", body=orjson.dumps({"mappings": mapping}))
    assert created.status == 200, created.data
    # json, not orjson: orjson cannot write integers beyond 64 bits.
    body = "".join(
        json.dumps({"index": {"_index": index, "_id": case.name}}) + "\n" + json.dumps(case.source) + "\n"
        for case in cases
    )
    response = orjson.loads(HTTP.request("POST", f"{url}/_bulk?refresh=true", body=body.encode()).data)
    rejected = {item["index"]["_id"]: item["index"]["error"] for item in response["items"] if "error" in item["index"]}
    assert not response["errors"] and not rejected, rejected


def stored_documents(url: str, pattern: str) -> dict[str, dict[str, Any]]:
    """Every document as the server returns it, parsed with json (orjson would round integers beyond 64 bits)."""
    response = HTTP.request("POST", f"{url}/{pattern}/_search", body=orjson.dumps({"size": 1000, "sort": ["_doc"]}))
    hits = json.loads(response.data)["hits"]
    assert hits["total"]["value"] == len(hits["hits"])
    return {hit["_id"]: hit for hit in hits["hits"]}


@dataclasses.dataclass(frozen=True)
class Lake:
    backend: str
    config: Path
    documents: dict[str, dict[str, Any]]  # _id -> hit, as stored
    rows: list[dict[str, Any]]  # as read back with DuckDB
    day_mappings: dict[dt.date, dict[str, Any]]  # each day's columns: its indices' union, first-seen types
    expected_days: dict[str, dt.date]

    def cases(self) -> list[Case]:
        return cases_for(self.backend)

    def row(self, name: str) -> dict[str, Any]:
        return next(row for row in self.rows if row["_id"] == name)


@pytest.fixture(scope="module")
def lake(search_url: str, tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """The corpus in ``search_url``, three days materialized through Dagster, both ends read back."""
    backend = product(search_url)
    cases = cases_for(backend)
    prefix = unique_prefix("fidelity")
    mappings = index_mappings(backend)
    for day in DAYS:
        index_day(search_url, f"{prefix}{day:%Y.%m.%d}", mappings[day], [c for c in cases if c.index_day == day])

    config = write_config(tmp_path_factory.mktemp("fidelity"), search_url, f"{prefix}*", DAY1,
                          source={"page_size": 7, "slices": 2}, name=SOURCE)
    assert materialize_days(config, DAY1, DAY3).success

    settings = load_settings(config)
    expected_days = {case.name: utc_day(case.source) for case in cases}
    holders = {day: {case.index_day for case in cases if expected_days[case.name] == day} for day in DAYS}
    first_seen: dict[str, Any] = {}  # filled day by day, in the order the run extracts them
    day_mappings = {
        day: keep_first_types(first_seen, union([mappings[i]["properties"] for i in sorted(holders[day])]))
        for day in DAYS
    }
    return Lake(
        backend=backend,
        config=config,
        documents=stored_documents(search_url, f"{prefix}*"),
        rows=lake_rows(settings, SOURCE),
        day_mappings=day_mappings,
        expected_days=expected_days,
    )


# -- the tests ------------------------------------------------------------------------------------

def test_every_document_lands_once_on_its_utc_day(lake: Lake) -> None:
    # Also the premise of the widening cases: index 2's late document is on day 1, beside index 1's.
    assert lake.expected_days["late_document_lands_on_its_utc_day"] == DAY1
    assert len(lake.rows) == len(lake.documents) == len(lake.cases())
    assert {row["_id"]: row["dt"] for row in lake.rows} == lake.expected_days
    assert {row["_id"]: row["_index"] for row in lake.rows} == {
        name: hit["_index"] for name, hit in lake.documents.items()
    }


@pytest.mark.parametrize("case", [pytest.param(case, id=case.name) for case in CASES])
def test_every_value_follows_the_schema_rules(lake: Lake, case: Case) -> None:
    if case.only not in (None, lake.backend):
        pytest.skip(f"indexed on {case.only} only")
    source = lake.documents[case.name]["_source"]
    row = dict(lake.row(case.name))
    columns, unmapped = expected_document(lake.day_mappings[lake.expected_days[case.name]], source)

    actual_unmapped = row.pop("_unmapped")
    for engine_column in ("_index", "_id", "dt"):
        del row[engine_column]
    problems = differences(without_nulls(row), without_nulls(columns), "")
    problems += differences(
        by_leaf_path(json.loads(actual_unmapped)) if actual_unmapped is not None else {},
        by_leaf_path(unmapped) if unmapped else {},
        "_unmapped",
    )
    assert not problems, "\n".join([f"_source: {source}"] + problems)


def test_a_query_across_all_days_counts_every_document(lake: Lake) -> None:
    _, rows = run_query(f"SELECT dt, count(*) AS n FROM {SOURCE} GROUP BY dt ORDER BY dt", str(lake.config))
    expected = {day: sum(1 for d in lake.expected_days.values() if d == day) for day in DAYS}
    assert dict(rows) == expected
    assert run_query(f"SELECT count(*) FROM {SOURCE}", str(lake.config))[1] == [(len(lake.cases()),)]


def test_date_nanos_keep_nanoseconds_in_the_parquet_files(lake: Lake) -> None:
    # DuckDB reads them in microseconds; the files themselves must hold every nanosecond.
    published = LocalLake(load_settings(lake.config).lake.uri).published_partition
    table = pa.concat_tables(
        pq.read_table(path, columns=["_id", "logged_at_ns"])
        for day in DAYS for path in published(SOURCE, day).glob("*.parquet")  # type: ignore[union-attr]
    )
    actual = dict(zip(table.column("_id").to_pylist(), table.column("logged_at_ns").cast(pa.int64()).to_pylist()))
    expected = {
        name: epoch_ns(hit["_source"]["logged_at_ns"])
        for name, hit in lake.documents.items() if isinstance(hit["_source"].get("logged_at_ns"), str)
    }
    assert expected and {name: actual[name] for name in expected} == expected
