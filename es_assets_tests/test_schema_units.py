"""The README's "Schema rules", unit by unit: mappings → columns, and ``_source`` values → column values.

No servers: mappings are written by hand and pages are built as the bytes Elasticsearch sends.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import json
import random
import re
from typing import Any, Callable

import orjson
import pyarrow as pa
import pytest

from es_assets.schema.fields import build_schema
from es_assets.schema.pages import Page, PageParser
from es_assets.schema.registry import reconcile

UTC = dt.timezone.utc
TIMESTAMP = "2026-11-20T10:00:00Z"


# -- helpers ----------------------------------------------------------------------------------

def index_body(properties: dict[str, Any], **mapping: Any) -> dict[str, Any]:
    """A ``GET <index>/_mapping`` body with ``@timestamp`` (build_schema requires the timestamp field)."""
    return {"mappings": {"properties": {"@timestamp": {"type": "date"}, **properties}, **mapping}}


def arrow_schema(*indices: dict[str, Any], array_fields: tuple[str, ...] = ()) -> pa.Schema:
    return build_schema(
        {f"index-{i}": body for i, body in enumerate(indices)}, "@timestamp", array_fields
    ).arrow_schema


def source_columns(schema: pa.Schema) -> set[str]:
    """The columns that come from the mapping (the engine's own are first and last)."""
    assert schema.names[:2] == ["_index", "_id"] and schema.names[-1] == "_unmapped"
    return set(schema.names[2:-1])


def column_type(properties: dict[str, Any], column: str) -> pa.DataType:
    return arrow_schema(index_body(properties)).field(column).type


def response(sources: list[Any], dumps: Callable[[Any], bytes] = orjson.dumps,
             indices: list[str] | None = None) -> bytes:
    """A search response in the shape Elasticsearch sends (after the engine's filter_path); ``indices``
    are the hits' ``_index`` (default: every hit from ``index-0``)."""
    return dumps({
        "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
        "timed_out": False,
        "hits": {
            "total": {"value": len(sources), "relation": "eq"},
            "hits": [
                {"_index": indices[i] if indices else "index-0", "_id": str(i), "_source": source, "sort": [i]}
                for i, source in enumerate(sources)
            ],
        },
    })


def land(properties: dict[str, Any], source: dict[str, Any], array_fields: tuple[str, ...] = (),
         dumps: Callable[[Any], bytes] = orjson.dumps) -> tuple[dict[str, Any], dict[str, Any]]:
    """One document through PageParser.parse (the fast path, else DocumentNormalizer): columns and ``_unmapped``.

    The columns exclude ``_index``, ``_id`` and ``timestamp``; ``_unmapped`` is parsed ({} when null).
    """
    schema = build_schema({"index-0": index_body(properties)}, "@timestamp", array_fields)
    page = PageParser(schema).parse(response([{"@timestamp": TIMESTAMP, **source}], dumps), "test")
    row = page.table.to_pylist()[0]
    for column in ("_index", "_id", "timestamp"):
        del row[column]
    unmapped = row.pop("_unmapped")
    return row, json.loads(unmapped) if unmapped is not None else {}


def json_values(value: Any) -> list[Any]:
    """Every scalar and array inside a parsed JSON value, whatever the keys (to check nothing is lost)."""
    if isinstance(value, dict):
        return [v for item in value.values() for v in json_values(item)]
    if isinstance(value, list):
        return [value] + [v for item in value for v in json_values(item)]
    return [value]


def strict(value: Any) -> Any:
    """A form in which -0.0 differs from 0.0 and True from 1 (== treats each pair as equal)."""
    if isinstance(value, dict):
        return {key: strict(item) for key, item in value.items()}
    if isinstance(value, list):
        return [strict(item) for item in value]
    if isinstance(value, float):
        return ("float", value.hex())
    return (type(value).__name__, value)


KEYWORD = {"type": "keyword"}
LONG = {"type": "long"}


# -- build_schema: types --------------------------------------------------------------------

GEO_POINT = pa.struct([("lat", pa.float64()), ("lon", pa.float64())])
README_TYPE_TABLE = [
    ("date", {"type": "date"}, pa.timestamp("ms", tz="UTC")),
    ("date_nanos", {"type": "date_nanos"}, pa.timestamp("ns", tz="UTC")),
    *[(t, {"type": t}, pa.string()) for t in
      ("keyword", "text", "wildcard", "constant_keyword", "match_only_text", "ip", "version")],
    *[(t, {"type": t}, pa.int64()) for t in ("long", "integer", "short", "byte")],
    ("unsigned_long", {"type": "unsigned_long"}, pa.decimal128(20, 0)),
    *[(t, {"type": t}, pa.float64()) for t in ("double", "float", "half_float")],
    ("scaled_float", {"type": "scaled_float", "scaling_factor": 100}, pa.float64()),
    ("boolean", {"type": "boolean"}, pa.bool_()),
    ("binary", {"type": "binary"}, pa.binary()),
    ("geo_point", {"type": "geo_point"}, GEO_POINT),
    ("object_without_type", {"properties": {"a": LONG, "b": KEYWORD}},
     pa.struct([("a", pa.int64()), ("b", pa.string())])),
    ("object", {"type": "object", "properties": {"a": LONG}}, pa.struct([("a", pa.int64())])),
    ("nested", {"type": "nested", "properties": {"a": KEYWORD}}, pa.list_(pa.struct([("a", pa.string())]))),
    ("flattened", {"type": "flattened"}, pa.string()),
    ("enabled_false", {"type": "object", "enabled": False}, pa.string()),
    ("unknown_type", {"type": "histogram"}, pa.string()),
]


@pytest.mark.parametrize(("spec", "arrow_type"), [(spec, t) for _, spec, t in README_TYPE_TABLE],
                         ids=[name for name, _, _ in README_TYPE_TABLE])
def test_each_type_of_the_readme_table_has_its_arrow_type(spec: dict[str, Any], arrow_type: pa.DataType) -> None:
    assert column_type({"field": spec}, "field") == arrow_type


def test_the_engine_adds_index_id_and_unmapped_columns() -> None:
    schema = arrow_schema(index_body({"message": KEYWORD}))
    assert source_columns(schema) == {"message", "timestamp"}
    assert (schema.field("_index").type, schema.field("_id").type, schema.field("_unmapped").type) == (
        pa.string(), pa.string(), pa.string()
    )


def test_multi_fields_aliases_and_runtime_fields_are_not_columns() -> None:
    schema = arrow_schema(index_body(
        {"message": {"type": "text", "fields": {"keyword": KEYWORD}}, "msg": {"type": "alias", "path": "message"}},
        runtime={"day_of_week": {"type": "keyword"}},
    ))
    assert source_columns(schema) == {"message", "timestamp"}


def test_an_alias_does_not_take_a_column_name() -> None:
    schema = arrow_schema(index_body({"Host": {"type": "alias", "path": "host"}, "host": KEYWORD}))
    assert "host" in schema.names


def test_array_fields_and_nested_fields_are_lists() -> None:
    schema = arrow_schema(index_body({"tags": KEYWORD, "k8s": {"properties": {"labels": KEYWORD}}}),
                          array_fields=("tags", "k8s.labels"))
    assert schema.field("tags").type == pa.list_(pa.string())
    assert schema.field("k8s").type == pa.struct([("labels", pa.list_(pa.string()))])


# -- build_schema: names --------------------------------------------------------------------

def test_at_timestamp_becomes_timestamp() -> None:
    assert source_columns(arrow_schema(index_body({}))) == {"timestamp"}


def test_names_are_lower_case_identifiers() -> None:
    schema = arrow_schema(index_body({"Kubernetes-Pod Name": KEYWORD, "Größe": LONG, "1st": LONG}))
    names = source_columns(schema)
    assert len(names) == 4 and all(re.fullmatch(r"[a-z0-9_]+", name) for name in names), names
    assert "kubernetes_pod_name" in names


def test_clashing_names_get_suffixes_in_sorted_order_of_the_original_keys() -> None:
    # Two key orders on purpose: the names must not depend on the order of the mapping's keys.
    forward = arrow_schema(index_body({"Foo": KEYWORD, "foo": LONG, "FOO": {"type": "double"}}))
    backward = arrow_schema(index_body({"foo": LONG, "Foo": KEYWORD, "FOO": {"type": "double"}}))
    assert forward == backward
    # sorted(["FOO", "Foo", "foo"]) == ["FOO", "Foo", "foo"]
    assert (forward.field("foo").type, forward.field("foo_2").type, forward.field("foo_3").type) == (
        pa.float64(), pa.string(), pa.int64()
    )


def test_clashing_names_inside_an_object_get_suffixes_too() -> None:
    assert column_type({"obj": {"properties": {"Foo": KEYWORD, "foo": LONG}}}, "obj") == pa.struct(
        [("foo", pa.string()), ("foo_2", pa.int64())]
    )


def test_a_field_named_like_an_engine_column_does_not_replace_it() -> None:
    schema = arrow_schema(index_body({"dt": KEYWORD, "_unmapped": LONG}))
    # `dt` is the Hive partition column readers add; `_unmapped` is the engine's own.
    assert source_columns(schema) == {"dt_2", "_unmapped_2", "timestamp"}
    assert schema.field("_unmapped").type == pa.string()


def test_dotted_mapping_keys_are_the_same_path_as_nested_properties() -> None:
    dotted = index_body({"http.status": LONG, "http": {"properties": {"method": KEYWORD}}})
    nested = index_body({"http": {"properties": {"status": LONG}}})
    expected = pa.struct([("method", pa.string()), ("status", pa.int64())])
    assert arrow_schema(dotted).field("http").type == expected
    assert arrow_schema(dotted, nested).field("http").type == expected


# -- build_schema: one field, several indices -----------------------------------------------------

@pytest.mark.parametrize(("left", "right", "widened"), [
    pytest.param("long", "keyword", pa.string(), id="long+keyword->string"),
    pytest.param("long", "double", pa.float64(), id="long+double->double"),
    pytest.param("integer", "float", pa.float64(), id="integer+float->double"),
    pytest.param("keyword", "text", pa.string(), id="keyword+text->string"),
    pytest.param("integer", "long", pa.int64(), id="integer+long->int64"),
    pytest.param("short", "byte", pa.int64(), id="short+byte->int64"),
])
def test_a_field_mapped_differently_in_two_indices_widens(left: str, right: str, widened: pa.DataType) -> None:
    schema = arrow_schema(index_body({"value": {"type": left}}), index_body({"value": {"type": right}}))
    assert schema.field("value").type == widened


def test_objects_in_two_indices_merge_their_fields() -> None:
    schema = arrow_schema(index_body({"http": {"properties": {"method": KEYWORD}}}),
                          index_body({"http": {"properties": {"route": KEYWORD}}}))
    assert schema.field("http").type == pa.struct([("method", pa.string()), ("route", pa.string())])


# -- values: arrays ---------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "column", "unmapped"), [
    pytest.param("a", "a", {}, id="scalar"),
    pytest.param(["a"], "a", {}, id="one-element-array-unwrapped"),
    pytest.param([], None, {}, id="empty-array-is-null"),
    pytest.param([None], None, {}, id="array-of-one-null-is-null"),
    pytest.param(["a", "b"], None, {"user": ["a", "b"]}, id="multi-value-kept-whole-in-unmapped"),
])
def test_arrays_in_a_scalar_column(raw: Any, column: Any, unmapped: dict[str, Any]) -> None:
    assert land({"user": KEYWORD}, {"user": raw}) == ({"user": column}, unmapped)


