"""Search-response pages (raw bytes) → Arrow tables, with the page's health checked.

A page is split into its hits by msgspec, each ``_source`` kept as its own bytes (no Python
object per value). pyarrow then reads the documents as newline-delimited JSON with an explicit
schema built from the mapping (:mod:`es_assets.schema.arrow_reader`), and vectorized kernels turn
what was read into the columns. A document that does not fit (a key the mapping lacks, an array
of two values in a scalar field, a number no column type holds exactly ...) costs its own row:
it alone is parsed by the exact path (:class:`~es_assets.schema.values.DocumentNormalizer`),
from its own bytes, and its row takes its place. Both paths give identical tables; tests hold
them to that.

What the reader learns from the documents, it keeps for the next pages (one parser per day):

* a scalar field sent as arrays (Filebeat's one-element lists) is read as a list and unwrapped;
* a field whose JSON kind varies (a ``long`` in one index of the day, ``keyword`` in the next) is
  told apart per document by the probe (:mod:`es_assets.schema.probe`), and each group of
  documents of one kind is read on its own;
* a page with ``flattened``/json fields, or one the first read refused, is probed: the probe
  also finds keys the mapping lacks and keeps json fields' raw text.
"""

from __future__ import annotations

import dataclasses
import decimal
import json
import operator
import re
import threading
from typing import Any, Iterator

import msgspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from es_assets.errors import IncompleteExtraction, TruncatedResponse
from es_assets.schema import arrow_reader
from es_assets.schema.arrow_reader import ARRAY, NATIVE, Shapes
from es_assets.schema.conversions import exact_json_float
from es_assets.schema.fields import ID_COLUMN, INDEX_COLUMN, UNMAPPED_COLUMN, Field, SourceSchema, json_text
from es_assets.schema.probe import Lookup, Probe, kind_of
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

# Failed reads spent isolating the documents that do not fit; past the budget the documents
# still unplaced take the exact path. (Lessons, each a field learned, are bounded by the fields.)
_FAILED_READ_BUDGET = 64
# A read and its column kernels cost about what the exact path spends on this many documents
# (measured on the awkward benchmark corpus): a smaller group of one mix of shapes goes one by
# one, unless it is the page's largest.
_SMALLEST_READ = 24
# Leaves whose columns can be made from the probe's decoded values (see _from_values).
_FROM_VALUES = {"string", "integer", "double", "boolean", "date", "date_nanos", "binary", "geo_point"}
_NO_SOURCE = msgspec.Raw(b"")


# gc=False: ten thousand hits a page, none in a reference cycle; tracking them costs the
# collector a walk over every live object, several times a page.
class _Hit(msgspec.Struct, gc=False):
    _index: str
    _id: str
    _source: msgspec.Raw = _NO_SOURCE
    sort: msgspec.Raw = _NO_SOURCE  # raw: only the last hit's is read (a list a hit: the collector's work)


class _Hits(msgspec.Struct, gc=False):
    hits: list[_Hit] = msgspec.field(default_factory=list)
    total: Any = None


class _Response(msgspec.Struct, gc=False):
    hits: _Hits = msgspec.field(default_factory=_Hits)
    _shards: Any = None
    timed_out: Any = None
    pit_id: Any = None
    _scroll_id: Any = None


_RESPONSE = msgspec.json.Decoder(_Response)


@dataclasses.dataclass(frozen=True)
class Page:
    table: pa.Table  # in the schema's arrow_schema
    total: int | None  # hits.total.value when track_total_hits was asked for
    last_sort: list[Any] | None  # the last hit's sort values, for search_after
    pit_id: str | None
    scroll_id: str | None
    unmapped_documents: int  # documents that had values kept in _unmapped
    slow_documents: int  # documents normalized one by one by the exact path

    @property
    def hit_count(self) -> int:
        return self.table.num_rows


@dataclasses.dataclass
class _Read:
    """Documents of a page placed so far: column arrays for groups of rows, and the rows left
    to the exact path (positions in the page)."""

    parts: list[tuple[pa.Array, list[pa.Array]]] = dataclasses.field(default_factory=list)
    slow: list[int] = dataclasses.field(default_factory=list)

    def add(self, other: "_Read") -> None:
        self.parts += other.parts
        self.slow += other.slow


