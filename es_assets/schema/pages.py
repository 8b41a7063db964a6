"""Search-response pages (raw bytes) → Arrow tables, with the page's health checked.

The fast path hands the whole page to pyarrow's JSON reader with an explicit schema built from
the mapping, so no Python object is created per document. The reader is strict: any document
that does not fit the mapping exactly (an unmapped field, an array in a scalar field, a number
sent as a string ...) makes it fail, and that page is parsed again by the exact path
(:class:`~es_assets.schema.values.DocumentNormalizer`). The reader also reads a few numbers
otherwise than the exact path (``9007199254740993`` as 2**53 in a double field, ``NaN``, ``-0``):
a page whose double columns hold such a value takes the exact path too, so the fast path never
accepts a value the exact path would keep in ``_unmapped``. Both paths give identical tables;
tests hold them to that.
"""

from __future__ import annotations

import dataclasses
import decimal
import json
import re
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from es_assets.errors import IncompleteExtraction, TruncatedResponse
from es_assets.schema.conversions import exact_json_float
from es_assets.schema.fields import ID_COLUMN, INDEX_COLUMN, UNMAPPED_COLUMN, SourceSchema, json_text
from es_assets.schema.values import DocumentNormalizer

# Only what is written travels: Elasticsearch drops everything else before sending.
FILTER_PATH = ",".join(
    [
        "_shards",
        "timed_out",
        "pit_id",
        "_scroll_id",
        "hits.total",
        "hits.hits._index",
        "hits.hits._id",
        "hits.hits._source",
        "hits.hits.sort",
    ]
)

_SHARDS_TYPE = pa.struct(
    [("total", pa.int64()), ("successful", pa.int64()), ("skipped", pa.int64()), ("failed", pa.int64())]
)


@dataclasses.dataclass(frozen=True)
class Page:
    table: pa.Table  # in the schema's arrow_schema
    total: int | None  # hits.total.value when track_total_hits was asked for
    last_sort: list[Any] | None  # the last hit's sort values, for search_after
    pit_id: str | None
    scroll_id: str | None
    unmapped_documents: int  # documents that had values kept in _unmapped
    exact_path: bool  # True when the page needed the exact (slow) path

    @property
    def hit_count(self) -> int:
        return self.table.num_rows


class PageParser:
    """Parses pages of one source's searches; safe to share between slice threads."""

    def __init__(self, schema: SourceSchema) -> None:
        self.schema = schema
        self.arrow_schema = schema.arrow_schema
        self._normalizer = DocumentNormalizer(schema)
        self._fast_parse_options = (
            pajson.ParseOptions(explicit_schema=_response_schema(schema), unexpected_field_behavior="error")
            if schema.json_native
            else None
        )

    def parse(self, data: bytes, where: str) -> Page:
        """Parse one response body; raise :class:`IncompleteExtraction` if the page is not whole.

        A body that is not whole JSON raises :class:`TruncatedResponse`, which the caller retries.
        """
        if self._fast_parse_options is not None:
            try:
                return self._parse_fast(data, where)
            except pa.ArrowInvalid:
                pass  # a document does not fit the mapping as written: take the exact path
        return self._parse_exact(data, where)

    def _parse_fast(self, data: bytes, where: str) -> Page:
        response = pajson.read_json(
            pa.BufferReader(data),
            read_options=pajson.ReadOptions(block_size=len(data) + 1, use_threads=False),
            parse_options=self._fast_parse_options,
        )
        if response.num_rows != 1:
            raise pa.ArrowInvalid("not one JSON object")  # e.g. a body cut to whitespace: the exact path says so
        row = response.slice(0, 1)
        shards = row.column("_shards")[0].as_py()
        check_page_health(shards, row.column("timed_out")[0].as_py(), where)
        hits_struct = row.column("hits").combine_chunks()
        hits = pc.list_flatten(hits_struct.field("hits"))  # struct<_index, _id, _source, sort>
        total_struct = hits_struct.field("total")[0].as_py()
        source = hits.field("_source")
        if source.null_count:
            raise pa.ArrowInvalid("a hit without _source")  # the exact path explains it
        if any(_doubles_the_exact_path_reads_otherwise(leaf) for leaf in _double_leaves(source)):
            raise pa.ArrowInvalid("a double the reader may have rounded")  # the exact path decides
        columns = source.view(pa.struct([pa.field(f.name, f.arrow_type) for f in self.schema.fields]))
        arrays = [hits.field("_index"), hits.field("_id")] + columns.flatten() + [
            pa.nulls(len(hits), pa.string())
        ]
        table = pa.Table.from_arrays(arrays, schema=self.arrow_schema)
        sorts = hits.field("sort")
        return Page(
            table=table,
            total=total_struct["value"] if total_struct else None,
            last_sort=sorts[len(sorts) - 1].as_py() if len(sorts) else None,
            pit_id=row.column("pit_id")[0].as_py(),
            scroll_id=row.column("_scroll_id")[0].as_py(),
            unmapped_documents=0,
            exact_path=False,
        )

    def _parse_exact(self, data: bytes, where: str) -> Page:
        response = _load_json(data, where)
        check_page_health(response.get("_shards"), response.get("timed_out"), where)
        hits_section = response.get("hits") or {}
        hits = hits_section.get("hits") or []
        rows: list[dict[str, Any]] = []
        unmapped_documents = 0
        for hit in hits:
            if "_source" not in hit:
                raise IncompleteExtraction(
                    f"{where}: document {hit.get('_index')}/{hit.get('_id')} came back without _source; "
                    "es_assets needs _source enabled on the index"
                )
            row, unmapped = self._normalizer.row(hit["_source"])
            row[INDEX_COLUMN] = hit["_index"]
            row[ID_COLUMN] = hit["_id"]
            if unmapped:
                row[UNMAPPED_COLUMN] = json_text(unmapped)
                unmapped_documents += 1
            rows.append(row)
        total = hits_section.get("total")
        return Page(
            table=pa.Table.from_pylist(rows, schema=self.arrow_schema),
            total=total.get("value") if isinstance(total, dict) else total,
            last_sort=hits[-1].get("sort") if hits else None,
            pit_id=response.get("pit_id"),
            scroll_id=response.get("_scroll_id"),
            unmapped_documents=unmapped_documents,
            exact_path=True,
        )