@pytest.mark.parametrize(("raw", "column"), [
    pytest.param("a", ["a"], id="scalar-becomes-one-element-list"),
    pytest.param([], [], id="empty-array-stays-empty"),
    pytest.param(["a", None, "b"], ["a", None, "b"], id="nulls-inside-stay-null"),
    pytest.param([1, "2"], ["1", "2"], id="each-element-coerced"),
])
def test_arrays_in_a_list_column(raw: Any, column: Any) -> None:
    assert land({"tags": KEYWORD}, {"tags": raw}, array_fields=("tags",)) == ({"tags": column}, {})


NESTED = {"type": "nested", "properties": {"name": KEYWORD, "n": LONG}}


@pytest.mark.parametrize(("raw", "column"), [
    pytest.param({"name": "a"}, [{"name": "a", "n": None}], id="single-object-becomes-list"),
    pytest.param([{"name": "a", "n": 1}, {"name": None, "n": "2"}], [{"name": "a", "n": 1}, {"name": None, "n": 2}],
                 id="array-of-objects"),
    pytest.param([{"name": "a"}, None], [{"name": "a", "n": None}, None], id="null-element-stays-null"),
    pytest.param([], [], id="empty"),
])
def test_nested_fields_are_lists_of_structs(raw: Any, column: Any) -> None:
    assert land({"events": NESTED}, {"events": raw}) == ({"events": column}, {})