@dataclasses.dataclass(frozen=True)
class _FromValues:
    """Columns made from the probe's values for the documents looked at (page positions →
    their rows), and the values converting them set aside, by position."""

    row_of: dict[int, int]
    columns: dict[str, tuple[pa.Array, arrow_reader.Rows]]
    set_aside: dict[int, dict[str, Any]]

    def taken(self, positions: list[int]) -> dict[str, tuple[pa.Array, arrow_reader.Rows]]:
        """The columns (and rows to route) of the documents at ``positions``, in that order."""
        if not self.columns:
            return {}
        rows = pa.array([self.row_of[position] for position in positions], pa.int64())
        return {path: (column.take(rows), None if route is None else route.take(rows))
                for path, (column, route) in self.columns.items()}


@dataclasses.dataclass(frozen=True)
class _Group:
    """Documents read together: their positions, the shapes they share, how the probe looked at
    them (its kind paths: those told apart when the group was formed), and the kind paths whose
    columns are made from the probe's values."""

    positions: list[int]
    shapes: Shapes
    lookup: Lookup
    from_values: _FromValues

    def part(self, start: int, stop: int) -> "_Group":
        return dataclasses.replace(self, positions=self.positions[start:stop])


class PageParser:
    """Parses pages of one source's searches; safe to share between slice threads."""

    def __init__(self, schema: SourceSchema) -> None:
        self.schema = schema
        self.arrow_schema = schema.arrow_schema
        self._normalizer = DocumentNormalizer(schema)
        self._probe = Probe(schema.fields)
        self._fields = dict(_leaf_paths(schema.fields, "", False))
        self._lock = threading.Lock()
        self._list_paths: frozenset[str] = frozenset()  # scalar fields sent as arrays
        self._kind_paths: frozenset[str] = frozenset()  # fields sent in more than one JSON kind
        self._surveyed = False  # whether documents have been surveyed (see _survey)

    def parse(self, data: bytes, where: str) -> Page:
        """Parse one response body; raise :class:`IncompleteExtraction` if the page is not whole.

        A body that is not whole JSON raises :class:`TruncatedResponse`, which the caller retries.
        """
        try:
            response = _RESPONSE.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            # Not whole JSON, a response of another shape, or a lone surrogate (which msgspec
            # refuses): the standard library's reader says which, and reads what can be read.
            return self.parse_exactly(data, where)
        check_page_health(response._shards, response.timed_out, where)
        hits = response.hits.hits
        for hit in hits:
            if not len(hit._source):
                raise _without_source(where, hit._index, hit._id)
        sources = [hit._source for hit in hits]
        read = self._read(sources, newlines=b"\n" in data)
        slow_rows = [self._exact_row(hit._index, hit._id, bytes(hit._source), where)
                     for hit in (hits[i] for i in read.slow)]
        index = pa.array([hit._index for hit in hits], pa.string())
        ids = pa.array([hit._id for hit in hits], pa.string())
        tables = [
            pa.Table.from_arrays([index.take(rows), ids.take(rows), *columns], schema=self.arrow_schema)
            for rows, columns in read.parts
        ]
        tables.append(pa.Table.from_pylist([row for row, _ in slow_rows], schema=self.arrow_schema))
        table = pa.concat_tables(tables)
        positions = pa.concat_arrays([rows for rows, _ in read.parts] + [pa.array(read.slow, pa.int64())])
        if len(positions):
            table = table.take(pc.sort_indices(positions))
        return Page(
            table=table,
            total=_total(response.hits.total),
            last_sort=_last_sort(hits),
            pit_id=response.pit_id,
            scroll_id=response._scroll_id,
            unmapped_documents=sum(1 for _, unmapped in slow_rows if unmapped)
            + sum(len(columns[-1]) - columns[-1].null_count for _, columns in read.parts),  # _unmapped of rows that fit
            slow_documents=len(read.slow),
        )

    def parse_exactly(self, data: bytes, where: str) -> Page:
        """Every document through the exact path: the reference the fast path is held to."""
        response = _load_json(data, where)
        check_page_health(response.get("_shards"), response.get("timed_out"), where)
        hits_section = response.get("hits") or {}
        hits = hits_section.get("hits") or []
        rows: list[dict[str, Any]] = []
        unmapped_documents = 0
        for hit in hits:
            if "_source" not in hit:
                raise _without_source(where, hit.get("_index"), hit.get("_id"))
            row, unmapped = self._normalized(hit["_index"], hit["_id"], hit["_source"])
            unmapped_documents += bool(unmapped)
            rows.append(row)
        return Page(
            table=pa.Table.from_pylist(rows, schema=self.arrow_schema),
            total=_total(hits_section.get("total")),
            last_sort=hits[-1].get("sort") if hits else None,
            pit_id=response.get("pit_id"),
            scroll_id=response.get("_scroll_id"),
            unmapped_documents=unmapped_documents,
            slow_documents=len(hits),
        )

    # -- the exact path, one document ---------------------------------------------------------

    def _exact_row(self, index: str, doc_id: str, source: bytes, where: str) -> tuple[dict[str, Any], bool]:
        return self._normalized(index, doc_id, _load_json(source, where))

    def _normalized(self, index: str, doc_id: str, source: Any) -> tuple[dict[str, Any], bool]:
        row, unmapped = self._normalizer.row(source)
        row[INDEX_COLUMN] = index
        row[ID_COLUMN] = doc_id
        if unmapped:
            row[UNMAPPED_COLUMN] = json_text(unmapped)
        return row, bool(unmapped)

    # -- the Arrow path -----------------------------------------------------------------------

    def _read(self, sources: list[msgspec.Raw], newlines: bool) -> _Read:
        if not sources:
            return _Read()
        whole = None if self._probe.json_paths else self._read_as_mapped(sources, newlines)
        return whole if whole is not None else self._read_in_groups(sources, newlines)

    def _read_as_mapped(self, sources: list[msgspec.Raw], newlines: bool) -> _Read | None:
        """Every document in one read, as the mapping (and the arrays seen) says; None if the
        reader refuses one of them (then the page is probed and read in groups)."""
        for _ in range(len(self._fields) + 1):
            shapes: Shapes = {path: ARRAY for path in self._list_paths}
            try:
                table = _read_lines(sources, arrow_reader.read_schema(self.schema.fields, shapes), "error", newlines)
            except pa.ArrowInvalid as exc:
                if not self._learn_list(exc):
                    self._learn_kind(exc, sources)
                    return None
                continue
            return self._place(pa.array(range(len(sources)), pa.int64()), table, shapes, {})
        return None

    def _read_in_groups(self, sources: list[msgspec.Raw], newlines: bool) -> _Read:
        if not self._surveyed:  # learn what the first page holds before decoding it, not after
            self._learn(*self._survey(sources))
        decoded = [self._probe.decode(source) for source in sources]
        return self._read_documents(sources, decoded, list(range(len(sources))), [_FAILED_READ_BUDGET], newlines)

    def _read_documents(self, sources: list[msgspec.Raw], decoded: list[Any], positions: list[int],
                        budget: list[int], newlines: bool) -> _Read:
        """Group the documents at ``positions`` by the shapes their fields' kinds call for, and
        read each group; a document with a kind no shape reads takes the exact path. Leaves told
        apart by kind do not split groups: their columns are made from the probe's values."""
        kind_paths = tuple(sorted(self._kind_paths | self._list_paths))
        kind_fields = [self._fields[path][0] for path in kind_paths]
        from_values = self._from_values(kind_paths)
        grouping = [i for i, path in enumerate(kind_paths) if path not in from_values]
        read = _Read()
        lookup = self._probe.lookup(kind_paths)
        looks: dict[int, tuple[tuple[Any, ...], tuple[str, ...]]] = {}  # position → (values, shapes)
        groups: dict[tuple[str, ...], list[int]] = {}
        # kinds → (their shapes, the group's key: the shapes of the paths that split groups)
        shapes_of_kinds: dict[tuple[str, ...], tuple[tuple[str | None, ...], tuple[str | None, ...]]] = {}
        for position in positions:
            document = decoded[position]
            look = None if document is None else self._probe.look(document, lookup)
            if look is None:
                read.slow.append(position)  # a key or a kind the probe cannot describe
                continue
            kinds, values = look
            known = shapes_of_kinds.get(kinds)
            if known is None:
                shapes = tuple(map(arrow_reader.shape_of, kind_fields, kinds))
                known = shapes_of_kinds[kinds] = (shapes, tuple(shapes[i] for i in grouping))
            shapes, key = known
            if None in shapes:
                read.slow.append(position)  # a kind no shape reads
                continue
            looks[position] = (values, shapes)  # type: ignore[assignment]
            groups.setdefault(key, []).append(position)  # type: ignore[arg-type]
        largest = max(groups.values(), key=len, default=None)
        to_read = []
        for key, members in groups.items():
            if len(members) < _SMALLEST_READ and members is not largest:
                read.slow += members  # a rare mix of shapes: cheaper one by one than a read of its own
            else:
                to_read.append((key, members))
        made = self._columns_from_values({p: looks[p] for _, members in to_read for p in members},
                                         kind_paths, from_values)
        for key, members in to_read:
            group_shapes = {kind_paths[i]: shape for i, shape in zip(grouping, key) if shape != NATIVE}
            group = _Group(members, group_shapes, lookup, made)
            read.add(self._read_group(sources, decoded, looks, group, budget, newlines))
        return read

    def _columns_from_values(self, looks: dict[int, tuple[tuple[Any, ...], tuple[str, ...]]],
                             kind_paths: tuple[str, ...], paths: frozenset[str]) -> "_FromValues":
        """The columns of ``paths`` (kind paths) for all the documents looked at, made once from
        the probe's values: a kernel's cost is mostly per call, and each group takes its rows."""
        positions = list(looks)
        columns: dict[str, tuple[pa.Array, arrow_reader.Rows]] = {}
        set_aside: dict[int, dict[str, Any]] = {}
        if positions and paths:
            each_values = [values for values, _ in looks.values()]
            each_shapes = [shapes for _, shapes in looks.values()]
            for j, path in enumerate(kind_paths):
                if path in paths:
                    at = operator.itemgetter(j)  # (not zip(*...): an iterator a document, mid-page)
                    column, route, aside = arrow_reader.column_from_values(
                        self._fields[path][0], path, list(map(at, each_values)), list(map(at, each_shapes)))
                    columns[path] = (column, route)
                    for entry in aside:
                        for row, value in entry.rows_and_values():
                            set_aside.setdefault(positions[row], {})[entry.path] = value
        return _FromValues({position: row for row, position in enumerate(positions)}, columns, set_aside)

    def _from_values(self, kind_paths: tuple[str, ...]) -> frozenset[str]:
        """The kind paths whose columns are made from the probe's values: leaves outside lists and
        outside other kind paths (unsigned_long aside: Python has no decimal reading of text)."""
        return frozenset(
            path for path in kind_paths
            if self._fields[path][0].kind in _FROM_VALUES and not self._fields[path][0].repeated
            and not any(path.startswith(other + ".") for other in kind_paths)
        )

    def _read_group(self, sources: list[msgspec.Raw], decoded: list[Any],
                    looks: dict[int, tuple[tuple[Any, ...], tuple[str, ...]]], group: _Group, budget: list[int],
                    newlines: bool) -> _Read:
        positions, shapes = group.positions, group.shapes
        try:
            schema = arrow_reader.read_schema(self.schema.fields, shapes, frozenset(group.from_values.columns))
            table = _read_lines([sources[i] for i in positions], schema, "ignore", newlines)
        except pa.ArrowInvalid as exc:
            path = self._learn_kind(exc, [sources[i] for i in positions])
            if path is not None and path not in group.lookup.kind_paths:
                # A field in two kinds here: tell these documents apart by it too (decoded again,
                # now that the probe decodes the path into values whose types are their kinds).
                for position in positions:
                    decoded[position] = self._probe.decode(sources[position])
                return self._read_documents(sources, decoded, positions, budget, newlines)
            if len(positions) == 1 or budget[0] <= 0:
                return _Read(slow=positions)
            budget[0] -= 1
            half = len(positions) // 2  # some document here does not fit: find it by halves
            read = self._read_group(sources, decoded, looks, group.part(0, half), budget, newlines)
            read.add(self._read_group(sources, decoded, looks, group.part(half, len(positions)), budget, newlines))
            return read
        group_looks = [looks[i] for i in positions]
        lookup = group.lookup
        given: dict[str, tuple[pa.Array, Any]] = {
            path: (_json_column([lookup.json_values(values, j) for values, _ in group_looks]), None)
            for j, path in enumerate(lookup.json_paths)
        }
        given.update(group.from_values.taken(positions))
        set_aside = [group.from_values.set_aside.get(position) for position in positions]
        unknown_keys = [lookup.unmapped(values) for values, _ in group_looks]
        return self._place(pa.array(positions, pa.int64()), table, shapes, given, unknown_keys, set_aside)

    def _place(self, positions: pa.Array, table: pa.Table, shapes: Shapes,
               given: dict[str, tuple[pa.Array, Any]], unknown_keys: list[tuple[tuple[str, bytes], ...]] | None = None,
               set_aside: list[dict[str, Any] | None] | None = None) -> _Read:
        documents = table.to_struct_array().combine_chunks()
        reading = arrow_reader.Reading(shapes, given)
        columns, route = arrow_reader.document_columns(self.schema.fields, documents, reading)
        columns.append(_unmapped_column(reading.kept_aside, unknown_keys, set_aside, len(positions)))
        if route is None or not pc.any(route).as_py():
            return _Read(parts=[(positions, columns)])
        keep = pc.invert(route)
        return _Read(parts=[(positions.filter(keep), [column.filter(keep) for column in columns])],
                     slow=positions.filter(route).to_pylist())

    # -- what the reader learns ---------------------------------------------------------------

    def _learn_list(self, error: pa.ArrowInvalid) -> bool:
        """A scalar field came as an array: read it as a list from now on."""
        change = arrow_reader.KIND_CHANGE.search(str(error))
        path = self._learnable_path(change)
        if path is None or change["now"] != "array" or not self._can_be_a_list(path):  # type: ignore[index]
            return False
        self._learn({path}, set())  # (another slice may have learnt it meanwhile: then read again all the same)
        return True

    def _learn_kind(self, error: pa.ArrowInvalid, sources: list[msgspec.Raw]) -> str | None:
        """A field came in another JSON kind: tell its documents apart by kind from now on, and
        every other field these documents send in several kinds with it. Returns the field's
        path (None if the error names no field that can be told apart)."""
        path = self._learnable_path(arrow_reader.KIND_CHANGE.search(str(error)))
        if path is not None and path not in self._kind_paths:
            lists, kinds = self._survey(sources)
            self._learn(lists - self._kind_paths, kinds | {path})
        return path

    def _survey(self, sources: list[msgspec.Raw]) -> tuple[set[str], set[str]]:
        """(scalar fields sent as arrays only, fields sent in kinds read in several shapes) in these
        documents. The reader finds one such field a failed read, and each costs a decode of the
        documents again (a dozen on the first page of a day whose indices disagree): one pass of
        msgspec over them finds them all at once."""
        self._surveyed = True
        seen: dict[str, set[str]] = {}
        for source in sources:
            try:
                document = _SURVEY_READER.decode(source)
            except msgspec.DecodeError:
                continue  # (the exact path reads it)
            _collect_kinds(self.schema.fields, document, "", seen)
        lists, kinds = set(), set()
        for path, found in seen.items():
            shapes = {arrow_reader.shape_of(self._fields[path][0], kind) for kind in found}
            if shapes == {ARRAY} and self._can_be_a_list(path):
                lists.add(path)
            elif shapes != {NATIVE}:
                kinds.add(path)
        return lists, kinds

    def _can_be_a_list(self, path: str) -> bool:
        field = self._fields[path][0]
        return field.kind not in ("geo_point", "json") and not field.repeated

    def _learn(self, list_paths: set[str], kind_paths: set[str]) -> None:
        with self._lock:
            self._list_paths = self._list_paths | list_paths
            self._kind_paths = self._kind_paths | kind_paths
            self._probe.tell_apart(self._kind_paths | self._list_paths)

    def _learnable_path(self, change: re.Match[str] | None) -> str | None:
        """The dotted path of the field a kind change names, if it is one field per document
        (not an element of an array, whose kinds the probe does not tell apart)."""
        if change is None:
            return None
        parts = change["path"].strip("/").split("/")
        while parts and parts[-1] == "[]":
            parts.pop()
        path = ".".join(parts)
        known = self._fields.get(path)
        return path if known is not None and not known[1] and "[]" not in parts else None


