"""Documents (raw ``_source`` JSON) → column arrays, at Arrow speed, routing what does not fit.

pyarrow's JSON reader parses newline-delimited ``_source`` documents with an explicit schema,
without a Python object per document or per value; that is why it is the reader here rather
than DuckDB's (whose per-field casts cost more than the parse, as measured on branch ``fast``)
or orjson (which builds the Python objects this module exists to avoid). The reader is strict:
each field must arrive in one JSON kind. So each field is read with a **shape**: its column's
own type (``NATIVE``), a list of it (``LIST``: a scalar field Filebeat writes as a one-element
array), or the JSON kind its values have in a group of documents (``"s"`` string, ``"i"``
integer, ``"f"`` fraction/exponent number, ``"b"`` boolean, ``"o"`` object, ``"a"`` array).
:func:`read_type` gives the Arrow type to read a field with in a shape; :func:`document_columns`
turns what was read into the column's values with vectorized kernels (pyarrow.compute) and
returns a mask of the rows whose value the kernels cannot prove exact.

The rules are the exact path's (:mod:`es_assets.schema.values`, :mod:`~es_assets.schema.conversions`):
this module only takes the values whose conversion is trivially exact (a JSON integer into an
int64, an integer into a string column as its digits, a one-element array unwrapped ...). A row
with any other value is *routed*: the caller sends that document, and only it, to the exact path.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Callable, Mapping

import pyarrow as pa
import pyarrow.compute as pc

from es_assets.schema import conversions
from es_assets.schema.fields import Field

NATIVE = "native"
LIST = "list"
# The JSON kinds a probe tells apart (es_assets.schema.probe.kind_of).
STRING, INTEGER, FRACTION, BOOLEAN, OBJECT, ARRAY, NULL = "s", "i", "f", "b", "o", "a", "z"

_LARGEST_EXACT_INTEGER_IN_A_DOUBLE = 2.0**53
_NEGATIVE_ZERO_BITS = -(2**63)
_INT64_MAX = 2**63 - 1
# Digit strings pyarrow's cast reads as the exact path does (no "+": pyarrow refuses it; 18
# digits always fit an int64). Numeric strings: the exact path's own pattern.
_INTEGER_STRING = r"^-?\d{1,18}$"
_NUMERIC_STRING = "^" + conversions._NUMERIC_TEXT.pattern + "$"

Shapes = dict[str, str]  # dotted source path → shape; a path not listed is read NATIVE


class NotReadable(Exception):
    """The shape has no Arrow reading for this field: the documents in it take the exact path."""


def read_schema(fields: tuple[Field, ...], shapes: Shapes) -> pa.Schema:
    """The explicit schema to read ``_source`` lines with (keys as in the JSON); json fields are
    left out (the reader ignores them; their values come from the probe)."""
    return pa.schema(_read_fields(fields, shapes, ""))


def _read_fields(fields: tuple[Field, ...], shapes: Shapes, prefix: str) -> list[pa.Field]:
    return [pa.field(f.source_name, read_type(f, shapes, prefix + f.source_name))
            for f in fields if f.kind != "json"]


def read_type(field: Field, shapes: Shapes, path: str) -> pa.DataType:
    shape = shapes.get(path, NATIVE)
    if field.kind == "geo_point" and shape in (LIST, ARRAY):
        _not_readable(field, shape)  # [lon, lat] or an array of points: the exact path tells them apart
    if field.kind == "object":
        struct = pa.struct(_read_fields(field.children, shapes, path + "."))
        if field.repeated or shape in (LIST, ARRAY):
            return pa.list_(struct) if shape in (NATIVE, LIST, ARRAY, OBJECT) else _not_readable(field, shape)
        return struct if shape in (NATIVE, OBJECT) else _not_readable(field, shape)
    if shape in (NATIVE, LIST, ARRAY):
        element = _leaf_read_type(field, NATIVE)
        return pa.list_(element) if field.repeated or shape != NATIVE else element
    return _leaf_read_type(field, shape)  # a scalar in a list column is wrapped after reading


def _leaf_read_type(field: Field, kind: str) -> pa.DataType:
    column = field.arrow_type.value_type if field.repeated else field.arrow_type
    if kind == NATIVE:
        return pa.string() if field.kind == "binary" else column
    readable = _READABLE_KINDS.get(field.kind, {})
    if kind not in readable:
        _not_readable(field, kind)
    return readable[kind] or column


def _not_readable(field: Field, shape: str) -> pa.DataType:
    raise NotReadable(f"{field.source_name}: {shape}")


# For each column kind, the JSON kinds read without Python, and what they are read as (None:
# the column's own type). Every other kind routes its documents to the exact path.
_READABLE_KINDS: dict[str, dict[str, pa.DataType | None]] = {
    "string": {STRING: None, INTEGER: pa.int64(), BOOLEAN: pa.bool_()},
    "integer": {INTEGER: None, STRING: pa.string()},
    "double": {INTEGER: None, FRACTION: None, STRING: pa.string()},
    "boolean": {BOOLEAN: None, STRING: pa.string()},
    "date": {STRING: None, INTEGER: pa.int64()},
    "date_nanos": {STRING: None, INTEGER: pa.int64()},
    "unsigned": {INTEGER: None, STRING: None},  # the decimal reader takes digit strings too
    "geo_point": {OBJECT: None},
    "binary": {STRING: pa.string()},
}


@dataclasses.dataclass
class Reading:
    """How one group of documents was read, and what converting it set aside."""

    shapes: Shapes
    json_columns: Mapping[str, pa.Array]  # json fields' values by path: the reader skips them
    # (dotted path, rows, the arrays): arrays of two or more strings, integers or booleans in a
    # scalar column. The column is null and the array goes to ``_unmapped`` as the document has
    # it, which these Arrow values are exactly (the caller writes the JSON text).
    kept_aside: list[tuple[str, pa.Array, pa.ListArray]] = dataclasses.field(default_factory=list)


def document_columns(fields: tuple[Field, ...], documents: pa.StructArray,
                     reading: Reading) -> tuple[list[pa.Array], pa.Array]:
    """The top-level columns of documents read with ``read_schema(fields, reading.shapes)``, and
    the rows to route. Routed rows' values are garbage: the caller replaces them."""
    return _struct_children(Field("", "", "object", children=fields), documents, reading, "", rows_aligned=True)