def test_values_kept_aside_inside_nested_elements_are_all_kept() -> None:
    row, unmapped = land({"events": NESTED}, {"events": [{"name": "a", "n": [1, 2], "x": "first"},
                                                         {"name": "b", "n": [3, 4], "x": "second"}]})
    assert row == {"events": [{"name": "a", "n": None}, {"name": "b", "n": None}]}
    kept = json_values(unmapped)
    assert [1, 2] in kept and [3, 4] in kept and "first" in kept and "second" in kept


HTTP = {"properties": {"method": KEYWORD, "status": LONG}}


def test_an_object_in_a_one_element_array_is_unwrapped() -> None:
    assert land({"http": HTTP}, {"http": [{"method": "GET"}]}) == ({"http": {"method": "GET", "status": None}}, {})


def test_objects_in_a_multi_element_array_are_kept_whole_in_unmapped() -> None:
    objects = [{"method": "GET"}, {"method": "PUT", "status": 201}]
    assert land({"http": HTTP}, {"http": objects}) == ({"http": None}, {"http": objects})


def test_a_geo_point_in_a_one_element_array_is_unwrapped() -> None:
    assert land({"where": {"type": "geo_point"}}, {"where": [{"lat": 1.5, "lon": 2.5}]}) == (
        {"where": {"lat": 1.5, "lon": 2.5}}, {}
    )


# -- values: coercion, exact or not at all ------------------------------------------------------