def _collect_kinds(fields: tuple[Field, ...], document: dict[str, Any], prefix: str,
                   seen: dict[str, set[str]]) -> None:
    """The JSON kinds of each field outside arrays (list columns' own elements aside), into
    ``seen`` by dotted path."""
    for field in fields:
        value = document.get(field.source_name)
        if value is None or field.kind == "json":
            continue
        path = prefix + field.source_name
        seen.setdefault(path, set()).add(kind_of(value))
        if field.kind == "object" and not field.repeated and isinstance(value, dict):
            _collect_kinds(field.children, value, path + ".", seen)


def _unmapped_column(kept_aside: list[arrow_reader.KeptAside],
                     unknown_keys: list[tuple[tuple[str, bytes], ...]] | None,
                     set_aside: list[dict[str, Any] | None] | None, rows: int) -> pa.Array:
    """``_unmapped`` of rows that fit: the values set aside (by the kernels, or by row already)
    and the keys the mapping lacks, ``{dotted path: value as the document has it}`` as JSON text
    (as the exact path writes it)."""
    kept: dict[int, dict[str, Any]] = {row: dict(values) for row, values in enumerate(set_aside or ()) if values}
    for entry in kept_aside:
        for row, value in entry.rows_and_values():
            kept.setdefault(row, {})[entry.path] = value
    for row, keys in enumerate(unknown_keys or ()):
        for path, text in keys:
            kept.setdefault(row, {})[path] = _load_json(text, "a value the mapping lacks")
    if not kept:
        return pa.nulls(rows, pa.string())
    texts: list[str | None] = [None] * rows
    for row, values in kept.items():
        texts[row] = json_text(values)  # a routed row's text is replaced with its row
    return pa.array(texts, pa.string())


