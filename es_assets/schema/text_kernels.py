"""Two rules of :mod:`es_assets.schema.conversions` as vectorized kernels over texts: ISO-8601
dates and ``geo_point`` texts. They use the same patterns (RE2 through pyarrow.compute) and the
same arithmetic, so that a text either converts to the exact path's value or is not matched; an
unmatched text is left to the exact path, which also knows the mapping's own date formats.

RE2's ``\\s`` and ``\\d`` are ASCII only, a subset of Python's: whatever RE2 matches Python's
pattern matches too, so these kernels may decline a value, never read one otherwise.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from es_assets.schema import conversions

_ISO_TEXT = "^" + conversions.ISO_DATE.pattern + "$"
_EPOCH_TEXT = r"^-?\d{1,18}$"  # an epoch number as a digit string (conversions.instant_ns); 18 digits fit
_EPOCH_WITH_FRACTION = r"^-?\d+\.\d+$"
_ASCII_WHITESPACE = " \t\n\r\x0b\x0c"
_DAYS_IN_MONTH = pa.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], pa.int64())
_DAYS_BEFORE_1970 = 719_468  # days from 0000-03-01 to 1970-01-01 (the civil-from-days algorithm's origin)
_FOUR_CENTURIES_DAYS = 146_097
_NS_PER_S = 1_000_000_000
_NANOS_SECONDS_LIMIT = 9_223_372_035  # whole seconds whose nanoseconds fit an int64


def iso_instants(strings: pa.Array, unit_ns: int) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(instants in the unit, valid, finer): ``valid`` where the text is an ISO-8601 date that
    exists and fits the column; ``finer`` where it has digits below the unit (the instant is
    then truncated, as :class:`conversions.FinerThanTheUnit` says)."""
    parts = pc.extract_regex(pc.utf8_trim(strings, _ASCII_WHITESPACE), _ISO_TEXT)
    year, month, day = _part(parts, "year"), _part(parts, "month"), _part(parts, "day")
    hour, minute, second = _part(parts, "hour"), _part(parts, "minute"), _part(parts, "second")
    sign, offset_hours, offset_minutes = _offset(pc.struct_field(parts, "offset"))
    valid = pc.and_(parts.is_valid(), _date_exists(year, month, day))
    for value, top in ((hour, 23), (minute, 59), (second, 59), (offset_hours, 23), (offset_minutes, 59)):
        valid = pc.and_(valid, pc.less_equal(value, top))
    seconds = pc.add(pc.multiply(_days_since_1970(year, month, day), 86_400),
                     _sum(pc.multiply(hour, 3600), pc.multiply(minute, 60), second))
    seconds = pc.subtract(seconds, pc.multiply(sign, _sum(pc.multiply(offset_hours, 3600),
                                                          pc.multiply(offset_minutes, 60))))
    fraction = pc.fill_null(pc.struct_field(parts, "fraction"), "")
    nanos = pc.cast(pc.utf8_rpad(pc.utf8_slice_codeunits(fraction, 0, 9), 9, "0"), pa.int64())
    finer = pc.match_substring_regex(pc.utf8_slice_codeunits(fraction, 9, 64), "[1-9]")
    if unit_ns == 1:
        valid = pc.and_(valid, pc.less_equal(pc.abs(seconds), _NANOS_SECONDS_LIMIT))
        seconds = pc.if_else(valid, seconds, 0)
        instants = pc.add(pc.multiply(seconds, _NS_PER_S), nanos)
    else:
        per_second = _NS_PER_S // unit_ns
        instants = pc.add(pc.multiply(seconds, per_second), pc.divide(nanos, unit_ns))
        finer = pc.or_(finer, pc.not_equal(_mod(nanos, unit_ns), 0))
    valid = pc.fill_null(valid, False)
    return instants, valid, pc.and_(valid, pc.fill_null(finer, False))


