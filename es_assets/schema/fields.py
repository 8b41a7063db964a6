"""The column tree of a source: Elasticsearch mappings in, Athena-safe Arrow types out.

The schema comes from the union of the mappings of every index that holds the day, never from
sampled documents, so a day with an odd first document still gets the same columns. The rules
(README "Schema rules") are:

* date → ``timestamp[ms, UTC]``, date_nanos → ``timestamp[ns, UTC]``
* keyword, text, wildcard, constant_keyword, match_only_text, ip, version → string
* long, integer, short, byte → int64 (one width, so a field mapped ``integer`` one day and
  ``long`` the next keeps its column type); unsigned_long → decimal(20, 0)
* double, float, half_float, scaled_float → double; boolean → bool; binary → binary
* geo_point → struct<lat, lon>; object → struct; nested → list<struct>
* flattened, disabled objects and any other type → JSON text in a string column
* multi-fields (``.keyword``), field aliases and runtime fields are not columns (they are views of
  other values, not values of their own)
* fields listed in ``array_fields`` become ``list<T>``; see :mod:`es_assets.schema.values` for
  how arrays in other fields are kept.
"""

from __future__ import annotations

import dataclasses
import decimal
import fnmatch
import hashlib
import re
from typing import Any, Iterable, Mapping

import orjson
import pyarrow as pa

from es_assets.errors import SchemaError

# Columns es_assets adds itself; a source field with one of these names is renamed.
INDEX_COLUMN = "_index"
ID_COLUMN = "_id"
UNMAPPED_COLUMN = "_unmapped"
PARTITION_COLUMN = "dt"
RESERVED_COLUMNS = (INDEX_COLUMN, ID_COLUMN, UNMAPPED_COLUMN, PARTITION_COLUMN)

_STRING_TYPES = {"keyword", "text", "wildcard", "constant_keyword", "match_only_text", "ip", "version",
                 "search_as_you_type", "completion"}
_INTEGER_TYPES = {"long", "integer", "short", "byte"}
_FLOAT_TYPES = {"double", "float", "half_float", "scaled_float"}
_NOT_COLUMNS = {"alias"}
# The Elasticsearch type a widened field is treated as, by column kind.
_CANONICAL_TYPE = {"string": "keyword", "integer": "long", "double": "double", "json": "flattened"}  # an alias points at another field's value; it never appears in _source


@dataclasses.dataclass(frozen=True)
class Field:
    """One node of the column tree: a leaf value, an object (struct) or a list."""

    source_name: str  # the key as it appears in _source
    name: str  # the Athena-safe column/struct-field name
    kind: str  # string | integer | unsigned | double | boolean | binary | date | date_nanos | geo_point | object | json
    children: tuple["Field", ...] = ()
    repeated: bool = False  # list<...>: nested objects and configured array_fields
    date_formats: tuple[str, ...] = ()

    @property
    def arrow_type(self) -> pa.DataType:
        return _arrow_type(self)


_LEAF_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "json": pa.string(),
    "integer": pa.int64(),
    "unsigned": pa.decimal128(20, 0),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "binary": pa.binary(),
    "date": pa.timestamp("ms", tz="UTC"),
    "date_nanos": pa.timestamp("ns", tz="UTC"),
    "geo_point": pa.struct([("lat", pa.float64()), ("lon", pa.float64())]),
}


def _arrow_type(field: Field) -> pa.DataType:
    if field.kind == "object":
        value_type: pa.DataType = pa.struct(
            [
                pa.field(child.name, _arrow_type(child))
                for child in field.children
            ]
        )
    else:
        value_type = _LEAF_TYPES[field.kind]
    return pa.list_(value_type) if field.repeated else value_type


