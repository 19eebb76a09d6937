"""JSON in and out, with exact decimals.

Harvest sends money and hours as JSON numbers (``33.35``); reading them as floats would
lose exactness, so numbers with a fraction or exponent become `Decimal`
with the text as written. Out-going bodies write ``Decimal`` as a JSON number (never a
string), ``date`` as ``YYYY-MM-DD`` and aware ``datetime`` as UTC ISO 8601.

Parsing goes through msgspec's C parser (about 1.5x faster than the standard library's
with exact decimals); text it refuses is handed to the standard library parser, which
either accepts it (a lone surrogate escape, say) or gives the error message.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import msgspec

from ._errors import DecodeError, InvalidRequestError

__all__ = ["MAX_DEPTH", "TIMESTAMP_RANGE_MESSAGE", "dumps", "format_datetime", "loads", "shown"]

_fast_decoder = msgspec.json.Decoder(float_hook=Decimal)
_decoder = json.JSONDecoder(parse_float=Decimal, parse_constant=lambda c: _bad_constant(c))
_encode_str = json.encoder.encode_basestring_ascii

#: The message of a datetime that UTC cannot hold (shared with the converter's decoding).
TIMESTAMP_RANGE_MESSAGE = "a datetime out of range once converted to UTC"

#: Deepest nesting of lists and objects a request body may have (Harvest's have 3):
#: well within Python's recursion limit, wherever on the stack the body is written.
MAX_DEPTH = 100
#: Longest `shown` text of a value.
_SHOWN_LIMIT = 200
#: Up to this many bits an int's digits are counted exactly (``10**k`` is cheap).
_EXACT_DIGITS_BITS = 100_000


def _digits(value: int) -> str:
    """How many decimal digits ``value`` has, without writing it out."""
    size = abs(value)
    bits = size.bit_length()
    # 0.30103 is just above log10(2): an upper bound, at most one too many.
    count = bits * 30103 // 100000 + 1
    if bits > _EXACT_DIGITS_BITS:
        return f"about {count}"
    while count > 1 and size < 10 ** (count - 1):
        count -= 1
    return str(count)


def shown(value: Any) -> str:
    """``repr(value)`` for an error message: never raises, never long.

    An int too long to write out (Python refuses beyond 4300 digits) is shown as its
    number of digits; a repr that fails (an object holding such an int, one nested
    too deeply) as the value's type; a long one is cut.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"an int of {_digits(value)} digits"
    try:
        text = repr(value)
    except Exception:  # ValueError of a huge int, RecursionError, a broken __repr__
        return f"a {type(value).__name__}"
    return text if len(text) <= _SHOWN_LIMIT else text[: _SHOWN_LIMIT - 3] + "..."


def _bad_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads(data: bytes | str) -> Any:
    """Decode JSON text, numbers with a fraction as exact ``Decimal``.

    Raises:
        DecodeError: the text is not JSON (or not UTF-8, nested too deeply, or has a
            number with an exponent beyond what `Decimal` can hold at all). It
            neither chains nor keeps the parser's exception: ``JSONDecodeError.doc``
            is the whole body, which must not live on (or be shown) with the error.
    """
    try:
        return _fast_decoder.decode(data)
    except (msgspec.DecodeError, ValueError, RecursionError, ArithmeticError):
        pass  # the standard library's verdict (and message) is the one given
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return _decoder.decode(text)
    except RecursionError:
        message = "response JSON is nested too deeply"
    except ArithmeticError:  # decimal.InvalidOperation: an exponent beyond Decimal's
        message = "response JSON has a number out of range"
    except UnicodeDecodeError as exc:  # its text would quote a byte of the body
        message = f"response is not UTF-8 text (byte {exc.start} of the body)"
    except json.JSONDecodeError as exc:  # where, never what
        message = f"response is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
    except ValueError:
        message = "response is not valid JSON"
    # Raised outside the handler, so that the error neither chains nor keeps the
    # parser's exception as its context: that one holds the whole body (``.doc``).
    raise DecodeError(message)


def _encode(value: Any, out: list[str], depth: int = 0) -> None:
    # Order matters: bool is an int, datetime is a date.
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_encode_str(value))
    elif isinstance(value, int):
        try:
            out.append(int.__repr__(value))
        except ValueError:  # beyond Python's limit for writing ints (4300 digits)
            raise InvalidRequestError(f"cannot send {shown(value)} as JSON") from None
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidRequestError(f"cannot send non-finite decimal {value}")
        out.append(str(value))
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidRequestError(f"cannot send non-finite number {value}")
        out.append(repr(value))
    elif isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise InvalidRequestError(
                f"datetime {value.isoformat()} has no time zone; give an aware datetime"
            )
        out.append(_encode_str(format_datetime(value)))
    elif isinstance(value, dt.date):
        out.append(_encode_str(value.isoformat()))
    elif isinstance(value, (Mapping, list, tuple)) and depth >= MAX_DEPTH:
        raise InvalidRequestError(f"cannot send JSON nested more than {MAX_DEPTH} levels deep")
    elif isinstance(value, Mapping):
        out.append("{")
        first = True
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidRequestError(f"JSON object keys must be strings, got {shown(key)}")
            if not first:
                out.append(",")
            first = False
            out.append(_encode_str(key))
            out.append(":")
            _encode(item, out, depth + 1)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _encode(item, out, depth + 1)
        out.append("]")
    else:
        raise InvalidRequestError(f"cannot send a {type(value).__name__} as JSON: {shown(value)}")


def dumps(value: Any) -> str:
    """Encode a request body as compact JSON in Harvest's formats.

    Raises:
        InvalidRequestError: a value JSON or Harvest cannot take: a non-finite number,
            an int too long to write, a naive or out-of-range datetime, a non-string key,
            nesting deeper than `MAX_DEPTH` (or a cycle), another type.
    """
    out: list[str] = []
    _encode(value, out)
    return "".join(out)


def format_datetime(value: dt.datetime) -> str:
    """Format a datetime as Harvest's UTC ISO 8601 (``2017-12-31T14:59:22Z``).

    A naive one is taken as UTC (as decoding takes a bare timestamp), never as the
    machine's local time; request parameters refuse naive datetimes before this.

    Raises:
        InvalidRequestError: the datetime is out of range once converted to UTC.
    """
    try:
        utc = (
            value.replace(tzinfo=dt.UTC) if value.utcoffset() is None else value.astimezone(dt.UTC)
        )
    except OverflowError:
        raise InvalidRequestError(TIMESTAMP_RANGE_MESSAGE) from None
    text = utc.isoformat()
    return text[: -len("+00:00")] + "Z" if text.endswith("+00:00") else text
