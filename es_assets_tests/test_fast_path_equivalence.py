"""The fast path gives the exact path's table, value for value, on every corpus and every edge value.

No servers: pages are built as the bytes Elasticsearch sends, from the benchmark's generators
(``benchmarks/corpora.py``, for both products) and from values crafted to sit on every edge of the
conversion rules. The reference is :meth:`PageParser.parse_exactly` (every document through the
exact normalizer); :meth:`PageParser.parse` is what the engine runs (the fast path, routing only the
documents that do not fit to the exact normalizer). Both must give identical tables: schema, every
column's values, total, last sort values, PIT id and the count of documents with ``_unmapped``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import orjson
import pytest

from benchmarks.corpora import CORPORA, indexed_mapping
from es_assets.schema.fields import build_schema
from es_assets.schema.pages import Page, PageParser
from es_assets_tests.test_schema_units import assert_same_tables, index_body, response

DAY = dt.date(2026, 1, 15)
TIMESTAMP = "2026-01-15T10:00:00Z"
PRODUCTS = ["elasticsearch", "opensearch"]


def parse_both(parser: PageParser, data: bytes) -> tuple[Page, Page]:
    """``parse`` and ``parse_exactly`` of ``data``, held to identical pages."""
    fast, exact = parser.parse(data, "test"), parser.parse_exactly(data, "test")
    assert_same_tables(fast, exact)
    assert exact.slow_documents == exact.hit_count
    return fast, exact


def parser_for(mappings: dict[str, Any]) -> PageParser:
    """A parser of the schema built from ``mappings``, configured plainly (no array_fields)."""
    return PageParser(build_schema(mappings, "@timestamp"))


def one_field_parser(spec: dict[str, Any], **mapping: Any) -> PageParser:
    return parser_for({"index-0": index_body({"field": spec}, **mapping)})


def corpus_pages(name: str, count: int, product: str, page_size: int) -> tuple[PageParser, list[bytes]]:
    """The corpus's ``count`` documents in pages of ``page_size``, in index order, and a parser built
    from the mappings the server returns for them (checked against the real servers by
    test_benchmark_corpora.py)."""
    corpus = CORPORA[name]
    documents = list(corpus.documents(DAY, count, product))
    mappings = {index: indexed_mapping(body, [source for i, _, source in documents if i == index])
                for index, body in corpus.indices(DAY, product)}
    pages = [response([source for _, _, source in chunk], indices=[index for index, _, _ in chunk])
             for chunk in (documents[start:start + page_size] for start in range(0, count, page_size))]
    return parser_for(mappings), pages


def corpus_page(name: str, count: int, product: str) -> tuple[PageParser, bytes]:
    parser, [data] = corpus_pages(name, count, product, count)
    return parser, data


@pytest.mark.parametrize("product", PRODUCTS)
@pytest.mark.parametrize("name", sorted(CORPORA))
def test_fast_and_exact_paths_give_identical_tables_on_every_benchmark_corpus(name: str, product: str) -> None:
    parser, data = corpus_page(name, 3000, product)
    fast, _ = parse_both(parser, data)
    assert fast.hit_count == 3000


@pytest.mark.parametrize("product", PRODUCTS)
@pytest.mark.parametrize("name", sorted(CORPORA))
def test_one_parser_gives_the_exact_tables_page_after_page(name: str, product: str) -> None:
    # The engine keeps one parser per day: what it learns from a page must not change the next
    # page's table (the awkward corpus's pages cross the mid-day rollover).
    parser, pages = corpus_pages(name, 3000, product, 400)
    for data in pages:
        parse_both(parser, data)


@pytest.mark.parametrize("product", PRODUCTS)
@pytest.mark.parametrize("name", ["k8s", "nginx"])
def test_the_container_and_web_logs_need_no_document_on_the_exact_path(name: str, product: str) -> None:
    parser, data = corpus_page(name, 3000, product)
    assert parser.parse(data, "test").slow_documents == 0


def test_the_awkward_corpus_keeps_its_odd_values_in_unmapped() -> None:
    parser, data = corpus_page("awkward", 1000, "opensearch")
    page = parser.parse(data, "test")
    kept = [json.loads(text) for text in page.table.column("_unmapped").to_pylist() if text]
    assert any(len(values.get("tags", [])) >= 2 for values in kept)  # 2+ values in a scalar column
    assert any("debug" in values for values in kept)  # dynamic: false
    assert any(isinstance(values.get("location"), str) for values in kept)  # a geohash
    assert page.unmapped_documents == len(kept) < page.hit_count


# -- crafted values: one page per type, one document per value, every rule's edges -----------------

FLAT = [{"b": 1, "a": {"d": [1, 2], "c": "x"}}, "text", 12, 1.5, True, [1, "a"], 2**70, "\u001f", None, {}]
EDGES: dict[str, tuple[dict[str, Any], list[Any]]] = {
    "keyword": ({"type": "keyword"}, ["a", "", 12, -3, 1.5, 1e16, True, None, [], ["a"], [None], ["a", "b"],
                                      [[1]], {"x": 1}, [{"b": 1, "a": 2}], 2**63, 2**64 - 1, 2**70, "nul\u0000",
                                      "\u001f\u007f\u2028 é 😀", -0.0]),
    "ip": ({"type": "ip"}, ["192.0.2.1", "2001:db8::1", ["10.0.0.1"], ["10.0.0.1", "10.0.0.2"], 7, "not an ip"]),
    "long": ({"type": "long"}, [0, -1, 2**63 - 1, -(2**63), 2**63, 2**64 - 1, "10", " 10 ", "-7", "007", "+5",
                                "1.9", 1.9, -1.9, 1.0, "1e3", 1e3, "abc", True, "", [3], ["3"], [1, 2], {"a": 1},
                                "9223372036854775808", 2**70]),
    "integer": ({"type": "integer"}, [1, "2", 2**31, -(2**31) - 1, 2.0, "2.5"]),
    "double": ({"type": "double"}, [0.0, -0.0, 1.5, 3, "1.5", "-2", "1e5", "abc", 1e30,
                                    2**53, 2**53 + 1, 2**63, 2**70, "NaN", "inf", True, [1.5], [1, 2], "0.1"]),
    "float": ({"type": "float"}, [0.1, "0.1", 16777217, 3.4e38]),
    "unsigned_long": ({"type": "unsigned_long"}, [0, 42, 2**63, 2**64 - 1, 2**64, -1, "42", "18446744073709551615",
                                                  "18446744073709551616", "1.5", 1.5, 2.0, True, [7], [1, 2]]),
    "boolean": ({"type": "boolean"}, [True, False, "true", "false", "", "yes", 1, 0, ["true"], [True, False]]),
    "binary": ({"type": "binary"}, ["AP8=", "", "AB==", "AC==", "abc", "not base64!", "YWJj", "YWI=", 12,
                                    [base64.b64encode(b"x").decode()]]),
    "date": ({"type": "date"}, ["2026-01-15T10:00:00Z", "2026-01-15T10:00:00.123Z", "2026-01-15T10:00:00.123456789Z",
                                "2026-01-15T08:00:00+05:30", "2026-01-15T08:00:00-0800", "2026-01-15",
                                "2026-01-15T10:00:00", "2026-01-15 10:00:00", "2026-01-15T10", "2026-13-45",
                                "1969-12-31T23:59:59.999Z", "1900-01-01T00:00:00.5Z", 1768471200000,
                                "1768471200000", -1, 1.5e12, "1768471200000.5", "tomorrow", True, ["2026-01-15"],
                                "2026-01-15T10:00:61Z", "20260115"]),
    "date_formats": ({"type": "date", "format": "yyyy/MM/dd HH:mm:ss||epoch_second"},
                     ["2026/01/15 10:00:00", 1768471200, "1768471200", "2026-01-15T10:00:00Z", "15/01/2026"]),
    "date_nanos": ({"type": "date_nanos"}, ["2026-01-15T10:00:00.123456789Z", "2026-01-15T10:00:00.1+01:00",
                                            1768471200123, "1969-12-31T23:59:59.999999999Z", "2026-01-15"]),
    "geo_point": ({"type": "geo_point"}, [{"lat": 41.12, "lon": -71.34}, {"lat": "41.12", "lon": "-71.34"},
                                          {"lat": 1, "lon": 2, "z": 3}, "41.12,-71.34", "41.12, -71.34",
                                          [-71.34, 41.12], [-71.34, 41.12, 10.0], "POINT (-71.34 41.12)",
                                          "point(-71.34 41.12)", "drm3btev3e86", [{"lat": 1.5, "lon": 2.5}],
                                          [[1, 2], [3, 4]], [], {"lat": 1}, "a,b", [True, 1],
                                          {"lat": 2**53 + 1, "lon": 1}, {"lat": -0.0, "lon": 1}, "u33dc0", ""]),
    "flattened": ({"type": "flattened"}, FLAT),
    "flat_object": ({"type": "flat_object"}, FLAT),
    "object": ({"properties": {"a": {"type": "long"}, "b": {"type": "keyword"}}},
               [{"a": 1, "b": "x"}, [{"a": 1}], [{"a": 1}, {"a": 2}], [], [None], "text", [["x"]], {"c": 1},
                {"a": [1, 2], "b": ["y"]}, {}]),
    "nested": ({"type": "nested", "properties": {"a": {"type": "long"}}},
               [[{"a": 1}, {"a": "2"}], {"a": 3}, [], [{"a": 1.5}], "text"]),
}


@pytest.mark.parametrize("kind", sorted(EDGES))
def test_fast_and_exact_paths_agree_on_every_edge_value(kind: str) -> None:
    spec, values = EDGES[kind]
    sources = [{"@timestamp": TIMESTAMP, "field": value} for value in values]
    # The standard library's writer: orjson refuses integers beyond 64 bits.
    parse_both(one_field_parser(spec), response(sources, dumps=lambda v: json.dumps(v).encode()))


@pytest.mark.parametrize("source", [
    pytest.param({"http.status": "201", "http": {"method": "PUT"}}, id="dotted-key"),
    pytest.param({"http": {"status": 200}, "http.status": 404}, id="one-path-twice"),
    pytest.param({"events": [{"name": "a", "n": "2"}, {"name": "b", "x": 1}]}, id="nested"),
    pytest.param({"Foo": "upper", "foo": "lower"}, id="keys-differing-in-case"),
])
def test_a_document_the_fast_path_cannot_take_costs_only_its_own_row(source: dict[str, Any]) -> None:
    parser = parser_for({"index-0": index_body({
        "http": {"properties": {"method": {"type": "keyword"}, "status": {"type": "long"}}},
        "events": {"type": "nested", "properties": {"name": {"type": "keyword"}, "n": {"type": "long"}}},
        "Foo": {"type": "keyword"}, "foo": {"type": "keyword"}, "other": {"type": "keyword"},
    })})
    fitting = [{"@timestamp": TIMESTAMP, "other": str(i)} for i in range(5)]
    fast, _ = parse_both(parser, response(fitting[:2] + [{"@timestamp": TIMESTAMP, **source}] + fitting[2:]))
    assert fast.slow_documents <= 1


def test_unmapped_fields_of_a_dynamic_false_index_are_kept_by_dotted_path() -> None:
    parser = parser_for({"index-0": index_body({"http": {"properties": {"method": {"type": "keyword"}}}},
                                               dynamic=False)})
    data = response([{"@timestamp": TIMESTAMP, "http": {"method": "GET", "referrer": "x"},
                      "debug": {"trace": [1, 2], "big": 2**64 - 1, "huge": 2**70}}],
                    dumps=lambda v: json.dumps(v).encode())
    fast, _ = parse_both(parser, data)
    assert json.loads(fast.table.column("_unmapped")[0].as_py()) == {
        "http.referrer": "x", "debug": {"trace": [1, 2], "big": 2**64 - 1, "huge": 2**70}}


def test_fields_added_after_the_mapping_was_read_are_kept_in_unmapped() -> None:
    parser = parser_for({"index-0": index_body({"a": {"type": "keyword"}})})
    data = response([{"@timestamp": TIMESTAMP, "a": "x"}, {"@timestamp": TIMESTAMP, "a": "y", "b": {"c": 1}}])
    fast, _ = parse_both(parser, data)
    assert fast.table.column("_unmapped").to_pylist()[0] is None
    assert json.loads(fast.table.column("_unmapped")[1].as_py()) == {"b": {"c": 1}}


@pytest.mark.parametrize("literal", [b"1.7976931348623157e308", b"5e-324", b"1e-400", b"4503599627370496.5",
                                     b"-0", b"NaN", b"1e400", b"9007199254740993"])
def test_a_number_only_the_exact_reader_keeps_exactly_lands_as_the_exact_path_lands_it(literal: bytes) -> None:
    parser = parser_for({"index-0": index_body({"n": {"type": "double"}, "k": {"type": "keyword"}})})
    sources = [{"@timestamp": TIMESTAMP, "n": 1.5, "k": "a"}] * 3 + [{"@timestamp": TIMESTAMP, "n": 12345.5, "k": 67890}]
    data = response(sources).replace(b"12345.5", literal).replace(b"67890", literal)
    fast, _ = parse_both(parser, data)
    assert fast.hit_count == 4


def test_a_lone_surrogate_becomes_the_replacement_character_on_both_paths() -> None:
    parser = parser_for({"index-0": index_body({"m": {"type": "keyword"}})})
    data = response([{"@timestamp": TIMESTAMP, "m": "x"}, {"@timestamp": TIMESTAMP, "m": "y"}]).replace(
        b'"x"', b'"\\ud800x"')
    fast, _ = parse_both(parser, data)
    assert fast.table.column("m").to_pylist() == ["\ufffdx", "y"]


def test_page_metadata_survives_the_fast_path() -> None:
    parser = parser_for({"index-0": index_body({})})
    body = orjson.loads(response([{"@timestamp": TIMESTAMP}]))
    body["pit_id"], body["hits"]["hits"][0]["sort"] = "pit==", [1768471200000, 12]
    fast, _ = parse_both(parser, orjson.dumps(body))
    assert (fast.pit_id, fast.last_sort, fast.total) == ("pit==", [1768471200000, 12], 1)