@pytest.mark.parametrize(("spec", "raw", "column"), [
    pytest.param(LONG, "10", 10, id="string-in-long"),
    pytest.param(LONG, 2.0, 2, id="integral-fraction-in-long"),
    pytest.param(LONG, -3.0, -3, id="negative-integral-fraction-in-long"),
    pytest.param(LONG, 1e3, 1000, id="exponent-in-long"),
    pytest.param(LONG, "2.0", 2, id="integral-fraction-string-in-long"),
    pytest.param(LONG, 2.0**53, 2**53, id="2^53-as-a-fraction-in-long"),
    pytest.param({"type": "integer"}, "-7", -7, id="string-in-integer"),
    pytest.param({"type": "double"}, "1.5", 1.5, id="string-in-double"),
    pytest.param({"type": "double"}, 3, 3.0, id="integer-in-double"),
    pytest.param({"type": "double"}, "3", 3.0, id="integer-string-in-double"),
    pytest.param({"type": "double"}, 0.1, 0.1, id="decimal-fraction-is-the-nearest-double"),
    pytest.param({"type": "double"}, 2**53, float(2**53), id="2^53-in-double"),
    pytest.param({"type": "boolean"}, "true", True, id="string-true"),
    pytest.param({"type": "boolean"}, "false", False, id="string-false"),
    pytest.param(KEYWORD, 12, "12", id="integer-in-keyword"),
    pytest.param(KEYWORD, 1.5, "1.5", id="float-in-keyword"),
    pytest.param(KEYWORD, True, "true", id="boolean-in-keyword"),
    pytest.param({"type": "text"}, -3, "-3", id="integer-in-text"),
    pytest.param({"type": "unsigned_long"}, "42", decimal.Decimal(42), id="string-in-unsigned-long"),
    pytest.param({"type": "unsigned_long"}, 42.0, decimal.Decimal(42), id="integral-fraction-in-unsigned-long"),
    pytest.param({"type": "binary"}, "AP8=", b"\x00\xff", id="binary-base64-decoded"),
    pytest.param({"type": "geo_point"}, {"lat": "1.5", "lon": 2}, {"lat": 1.5, "lon": 2.0}, id="geo-point-strings"),
])
def test_a_value_that_converts_exactly_is_coerced(spec: dict[str, Any], raw: Any, column: Any) -> None:
    row, unmapped = land({"field": spec}, {"field": raw})
    assert (strict(row), unmapped) == (strict({"field": column}), {})


def page_with_literal(literal: str) -> bytes:
    """A one-document page whose ``field`` is the JSON text ``literal`` exactly as written
    (``1e400``, ``NaN``: texts no Python value serializes to)."""
    return response([{"@timestamp": TIMESTAMP, "field": "<literal>"}]).replace(b'"<literal>"', literal.encode())


def exactly(value: Any) -> Any:
    """A parsed JSON value in which numbers compare by their exact value (NaN too)."""
    if isinstance(value, dict):
        return {key: exactly(item) for key, item in value.items()}
    if isinstance(value, list):
        return [exactly(item) for item in value]
    if isinstance(value, (float, int)) and not isinstance(value, bool):
        return ("number", repr(decimal.Decimal(value).normalize()))
    if isinstance(value, decimal.Decimal):
        return ("number", repr(value.normalize()))
    return value


def exact_json(text: str) -> Any:
    return exactly(json.loads(text, parse_float=decimal.Decimal, parse_constant=decimal.Decimal))


NOT_EXACT = [  # (column type, JSON text): no value of the column equals it
    *[(LONG, literal) for literal in (
        "1.5", "-1.9", "2.25", '"1.9"', "0.99999999999999999", "4503599627370496.5", "9.3e18",
        "9223372036854775808", "-9223372036854775809", "1e400", '"abc"', '" 10"', '"1_000"', "true",
        '"NaN"', '"Infinity"', "NaN", "-Infinity", '{"a": 1}')],
    *[({"type": "unsigned_long"}, literal) for literal in (
        "-1", "18446744073709551616", "1.5", '"0.5"', "true", '"abc"', "1e400")],
    *[({"type": "double"}, literal) for literal in (
        "1e400", "-1e400", '"1e400"', '"NaN"', '"Infinity"', '"-Infinity"', "NaN", "Infinity",
        "9007199254740993", '"9007199254740993"', "18446744073709551617", '"abc"', '""', "true")],
    *[({"type": "boolean"}, literal) for literal in ('""', '"yes"', '"True"', "1", "0", "1.5")],
    *[({"type": "date"}, literal) for literal in (
        '"tomorrow"', '"2026-02-30"', '"2026-11-20T24:00:00Z"', '"2026-11-20T10:00:60Z"',
        '"2026-11-20T10:00:00+0160"', '"10000-01-01"', "true", "1e30", "1e400", '"2026-11-20T10:00:00.Z"')],
    *[({"type": "date_nanos"}, literal) for literal in (
        '"1500-01-01T00:00:00Z"', '"2300-01-01T00:00:00Z"', "1e400", "-1e30", '"tomorrow"')],
    *[({"type": "binary"}, literal) for literal in ('"not base64!"', '"AP9="', '"AP8"', '"AP8=\\n"', "12")],
    *[({"type": "geo_point"}, literal) for literal in (
        '{"lat": 1, "lon": 2, "z": 3}', "[1, 2, 3]", '"u33dc0"', '"POINT (1 2 3)"', '{"lat": "NaN", "lon": 1}',
        '{"lat": 1e400, "lon": 1}', '{"type": "Point", "coordinates": [1, 2]}', "true")],
    *[(KEYWORD, literal) for literal in ('{"a": 1}', "[[1]]")],
]


