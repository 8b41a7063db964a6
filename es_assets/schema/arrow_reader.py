"""Documents (raw ``_source`` JSON) → column arrays, at Arrow speed, routing what does not fit.

pyarrow's JSON reader parses newline-delimited ``_source`` documents with an explicit schema,
without a Python object per document or per value; that is why it is the reader here rather
than DuckDB's (whose per-field casts cost more than the parse, as measured on branch ``fast``)
or orjson (which builds the Python objects this module exists to avoid). The reader is strict:
each field must arrive in one JSON kind. So each field is read with a **shape**: its column's
own type (``NATIVE``), or the JSON kind its values have in a group of documents (``"s"``
string, ``"i"`` integer, ``"f"`` fraction/exponent number, ``"b"`` boolean, ``"o"`` object,
``"a"`` array: also how a scalar field Filebeat writes as one-element arrays is read).
:func:`read_schema` gives the Arrow types to read documents with; :func:`document_columns` turns
what was read into the columns with vectorized kernels (pyarrow.compute), and marks the rows
whose value the kernels cannot prove exact.

The rules are the exact path's (:mod:`es_assets.schema.values`, :mod:`~es_assets.schema.conversions`);
this module takes only the values whose conversion it can prove exact: a JSON integer into an
int64, an integer into a string column as its digits, a one-element array unwrapped, an ISO date
parsed by the same pattern (:mod:`~es_assets.schema.text_kernels`) ... A row with any other value
is *routed*: the caller sends that document, and only it, to the exact path.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Callable, Mapping, Sequence

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from es_assets.schema import conversions, text_kernels
from es_assets.schema.fields import Field
from es_assets.schema.values import has_no_column_value

NATIVE = "native"
# The JSON kinds the probe tells apart (es_assets.schema.probe).
STRING, INTEGER, FRACTION, BOOLEAN, OBJECT, ARRAY, NULL = "s", "i", "f", "b", "o", "a", "z"

_LARGEST_EXACT_INTEGER_IN_A_DOUBLE = 2.0**53
_NEGATIVE_ZERO_BITS = -(2**63)
_INT64_MAX = 2**63 - 1
# Digit strings pyarrow's cast reads as the exact path does (no "+": pyarrow refuses it; 18
# digits always fit an int64).
_INTEGER_STRING = r"^-?\d{1,18}$"
# Types whose Arrow values are the JSON values exactly, so an array of them can go to _unmapped.
_EXACT_JSON_TYPES = (pa.string(), pa.int64(), pa.bool_())

Shapes = dict[str, str]  # dotted source path → shape; a path not listed is read NATIVE
# Called with (rows, original values) for values that go to _unmapped while the row fits.
SetAside = Callable[[pa.Array, pa.Array], None]
Rows = pa.Array | None  # a boolean mask of rows; None: no row


class NotReadable(Exception):
    """The shape has no Arrow reading for this field: the documents in it take the exact path."""


# -- what to read each field as ------------------------------------------------------------------

def read_schema(fields: tuple[Field, ...], shapes: Shapes, given: frozenset[str] = frozenset()) -> pa.Schema:
    """The explicit schema to read ``_source`` lines with (keys as in the JSON); json fields and
    the ``given`` paths are left out (the reader ignores them; their columns come from the probe)."""
    return pa.schema(_read_fields(fields, shapes, "", given))


def _read_fields(fields: tuple[Field, ...], shapes: Shapes, prefix: str, given: frozenset[str]) -> list[pa.Field]:
    return [pa.field(f.source_name, _read_type(f, shapes, prefix + f.source_name, given))
            for f in fields if f.kind != "json" and prefix + f.source_name not in given]


def shape_of(field: Field, kind: str) -> str | None:
    """The shape to read ``field`` in when its value has JSON ``kind`` (None: no Arrow reading,
    the document takes the exact path). Kinds read alike share a shape, so that documents which
    differ only in them are read together."""
    if kind == NULL or field.kind == "json":
        return NATIVE
    if field.kind == "object":
        return {ARRAY: NATIVE}.get(kind) if field.repeated else {OBJECT: NATIVE, ARRAY: ARRAY}.get(kind)
    if field.kind == "geo_point":
        return {OBJECT: NATIVE, STRING: STRING, ARRAY: ARRAY}.get(kind)
    if kind == ARRAY:
        return NATIVE if field.repeated else ARRAY
    readable = _READ_AS[field.kind]
    if kind not in readable:
        return None
    return NATIVE if not field.repeated and readable[kind] == readable[NATIVE] else kind


def _read_type(field: Field, shapes: Shapes, path: str, given: frozenset[str] = frozenset()) -> pa.DataType:
    shape = shapes.get(path, NATIVE)
    if field.kind == "object":
        struct = pa.struct(_read_fields(field.children, shapes, path + ".", given))
        if shape in (NATIVE, OBJECT):
            return pa.list_(struct) if field.repeated else struct
        if shape == ARRAY:
            return pa.list_(struct)
        raise NotReadable(f"{path}: {shape}")
    if field.kind == "geo_point" and shape == ARRAY:
        return pa.list_(pa.float64())  # a [lon, lat] pair (the probe saw numbers only)
    if shape in (NATIVE, ARRAY):
        element = _leaf_read_type(field, NATIVE, path)
        return pa.list_(element) if field.repeated or shape != NATIVE else element
    return _leaf_read_type(field, shape, path)  # a scalar in a list column is wrapped after reading


def _leaf_read_type(field: Field, kind: str, path: str) -> pa.DataType:
    readable = _READ_AS[field.kind]
    if kind not in readable:
        raise NotReadable(f"{path}: {kind}")
    read_as = readable[kind]
    if read_as is not None:
        return read_as
    return field.arrow_type.value_type if field.repeated else field.arrow_type


# For each column kind, how each JSON kind is read (None: as the column's own type). Dates are
# read as text: pyarrow's timestamp parser refuses a whole read for one odd date, the ISO kernel
# routes just that row. Every kind not listed sends its documents to the exact path.
_READ_AS: dict[str, dict[str, pa.DataType | None]] = {
    "string": {NATIVE: None, STRING: None, INTEGER: pa.int64(), BOOLEAN: pa.bool_()},
    "integer": {NATIVE: None, INTEGER: None, STRING: pa.string()},
    "double": {NATIVE: None, INTEGER: None, FRACTION: None, STRING: pa.string()},
    "boolean": {NATIVE: None, BOOLEAN: None, STRING: pa.string()},
    "date": {NATIVE: pa.string(), STRING: pa.string(), INTEGER: pa.int64()},
    "date_nanos": {NATIVE: pa.string(), STRING: pa.string(), INTEGER: pa.int64()},
    "unsigned": {NATIVE: None, INTEGER: None, STRING: None},  # the decimal reader takes digit strings too
    "geo_point": {NATIVE: None, OBJECT: None, STRING: pa.string()},
    "binary": {NATIVE: pa.string(), STRING: pa.string()},
}


# -- what was read → the columns -----------------------------------------------------------------

@dataclasses.dataclass
class Reading:
    """How one group of documents was read, and what converting it set aside."""

    shapes: Shapes
    # Columns made without the reader (json fields, fields told apart by kind), by path, with
    # the rows they route: the reader skips these paths.
    given: Mapping[str, tuple[pa.Array, Rows]]
    # Values that go to _unmapped as the document has them while the row keeps its place (arrays
    # of two or more strings in a scalar column, a date's digits below the column's unit); the
    # caller writes them as JSON text.
    kept_aside: list["KeptAside"] = dataclasses.field(default_factory=list)

    def aside(self, path: str) -> SetAside:
        return lambda rows, values: self.kept_aside.append(KeptAside(path, rows, values))


@dataclasses.dataclass(frozen=True)
class KeptAside:
    path: str
    chosen: pa.Array  # the rows whose value is set aside
    values: pa.Array
    rows: pa.Array | None = None  # where the values' rows are among the group's (None: the same)

    def rows_and_values(self) -> list[tuple[int, Any]]:
        """(row, the value as the document has it) of each value set aside."""
        if not pc.any(self.chosen).as_py():
            return []
        chosen = pc.indices_nonzero(self.chosen)
        at = chosen if self.rows is None else self.rows.take(chosen)
        return list(zip(at.to_pylist(), self.values.take(chosen).to_pylist()))


def document_columns(fields: tuple[Field, ...], documents: pa.StructArray,
                     reading: Reading) -> tuple[list[pa.Array], Rows]:
    """The top-level columns of documents read with ``read_schema(fields, reading.shapes)``, and
    the rows to route. Routed rows' values are garbage: the caller replaces them."""
    return _struct_children(Field("", "", "object", children=fields), documents, reading, "", rows_aligned=True)