def _column(field: Field, array: pa.Array, reading: Reading, path: str,
            rows_aligned: bool) -> tuple[pa.Array, pa.Array]:
    """(the column's values, the rows to route); ``rows_aligned``: ``array`` has one value per
    document (not the elements of some array), so values can be set aside by row."""
    shape = reading.shapes.get(path, NATIVE)
    if field.kind == "object":
        return _object_column(field, array, reading, path, shape, rows_aligned)
    if field.repeated:
        return _list_column(field, array, shape)
    if shape in (LIST, ARRAY):
        values = array.flatten()
        if rows_aligned and values.type in (pa.string(), pa.int64(), pa.bool_()):
            taken, several = _unwrap(array, values, _no_rows(len(values)))
            reading.kept_aside.append((path, several, array))
            route = _no_rows(len(array))
        else:
            taken, route = _unwrap(array, values, _no_rows(len(values)))
        converted, value_route = _leaf_values(field, taken, NATIVE)
        return converted, pc.or_(route, value_route)
    return _leaf_values(field, array, shape)


def _object_column(field: Field, array: pa.Array, reading: Reading, path: str, shape: str,
                   rows_aligned: bool) -> tuple[pa.Array, pa.Array]:
    if field.repeated or shape in (LIST, ARRAY):
        structs = array.flatten()
        # json values inside arrays of objects are not probed: such documents took the exact path.
        columns, route = _struct_children(field, structs, reading, path, rows_aligned=False)
        rebuilt = pa.StructArray.from_arrays(columns, fields=_column_fields(field), mask=structs.is_null())
        if field.repeated:
            return _rebuild_list(array, rebuilt, route)
        return _unwrap(array, rebuilt, route)
    columns, route = _struct_children(field, array, reading, path, rows_aligned)
    return pa.StructArray.from_arrays(columns, fields=_column_fields(field), mask=array.is_null()), route


def _struct_children(field: Field, structs: pa.StructArray, reading: Reading, path: str,
                     rows_aligned: bool) -> tuple[list[pa.Array], pa.Array]:
    read = [child for child in field.children if child.kind != "json"]
    flat = dict(zip((child.source_name for child in read), structs.flatten()))
    route = _no_rows(len(structs))
    columns = []
    for child in field.children:
        child_path = f"{path}.{child.source_name}" if path else child.source_name
        if child.kind == "json":
            given = reading.json_columns.get(child_path) if rows_aligned else None
            columns.append(pa.nulls(len(structs), child.arrow_type) if given is None else given)
            continue
        values, child_route = _column(child, flat[child.source_name], reading, child_path, rows_aligned)
        columns.append(values)
        route = pc.or_(route, child_route)
    return columns, route