def _json_column(texts: list[bytes | None]) -> pa.Array:
    """A json field's column: each value's canonical JSON text (README "Schema rules"). One value
    at a time, each dropped as soon as it is written: a page's worth alive at once would be the
    garbage collector's to walk."""
    decode = _EXACT_READER.decode
    try:
        canonical = [None if text is None else json_text(decode(text)) for text in texts]
    except msgspec.DecodeError:  # (a value only the standard library's reader takes: see _load_json)
        canonical = [None if text is None else json_text(_load_json(text, "a json field")) for text in texts]
    return pa.array(canonical, pa.string())


def _leaf_paths(fields: tuple[Field, ...], prefix: str, in_a_list: bool) -> Iterator[tuple[str, tuple[Field, bool]]]:
    """(dotted source path, (field, whether it lies inside a list)) for every field."""
    for field in fields:
        path = prefix + field.source_name
        yield path, (field, in_a_list)
        if field.kind == "object":
            yield from _leaf_paths(field.children, path + ".", in_a_list or field.repeated)


def _read_lines(sources: list[msgspec.Raw], schema: pa.Schema, unexpected: str, newlines: bool) -> pa.Table:
    data = b"\n".join(sources)
    table = pajson.read_json(
        pa.BufferReader(data),
        read_options=pajson.ReadOptions(block_size=len(data) + 1, use_threads=False),
        parse_options=pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior=unexpected,
                                          newlines_in_values=newlines),
    )
    if table.num_rows != len(sources):
        raise pa.ArrowInvalid("not one row per document")
    return table


