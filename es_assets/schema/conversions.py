"""The conversion rules: one JSON value → the value of one column, exactly or not at all.

Each ``to_<kind>`` function returns the column's value only when it *equals* the JSON value
(README "Schema rules", Coercion); otherwise it raises :class:`NotExact` and the caller keeps the
original in ``_unmapped``. Nothing here rounds, truncates or clamps, with one documented
exception: a date finer than its column's unit (:class:`FinerThanTheUnit`).

Numbers reach these functions as the exact path's loader produces them (see
:func:`exact_json_float`): ``int`` for integer literals, ``float`` only where the double *is*
the literal (its shortest text denotes the literal's number), otherwise ``Decimal`` holding the
literal's digits.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import math
import re
from fractions import Fraction
from typing import Any

from es_assets.schema.fields import json_text

INT64_RANGE = (-(2**63), 2**63)
UINT64_RANGE = (0, 2**64)
# A numeric string: what Elasticsearch's coercion reads as a number ("10", "-1.5e3"); no spaces.
NUMERIC_TEXT = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_INTEGER_TEXT = re.compile(r"[-+]?\d+")
_LARGEST_EXACT_INTEGER_IN_A_DOUBLE = 2**53
# Named groups: es_assets.schema.text_kernels runs the same pattern in RE2, by name.
ISO_DATE = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
    r"(?:[T ](?P<hour>\d{2})(?::(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,30}))?)?)?)?"
    r"\s*(?P<offset>Z|[+-]\d{2}(?::?\d{2})?)?"
)
_EPOCH = dt.date(1970, 1, 1)
_FOUR_CENTURIES_DAYS = 146_097  # the Gregorian calendar repeats every 400 years
_JAVA_TO_STRPTIME = [("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"), ("ss", "%S"),
                     ("SSS", "%f"), ("Z", "%z"), ("'T'", "T")]


class NotExact(ValueError):
    """The value has no exact equal in the column's type: keep the original in ``_unmapped``."""


class FinerThanTheUnit(NotExact):
    """A date with digits below its column's unit (µs in a ``date`` column, below ns in ``date_nanos``).

    The column keeps the instant truncated to its unit, because it is the day's time axis and
    Elasticsearch itself indexes it so; the original text is kept in ``_unmapped`` as well.
    """

    def __init__(self, truncated: int) -> None:
        super().__init__("finer than the column's unit")
        self.truncated = truncated


def exact_json_float(text: str) -> float | decimal.Decimal:
    """``parse_float`` for the exact path's JSON reader: a float where it *is* the literal.

    A double stands for a literal when it is finite and its shortest text denotes the literal's
    number (``0.1``, ``1e23``); otherwise (``1e400``, ``1e-400``, ``4503599627370496.5``) the
    literal's digits are kept as a ``Decimal``, so that no rule below decides on a rounded number.
    """
    number = float(text)
    if len(text) <= 15 and "e" not in text and "E" not in text:
        return number  # at most 15 significant digits, between 1e-13 and 1e15: a double holds it (DBL_DIG)
    if repr(number) == text or (math.isfinite(number) and decimal.Decimal(repr(number)) == decimal.Decimal(text)):
        return number
    return decimal.Decimal(text)


def is_json_number(value: Any) -> bool:
    return isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool)


def _number(raw: Any) -> int | float | decimal.Decimal:
    """The number a JSON value denotes: a number as it is, a numeric string by its digits (an
    integer when it has no fraction or exponent, as a JSON integer literal)."""
    if is_json_number(raw):
        return raw
    if isinstance(raw, str) and NUMERIC_TEXT.fullmatch(raw):
        return int(raw) if _INTEGER_TEXT.fullmatch(raw) else decimal.Decimal(raw)
    raise NotExact(f"not a number: {raw!r}")


def to_integer(raw: Any, bounds: tuple[int, int] = INT64_RANGE) -> int:
    """An integer within ``bounds`` (half-open). Written with a fraction or an exponent (``2.0``,
    ``1e3``) it must be integral and at most 2**53: above, a double cannot tell one integer from
    the next, so ``9.3e18`` could be any of several."""
    number = _number(raw)
    if not isinstance(number, int):
        if not _is_integral(number):
            raise NotExact("a fraction is not an integer")
        if not -_LARGEST_EXACT_INTEGER_IN_A_DOUBLE <= number <= _LARGEST_EXACT_INTEGER_IN_A_DOUBLE:
            raise NotExact("an integer written as a fraction or with an exponent beyond 2**53")
    low, high = bounds
    if not low <= number < high:
        raise NotExact("outside the column's range")
    return int(number)


def _is_integral(number: float | decimal.Decimal) -> bool:
    if isinstance(number, float):
        return number.is_integer()  # False for inf and nan
    # A non-negative exponent is an integer already (and 1e999999999 is not worth expanding).
    return number.is_finite() and (number.as_tuple().exponent >= 0 or number == number.to_integral_value())


def to_unsigned(raw: Any) -> decimal.Decimal:
    return decimal.Decimal(to_integer(raw, UINT64_RANGE))


def to_double(raw: Any) -> float:
    """The double nearest a number written with a fraction or exponent (``0.1``, and 0.0 for
    ``1e-400``, as in a double field), if finite; an integer (``3``, ``"3"``) only if a double
    holds it exactly (up to 2**53, and some beyond)."""
    number = _number(raw)
    if isinstance(number, float):
        return number  # the reader gives a float only where it is the literal (exact_json_float)
    try:
        value = float(number)
    except OverflowError:  # an int beyond a double's range
        raise NotExact("beyond the range of a double") from None
    if not math.isfinite(value):
        raise NotExact("beyond the range of a double")
    if isinstance(number, int) and value != number:
        raise NotExact("an integer a double cannot hold")
    return value