def epoch_digits(strings: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(the integers, is an integer digit string, is a digit string with a fraction): epoch
    values sent as text, which ``conversions.instant_ns`` reads before trying ISO."""
    integral = pc.fill_null(pc.match_substring_regex(strings, _EPOCH_TEXT), False)
    with_fraction = pc.fill_null(pc.match_substring_regex(strings, _EPOCH_WITH_FRACTION), False)
    return pc.cast(pc.if_else(integral, strings, "0"), pa.int64()), integral, with_fraction


def _part(parts: pa.Array, name: str) -> pa.Array:
    text = pc.fill_null(pc.struct_field(parts, name), "")
    return pc.cast(pc.if_else(pc.equal(text, ""), "0", text), pa.int64())


def _offset(offset: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(sign, hours, minutes) of ``Z``, ``±hh``, ``±hhmm`` or ``±hh:mm`` (0 when absent)."""
    offset = pc.fill_null(offset, "")
    sign = pc.if_else(pc.starts_with(offset, "-"), -1, 1).cast(pa.int64())
    digits = pc.replace_substring(pc.utf8_slice_codeunits(offset, 1, 16), ":", "")
    hours = pc.utf8_slice_codeunits(digits, 0, 2)
    minutes = pc.utf8_slice_codeunits(digits, 2, 4)
    as_int = [pc.cast(pc.if_else(pc.equal(text, ""), "0", text), pa.int64()) for text in (hours, minutes)]
    return sign, as_int[0], as_int[1]


def _date_exists(year: pa.Array, month: pa.Array, day: pa.Array) -> pa.Array:
    month_ok = pc.and_(pc.greater_equal(month, 1), pc.less_equal(month, 12))
    leap = pc.or_(pc.and_(pc.equal(pc.bit_wise_and(year, 3), 0), pc.not_equal(_mod(year, 100), 0)),
                  pc.equal(_mod(year, 400), 0))
    days = pc.take(_DAYS_IN_MONTH, pc.if_else(month_ok, pc.subtract(month, 1), 0))
    days = pc.add(days, pc.and_(leap, pc.equal(month, 2)).cast(pa.int64()))
    return pc.and_(month_ok, pc.and_(pc.greater_equal(day, 1), pc.less_equal(day, days)))


def _days_since_1970(year: pa.Array, month: pa.Array, day: pa.Array) -> pa.Array:
    """Howard Hinnant's days-from-civil, with years shifted 400 up so every division is of
    non-negative numbers (year 0000, 1 BC, counts as the exact path counts it)."""
    shifted = pc.add(pc.subtract(year, pc.less_equal(month, 2).cast(pa.int64())), 400)
    era = pc.divide(shifted, 400)
    year_of_era = pc.subtract(shifted, pc.multiply(era, 400))
    march_based = _mod(pc.add(month, 9), 12)
    day_of_year = pc.add(pc.divide(pc.add(pc.multiply(march_based, 153), 2), 5), pc.subtract(day, 1))
    day_of_era = _sum(pc.multiply(year_of_era, 365), pc.divide(year_of_era, 4),
                      pc.negate(pc.divide(year_of_era, 100)), day_of_year)
    return _sum(pc.multiply(era, _FOUR_CENTURIES_DAYS), day_of_era,
                pa.scalar(-_DAYS_BEFORE_1970 - _FOUR_CENTURIES_DAYS, pa.int64()))


def _mod(values: pa.Array, divisor: int) -> pa.Array:
    return pc.subtract(values, pc.multiply(pc.divide(values, divisor), divisor))  # non-negative values only


def _sum(*values: pa.Array) -> pa.Array:
    total = values[0]
    for value in values[1:]:
        total = pc.add(total, value)
    return total


# -- geo_point texts -----------------------------------------------------------------------------

_WKT_POINT_TEXT = r"(?i)^\s*POINT\s*\(\s*(?P<lon>\S+)\s+(?P<lat>\S+)\s*\)\s*$"
_LAT_LON_TEXT = r"^(?P<lat>[^,]*),(?P<lon>[^,]*)$"
_NUMERIC_TEXT = "^" + conversions.NUMERIC_TEXT.pattern + "$"


def geo_point_texts(strings: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(lat, lon, valid) of ``POINT (lon lat)`` and ``"lat,lon"`` texts (conversions.to_geo_point);
    the coordinates still need the double checks."""
    wkt = pc.extract_regex(strings, _WKT_POINT_TEXT)
    pair = pc.extract_regex(strings, _LAT_LON_TEXT)
    is_wkt = pc.fill_null(wkt.is_valid(), False)
    coordinates = []
    for name in ("lat", "lon"):
        text = pc.if_else(is_wkt, pc.struct_field(wkt, name), pc.struct_field(pair, name))
        coordinates.append(pc.utf8_trim(text, _ASCII_WHITESPACE))
    (lat, lat_ok), (lon, lon_ok) = (numbers_in_text(text) for text in coordinates)
    valid = pc.and_(pc.or_(is_wkt, pc.fill_null(pair.is_valid(), False)), pc.and_(lat_ok, lon_ok))
    return lat, lon, valid


def numbers_in_text(texts: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(the doubles, valid) of numeric texts (``"1.5"``, ``"-2e3"``: conversions.NUMERIC_TEXT);
    the doubles still need the checks of a double column."""
    valid = pc.fill_null(pc.match_substring_regex(texts, _NUMERIC_TEXT), False)
    try:
        return pc.cast(pc.if_else(valid, texts, None), pa.float64()), valid
    except pa.ArrowInvalid:  # a numeric text pyarrow's parser refuses: the exact path reads them
        return pa.nulls(len(texts), pa.float64()), pa.repeat(False, len(texts))
