"""One cheap pass over a document's raw JSON, before Arrow reads it: what the reader cannot see.

The reader (:mod:`es_assets.schema.arrow_reader`) ignores keys the mapping lacks and needs each
field in one JSON kind per read. msgspec decodes a document into structs generated from the
schema, every leaf left as ``msgspec.Raw`` (its bytes, not parsed), so the pass costs about a
microsecond and no value object (the structs are not tracked by the garbage collector: a page's
ten thousand would make each collection walk them). It tells:

* the keys the mapping lacks (``dynamic: false``, fields added after the mapping was read), with
  their raw values, which go to ``_unmapped``: structs forbid unknown fields, and each key msgspec
  reports is added to the structs as it is met (up to :data:`MAX_UNMAPPED_KEYS`);
* the JSON kind of each path whose kind varies between documents (learned from the reader's
  errors), so that documents are read in groups of one kind per path;
* the raw text of ``flattened``/json fields, which Arrow cannot read into JSON text.

A document the probe cannot describe (an unknown key inside an array of objects, a dotted key
that Elasticsearch would expand into a mapped path, a path through a scalar) takes the exact path.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
import re
import threading
from typing import Any, Iterable, Union

import msgspec

from es_assets.schema.arrow_reader import ARRAY, BOOLEAN, FRACTION, INTEGER, NULL, OBJECT, STRING
from es_assets.schema.fields import Field

MAX_UNMAPPED_KEYS = 256  # beyond, documents with keys never seen take the exact path
_ABSENT = msgspec.Raw(b"")
_UNKNOWN_KEY = re.compile(r"^Object contains unknown field `(?P<key>[^`.]+)`(?: - at `\$(?P<at>(?:\.[^`.\[\]]+)*)`)?$")


@dataclasses.dataclass(frozen=True)
class Lookup:
    """How to look at documents the probe decoded: the kind paths asked for, then the json
    paths and the keys the mapping lacks, as the probe knew them when the lookup was made (make
    it after decoding: a document decoded earlier simply has none of the keys learnt since)."""

    kind_paths: tuple[str, ...]
    json_paths: tuple[str, ...]
    json_in_a_list: tuple[int, ...]  # positions, among all paths, of json paths under a list
    unmapped_paths: tuple[str, ...]
    paths: tuple[str, ...] = dataclasses.field(init=False)  # all of them, in that order
    get: Any = dataclasses.field(init=False)  # their values (attrgetter walks the structs in C)

    def __post_init__(self) -> None:
        paths = (*self.kind_paths, *self.json_paths, *self.unmapped_paths)
        object.__setattr__(self, "paths", paths)
        object.__setattr__(self, "get", operator.attrgetter(*(".".join(_attributes(p)) for p in paths))
                           if paths else None)

    def json_values(self, values: tuple[Any, ...], j: int) -> bytes | None:
        """The raw text at the ``j``-th json path (None: absent or null)."""
        value = values[len(self.kind_paths) + j]
        text = None if value is None else bytes(value)
        return None if text in (b"", b"null") else text

    def unmapped(self, values: tuple[Any, ...]) -> tuple[tuple[str, bytes], ...]:
        """(dotted path, raw value) of the keys the mapping lacks that the document has."""
        if not self.unmapped_paths:
            return ()
        found = values[len(self.kind_paths) + len(self.json_paths):]
        if not any(found):  # (absent keys are None or an empty Raw: most documents have none)
            return ()
        return tuple((path, bytes(value)) for path, value in zip(self.unmapped_paths, found)
                     if value is not None and len(value))


@dataclasses.dataclass(frozen=True)
class _Structs:
    """The generated structs for one set of learnt paths: replaced whole, never changed (slice
    threads share the probe)."""

    decoder: msgspec.json.Decoder
    unmapped_paths: tuple[str, ...]
    kind_paths: frozenset[str]  # decoded into Python values, whose type is their kind


class Probe:
    def __init__(self, fields: tuple[Field, ...]) -> None:
        self._fields = fields
        self._json_fields = tuple(_json_fields(fields, "", False))
        # Where an unknown key can be added: the document and its objects outside arrays.
        self._objects = {""} | set(_object_paths(fields, ""))
        self.json_paths = tuple(path for path, _ in self._json_fields)
        self._lock = threading.Lock()
        self._structs = self._build((), frozenset())

    def tell_apart(self, kind_paths: Iterable[str]) -> None:
        """Decode these paths into Python values from now on, so that their kinds come cheap."""
        kind_paths = frozenset(kind_paths)
        with self._lock:
            if kind_paths != self._structs.kind_paths:
                self._structs = self._build(self._structs.unmapped_paths, kind_paths)

    def decode(self, raw: bytes) -> Any | None:
        """The document as probe structs, or None when the probe cannot describe it."""
        for _ in range(MAX_UNMAPPED_KEYS):
            structs = self._structs
            try:
                return structs.decoder.decode(raw)
            except msgspec.ValidationError as exc:  # (a DecodeError too: caught first)
                if not self._learn_key(str(exc), structs):
                    return None
            except msgspec.DecodeError:
                return None
        return None

    def lookup(self, kind_paths: tuple[str, ...]) -> Lookup:
        unmapped_paths = self._structs.unmapped_paths
        in_a_list = tuple(len(kind_paths) + j for j, (_, under_list) in enumerate(self._json_fields) if under_list)
        return Lookup(kind_paths, self.json_paths, in_a_list, unmapped_paths)

    def look(self, decoded: Any, lookup: Lookup) -> tuple[tuple[str, ...], tuple[Any, ...]] | None:
        """(the kinds at the lookup's kind paths, the values at all its paths), or None if a path
        runs through an array or a scalar (the document must take the exact path). A plain
        tuple, not an object a document: what stays alive a page is what the collector walks."""
        values = _values(decoded, lookup)
        if values is None:
            return None
        for at in lookup.json_in_a_list:  # one text per document is all a json column read so holds
            if values[at] is not None and bytes(values[at]) not in (b"", b"null"):
                return None
        return _kinds_of(values[:len(lookup.kind_paths)]), values

    def _learn_key(self, message: str, structs: _Structs) -> bool:
        """Add the unknown key msgspec named to the structs; False if it cannot be added."""
        unknown = _UNKNOWN_KEY.match(message)
        if unknown is None:
            return False  # inside an array, a dotted key, or another validation error
        parent = ".".join((unknown["at"] or "").split(".")[1:])
        if parent not in self._objects:
            return False  # inside a geo_point or an array of objects
        path = f"{parent}.{unknown['key']}" if parent else unknown["key"]
        with self._lock:
            if self._structs is not structs:
                return True  # another thread changed the structs meanwhile: try again
            if len(structs.unmapped_paths) >= MAX_UNMAPPED_KEYS:
                return False
            self._structs = self._build((*structs.unmapped_paths, path), structs.kind_paths)
        return True

    def _build(self, unmapped_paths: tuple[str, ...], kind_paths: frozenset[str]) -> _Structs:
        root = _struct(self._fields, "Source", unmapped_paths, kind_paths, "")
        return _Structs(msgspec.json.Decoder(root), unmapped_paths, kind_paths)


_UNREACHABLE = object()


def _values(decoded: Any, lookup: Lookup) -> tuple[Any, ...] | None:
    """The values at the lookup's paths (None where absent), or None if one runs through a non-object."""
    paths = lookup.paths
    if not paths:
        return ()
    try:
        values = lookup.get(decoded)
    except AttributeError:  # an object on the way is null, or not an object, or an old struct
        walked = tuple(_value_at(decoded, path) for path in paths)
        return None if any(value is _UNREACHABLE for value in walked) else walked
    return values if len(paths) > 1 else (values,)


def _value_at(decoded: Any, path: str) -> Any:
    node = decoded
    for attribute in _attributes(path):
        if node is None:
            return None
        if not isinstance(node, msgspec.Struct):
            return _UNREACHABLE  # an array or a scalar where the mapping has an object
        node = getattr(node, attribute, None)  # decoded before a key was learnt: absent
    return node


@functools.lru_cache(maxsize=4096)
def _attributes(path: str) -> tuple[str, ...]:
    return tuple(_attribute(part) for part in path.split("."))


def _kinds_of(values: tuple[Any, ...]) -> tuple[str, ...]:
    types = tuple(map(type, values))
    kinds = _KINDS_OF_TYPES.get(types)
    if kinds is None:
        kinds = tuple(map(kind_of, values))
        if msgspec.Raw not in types and len(_KINDS_OF_TYPES) < 4096:
            _KINDS_OF_TYPES[types] = kinds  # a Raw's kind is in its bytes, not its type
    return kinds


_KINDS_OF_TYPES: dict[tuple[type, ...], tuple[str, ...]] = {}


def kind_of(value: Any) -> str:
    """The JSON kind of a decoded value (its raw bytes' when the probe kept it raw)."""
    if value is None:
        return NULL
    if isinstance(value, msgspec.Raw):  # decoded before the path was told apart
        return _raw_kind(bytes(value))
    if isinstance(value, msgspec.Struct):
        return OBJECT
    if isinstance(value, (tuple, list)):  # (the probe's arrays are tuples, the survey's lists)
        return ARRAY
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, str):
        return STRING
    if isinstance(value, dict):
        return OBJECT
    return INTEGER if isinstance(value, int) else FRACTION