def _column(field: Field, array: pa.Array, reading: Reading, path: str,
            rows_aligned: bool) -> tuple[pa.Array, Rows]:
    """(the column's values, the rows to route); ``rows_aligned``: ``array`` has one value per
    document (not the elements of some array), so values can be set aside by row."""
    shape = reading.shapes.get(path, NATIVE)
    aside = reading.aside(path) if rows_aligned else None
    if field.kind == "object":
        return _object_column(field, array, reading, path, shape, rows_aligned)
    if field.repeated:
        return _list_column(field, array, shape)
    if field.kind == "geo_point" and shape == ARRAY:
        return _geo_point_pairs(array)
    if shape == ARRAY:
        values = array.flatten()
        taken, several = _unwrap(array, values, None)
        if aside is not None and values.type in _EXACT_JSON_TYPES:
            if several is not None:
                aside(several, array)  # the exact path keeps such an array whole in _unmapped
            several = None
        # An unwrapped value that does not fit is kept with its brackets: the exact path writes it.
        converted, value_route = _leaf_values(field, taken, NATIVE, None)
        return converted, _either(several, value_route)
    return _leaf_values(field, array, shape, aside)


def _object_column(field: Field, array: pa.Array, reading: Reading, path: str, shape: str,
                   rows_aligned: bool) -> tuple[pa.Array, Rows]:
    if field.repeated or shape == ARRAY:
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
                     rows_aligned: bool) -> tuple[list[pa.Array], Rows]:
    flat = dict(zip((child.name for child in structs.type), structs.flatten()))  # what was read, by key
    route: Rows = None
    columns = []
    for child in field.children:
        child_path = f"{path}.{child.source_name}" if path else child.source_name
        given = reading.given.get(child_path) if rows_aligned else None
        if given is not None:
            values, child_route = given
        elif child.kind == "json":  # inside an array of objects: such documents took the exact path
            values, child_route = pa.nulls(len(structs), child.arrow_type), None
        else:
            values, child_route = _column(child, flat[child.source_name], reading, child_path, rows_aligned)
        columns.append(values)
        route = _either(route, child_route)
    return columns, route


