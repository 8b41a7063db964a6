"""Turn one ``_source`` document into column values, keeping every value somewhere.

This is the exact (and slower) path, and the reference for the fast one: :mod:`es_assets.schema.pages`
reads documents with pyarrow and sends here, one by one, only the documents its kernels cannot
prove they read as these rules do. The rules, also in the README:

* **Arrays.** A column is scalar unless the field is ``nested`` or listed in ``array_fields``.
  In a scalar column a one-element array is unwrapped and an empty array is null; an array of two
  or more values leaves the column null and is kept whole in ``_unmapped``. In a list column a
  scalar becomes a one-element list and nulls inside arrays stay null.
* **Coercion** is exact or not at all (:mod:`es_assets.schema.conversions`, one function per
  column kind): ``"10"`` and ``2.0`` in a long field are 10 and 2, ``"true"`` in a boolean field
  is true, a number in a string column is its JSON text; ``1.5`` in a long field, an integer out
  of the column's range, ``1e400`` or ``"NaN"`` in a double field leave the column null and are
  kept in ``_unmapped``, never rounded, truncated or clamped.
* **Dates** are ISO-8601 (any offset, converted to UTC; no offset means UTC), epoch milliseconds
  (numbers or digit strings; epoch seconds when the mapping's format says ``epoch_second``), or
  the mapping's own Java-style format. ``date`` keeps milliseconds, ``date_nanos`` nanoseconds;
  a date with digits below its column's unit keeps the truncated instant in the column *and*
  its original text in ``_unmapped``.
* **Dotted keys** (``{"kubernetes.pod": "x"}``) are the same path as nested objects.
* **Fields the mapping does not describe** (``dynamic: false``, added after the mapping was
  read) go to ``_unmapped``, a JSON object keyed by their dotted path.
"""

from __future__ import annotations

from typing import Any, Callable

from es_assets.schema import conversions
from es_assets.schema.conversions import is_json_number
from es_assets.schema.fields import Field, SourceSchema, json_text

_MISSING = object()


class DocumentNormalizer:
    """Converts ``_source`` dicts into rows keyed by column name, plus the values kept aside."""

    def __init__(self, schema: SourceSchema) -> None:
        self.schema = schema

    def row(self, source: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """(column values by column name, unmapped values by dotted path) for one document."""
        unmapped: dict[str, Any] = {}
        if not isinstance(source, dict):
            unmapped[""] = source
            return {}, unmapped
        return _object(self.schema.fields, source, "", unmapped), unmapped


def _object(fields: tuple[Field, ...], value: dict[str, Any], prefix: str, unmapped: dict[str, Any]) -> dict[str, Any]:
    value = expand_dotted_keys(value)
    out: dict[str, Any] = {}
    known = set()
    for field in fields:
        known.add(field.source_name)
        raw = value.get(field.source_name, _MISSING)
        if raw is _MISSING or raw is None:
            continue
        out[field.name] = _field(field, raw, prefix + field.source_name, unmapped)
    for key in value.keys() - known:
        unmapped[prefix + key] = value[key]
    return out


def _field(field: Field, raw: Any, path: str, unmapped: dict[str, Any]) -> Any:
    if field.repeated:
        items = raw if isinstance(raw, list) else [raw]
        # Each element keeps its own path, so values set aside from two elements never collide.
        return [None if item is None else _single(field, item, f"{path}[{i}]", unmapped) for i, item in enumerate(items)]
    if field.kind == "geo_point" and isinstance(raw, list) and raw and not is_json_number(raw[0]):
        if len(raw) == 1:  # an array of one point, not one [lon, lat] pair
            return _single(field, raw[0], path, unmapped, original=raw)
        unmapped[path] = raw
        return None
    if isinstance(raw, list) and field.kind not in ("json", "geo_point"):
        if not raw:
            return None
        if len(raw) > 1:
            unmapped[path] = raw
            return None
        if raw[0] is None:
            return None
        return _single(field, raw[0], path, unmapped, original=raw)
    return _single(field, raw, path, unmapped)


def _single(field: Field, raw: Any, path: str, unmapped: dict[str, Any], original: Any = _MISSING) -> Any:
    """``raw``'s column value; where it has none, ``original`` (``raw`` unless it was unwrapped from
    a one-element array) is kept in ``unmapped`` as the document has it."""
    kept = raw if original is _MISSING else original
    if field.kind == "object":
        if isinstance(raw, dict):
            return _object(field.children, raw, path + ".", unmapped)
        unmapped[path] = kept
        return None
    try:
        return _CONVERTERS[field.kind](raw, field)
    except conversions.FinerThanTheUnit as finer:
        unmapped[path] = kept  # the column keeps the instant at its unit; the digits below it are kept here
        return finer.truncated
    except _NO_COLUMN_VALUE:
        unmapped[path] = kept
        return None


def has_no_column_value(field: Field, raw: Any) -> bool:
    """Whether this path keeps the leaf value ``raw`` only in ``_unmapped`` (its column null)."""
    try:
        _CONVERTERS[field.kind](raw, field)
    except conversions.FinerThanTheUnit:
        return False
    except _NO_COLUMN_VALUE:
        return True
    return False


_NO_COLUMN_VALUE = (ValueError, TypeError, ArithmeticError)


def expand_dotted_keys(value: dict[str, Any]) -> dict[str, Any]:
    """``{"a.b": 1, "a": {"c": 2}}`` → ``{"a": {"b": 1, "c": 2}}`` (Elasticsearch's own reading)."""
    if not any("." in key for key in value):
        return value
    expanded: dict[str, Any] = {}
    for key, item in value.items():
        head, *rest = key.split(".")
        for part in reversed(rest):
            item = {part: item}
        expanded[head] = _deep_merge(expanded, {head: item})[head] if head in expanded else item
    return expanded


def _deep_merge(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    merged = dict(left)
    for key, item in right.items():
        if key not in merged:
            merged[key] = item
        elif isinstance(merged[key], dict) and isinstance(item, dict):
            merged[key] = _deep_merge(merged[key], item)
        else:  # two spellings of one path: both values are the field's values, as in Elasticsearch
            merged[key] = _as_list(merged[key]) + _as_list(item)
    return merged


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# -- leaf converters: the rules themselves are in es_assets.schema.conversions ---------------

_CONVERTERS: dict[str, Callable[[Any, Field], Any]] = {
    "string": lambda raw, field: conversions.to_string(raw),
    "integer": lambda raw, field: conversions.to_integer(raw),
    "unsigned": lambda raw, field: conversions.to_unsigned(raw),
    "double": lambda raw, field: conversions.to_double(raw),
    "boolean": lambda raw, field: conversions.to_boolean(raw),
    "binary": lambda raw, field: conversions.to_binary(raw),
    "date": lambda raw, field: conversions.to_timestamp(raw, field.date_formats, unit_ns=1_000_000),
    "date_nanos": lambda raw, field: conversions.to_timestamp(raw, field.date_formats, unit_ns=1),
    "geo_point": lambda raw, field: conversions.to_geo_point(raw),
    "json": lambda raw, field: json_text(raw),
}