def _raw_kind(raw: bytes) -> str:
    first = raw[:1]
    if first == b'"':
        return STRING
    if first == b"{":
        return OBJECT
    if first == b"[":
        return ARRAY  # a leaf's (geo_point and objects are never raw): pyarrow checks the elements
    if first in (b"t", b"f"):
        return BOOLEAN
    if first in (b"n", b""):
        return NULL
    return FRACTION if any(c in raw for c in b".eE") else INTEGER


# -- the generated structs -----------------------------------------------------------------------

def _attribute(source_name: str) -> str:
    """A Python identifier for a JSON key (msgspec renames it back)."""
    return "f_" + source_name.encode().hex()


def _struct(fields: Iterable[Field], name: str, unmapped_paths: tuple[str, ...], kind_paths: frozenset[str],
            prefix: str) -> type:
    members: list[tuple[str, str, Any, Any]] = []
    for i, f in enumerate(fields):
        path = prefix + f.source_name
        typed = path in kind_paths or f.kind in ("object", "geo_point")
        members.append((f.source_name, _attribute(f.source_name),
                        _member_type(f, f"{name}_{i}", unmapped_paths, kind_paths, path), None if typed else _ABSENT))
    for path in unmapped_paths:
        head, _, key = path.rpartition(".")
        if head == prefix.rstrip("."):
            members.append((key, _attribute(key), msgspec.Raw, _ABSENT))
    return msgspec.defstruct(name, [(attribute, kind, default) for _, attribute, kind, default in members],
                             rename={attribute: key for key, attribute, _, _ in members},
                             forbid_unknown_fields=True, gc=False)