def column_from_values(field: Field, path: str, values: Sequence[Any],
                       shapes: Sequence[str]) -> tuple[pa.Array, Rows, list[KeptAside]]:
    """A leaf's column from the values the probe decoded (one per document, each with the
    shape its kind calls for), without the reader: for fields sent in several kinds, so that
    their documents need no read of their own per mix of kinds. Returns the column, the rows to
    route and what was set aside (by row)."""
    counts = {shape: shapes.count(shape) for shape in set(shapes)}
    if len(counts) == 1:  # (most paths in most groups: no split, no reordering)
        return _column_of_one_shape(field, path, shapes[0], values)
    # The rows in order of shape (a stable sort: each shape's rows stay in order), so that each
    # shape's values are one slice; loops in C, not a Python statement a row.
    order = sorted(range(len(shapes)), key=shapes.__getitem__)
    ordered = list(map(values.__getitem__, order))
    order_array = pa.array(order, pa.int64())
    parts, routes, kept, start = [], [], [], 0
    for shape in sorted(counts):
        stop = start + counts[shape]
        column, route, aside = _column_of_one_shape(field, path, shape, ordered[start:stop])
        parts.append(column)
        routes.append(pa.repeat(False, stop - start) if route is None else route)
        kept += [dataclasses.replace(entry, rows=order_array[start:stop]) for entry in aside]
        start = stop
    inverse = pc.sort_indices(order_array)
    return pa.concat_arrays(parts).take(inverse), pa.concat_arrays(routes).take(inverse), kept


def _column_of_one_shape(field: Field, path: str, shape: str,
                         values: Sequence[Any]) -> tuple[pa.Array, Rows, list[KeptAside]]:
    reading = Reading({path: shape}, {})
    array, refused = _python_values(field, path, shape, values)
    column, route = _column(field, array, reading, path, rows_aligned=True)
    return column, _either(route, refused), reading.kept_aside