@pytest.mark.parametrize(("spec", "literal"), [pytest.param(s, lit, id=f"{s.get('type')}:{lit}") for s, lit in NOT_EXACT])
def test_a_value_that_does_not_convert_exactly_is_kept_in_unmapped_on_both_paths(
        spec: dict[str, Any], literal: str) -> None:
    schema = build_schema({"index-0": index_body({"field": spec})}, "@timestamp")
    parser = PageParser(schema)
    data = page_with_literal(literal)

    page = parser.parse(data, "test")

    assert page.unmapped_documents == 1
    assert page.table.column("field").to_pylist() == [None]
    assert exact_json(page.table.column("_unmapped")[0].as_py()) == {"field": exact_json(literal)}
    assert_same_tables(page, parser.parse_exactly(data, "test"))


@pytest.mark.parametrize("text", ["u33dc0", "POINT (1 2 3)", "1,2,3", "north,east", ""])
def test_a_geo_point_text_es_assets_does_not_read_is_set_aside_without_the_exact_path(text: str) -> None:
    """Geohashes above all: the text kernel cannot read them, the exact rule keeps them in
    _unmapped, and the fast path does so itself, row in place."""
    schema = build_schema({"index-0": index_body({"field": {"type": "geo_point"}})}, "@timestamp")
    parser = PageParser(schema)
    data = page_with_literal(json.dumps(text))

    page = parser.parse(data, "test")

    assert page.slow_documents == 0 and page.unmapped_documents == 1
    assert page.table.column("field").to_pylist() == [None]
    assert json.loads(page.table.column("_unmapped")[0].as_py()) == {"field": text}
    assert_same_tables(page, parser.parse_exactly(data, "test"))


def test_the_long_column_of_day_1_keeps_day_2_doubles_that_are_no_integers_in_unmapped() -> None:
    day1 = build_schema({"day-1": index_body({"ratio": LONG})}, "@timestamp")
    day2 = build_schema({"day-2": index_body({"ratio": {"type": "double"}})}, "@timestamp")
    fields, drift = reconcile(day1.fields, day2.fields)
    assert drift.conflicts == ("ratio: integer in the table, double today",)
    data = response([{"@timestamp": TIMESTAMP, "ratio": ratio} for ratio in (1.5, 3.0, 2.25, 7, -0.5)])

    page = PageParser(dataclasses.replace(day2, fields=fields)).parse(data, "test")

    assert page.table.schema.field("ratio").type == pa.int64()
    assert page.table.column("ratio").to_pylist() == [None, 3, None, 7, None]
    assert [json.loads(u) if u else None for u in page.table.column("_unmapped").to_pylist()] == [
        {"ratio": 1.5}, None, {"ratio": 2.25}, None, {"ratio": -0.5}]


def test_an_integer_beyond_64_bits_in_a_keyword_is_its_json_text() -> None:
    big = 123456789012345678901234567890
    row, unmapped = land({"code": KEYWORD}, {"code": big}, dumps=lambda v: json.dumps(v).encode())
    assert (row, unmapped) == ({"code": str(big)}, {})


# -- values: big numbers and signed zero ---------------------------------------------------------

@pytest.mark.parametrize(("spec", "raw", "column"), [
    pytest.param(LONG, 2**63 - 1, 2**63 - 1, id="long-max"),
    pytest.param(LONG, -(2**63), -(2**63), id="long-min"),
    pytest.param(LONG, str(2**63 - 1), 2**63 - 1, id="long-max-as-string"),
    pytest.param({"type": "unsigned_long"}, 2**64 - 1, decimal.Decimal(2**64 - 1), id="unsigned-long-max"),
    pytest.param({"type": "unsigned_long"}, str(2**64 - 1), decimal.Decimal(2**64 - 1), id="unsigned-max-string"),
    pytest.param({"type": "unsigned_long"}, 2**63, decimal.Decimal(2**63), id="unsigned-long-2^63"),
    pytest.param({"type": "unsigned_long"}, 0, decimal.Decimal(0), id="unsigned-long-zero"),
    pytest.param({"type": "double"}, -0.0, -0.0, id="negative-zero"),
    pytest.param({"type": "double"}, 1.7976931348623157e308, 1.7976931348623157e308, id="double-max"),
    pytest.param({"type": "double"}, 5e-324, 5e-324, id="smallest-subnormal"),
    pytest.param({"type": "double"}, 2**63, float(2**63), id="2^63-in-double"),
])
def test_big_numbers_and_signed_zero_keep_their_value(spec: dict[str, Any], raw: Any, column: Any) -> None:
    row, unmapped = land({"n": spec}, {"n": raw})
    assert (strict(row), unmapped) == (strict({"n": column}), {})


@pytest.mark.parametrize(("spec", "raw"), [
    pytest.param(LONG, 2**63, id="2^63-in-long"),
    pytest.param(LONG, 2**64 - 1, id="2^64-1-in-long"),
    pytest.param({"type": "unsigned_long"}, -1, id="negative-in-unsigned-long"),
])
def test_an_out_of_range_integer_is_kept_exactly_in_unmapped(spec: dict[str, Any], raw: int) -> None:
    assert land({"n": spec}, {"n": raw}) == ({"n": None}, {"n": raw})


# -- values: dates ------------------------------------------------------------------------------

def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


DATE = {"type": "date"}