def _load_json(data: bytes, where: str) -> Any:
    """The standard library's reader, with every number exact: a float only where it is the
    literal, else its digits (``conversions.exact_json_float``); integers of any width. (orjson
    rounds ``4503599627370496.5`` to an integer and ``1e-400`` to 0, and a scan for such literals
    costs as much as this reader.)"""
    try:
        response = json.loads(data, parse_float=exact_json_float, parse_constant=decimal.Decimal)
    except ValueError as exc:
        raise TruncatedResponse(f"{where}: the response is not whole JSON ({exc}); it was cut off") from None
    # Only a \uD800-\uDFFF escape can make a lone surrogate; most pages have none, and the walk is costly.
    return _replace_lone_surrogates(response) if _SURROGATE_ESCAPE.search(data) else response


# Doubles a fast-path column may hold that the exact path reads otherwise: from 2**53
# up not every integer is a double (pyarrow reads 9007199254740993 as 2**53); NaN and Infinity
# are not JSON, yet pyarrow reads them; -0 (the integer) is 0 on the exact path, -0.0 in pyarrow.
_LARGEST_EXACT_INTEGER_IN_A_DOUBLE = 2.0**53
_NEGATIVE_ZERO_BITS = -(2**63)
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _replace_lone_surrogates(value: Any) -> Any:
    """Lone surrogates are not Unicode and cannot be written as UTF-8: each becomes U+FFFD."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value
    if isinstance(value, dict):
        return {_replace_lone_surrogates(k): _replace_lone_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_lone_surrogates(v) for v in value]
    return value


def _doubles_the_exact_path_reads_otherwise(doubles: pa.Array) -> bool:
    suspect = pc.or_(
        pc.or_(pc.invert(pc.is_finite(doubles)), pc.greater_equal(pc.abs(doubles), _LARGEST_EXACT_INTEGER_IN_A_DOUBLE)),
        pc.equal(doubles.view(pa.int64()), _NEGATIVE_ZERO_BITS),
    )
    return bool(pc.any(suspect).as_py())


def _double_leaves(array: pa.Array) -> Iterator[pa.Array]:
    """Every float64 array inside a (struct / list) array, children of nulls included."""
    if pa.types.is_struct(array.type):
        for i in range(array.type.num_fields):
            yield from _double_leaves(array.field(i))
    elif pa.types.is_list(array.type):
        yield from _double_leaves(array.values)
    elif pa.types.is_float64(array.type):
        yield array


def check_page_health(shards: dict[str, Any] | None, timed_out: bool | None, where: str) -> None:
    """Elasticsearch answers HTTP 200 with fewer hits when shards fail: refuse such a page."""
    if timed_out:
        raise IncompleteExtraction(f"{where}: the search timed out on the server; the page may be short")
    if not shards:
        return  # scroll continuations on some versions omit _shards; completeness is checked by count
    failed, total = shards.get("failed", 0), shards.get("total", 0)
    answered = shards.get("successful", 0) + shards.get("skipped", 0)
    if failed or answered != total:
        reasons = "; ".join(
            str((failure.get("reason") or {}).get("reason") or failure.get("reason"))
            for failure in shards.get("failures", [])[:3]
        )
        raise IncompleteExtraction(
            f"{where}: {failed} of {total} shards failed ({answered} answered)"
            + (f": {reasons}" if reasons else "")
        )


def _response_schema(schema: SourceSchema) -> pa.Schema:
    # took, max_score and _score are filtered out by FILTER_PATH; they are declared anyway so
    # that a proxy dropping filter_path costs nothing but bytes (not every page on the slow path).
    hit = pa.struct(
        [
            ("_index", pa.string()),
            ("_id", pa.string()),
            ("_score", pa.float64()),
            ("_source", schema.source_json_type),
            ("sort", pa.list_(pa.int64())),
        ]
    )
    return pa.schema(
        [
            ("took", pa.int64()),
            ("_shards", _SHARDS_TYPE),
            ("timed_out", pa.bool_()),
            ("pit_id", pa.string()),
            ("_scroll_id", pa.string()),
            ("hits", pa.struct([("total", pa.struct([("value", pa.int64()), ("relation", pa.string())])),
                                ("max_score", pa.float64()), ("hits", pa.list_(hit))])),
        ]
    )
