"""Turn one ``_source`` document into column values, keeping every value somewhere.

This is the exact (and slower) path: :mod:`es_assets.schema.pages` first tries pyarrow's JSON
reader on a whole page and falls back here, page by page, only when a document does not fit the
mapping as written. The rules, also in the README:

* **Arrays.** A column is scalar unless the field is ``nested`` or listed in ``array_fields``.
  In a scalar column a one-element array is unwrapped and an empty array is null; an array of two
  or more values leaves the column null and is kept whole in ``_unmapped``. In a list column a
  scalar becomes a one-element list and nulls inside arrays stay null.
* **Coercion** follows Elasticsearch's own: ``"10"`` in a long field is 10, ``1.9`` in a long
  field is 1, ``"true"`` in a boolean field is true and ``""`` false; a non-string in a string column is stored as
  its JSON text. A value that cannot be coerced leaves the column null and is kept in ``_unmapped``.
* **Dates** are ISO-8601 (any offset, converted to UTC; no offset means UTC), epoch milliseconds
  (numbers or digit strings; epoch seconds when the mapping's format says ``epoch_second``), or
  the mapping's own Java-style format. ``date`` keeps milliseconds, ``date_nanos`` nanoseconds.
* **Dotted keys** (``{"kubernetes.pod": "x"}``) are the same path as nested objects.
* **Fields the mapping does not describe** (``dynamic: false``, added after the mapping was
  read) go to ``_unmapped``, a JSON object keyed by their dotted path.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import re
from typing import Any, Callable

from es_assets.schema.fields import Field, SourceSchema, json_text

_MISSING = object()
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?"
)
_EPOCH = dt.date(1970, 1, 1)
_JAVA_TO_STRPTIME = [("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"), ("ss", "%S"),
                     ("SSS", "%f"), ("Z", "%z"), ("'T'", "T")]


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
    if field.kind == "geo_point" and isinstance(raw, list) and raw and not isinstance(raw[0], (int, float)):
        raw = raw[0] if len(raw) == 1 else raw  # an array of points, not one [lon, lat] pair
        if isinstance(raw, list) and raw and not isinstance(raw[0], (int, float)):
            unmapped[path] = raw
            return None
    if isinstance(raw, list) and field.kind not in ("json", "geo_point"):
        if not raw:
            return None
        if len(raw) > 1:
            unmapped[path] = raw
            return None
        raw = raw[0]
        if raw is None:
            return None
    return _single(field, raw, path, unmapped)


def _single(field: Field, raw: Any, path: str, unmapped: dict[str, Any]) -> Any:
    if field.kind == "object":
        if isinstance(raw, dict):
            return _object(field.children, raw, path + ".", unmapped)
        unmapped[path] = raw
        return None
    try:
        return _CONVERTERS[field.kind](raw, field)
    except (ValueError, TypeError, ArithmeticError, binascii.Error):
        unmapped[path] = raw
        return None


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


# -- leaf converters ------------------------------------------------------------------------

def _string(raw: Any, field: Field) -> str:
    return raw if isinstance(raw, str) else json_text(raw)


def _integer(raw: Any, field: Field) -> int:
    if isinstance(raw, bool):
        raise TypeError("boolean in an integer field")
    if isinstance(raw, str):
        raw = decimal.Decimal(raw.strip())
    number = int(raw)  # truncates toward zero, as Elasticsearch's coercion does
    if not -(2**63) <= number < 2**63:
        raise ValueError("out of the long range")
    return number


def _unsigned(raw: Any, field: Field) -> decimal.Decimal:
    number = int(decimal.Decimal(raw.strip()) if isinstance(raw, str) else raw)
    if isinstance(raw, bool) or not 0 <= number < 2**64:
        raise ValueError("out of the unsigned_long range")
    return decimal.Decimal(number)


def _double(raw: Any, field: Field) -> float:
    if isinstance(raw, bool):
        raise TypeError("boolean in a numeric field")
    return float(raw)


def _boolean(raw: Any, field: Field) -> bool:
    if isinstance(raw, bool):
        return raw
    if raw in ("true", "false", ""):
        return raw == "true"  # Elasticsearch reads "" as false
    raise ValueError(f"not a boolean: {raw!r}")


def _binary(raw: Any, field: Field) -> bytes:
    return base64.b64decode(raw, validate=True)


def _date_ms(raw: Any, field: Field) -> int:
    return parse_date_ns(raw, field.date_formats) // 1_000_000


def _date_ns(raw: Any, field: Field) -> int:
    return parse_date_ns(raw, field.date_formats)


def _geo_point(raw: Any, field: Field) -> dict[str, float]:
    if isinstance(raw, dict) and "lat" in raw and "lon" in raw:
        return {"lat": float(raw["lat"]), "lon": float(raw["lon"])}
    if isinstance(raw, list) and len(raw) in (2, 3) and all(isinstance(x, (int, float)) for x in raw):
        return {"lat": float(raw[1]), "lon": float(raw[0])}  # GeoJSON order: [lon, lat]
    if isinstance(raw, str):
        point = re.fullmatch(r"\s*POINT\s*\(\s*(\S+)\s+(\S+)\s*\)\s*", raw, re.IGNORECASE)
        if point:
            return {"lat": float(point.group(2)), "lon": float(point.group(1))}
        lat, lon = raw.split(",")
        return {"lat": float(lat), "lon": float(lon)}
    raise ValueError(f"unsupported geo_point: {raw!r}")


def _json(raw: Any, field: Field) -> str:
    return json_text(raw)


_CONVERTERS: dict[str, Callable[[Any, Field], Any]] = {
    "string": _string,
    "integer": _integer,
    "unsigned": _unsigned,
    "double": _double,
    "boolean": _boolean,
    "binary": _binary,
    "date": _date_ms,
    "date_nanos": _date_ns,
    "geo_point": _geo_point,
    "json": _json,
}


def parse_date_ns(raw: Any, formats: tuple[str, ...] = ()) -> int:
    """Nanoseconds since the epoch (UTC) of an Elasticsearch date value."""
    if isinstance(raw, bool):
        raise TypeError("boolean in a date field")
    seconds_epoch = any(f == "epoch_second" for f in formats) and not any(f == "epoch_millis" for f in formats)
    if isinstance(raw, (int, float)) or (isinstance(raw, str) and re.fullmatch(r"-?\d+(\.\d+)?", raw.strip())):
        number = decimal.Decimal(str(raw).strip())
        return int(number * (1_000_000_000 if seconds_epoch else 1_000_000))
    if not isinstance(raw, str):
        raise TypeError(f"not a date: {raw!r}")
    match = _ISO.fullmatch(raw.strip())
    if match:
        return _iso_to_ns(match)
    for java_format in formats:
        parsed = _parse_java_format(raw, java_format)
        if parsed is not None:
            return parsed
    raise ValueError(f"not a date: {raw!r}")


def _iso_to_ns(match: re.Match[str]) -> int:
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    days = (dt.date(int(year), int(month), int(day)) - _EPOCH).days
    seconds = days * 86_400 + int(hour or 0) * 3600 + int(minute or 0) * 60 + int(second or 0)
    if offset and offset != "Z":
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        seconds -= sign * (int(digits[:2]) * 3600 + int(digits[2:4] or 0) * 60)
    return seconds * 1_000_000_000 + int((fraction or "0").ljust(9, "0"))


def _parse_java_format(raw: str, java_format: str) -> int | None:
    pattern = java_format
    for java, strp in _JAVA_TO_STRPTIME:
        pattern = pattern.replace(java, strp)
    try:
        parsed = dt.datetime.strptime(raw, pattern)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    delta = parsed - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