def _python_values(field: Field, path: str, shape: str, values: Sequence[Any]) -> tuple[pa.Array, Rows]:
    """``values`` as the Arrow type the shape reads; a value pyarrow refuses (an integer beyond
    64 bits, one a double cannot hold, a list of mixed kinds) is null and its row routed."""
    read_type = _read_type(field, {path: shape}, path)
    try:
        if field.kind == "geo_point" and shape == NATIVE:
            return _points(values, read_type), None
        return pa.array(values, type=read_type), None
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, AttributeError):
        pass
    if field.kind == "geo_point" and shape == NATIVE:  # (AttributeError: a raw value, decoded below)
        values = [msgspec.structs.asdict(value) if isinstance(value, msgspec.Struct) else value for value in values]
    # Raw values: documents decoded before the path was told apart (by another slice, say).
    values = [msgspec.json.decode(value) if isinstance(value, msgspec.Raw) else value for value in values]
    kept: list[Any] = []
    refused: list[bool] = []
    for value in values:
        try:
            pa.array([value], type=read_type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError):
            kept.append(None)
            refused.append(True)
            continue
        kept.append(value)
        refused.append(False)
    return pa.array(kept, type=read_type), pa.array(refused, pa.bool_())


def _points(points: Sequence[Any], read_type: pa.StructType) -> pa.StructArray:
    """The probe's ``{lat, lon}`` structs as a struct column, a coordinate list at a time (not
    a dict a point: a page's worth alive at once would be the garbage collector's to walk)."""
    lat = pa.array([None if point is None else point.lat for point in points], pa.float64())
    lon = pa.array([None if point is None else point.lon for point in points], pa.float64())
    return pa.StructArray.from_arrays([lat, lon], fields=list(read_type),
                                      mask=pa.array([point is None for point in points], pa.bool_()))


def _column_fields(field: Field) -> list[pa.Field]:
    return [pa.field(child.name, child.arrow_type) for child in field.children]


def _list_column(field: Field, array: pa.Array, shape: str) -> tuple[pa.Array, Rows]:
    if shape in (NATIVE, ARRAY):
        values, element_route = _leaf_values(field, array.flatten(), NATIVE, None)
        return _rebuild_list(array, values, element_route)
    # A scalar where the mapping's column is a list: the exact path makes it a one-element list.
    values, route = _leaf_values(field, array, shape, None)
    offsets = pa.array(range(len(values) + 1), pa.int32())
    return pa.ListArray.from_arrays(offsets, values, mask=values.is_null()), route


def _rebuild_list(lists: pa.ListArray, values: pa.Array, element_route: Rows) -> tuple[pa.Array, Rows]:
    """``lists`` with its elements replaced by ``values``; a row is routed if any element is."""
    rebuilt = pa.ListArray.from_arrays(_offsets(lists), values, mask=lists.is_null())
    return rebuilt, _rows_with(lists, element_route)


def _rows_with(lists: pa.ListArray, element_mask: Rows) -> Rows:
    """The rows of ``lists`` one of whose elements is set in ``element_mask`` (flattened order)."""
    if element_mask is None or not pc.any(element_mask).as_py():
        return None
    hit = pc.unique(pc.filter(pc.list_parent_indices(lists), element_mask))
    return pc.is_in(pa.array(range(len(lists)), pa.int64()), value_set=hit.cast(pa.int64()))


def _offsets(lists: pa.ListArray) -> pa.Array:
    lengths = pc.fill_null(pc.list_value_length(lists), 0)
    return pa.concat_arrays([pa.array([0], pa.int32()), pc.cumulative_sum(lengths).cast(pa.int32())])


def _unwrap(lists: pa.ListArray, values: pa.Array, element_route: Rows) -> tuple[pa.Array, Rows]:
    """A scalar column's values from arrays (``values``: their elements, converted): one element
    → it, empty → null; the second result marks arrays of two or more, and arrays with a routed
    element."""
    lengths = pc.list_value_length(lists)
    starts = _offsets(lists)[:-1]
    single = pc.fill_null(pc.equal(lengths, 1), False)
    taken = pc.take(values, pc.if_else(single, starts, pa.scalar(None, pa.int32())))
    several = _either(pc.fill_null(pc.greater(lengths, 1), False), _rows_with(lists, element_route))
    return taken, several


def _leaf_values(field: Field, array: pa.Array, kind: str, aside: SetAside | None) -> tuple[pa.Array, Rows]:
    convert = _CONVERSIONS.get((field.kind, kind)) or _CONVERSIONS.get((field.kind, "*"))
    if convert is not None:
        return convert(field, array, aside)
    return array, _suspects(field.kind, array)