def _last_sort(hits: list[_Hit]) -> list[Any] | None:
    return msgspec.json.decode(hits[-1].sort) if hits and len(hits[-1].sort) else None


def _without_source(where: str, index: Any, doc_id: Any) -> IncompleteExtraction:
    return IncompleteExtraction(
        f"{where}: document {index}/{doc_id} came back without _source; es_assets needs _source enabled on the index"
    )


def _total(total: Any) -> int | None:
    return total.get("value") if isinstance(total, dict) else total


def _load_json(data: bytes, where: str) -> Any:
    """JSON with every number exact: a float only where it is the literal, else its digits
    (``conversions.exact_json_float``); integers of any width. (orjson rounds
    ``4503599627370496.5`` to an integer and ``1e-400`` to 0.) msgspec reads so, fast; what it
    refuses (NaN, a lone surrogate, a body cut off) the standard library's reader takes, and
    says whether the body was whole."""
    try:
        return _EXACT_READER.decode(data)
    except msgspec.DecodeError:
        pass
    try:
        response = json.loads(data, parse_float=exact_json_float, parse_constant=decimal.Decimal)
    except ValueError as exc:
        raise TruncatedResponse(f"{where}: the response is not whole JSON ({exc}); it was cut off") from None
    # Only a \uD800-\uDFFF escape can make a lone surrogate; most pages have none, and the walk is costly.
    return _replace_lone_surrogates(response) if _SURROGATE_ESCAPE.search(data) else response


_EXACT_READER = msgspec.json.Decoder(float_hook=exact_json_float)
_SURVEY_READER = msgspec.json.Decoder()  # kinds only: a float's exact value does not matter
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