# A leaf told apart by kind: any JSON value, decoded, so that its Python type is its kind. Arrays
# are decoded as tuples, here and below: a tuple of scalars leaves the garbage collector's care at
# its first collection, a list never does, and a page's ten thousand would make each full
# collection of a large process (Dagster's) come sooner.
_ANY_KIND = Union[str, int, float, bool, tuple[Any, ...], dict[str, Any], None]


def _member_type(field: Field, name: str, unmapped_paths: tuple[str, ...], kind_paths: frozenset[str],
                 path: str) -> Any:
    if field.kind == "geo_point":  # an object must be exactly {lat, lon} of numbers; a list, a [lon, lat] pair
        coordinate = Union[int, float, None]
        point = msgspec.defstruct(name, [("lat", coordinate, None), ("lon", coordinate, None)],
                                  forbid_unknown_fields=True, gc=False)
        return Union[point, tuple[Union[int, float], ...], str, None]
    if field.kind != "object":
        return _ANY_KIND if path in kind_paths else msgspec.Raw
    child = _struct(field.children, name, () if field.repeated else unmapped_paths, kind_paths, path + ".")
    if field.repeated:
        return Union[tuple[Union[child, None], ...], child, None]
    return Union[child, tuple[Union[child, None], ...], str, int, float, bool, None]


def _json_fields(fields: Iterable[Field], prefix: str, under_list: bool) -> Iterable[tuple[str, bool]]:
    for f in fields:
        path = prefix + f.source_name
        if f.kind == "object":
            yield from _json_fields(f.children, path + ".", under_list or f.repeated)
        elif f.kind == "json":
            yield path, under_list or f.repeated


def _object_paths(fields: Iterable[Field], prefix: str) -> Iterable[str]:
    for f in fields:
        if f.kind == "object" and not f.repeated:
            yield prefix + f.source_name
            yield from _object_paths(f.children, prefix + f.source_name + ".")
