"""One cheap pass over a document's raw JSON, before Arrow reads it: what the reader cannot see.

The reader (:mod:`es_assets.schema.arrow_reader`) ignores keys the mapping lacks and needs each
field in one JSON kind per read. msgspec decodes a document into structs generated from the
schema, every leaf left as ``msgspec.Raw`` (its bytes, not parsed), so the pass costs about one
microsecond and no value object. It tells:

* whether the document holds only mapped keys (a key the mapping lacks goes to ``_unmapped``,
  which only the exact path writes): structs forbid unknown fields;
* the JSON kind of each path whose kind varies between documents (learned from the reader's
  errors), so that documents are read in groups of one kind per path;
* the raw text of ``flattened``/json fields, which Arrow cannot read into JSON text.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable, Union

import msgspec

from es_assets.schema.arrow_reader import ARRAY, BOOLEAN, FRACTION, INTEGER, NULL, OBJECT, STRING
from es_assets.schema.fields import Field

_ABSENT = msgspec.Raw(b"")


@dataclasses.dataclass(frozen=True)
class Look:
    """What the probe saw in one document."""

    kinds: tuple[str, ...]  # the JSON kind at each of the probe's kind paths
    json_values: tuple[bytes | None, ...]  # the raw text at each json path (None: absent or null)


class Probe:
    def __init__(self, fields: tuple[Field, ...]) -> None:
        self._decoder = msgspec.json.Decoder(_struct(fields, "Source"))
        self._json_fields = tuple(_json_fields(fields, "", False))
        self.json_paths = tuple(path for path, _ in self._json_fields)

    def decode(self, raw: bytes) -> Any | None:
        """The document as probe structs, or None when it holds a key or shape the schema lacks."""
        try:
            return self._decoder.decode(raw)
        except (msgspec.ValidationError, msgspec.DecodeError):
            return None

    def look(self, decoded: Any, kind_paths: tuple[str, ...]) -> Look | None:
        """The kinds at ``kind_paths`` and the json values, or None if a path cannot be told
        apart (it runs through an array or a scalar) and the document must take the exact path."""
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
        return Look(tuple(kinds), tuple(values))


_UNREACHABLE = object()


def _value_at(decoded: Any, parts: list[str]) -> Any:
    node = decoded
    for part in parts:
        if node is None:
            return None
        if not isinstance(node, msgspec.Struct):
            return _UNREACHABLE  # an array or a scalar where the mapping has an object
        node = getattr(node, _attribute(part))
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
        return ARRAY
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, str):
        return STRING
    return INTEGER if isinstance(value, int) else FRACTION


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


def _struct(fields: Iterable[Field], name: str) -> type:
    members = [(_attribute(f.source_name), _member_type(f, f"{name}_{i}"), None if f.kind in ("object", "geo_point")
                else _ABSENT) for i, f in enumerate(fields)]
    return msgspec.defstruct(name, members, rename={attr: f.source_name for attr, f in
                                                    zip((m[0] for m in members), fields)},
                             forbid_unknown_fields=True)


def _member_type(field: Field, name: str) -> Any:
    if field.kind == "geo_point":  # an object must be exactly {lat, lon}; its other forms stay raw
        point = msgspec.defstruct(name, [("lat", msgspec.Raw, _ABSENT), ("lon", msgspec.Raw, _ABSENT)],
                                  forbid_unknown_fields=True)
        return Union[point, list[Any], str, int, float, bool, None]
    if field.kind != "object":
        return msgspec.Raw
    child = _struct(field.children, name)
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