def _suspects(kind: str, values: pa.Array) -> Rows:
    """Rows whose value pyarrow read as the exact path would not (README "Schema rules")."""
    if kind == "double":
        return _doubles_read_otherwise(values)
    if kind == "geo_point":
        lat, lon = values.flatten()
        partial = pc.and_(values.is_valid(), pc.or_(lat.is_null(), lon.is_null()))  # exactly {lat, lon}
        return pc.or_(partial, pc.or_(_doubles_read_otherwise(lat), _doubles_read_otherwise(lon)))
    if kind == "unsigned":
        # Below 2**53 a fraction or exponent cannot hide another integer; the exact path decides above.
        outside = pc.or_(pc.less(values, pa.scalar(0, values.type)),
                         pc.greater_equal(values, pa.scalar(2**53, values.type)))
        return pc.fill_null(outside, False)
    return None


def _doubles_read_otherwise(doubles: pa.Array) -> pa.Array:
    """NaN/Infinity (not JSON), from 2**53 up (not every integer is a double: the reader rounds
    9007199254740993), and -0 (the integer -0 is 0 on the exact path)."""
    suspect = pc.or_(
        pc.or_(pc.invert(pc.is_finite(doubles)), pc.greater_equal(pc.abs(doubles), _LARGEST_EXACT_INTEGER_IN_A_DOUBLE)),
        pc.equal(doubles.view(pa.int64()), _NEGATIVE_ZERO_BITS),
    )
    return pc.fill_null(suspect, False)


def _either(first: Rows, second: Rows) -> Rows:
    if first is None:
        return second
    return first if second is None else pc.or_(first, second)


# -- conversions from what a JSON kind was read as ----------------------------------------------

def _where(valid: pa.Array, values: pa.Array, original: pa.Array) -> tuple[pa.Array, Rows]:
    """``values`` where ``valid``; the other non-null rows are routed."""
    valid = pc.fill_null(valid, False)
    return values, pc.and_(original.is_valid(), pc.invert(valid))


def _as_text(field: Field, values: pa.Array, aside: SetAside | None) -> tuple[pa.Array, Rows]:
    """An integer or boolean in a string column is its JSON text: digits, ``true``/``false``."""
    return pc.cast(values, pa.string()), None


def _string_as_integer(field: Field, strings: pa.Array, aside: SetAside | None) -> tuple[pa.Array, Rows]:
    valid = pc.fill_null(pc.match_substring_regex(strings, _INTEGER_STRING), False)
    return _where(valid, pc.cast(pc.if_else(valid, strings, None), pa.int64()), strings)


def _string_as_double(field: Field, strings: pa.Array, aside: SetAside | None) -> tuple[pa.Array, Rows]:
    doubles, valid = text_kernels.numbers_in_text(strings)
    values, route = _where(valid, doubles, strings)
    return values, _either(route, _doubles_read_otherwise(doubles))


def _string_as_boolean(field: Field, strings: pa.Array, aside: SetAside | None) -> tuple[pa.Array, Rows]:
    valid = pc.is_in(strings, value_set=pa.array(["true", "false"]))
    return _where(valid, pc.equal(strings, "true"), strings)


def _epoch_as_timestamp(field: Field, epochs: pa.Array, aside: SetAside | None = None) -> tuple[pa.Array, Rows]:
    """Epoch milliseconds (seconds when the mapping's format says ``epoch_second`` alone)."""
    seconds = "epoch_second" in field.date_formats and "epoch_millis" not in field.date_formats
    per_unit = (1000 if seconds else 1) * (1 if field.kind == "date" else 1_000_000)
    limit = _INT64_MAX // per_unit
    valid = pc.and_(pc.greater_equal(epochs, -limit), pc.less_equal(epochs, limit))
    scaled = pc.multiply(pc.if_else(valid, epochs, 0), per_unit)
    values, route = _where(valid, pc.if_else(valid, scaled, None), epochs)
    return values.cast(_leaf_type(field)), route