def _column_fields(field: Field) -> list[pa.Field]:
    return [pa.field(child.name, child.arrow_type) for child in field.children]


def _list_column(field: Field, array: pa.Array, shape: str) -> tuple[pa.Array, pa.Array]:
    if shape in (NATIVE, LIST, ARRAY):
        values, element_route = _leaf_values(field, array.flatten(), NATIVE)
        return _rebuild_list(array, values, element_route)
    # A scalar where the mapping's column is a list: the exact path makes it a one-element list.
    values, route = _leaf_values(field, array, shape)
    offsets = pa.array(range(len(values) + 1), pa.int32())
    return pa.ListArray.from_arrays(offsets, values, mask=values.is_null()), route


def _rebuild_list(lists: pa.ListArray, values: pa.Array, element_route: pa.Array) -> tuple[pa.Array, pa.Array]:
    """``lists`` with its elements replaced by ``values``; a row is routed if any element is."""
    offsets = _offsets(lists)
    rebuilt = pa.ListArray.from_arrays(offsets, values, mask=lists.is_null())
    return rebuilt, _rows_with(lists, element_route)


def _rows_with(lists: pa.ListArray, element_mask: pa.Array) -> pa.Array:
    """The rows of ``lists`` one of whose elements is set in ``element_mask`` (flattened order)."""
    if not pc.any(element_mask).as_py():
        return _no_rows(len(lists))
    parents = pc.list_parent_indices(lists)
    hit = pc.unique(pc.filter(parents, element_mask))
    return pc.is_in(pa.array(range(len(lists)), pa.int64()), value_set=hit.cast(pa.int64()))


def _offsets(lists: pa.ListArray) -> pa.Array:
    lengths = pc.fill_null(pc.list_value_length(lists), 0)
    return pa.concat_arrays([pa.array([0], pa.int32()), pc.cumulative_sum(lengths).cast(pa.int32())])


def _unwrap(lists: pa.ListArray, values: pa.Array, element_route: pa.Array) -> tuple[pa.Array, pa.Array]:
    """A scalar column's values from arrays (``values``: their elements, converted): one element
    → it, empty → null; the second result marks arrays of two or more, and arrays with a routed
    element (the exact path keeps the first kind whole in ``_unmapped``)."""
    lengths = pc.list_value_length(lists)
    starts = _offsets(lists)[:-1]
    single = pc.fill_null(pc.equal(lengths, 1), False)
    taken = pc.take(values, pc.if_else(single, starts, pa.scalar(None, pa.int32())))
    several = pc.or_(pc.fill_null(pc.greater(lengths, 1), False), _rows_with(lists, element_route))
    return taken, several


def _leaf_values(field: Field, array: pa.Array, kind: str) -> tuple[pa.Array, pa.Array]:
    convert = _CONVERSIONS.get((field.kind, kind))
    if convert is not None:
        return convert(field, array)
    target = field.arrow_type.value_type if field.repeated else field.arrow_type
    return array, _suspects(field.kind, array, target)


def _suspects(kind: str, values: pa.Array, target: pa.DataType) -> pa.Array:
    """Rows whose value pyarrow read as the exact path would not (README "Schema rules")."""
    if kind == "double":
        return _doubles_read_otherwise(values)
    if kind == "geo_point":
        lat, lon = values.flatten()
        partial = pc.and_(values.is_valid(), pc.or_(lat.is_null(), lon.is_null()))  # exactly {lat, lon}
        return pc.or_(partial, pc.or_(_doubles_read_otherwise(lat), _doubles_read_otherwise(lon)))
    if kind == "unsigned":
        # Below 2**53 a fraction or exponent cannot hide another integer; the exact path decides above.
        outside = pc.or_(pc.less(values, pa.scalar(0, target)),
                         pc.greater_equal(values, pa.scalar(2**53, target)))
        return pc.fill_null(outside, False)
    return _no_rows(len(values))


def _doubles_read_otherwise(doubles: pa.Array) -> pa.Array:
    """NaN/Infinity (not JSON), from 2**53 up (not every integer is a double: the reader rounds
    9007199254740993), and -0 (the integer -0 is 0 on the exact path)."""
    suspect = pc.or_(
        pc.or_(pc.invert(pc.is_finite(doubles)), pc.greater_equal(pc.abs(doubles), _LARGEST_EXACT_INTEGER_IN_A_DOUBLE)),
        pc.equal(doubles.view(pa.int64()), _NEGATIVE_ZERO_BITS),
    )
    return pc.fill_null(suspect, False)