@pytest.mark.parametrize(("spec", "raw", "moment"), [
    pytest.param(DATE, "2026-11-20T10:00:00Z", utc(2026, 11, 20, 10), id="iso-z"),
    pytest.param(DATE, "2026-11-20T08:00:00+05:30", utc(2026, 11, 20, 2, 30), id="iso-plus-05:30"),
    pytest.param(DATE, "2026-11-19T20:00:00-08:00", utc(2026, 11, 20, 4), id="iso-minus-08:00-next-utc-day"),
    pytest.param(DATE, "2026-11-20T10:00:00.5+0100", utc(2026, 11, 20, 9, 0, 0, 500_000), id="iso-plus-0100"),
    pytest.param(DATE, "2026-11-20T10:00:00", utc(2026, 11, 20, 10), id="no-offset-is-utc"),
    pytest.param(DATE, "2026-11-20", utc(2026, 11, 20), id="date-only"),
    pytest.param(DATE, "2026-11-20T23:59:59.999Z", utc(2026, 11, 20, 23, 59, 59, 999_000), id="last-ms-of-day"),
    pytest.param(DATE, "2026-11-21T00:00:00.000Z", utc(2026, 11, 21), id="first-ms-of-next-day"),
    pytest.param(DATE, 1795132800000, utc(2026, 11, 20), id="epoch-millis-number"),
    pytest.param(DATE, "1795132800123", utc(2026, 11, 20, 0, 0, 0, 123_000), id="epoch-millis-string"),
    pytest.param({"type": "date", "format": "epoch_second"}, 1795132800, utc(2026, 11, 20), id="epoch-second"),
    pytest.param({"type": "date", "format": "epoch_second"}, "1795132801", utc(2026, 11, 20, 0, 0, 1),
                 id="epoch-second-string"),
    pytest.param({"type": "date", "format": "yyyy/MM/dd HH:mm:ss"}, "2026/11/20 23:59:59",
                 utc(2026, 11, 20, 23, 59, 59), id="custom-format"),
    pytest.param({"type": "date", "format": "yyyy/MM/dd HH:mm:ss||epoch_millis"}, 1795132800000,
                 utc(2026, 11, 20), id="custom-format-or-epoch-millis"),
])
def test_dates_are_read_as_documented(spec: dict[str, Any], raw: Any, moment: dt.datetime) -> None:
    assert land({"when": spec}, {"when": raw}) == ({"when": moment}, {})


@pytest.mark.parametrize(("spec", "raw", "in_unit"), [
    pytest.param(DATE, "2026-11-20T23:59:59.999999999Z", 1795219199999, id="nanos-in-a-date"),
    pytest.param(DATE, "2026-11-20T10:00:00.1234+01:00", 1795165200123, id="a-tenth-of-a-ms-in-a-date"),
    pytest.param(DATE, 1795132800000.5, 1795132800000, id="fraction-of-an-epoch-ms-in-a-date"),
    pytest.param(DATE, "-1.5", -2, id="before-1970-truncates-to-the-earlier-ms"),
    pytest.param({"type": "date_nanos"}, "2026-11-20T10:00:00.1234567891Z", 1795168800123456789,
                 id="ten-digits-in-a-date-nanos"),
])
def test_a_date_finer_than_its_column_keeps_the_instant_and_its_original_text(
        spec: dict[str, Any], raw: Any, in_unit: int) -> None:
    schema = build_schema({"index-0": index_body({"when": spec})}, "@timestamp")
    page = PageParser(schema).parse(response([{"@timestamp": TIMESTAMP, "when": raw}]), "test")
    assert page.table.column("when").cast(pa.int64()).to_pylist() == [in_unit]
    assert json.loads(page.table.column("_unmapped")[0].as_py()) == {"when": raw}


@pytest.mark.parametrize(("raw", "nanoseconds"), [
    pytest.param("2026-11-20T10:00:00.123456789Z", 1795168800_123456789, id="nanos-kept"),
    pytest.param("2026-11-20T10:00:00.123456789+01:00", 1795165200_123456789, id="nanos-with-offset"),
    pytest.param("2026-11-20", 1795132800_000000000, id="date-only"),
    pytest.param(1795132800123, 1795132800_123000000, id="epoch-millis"),
])
def test_date_nanos_keep_nanoseconds(raw: Any, nanoseconds: int) -> None:
    schema = build_schema({"index-0": index_body({"when": {"type": "date_nanos"}})}, "@timestamp")
    table = PageParser(schema).parse(response([{"@timestamp": TIMESTAMP, "when": raw}]), "test").table
    assert table.column("when").cast(pa.int64()).to_pylist() == [nanoseconds]


# -- values: text, unmapped, dotted keys, names ----------------------------------------------------

@pytest.mark.parametrize("text", [
    pytest.param("😀🚀 emoji", id="emoji"),
    pytest.param("مرحبا بالعالم", id="arabic-rtl"),
    pytest.param("\u202eRTL override\u202c and \u200fmark", id="bidi-controls"),
    pytest.param("nul\u0000inside", id="nul"),
    pytest.param("e\u0301 combining, 中文, \t tab \n newline \"quote\" \\backslash", id="mixed"),
])
@pytest.mark.parametrize("ascii_escaped", [False, True], ids=["utf8", "json-escaped"])
def test_unicode_text_is_kept_exactly(text: str, ascii_escaped: bool) -> None:
    # Clients that index with json.dumps send \uXXXX escapes (surrogate pairs for emoji).
    dumps = (lambda v: json.dumps(v).encode()) if ascii_escaped else orjson.dumps
    assert land({"message": {"type": "text"}}, {"message": text}, dumps=dumps) == ({"message": text}, {})