def _text_as_timestamp(field: Field, strings: pa.Array, aside: SetAside | None) -> tuple[pa.Array, Rows]:
    """Epoch digits or ISO-8601, as ``conversions.instant_ns`` tries them; a date with digits
    below the unit keeps the truncated instant and sets the text aside (or routes the row if it
    cannot be set aside); other texts (the mapping's own formats) are routed."""
    try:  # pyarrow's own parser reads the common dates fastest, and refuses the rest whole
        return pc.cast(strings, _leaf_type(field)), None
    except pa.ArrowInvalid:
        pass
    epochs, is_epoch, epoch_with_fraction = text_kernels.epoch_digits(strings)
    from_epoch, epoch_route = _epoch_as_timestamp(field, epochs)
    instants, is_iso, finer = text_kernels.iso_instants(strings, 1_000_000 if field.kind == "date" else 1)
    iso = pc.if_else(is_iso, instants, None).cast(_leaf_type(field))
    values = pc.if_else(is_epoch, from_epoch, iso)
    route = pc.and_(strings.is_valid(), pc.invert(pc.or_(is_epoch, is_iso)))
    route = pc.or_(pc.or_(route, epoch_with_fraction), pc.and_(is_epoch, epoch_route))
    if pc.any(finer).as_py():
        if aside is None:
            route = pc.or_(route, finer)
        else:
            aside(finer, strings)
    return values, route


def _geo_point_text(field: Field, strings: pa.Array, aside: SetAside | None) -> tuple[pa.Array, Rows]:
    lat, lon, valid = text_kernels.geo_point_texts(strings)
    points = pa.StructArray.from_arrays([lat, lon], fields=list(_leaf_type(field)), mask=pc.invert(valid))
    values, route = _where(valid, points, strings)
    if aside is not None:  # (geohashes, which es_assets does not read, are the usual ones)
        route = _set_aside_what_has_no_column_value(field, strings, route, aside)
    return values, _either(route, _suspects("geo_point", points))


def _set_aside_what_has_no_column_value(field: Field, originals: pa.Array, route: pa.Array,
                                        aside: SetAside) -> Rows:
    """Of the rows ``route`` marks (their column value already null), those whose value the exact
    path itself gives no column value keep their row and set the value aside, as it would; the
    others stay routed. Only those few values are tried, one by one, by the exact path's rule."""
    if not pc.any(route).as_py():
        return route
    rows = pc.indices_nonzero(route)
    refused = [has_no_column_value(field, raw) for raw in originals.take(rows).to_pylist()]
    chosen = pc.is_in(pa.array(range(len(originals)), pa.uint64()), value_set=rows.filter(pa.array(refused)))
    aside(chosen, originals)
    return pc.and_(route, pc.invert(chosen))


def _geo_point_pairs(pairs: pa.ListArray) -> tuple[pa.Array, Rows]:
    """``[lon, lat]`` (GeoJSON's order); another length is the exact path's to refuse."""
    valid = pc.fill_null(pc.equal(pc.list_value_length(pairs), 2), False)
    starts = _offsets(pairs)[:-1]
    coordinates = pairs.flatten()
    lon = pc.take(coordinates, pc.if_else(valid, starts, None))
    lat = pc.take(coordinates, pc.if_else(valid, pc.add(starts, 1), None))
    point_type = pa.struct([("lat", pa.float64()), ("lon", pa.float64())])
    points = pa.StructArray.from_arrays([lat, lon], fields=list(point_type), mask=pc.invert(valid))
    values, route = _where(valid, points, pairs)
    return values, _either(route, _suspects("geo_point", points))


def _base64_as_binary(field: Field, strings: pa.Array, aside: SetAside | None) -> tuple[pa.Array, Rows]:
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


def _leaf_type(field: Field) -> pa.DataType:
    return field.arrow_type.value_type if field.repeated else field.arrow_type


_CONVERSIONS: dict[tuple[str, str], Callable[[Field, pa.Array, SetAside | None], tuple[pa.Array, Rows]]] = {
    ("string", INTEGER): _as_text,
    ("string", BOOLEAN): _as_text,
    ("integer", STRING): _string_as_integer,
    ("double", STRING): _string_as_double,
    ("boolean", STRING): _string_as_boolean,
    ("date", INTEGER): _epoch_as_timestamp,
    ("date_nanos", INTEGER): _epoch_as_timestamp,
    ("date", "*"): _text_as_timestamp,
    ("date_nanos", "*"): _text_as_timestamp,
    ("geo_point", STRING): _geo_point_text,
    ("binary", "*"): _base64_as_binary,
}

# pyarrow's error for a field in another JSON kind than the schema's: "Column(/a/b) changed from
# string to number in row 3". The path is what the reader learns shapes from.
KIND_CHANGE = re.compile(r"Column\((?P<path>/[^)]*)\) changed from (?P<was>\w+) to (?P<now>\w+) in row \d+")