def _no_rows(length: int) -> pa.Array:
    return pa.repeat(False, length)


# -- conversions from a JSON kind read into another Arrow type -----------------------------------

def _where(valid: pa.Array, values: pa.Array, original: pa.Array) -> tuple[pa.Array, pa.Array]:
    """``values`` where ``valid``; the other non-null rows are routed."""
    valid = pc.fill_null(valid, False)
    return values, pc.and_(original.is_valid(), pc.invert(valid))


def _digits_as_string(field: Field, integers: pa.Array) -> tuple[pa.Array, pa.Array]:
    return pc.cast(integers, pa.string()), _no_rows(len(integers))


def _boolean_as_string(field: Field, booleans: pa.Array) -> tuple[pa.Array, pa.Array]:
    return pc.cast(booleans, pa.string()), _no_rows(len(booleans))


def _string_as_integer(field: Field, strings: pa.Array) -> tuple[pa.Array, pa.Array]:
    valid = pc.match_substring_regex(strings, _INTEGER_STRING)
    return _where(valid, pc.cast(pc.if_else(valid, strings, None), pa.int64()), strings)


def _string_as_double(field: Field, strings: pa.Array) -> tuple[pa.Array, pa.Array]:
    valid = pc.match_substring_regex(strings, _NUMERIC_STRING)
    try:
        doubles = pc.cast(pc.if_else(valid, strings, None), pa.float64())
    except pa.ArrowInvalid:  # a numeric text pyarrow's parser refuses: the exact path reads them all
        return pa.nulls(len(strings), pa.float64()), strings.is_valid()
    values, route = _where(valid, doubles, strings)
    return values, pc.or_(route, _doubles_read_otherwise(doubles))


def _string_as_boolean(field: Field, strings: pa.Array) -> tuple[pa.Array, pa.Array]:
    valid = pc.is_in(strings, value_set=pa.array(["true", "false"]))
    return _where(valid, pc.equal(strings, "true"), strings)


def _epoch_as_timestamp(field: Field, epochs: pa.Array) -> tuple[pa.Array, pa.Array]:
    seconds = "epoch_second" in field.date_formats and "epoch_millis" not in field.date_formats
    per_unit = (1000 if seconds else 1) * (1 if field.kind == "date" else 1_000_000)
    limit = _INT64_MAX // per_unit
    valid = pc.and_(pc.greater_equal(epochs, -limit), pc.less_equal(epochs, limit))
    scaled = pc.multiply(pc.if_else(valid, epochs, 0), per_unit)
    values, route = _where(valid, pc.if_else(valid, scaled, None), epochs)
    return values.cast(field.arrow_type.value_type if field.repeated else field.arrow_type), route


def _base64_as_binary(field: Field, strings: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Base64 has no Arrow kernel; binary fields are rare, so each value is checked in Python."""
    decoded: list[bytes | None] = []
    route: list[bool] = []
    for text in strings.to_pylist():
        try:
            decoded.append(None if text is None else conversions.to_binary(text))
            route.append(False)
        except ValueError:  # as the exact path: not base64, or not its canonical text
            decoded.append(None)
            route.append(True)
    return pa.array(decoded, pa.binary()), pa.array(route, pa.bool_())


_CONVERSIONS: dict[tuple[str, str], Callable[[Field, pa.Array], tuple[pa.Array, pa.Array]]] = {
    ("string", INTEGER): _digits_as_string,
    ("string", BOOLEAN): _boolean_as_string,
    ("integer", STRING): _string_as_integer,
    ("double", STRING): _string_as_double,
    ("boolean", STRING): _string_as_boolean,
    ("date", INTEGER): _epoch_as_timestamp,
    ("date_nanos", INTEGER): _epoch_as_timestamp,
    ("binary", NATIVE): _base64_as_binary,
    ("binary", STRING): _base64_as_binary,
}

# pyarrow's error for a field in another JSON kind than the schema's: "Column(/a/b) changed from
# string to number in row 3". The path and row are what the reader learns shapes from.
KIND_CHANGE = re.compile(r"Column\((?P<path>/[^)]*)\) changed from (?P<was>\w+) to (?P<now>\w+) in row (?P<row>\d+)")