def test_a_document_that_fits_has_no_unmapped() -> None:
    assert land({"user": KEYWORD}, {"user": "alice"}) == ({"user": "alice"}, {})


def test_fields_the_mapping_does_not_describe_are_kept_in_unmapped_by_dotted_path() -> None:
    row, unmapped = land({"http": HTTP}, {"http": {"method": "GET", "referrer": "x"},
                                          "debug": {"trace": [1, 2], "big": 2**64 - 1}})
    assert row == {"http": {"method": "GET", "status": None}}
    assert unmapped == {"http.referrer": "x", "debug": {"trace": [1, 2], "big": 2**64 - 1}}


def test_a_disabled_object_is_its_json_text() -> None:
    payload = {"b": [1, {"c": None}], "a": "x", "big": 2**64 - 1}
    row, unmapped = land({"payload": {"type": "object", "enabled": False}}, {"payload": payload})
    assert json.loads(row["payload"]) == payload and unmapped == {}


def test_dotted_keys_in_source_are_the_same_path_as_objects() -> None:
    row, unmapped = land({"http": HTTP}, {"http.status": "201", "http": {"method": "PUT"}})
    assert (row, unmapped) == ({"http": {"method": "PUT", "status": 201}}, {})


def test_one_path_given_twice_loses_no_value() -> None:
    row, unmapped = land({"http": HTTP}, {"http.status": 200, "http": {"status": 404}})
    assert row["http"]["status"] is None
    kept = json_values(unmapped)
    assert 200 in kept and 404 in kept


def test_clashing_keys_land_in_their_numbered_columns() -> None:
    row, _ = land({"Foo": KEYWORD, "foo": KEYWORD}, {"Foo": "upper", "foo": "lower"})
    assert row == {"foo": "upper", "foo_2": "lower"}


# -- property: fast path == exact path ------------------------------

PROPERTY_MAPPING = index_body({
    "Foo": KEYWORD,
    "foo": {"type": "text", "fields": {"keyword": KEYWORD}},
    "count": LONG,
    "ratio": {"type": "double"},
    "ok": {"type": "boolean"},
    "logged_at": {"type": "date_nanos"},
    "tags": KEYWORD,
    "http": {"properties": {"method": KEYWORD, "status": {"type": "integer"}, "latency": {"type": "float"}}},
    "events": {"type": "nested", "properties": {"name": KEYWORD, "at": DATE}},
    "k8s.pod": KEYWORD,
})
ALPHABET = list("aZ09 _-.:/") + ["\u0000", "\"", "\\", "\n", "é", "e\u0301", "😀", "م", "ע", "中", "\u200f", "\ufeff"]


def random_text(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 12)))


def random_long(rng: random.Random) -> int:
    return rng.choice([0, -1, 2**63 - 1, -(2**63), 2**53 + 1, rng.randint(-(2**63), 2**63 - 1)])


def random_double(rng: random.Random) -> float | int:
    """A double the fast path takes: below 2**53 and not -0.0 (pages with others take the exact path,
    as the tests with NOT_EXACT and EDGE_LITERALS hold)."""
    special = [0.0, 1e-99, 2.0**53 - 1, 0.1, 3, 0.30000000000000004]
    if rng.random() < 0.3:
        return rng.choice(special)
    return float.fromhex(f"{rng.choice('+-')}0x1.{rng.getrandbits(52):013x}p{rng.randint(-300, 52)}")


def random_date(rng: random.Random, fraction_digits: int, earliest_year: int) -> str:
    moment = dt.datetime(earliest_year, 1, 1, tzinfo=UTC) + dt.timedelta(
        seconds=rng.randint(0, 300 * 365 * 86_400 if earliest_year < 1970 else 290 * 365 * 86_400))
    if rng.random() < 0.15:
        return moment.date().isoformat()
    offset = rng.choice([None, 0, 330, -480, 60, -59])
    local = moment if offset is None else moment.astimezone(dt.timezone(dt.timedelta(minutes=offset)))
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    digits = rng.randint(0, fraction_digits)
    if digits:
        text += "." + "".join(rng.choice("0123456789") for _ in range(digits))
    if offset is None:
        return text
    if offset == 0:
        return text + "Z"
    return text + local.strftime("%z")[:3] + ":" + local.strftime("%z")[3:]


def maybe(rng: random.Random, make: Callable[[], Any]) -> Any:
    """A value, an explicit null, or nothing (the key is left out)."""
    roll = rng.random()
    return make() if roll < 0.7 else None if roll < 0.8 else ...


