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

import attrs
import msgspec

from ._converter import format_datetime, get_converter, values_ok
from ._errors import DecodeError, InvalidRequestError

__all__ = ["dumps", "encode_model", "loads"]

_fast_decoder = msgspec.json.Decoder(float_hook=Decimal)
_model_encoder = msgspec.json.Encoder(decimal_format="number")
_decoder = json.JSONDecoder(parse_float=Decimal, parse_constant=lambda c: _bad_constant(c))
_encode_str = json.encoder.encode_basestring_ascii


def _bad_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads(data: bytes | str) -> Any:
    """Decode JSON text, numbers with a fraction as exact ``Decimal``.

    Raises:
        DecodeError: the text is not JSON (or not UTF-8, or nested too deeply). It
            neither chains nor keeps the parser's exception: ``JSONDecodeError.doc``
            is the whole body, which must not live on (or be shown) with the error.
    """
    try:
        return _fast_decoder.decode(data)
    except (msgspec.DecodeError, ValueError, RecursionError):
        pass  # the standard library's verdict (and message) is the one given
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return _decoder.decode(text)
    except RecursionError:
        message = "response JSON is nested too deeply"
    except (ValueError, UnicodeDecodeError) as exc:
        message = f"response is not valid JSON: {exc}"
    # Raised outside the handler, so that the error neither chains nor keeps the
    # parser's exception as its context: that one holds the whole body (``.doc``).
    raise DecodeError(message)


def _encode(value: Any, out: list[str]) -> None:
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
        out.append(int.__repr__(value))
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
    elif isinstance(value, Mapping):
        out.append("{")
        first = True
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidRequestError(f"JSON object keys must be strings, got {key!r}")
            if not first:
                out.append(",")
            first = False
            out.append(_encode_str(key))
            out.append(":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        raise InvalidRequestError(f"cannot send a {type(value).__name__} as JSON: {value!r}")


def dumps(value: Any) -> str:
    """Encode a request body as compact JSON in Harvest's formats."""
    out: list[str] = []
    _encode(value, out)
    return "".join(out)


def encode_model(model: Any) -> str:
    """A model as compact JSON text: what the converter unstructures, as `dumps` writes it.

    Decimals are JSON numbers, dates ``YYYY-MM-DD``, timestamps UTC ISO 8601 with ``Z``;
    every field is written (``null`` where empty). A model as the converter decodes them
    (finite decimals, UTC timestamps) goes through msgspec's C encoder, keys in
    alphabetical order; any other goes the converter's way (which refuses what JSON
    cannot hold).
    """
    if attrs.has(type(model)) and values_ok(model):
        try:
            return _model_encoder.encode(model).decode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate (decodable JSON, not UTF-8): dumps escapes it
    return dumps(get_converter().unstructure(model))