@dataclasses.dataclass(frozen=True)
class SourceSchema:
    """The columns of one source for one day, plus the types used to parse pages."""

    fields: tuple[Field, ...]
    timestamp_field: str

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema(
            [pa.field(INDEX_COLUMN, pa.string(), nullable=False), pa.field(ID_COLUMN, pa.string(), nullable=False)]
            + [pa.field(f.name, f.arrow_type) for f in self.fields]
            + [pa.field(UNMAPPED_COLUMN, pa.string())]
        )

    @property
    def fingerprint(self) -> str:
        """A short stable hash of the column types: equal fingerprints, identical Parquet schemas."""
        return hashlib.sha256(self.arrow_schema.to_string().encode()).hexdigest()[:16]

    def column_paths(self) -> list[tuple[str, str, str]]:
        """(column path, original Elasticsearch path, Arrow type) for every leaf, for metadata."""
        rows: list[tuple[str, str, str]] = []

        def walk(fields: Iterable[Field], column_prefix: str, source_prefix: str) -> None:
            for f in fields:
                column, source = column_prefix + f.name, source_prefix + f.source_name
                if f.kind == "object":
                    walk(f.children, column + ".", source + ".")
                else:
                    rows.append((column, source, str(f.arrow_type)))

        walk(self.fields, "", "")
        return rows


def build_schema(
    mappings: Mapping[str, Mapping[str, Any]], timestamp_field: str, array_fields: Iterable[str] = ()
) -> SourceSchema:
    """Union the ``GET <index>/_mapping`` bodies of the day's indices into one :class:`SourceSchema`."""
    merged: dict[str, Any] = {}
    for index in sorted(mappings):
        properties = (mappings[index].get("mappings") or {}).get("properties") or {}
        merged = _merge_properties(merged, _expand_dotted_properties(properties), index)
    if not _has_path(merged, timestamp_field):
        raise SchemaError(
            f"timestamp field {timestamp_field!r} is not in the mapping of {', '.join(sorted(mappings)) or 'any index'}"
        )
    fields = _fields(merged, set(array_fields), prefix="", reserved=set(RESERVED_COLUMNS))
    return SourceSchema(fields=fields, timestamp_field=timestamp_field)


def _expand_dotted_properties(properties: Mapping[str, Any]) -> dict[str, Any]:
    """A mapping may spell ``a.b`` as one key; nest it as ``a: {properties: {b}}``."""
    expanded: dict[str, Any] = {}
    for key, spec in properties.items():
        spec = dict(spec)
        if "properties" in spec:
            spec["properties"] = _expand_dotted_properties(spec["properties"])
        head, *rest = key.split(".")
        for part in reversed(rest):
            spec = {"properties": {part: spec}}
        existing = expanded.get(head)
        expanded[head] = _merge_spec(existing, spec, head, "") if existing else spec
    return expanded


def _merge_properties(left: dict[str, Any], right: Mapping[str, Any], index: str) -> dict[str, Any]:
    merged = dict(left)
    for key, spec in right.items():
        merged[key] = _merge_spec(merged[key], spec, key, index) if key in merged else spec
    return merged


def _merge_spec(left: Mapping[str, Any], right: Mapping[str, Any], key: str, index: str) -> dict[str, Any]:
    """Widen two mappings of one field to a type that holds both (never narrower)."""
    left_type, right_type = _es_type(left), _es_type(right)
    if left_type in ("object", "nested") and right_type in ("object", "nested"):
        merged = dict(left)
        merged["type"] = "nested" if "nested" in (left_type, right_type) else "object"
        merged["properties"] = _merge_properties(
            dict(left.get("properties") or {}), right.get("properties") or {}, index
        )
        return merged
    if left_type == right_type:
        formats = sorted({left.get("format", ""), right.get("format", "")} - {""})
        return {**left, **({"format": "||".join(formats)} if formats else {})}
    kinds = {_leaf_kind(left_type), _leaf_kind(right_type)}
    if len(kinds) == 1:  # e.g. integer and long: one column type already holds both
        return {"type": _CANONICAL_TYPE.get(kinds.pop(), left_type)}
    if kinds <= {"integer", "double"}:
        return {"type": "double"}
    if kinds <= {"date", "date_nanos"}:
        return {"type": "date_nanos"}
    if kinds <= {"integer", "unsigned"}:
        return {"type": "unsigned_long"}
    # Incompatible kinds (long vs keyword, object vs text ...): text keeps every value.
    return {"type": "keyword"} if "object" not in (left_type, right_type) else {"type": "flattened"}


def _es_type(spec: Mapping[str, Any]) -> str:
    return str(spec.get("type") or "object")  # a mapping without "type" is an object


def _leaf_kind(es_type: str) -> str:
    if es_type in _STRING_TYPES:
        return "string"
    if es_type in _INTEGER_TYPES:
        return "integer"
    if es_type == "unsigned_long":
        return "unsigned"
    if es_type in _FLOAT_TYPES:
        return "double"
    if es_type in ("boolean", "binary", "date", "date_nanos", "geo_point"):
        return es_type
    return "json"  # flattened, object-like specials, and types es_assets does not know


