"""One cheap pass over a document's raw JSON, before Arrow reads it: what the reader cannot see.

The reader (:mod:`es_assets.schema.arrow_reader`) ignores keys the mapping lacks and needs each
field in one JSON kind per read. msgspec decodes a document into structs generated from the
schema, every leaf left as ``msgspec.Raw`` (its bytes, not parsed), so the pass costs about a
microsecond and no value object. It tells:

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
import re
import threading
from typing import Any, Iterable, Union

import msgspec

from es_assets.schema.arrow_reader import ARRAY, BOOLEAN, FRACTION, INTEGER, NULL, OBJECT, STRING, UNREADABLE
from es_assets.schema.fields import Field

MAX_UNMAPPED_KEYS = 256  # beyond, documents with keys never seen take the exact path
_ABSENT = msgspec.Raw(b"")
_UNKNOWN_KEY = re.compile(r"^Object contains unknown field `(?P<key>[^`.]+)`(?: - at `\$(?P<at>(?:\.[^`.\[\]]+)*)`)?$")


@dataclasses.dataclass(frozen=True)
class Look:
    """What the probe saw in one document."""

    kinds: tuple[str, ...]  # the JSON kind at each of the probe's kind paths
    json_values: tuple[bytes | None, ...]  # the raw text at each json path (None: absent or null)
    unmapped: tuple[tuple[str, bytes], ...]  # (dotted path, raw value) of keys the mapping lacks


class Probe:
    def __init__(self, fields: tuple[Field, ...]) -> None:
        self._fields = fields
        self._json_fields = tuple(_json_fields(fields, "", False))
        # Where an unknown key can be added: the document and its objects outside arrays.
        self._objects = {""} | set(_object_paths(fields, ""))
        self.json_paths = tuple(path for path, _ in self._json_fields)
        self._lock = threading.Lock()
        self._unmapped_paths: tuple[str, ...] = ()
        self._decoder = self._build(())

    def decode(self, raw: bytes) -> Any | None:
        """The document as probe structs, or None when the probe cannot describe it."""
        for _ in range(MAX_UNMAPPED_KEYS):
            decoder, known = self._decoder, self._unmapped_paths
            try:
                return decoder.decode(raw)
            except msgspec.ValidationError as exc:  # (a DecodeError too: caught first)
                if not self._learn_key(str(exc), known):
                    return None
            except msgspec.DecodeError:
                return None
        return None

    def look(self, decoded: Any, kind_paths: tuple[str, ...]) -> Look | None:
        """The kinds at ``kind_paths``, the json values and the unmapped keys, or None if a path
        runs through an array or a scalar (the document must take the exact path)."""
        kinds = []
        for path in kind_paths:
            kind = _kind_at(decoded, path.split("."))
            if kind is None:
                return None
            kinds.append(kind)
        values = []
        for path, in_a_list in self._json_fields:
            value = _value_at(decoded, path.split("."))
            if value is _UNREACHABLE:
                return None
            if value is not None and bytes(value) == b"null":
                value = None
            if in_a_list and value is not None:
                return None  # one text per document is all a json column read this way can hold
            values.append(None if value is None else bytes(value))
        unmapped = []
        for path in self._unmapped_paths:
            value = _value_at(decoded, path.split("."))
            if value is _UNREACHABLE:
                return None
            if value is not None:
                unmapped.append((path, bytes(value)))
        return Look(tuple(kinds), tuple(values), tuple(unmapped))

    def _learn_key(self, message: str, known: tuple[str, ...]) -> bool:
        """Add the unknown key msgspec named to the structs; False if it cannot be added."""
        unknown = _UNKNOWN_KEY.match(message)
        if unknown is None:
            return False  # inside an array, a dotted key, or another validation error
        parent = ".".join((unknown["at"] or "").split(".")[1:])
        if parent not in self._objects:
            return False  # inside a geo_point or an array of objects
        path = f"{parent}.{unknown['key']}" if parent else unknown["key"]
        with self._lock:
            if self._unmapped_paths is not known:
                return True  # another thread changed the structs meanwhile: try again
            if len(known) >= MAX_UNMAPPED_KEYS:
                return False
            self._decoder = self._build((*known, path))
            self._unmapped_paths = (*known, path)
        return True

    def _build(self, unmapped_paths: tuple[str, ...]) -> msgspec.json.Decoder:
        return msgspec.json.Decoder(_struct(self._fields, "Source", unmapped_paths, ""))


_UNREACHABLE = object()


def _value_at(decoded: Any, parts: list[str]) -> Any:
    node = decoded
    for part in parts:
        if node is None:
            return None
        if not isinstance(node, msgspec.Struct):
            return _UNREACHABLE  # an array or a scalar where the mapping has an object
        node = getattr(node, _attribute(part), _ABSENT)  # decoded before a key was learnt: absent
    return None if node is _ABSENT else node


def _kind_at(decoded: Any, parts: list[str]) -> str | None:
    value = _value_at(decoded, parts)
    if value is _UNREACHABLE:
        return None
    if value is None:
        return NULL
    if isinstance(value, msgspec.Raw):
        return _raw_kind(bytes(value))
    if isinstance(value, msgspec.Struct):
        return OBJECT
    if isinstance(value, list):
        return ARRAY if _one_kind_of_element(value) else UNREADABLE
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, str):
        return STRING
    return INTEGER if isinstance(value, int) else FRACTION


def _one_kind_of_element(items: list[Any]) -> bool:
    """Arrays of objects, or of numbers (a ``[lon, lat]`` pair): what an Arrow list can hold."""
    return all(isinstance(item, msgspec.Struct) or item is None for item in items) or all(
        isinstance(item, (int, float)) and not isinstance(item, bool) for item in items)


def _raw_kind(raw: bytes) -> str:
    first = raw[:1]
    if first == b'"':
        return STRING
    if first == b"{":
        return OBJECT
    if first == b"[":
        return ARRAY
    if first in (b"t", b"f"):
        return BOOLEAN
    if first == b"n":
        return NULL
    return FRACTION if any(c in raw for c in b".eE") else INTEGER


# -- the generated structs -----------------------------------------------------------------------

def _attribute(source_name: str) -> str:
    """A Python identifier for a JSON key (msgspec renames it back)."""
    return "f_" + source_name.encode().hex()


def _struct(fields: Iterable[Field], name: str, unmapped_paths: tuple[str, ...], prefix: str) -> type:
    members: list[tuple[str, str, Any, Any]] = [
        (f.source_name, _attribute(f.source_name), _member_type(f, f"{name}_{i}", unmapped_paths, prefix),
         None if f.kind in ("object", "geo_point") else _ABSENT)
        for i, f in enumerate(fields)
    ]
    for path in unmapped_paths:
        head, _, key = path.rpartition(".")
        if head == prefix.rstrip("."):
            members.append((key, _attribute(key), msgspec.Raw, _ABSENT))
    return msgspec.defstruct(name, [(attribute, kind, default) for _, attribute, kind, default in members],
                             rename={attribute: key for key, attribute, _, _ in members},
                             forbid_unknown_fields=True)


def _member_type(field: Field, name: str, unmapped_paths: tuple[str, ...], prefix: str) -> Any:
    if field.kind == "geo_point":  # an object must be exactly {lat, lon}; its other forms stay raw
        point = msgspec.defstruct(name, [("lat", msgspec.Raw, _ABSENT), ("lon", msgspec.Raw, _ABSENT)],
                                  forbid_unknown_fields=True)
        return Union[point, list[Any], str, int, float, bool, None]
    if field.kind != "object":
        return msgspec.Raw
    child = _struct(field.children, name, () if field.repeated else unmapped_paths,
                    prefix + field.source_name + ".")
    if field.repeated:
        return Union[list[Union[child, None]], child, None]
    return Union[child, list[Union[child, None]], str, int, float, bool, None]


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