def random_fitting_document(rng: random.Random) -> dict[str, Any]:
    """A _source that fits PROPERTY_MAPPING as written (so the fast path must accept it)."""
    document = {
        "@timestamp": random_date(rng, fraction_digits=3, earliest_year=1900),
        "Foo": maybe(rng, lambda: random_text(rng)),
        "foo": maybe(rng, lambda: random_text(rng)),
        "count": maybe(rng, lambda: random_long(rng)),
        "ratio": maybe(rng, lambda: random_double(rng)),
        "ok": maybe(rng, lambda: rng.random() < 0.5),
        "logged_at": maybe(rng, lambda: random_date(rng, fraction_digits=9, earliest_year=1970)),
        "tags": maybe(rng, lambda: [rng.choice([random_text(rng), None]) for _ in range(rng.randint(0, 3))]),
        "http": maybe(rng, lambda: {key: value for key, value in {
            "method": maybe(rng, lambda: rng.choice(["GET", "POST", ""])),
            "status": maybe(rng, lambda: rng.randint(-(2**31), 2**31 - 1)),
            "latency": maybe(rng, lambda: random_double(rng)),
        }.items() if value is not ...}),
        "events": maybe(rng, lambda: [
            None if rng.random() < 0.1 else {"name": random_text(rng),
                                             "at": random_date(rng, fraction_digits=3, earliest_year=1900)}
            for _ in range(rng.randint(0, 3))
        ]),
        "k8s": maybe(rng, lambda: {"pod": random_text(rng)}),
    }
    return {key: value for key, value in document.items() if value is not ...}


@pytest.mark.parametrize("seed", range(40))
def test_fast_and_exact_paths_return_equal_tables(seed: int) -> None:
    rng = random.Random(seed)
    schema = build_schema({"index-0": PROPERTY_MAPPING}, "@timestamp", ["tags"])
    parser = PageParser(schema)
    data = response([random_fitting_document(rng) for _ in range(25)])

    fast, exact = parser.parse(data, "test"), parser.parse_exactly(data, "test")

    assert fast.slow_documents == 0 and exact.slow_documents == 25
    assert_same_tables(fast, exact)
    assert fast.unmapped_documents == 0


def assert_same_tables(fast: Page, exact: Page) -> None:
    """The same schema, values, counts and paging state (dates compared as integers: to_pylist
    would round nanoseconds away)."""
    assert fast.table.schema == exact.table.schema
    as_ints = [c.cast(pa.int64()) if pa.types.is_timestamp(c.type) else c for c in fast.table.columns]
    exact_ints = [c.cast(pa.int64()) if pa.types.is_timestamp(c.type) else c for c in exact.table.columns]
    for name, fast_column, exact_column in zip(fast.table.column_names, as_ints, exact_ints):
        assert strict(fast_column.to_pylist()) == strict(exact_column.to_pylist()), name
    assert (fast.total, fast.last_sort, fast.pit_id, fast.unmapped_documents) == (
        exact.total, exact.last_sort, exact.pit_id, exact.unmapped_documents)


EDGE_LITERALS = [  # values that fit, nearly fit, or are rounded by some reader
    "0", "-0", "-0.0", "1", "2.0", "1e3", "0.1", "1e23", "5e-324", "1e-400", "-1e-400", "2.5e-324", "1.7976931348623157e308", "9007199254740992",
    "9007199254740993", "9223372036854775807", "-9223372036854775808", "18446744073709551615", "0.30000000000000004",
    "true", "false", '"true"', '"10"', '"1.5"', '""', '"2026-11-20T10:00:00Z"', '"2026-11-20T10:00:00.123Z"',
    '"2026-11-20T10:00:00.123456Z"', '"2026-11-20T10:00:00.123456789Z"', '"2026-11-20 10:00:00"', '"2026-11-20T10"',
    '"2026-11-20T10:00:00+01"', '"2026-11-20T10:00:00+23:59"', '"0000-01-01"', '"0000-02-29"', '"9999-12-31T23:59:59Z"', '"1677-09-21T00:12:43.145224192Z"',
    '"2262-04-11T23:47:16.854775807Z"', "1795132800000", '"1795132800000"', '"\\u00e9"', "null", "[]", '["a"]',
    '{"lat": 41.5, "lon": -3.25}', '{"lon": 2, "lat": 1}', '["a", "b"]', '[1]', '[[1]]', '{"k": {"j": [1, 2.50]}}',
]
FAST_PATH_TYPES = [LONG, {"type": "double"}, {"type": "boolean"}, KEYWORD, DATE, {"type": "date_nanos"},
                   {"type": "ip"}, {"type": "unsigned_long"}, {"type": "binary"}, {"type": "geo_point"},
                   {"type": "flattened"}]


@pytest.mark.parametrize("spec", FAST_PATH_TYPES, ids=lambda spec: spec["type"])
def test_the_fast_path_accepts_only_what_the_exact_path_keeps_whole(spec: dict[str, Any]) -> None:
    schema = build_schema({"index-0": index_body({"field": spec})}, "@timestamp")
    parser = PageParser(schema)
    accepted = 0
    for literal in EDGE_LITERALS + [literal for _, literal in NOT_EXACT]:
        data = page_with_literal(literal)
        fast, exact = parser.parse(data, "test"), parser.parse_exactly(data, "test")
        assert_same_tables(fast, exact)
        accepted += not fast.slow_documents
    assert accepted >= 2  # the fast path is not refusing everything