def _has_path(properties: Mapping[str, Any], dotted: str) -> bool:
    head, _, rest = dotted.partition(".")
    spec = properties.get(head)
    if spec is None:
        return False
    return not rest or _has_path(spec.get("properties") or {}, rest)


def _fields(
    properties: Mapping[str, Any], array_fields: set[str], prefix: str, reserved: set[str]
) -> tuple[Field, ...]:
    names = column_names([k for k, spec in properties.items() if _es_type(spec) not in _NOT_COLUMNS], reserved)
    fields: list[Field] = []
    for key in sorted(properties):
        spec = properties[key]
        es_type = _es_type(spec)
        if es_type in _NOT_COLUMNS:
            continue
        path = prefix + key
        repeated = path in array_fields or es_type == "nested"
        if es_type in ("object", "nested") and spec.get("enabled", True) is not False and spec.get("properties"):
            children = _fields(spec["properties"], array_fields, path + ".", set())
            fields.append(Field(key, names[key], "object", children, repeated))
        elif es_type in ("object", "nested"):
            # An object with no mapped properties (dynamic: false, enabled: false): keep it as JSON.
            fields.append(Field(key, names[key], "json", repeated=repeated and es_type != "nested"))
        else:
            formats = tuple(f for f in str(spec.get("format", "")).split("||") if f)
            fields.append(Field(key, names[key], _leaf_kind(es_type), repeated=repeated, date_formats=formats))
    return tuple(fields)


def select_fields(
    fields: tuple[Field, ...], includes: Iterable[str], excludes: Iterable[str], prefix: str = ""
) -> tuple[Field, ...]:
    """The columns left by Elasticsearch-style ``_source`` includes/excludes (dotted paths, ``*``)."""
    includes, excludes = tuple(includes), tuple(excludes)
    selected = []
    for field in fields:
        path = prefix + field.source_name
        if any(fnmatch.fnmatchcase(path, pattern) for pattern in excludes):
            continue
        # Included as a whole: every include pattern below it is satisfied (an empty tuple: all).
        whole = not includes or any(fnmatch.fnmatchcase(path, p) or fnmatch.fnmatchcase(path + ".x", p)
                                    for p in includes)
        if field.kind == "object":
            children = select_fields(field.children, () if whole else includes, excludes, path + ".")
            if children:
                selected.append(dataclasses.replace(field, children=children))
        elif whole:
            selected.append(field)
    return tuple(selected)


_NOT_IDENTIFIER = re.compile(r"[^a-z0-9_]")


def column_names(keys: Iterable[str], reserved: set[str]) -> dict[str, str]:
    """Athena/Glue-safe names for sibling keys: lower case, ``[a-z0-9_]``, unique, deterministic.

    ``@timestamp`` becomes ``timestamp``; ``Foo`` and ``foo`` become ``foo`` and ``foo_2`` (in
    sorted order of the original keys); a key that clashes with a reserved column gets a suffix.
    """
    taken = set(reserved)
    names: dict[str, str] = {}
    for key in sorted(keys):
        base = _NOT_IDENTIFIER.sub("_", key.lstrip("@").lower()) or "_"
        if base[0].isdigit():
            base = "_" + base
        name, n = base, 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        names[key] = name
    return names


def json_text(value: Any) -> str:
    """How a value that has no typed column is stored: compact JSON, keys sorted, numbers exact.

    A ``Decimal`` (a literal no double stands for, see ``conversions.exact_json_float``) and an
    integer wider than 64 bits are written from their own digits.
    """
    try:
        return orjson.dumps(value, default=_decimal_digits, option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONEncodeError:  # an integer wider than 64 bits, which orjson refuses
        return orjson.dumps(_wide_integers_as_digits(value), default=_decimal_digits,
                            option=orjson.OPT_SORT_KEYS).decode()


def _decimal_digits(value: Any) -> orjson.Fragment:
    if isinstance(value, decimal.Decimal):
        return orjson.Fragment(str(value))
    raise TypeError(f"{type(value).__name__} is not JSON")


def _wide_integers_as_digits(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _wide_integers_as_digits(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_wide_integers_as_digits(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        return orjson.Fragment(str(value))
    return value