def to_boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if raw in ("true", "false"):
        return raw == "true"
    raise NotExact(f"not a boolean: {raw!r}")


def to_string(raw: Any) -> str:
    """A string as it is; a number or boolean as its JSON text; an object or array is no string."""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool) or is_json_number(raw):
        return json_text(raw)
    raise NotExact("an object or array in a string column")


def to_binary(raw: Any) -> bytes:
    """Base64 that decodes and encodes back to the same text (no stray padding bits, no line breaks)."""
    if not isinstance(raw, str):
        raise NotExact("binary values are base64 strings")
    try:
        decoded = base64.b64decode(raw, validate=True)
    except binascii.Error as exc:
        raise NotExact(str(exc)) from None
    if base64.b64encode(decoded).decode() != raw:
        raise NotExact("not canonical base64: another text decodes to the same bytes")
    return decoded


_WKT_POINT = re.compile(r"\s*POINT\s*\(\s*(\S+)\s+(\S+)\s*\)\s*", re.IGNORECASE)


def to_geo_point(raw: Any) -> dict[str, float]:
    """``{"lat", "lon"}``, ``[lon, lat]``, ``"lat,lon"`` or ``POINT (lon lat)``; nothing more (a
    third coordinate or another key would be dropped, so such a value is not exact)."""
    if isinstance(raw, dict) and raw.keys() == {"lat", "lon"}:
        return {"lat": to_double(raw["lat"]), "lon": to_double(raw["lon"])}
    if isinstance(raw, list) and len(raw) == 2 and all(is_json_number(x) for x in raw):
        return {"lat": to_double(raw[1]), "lon": to_double(raw[0])}  # GeoJSON order: [lon, lat]
    if isinstance(raw, str):
        point = _WKT_POINT.fullmatch(raw)
        lon, lat = point.groups() if point else reversed(raw.split(","))
        return {"lat": to_double(lat.strip()), "lon": to_double(lon.strip())}
    raise NotExact(f"not a geo_point es_assets reads: {raw!r}")


def to_timestamp(raw: Any, formats: tuple[str, ...], unit_ns: int) -> int:
    """The instant in the column's unit (10**6 ns for ``date``, 1 for ``date_nanos``), if it fits int64."""
    value, finer = divmod(instant_ns(raw, formats), unit_ns)  # floor: an instant before 1970 too
    if not INT64_RANGE[0] <= value < INT64_RANGE[1]:
        raise NotExact("outside the column's range of instants")
    if finer:
        raise FinerThanTheUnit(int(value))
    return int(value)


def instant_ns(raw: Any, formats: tuple[str, ...] = ()) -> int | Fraction:
    """Nanoseconds since the epoch (UTC) of an Elasticsearch date value, exactly (a fraction if finer)."""
    if isinstance(raw, bool):
        raise NotExact("a boolean is not a date")
    if is_json_number(raw) or (isinstance(raw, str) and re.fullmatch(r"-?\d+(\.\d+)?", raw)):
        seconds_epoch = "epoch_second" in formats and "epoch_millis" not in formats
        return _epoch_number(raw) * (1_000_000_000 if seconds_epoch else 1_000_000)
    if not isinstance(raw, str):
        raise NotExact(f"not a date: {raw!r}")
    match = ISO_DATE.fullmatch(raw.strip())
    if match:
        return _iso_ns(match)
    for java_format in formats:
        parsed = _java_format_ns(raw, java_format)
        if parsed is not None:
            return parsed
    raise NotExact(f"not a date: {raw!r}")


def _epoch_number(raw: Any) -> int | Fraction:
    if isinstance(raw, int):
        return raw
    number = decimal.Decimal(repr(raw) if isinstance(raw, float) else raw)  # repr: the literal's shortest digits
    # Beyond ±10^25 no epoch value is an instant; the bound also keeps Fraction small.
    if not number.is_finite() or number.adjusted() > 25 or number.as_tuple().exponent < -30:  # type: ignore[operator]
        raise NotExact("not an instant")
    return Fraction(number)


def _iso_ns(match: re.Match[str]) -> int | Fraction:
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    hours, minutes, seconds = int(hour or 0), int(minute or 0), int(second or 0)
    if hours > 23 or minutes > 59 or seconds > 59:
        raise NotExact("not a time of day")
    # ValueError for a day that does not exist (2026-02-30), as Elasticsearch refuses it. Year 0
    # (1 BC, which pyarrow reads too) is counted as year 400, four centuries earlier.
    cycles = 1 if year == "0000" else 0
    days = (dt.date(int(year) + 400 * cycles, int(month), int(day)) - _EPOCH).days - cycles * _FOUR_CENTURIES_DAYS
    total = days * 86_400 + hours * 3600 + minutes * 60 + seconds
    if offset and offset != "Z":
        digits = offset[1:].replace(":", "")
        offset_hours, offset_minutes = int(digits[:2]), int(digits[2:4] or 0)
        if offset_hours > 23 or offset_minutes > 59:
            raise NotExact("not a UTC offset")
        total -= (-1 if offset[0] == "-" else 1) * (offset_hours * 3600 + offset_minutes * 60)
    fraction = fraction or ""
    if len(fraction) <= 9:  # the common case, in integers: Fraction is slow
        return total * 1_000_000_000 + int(fraction.ljust(9, "0"))
    return total * 1_000_000_000 + Fraction(int(fraction), 10 ** (len(fraction) - 9))


def _java_format_ns(raw: str, java_format: str) -> int | None:
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
