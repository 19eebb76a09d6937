"""Request-side helpers: errors, typed field coercion (JSON and form bodies), query values."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "Reject",
    "UploadedFile",
    "coerce_fields",
    "parse_bool",
    "parse_date",
    "parse_datetime",
    "parse_minutes",
    "require",
]


class Reject(Exception):
    """An error answer: ``status`` with a JSON ``body`` (and optional headers)."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status, message)
        self.status = status
        self.body: Any = body if body is not None else {"message": message or ""}
        self.headers = dict(headers or {})


class UploadedFile:
    """A file part of a multipart body."""

    def __init__(self, filename: str, content_type: str, size: int) -> None:
        self.filename = filename
        self.content_type = content_type
        self.size = size


def parse_bool(text: str, name: str) -> bool:
    """``true``/``false`` (also ``1``/``0``) from a query or form value."""
    low = text.strip().lower()
    if low in ("true", "1"):
        return True
    if low in ("false", "0"):
        return False
    raise Reject(422, f"{name} must be true or false")


def parse_date(text: str, name: str) -> dt.date:
    """A date: ``YYYY-MM-DD`` (reports also take ``YYYYMMDD``)."""
    s = text.strip()
    try:
        if len(s) == 8 and s.isdigit():
            return dt.date(int(s[:4]), int(s[4:6]), int(s[6:]))
        return dt.date.fromisoformat(s)
    except ValueError:
        raise Reject(422, f"{name} is not a valid date") from None


def parse_datetime(text: str, name: str) -> dt.datetime:
    """An ISO 8601 date-time (or date), as aware UTC."""
    s = text.strip()
    try:
        value = dt.datetime.fromisoformat(s)
    except ValueError:
        raise Reject(422, f"{name} is not a valid date-time") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


_TIME = re.compile(r"^\s*(\d{1,2})(?::(\d{2}))?\s*([ap]m)?\s*$", re.IGNORECASE)


def parse_minutes(text: str, name: str) -> int:
    """Minutes since midnight of ``"14:59"`` or ``"2:59pm"``."""
    m = _TIME.match(text)
    if not m:
        raise Reject(422, f"{name} is not a valid time of day")
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    suffix = (m.group(3) or "").lower()
    if suffix:
        if not 1 <= hour <= 12:
            raise Reject(422, f"{name} is not a valid time of day")
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if hour > 23 or minute > 59:
        raise Reject(422, f"{name} is not a valid time of day")
    return hour * 60 + minute


def _bad(name: str) -> Reject:
    return Reject(422, f"{name} is invalid")


def _coerce(name: str, kind: str, value: Any, form: bool) -> Any:
    if value is None or (form and value == "" and kind not in ("str",)):
        return None
    if kind == "file":
        if isinstance(value, UploadedFile):
            return value
        raise _bad(name)
    if form and isinstance(value, str) and kind in ("ints", "strs", "any", "objs"):
        try:
            value = json.loads(value)
        except ValueError:
            raise _bad(name) from None
    if kind == "str":
        if isinstance(value, str):
            return value
        raise _bad(name)
    if kind == "int":
        if isinstance(value, str) and form:
            value = value.strip()
            if value.lstrip("-").isdigit():
                return int(value)
            raise _bad(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _bad(name)
    if kind == "num":
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise _bad(name) from None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise _bad(name)
    if kind == "bool":
        if isinstance(value, str) and form:
            return parse_bool(value, name)
        if isinstance(value, bool):
            return value
        raise _bad(name)
    if kind == "date":
        if isinstance(value, str):
            return parse_date(value, name).isoformat()
        raise _bad(name)
    if kind == "datetime":
        if isinstance(value, str):
            return parse_datetime(value, name).strftime("%Y-%m-%dT%H:%M:%SZ")
        raise _bad(name)
    if kind == "ints":
        if isinstance(value, list) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            return list(value)
        raise _bad(name)
    if kind == "strs":
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
        raise _bad(name)
    if kind == "objs":
        if isinstance(value, list) and all(isinstance(v, dict) for v in value):
            return [dict(v) for v in value]
        raise _bad(name)
    if kind == "obj":
        if isinstance(value, dict):
            return dict(value)
        raise _bad(name)
    return value  # "any"


def coerce_fields(
    spec: Mapping[str, str], body: Mapping[str, Any], *, form: bool = False
) -> dict[str, Any]:
    """The fields of ``body`` named in ``spec``, checked and converted to stored types.

    Unknown fields are ignored, like Harvest does. Numbers become floats (so they are
    written back as JSON numbers such as ``100.0``), dates ``YYYY-MM-DD`` strings,
    date-times ``...Z`` strings. A wrong type is a 422.
    """
    out: dict[str, Any] = {}
    for name, kind in spec.items():
        if name in body:
            out[name] = _coerce(name, kind, body[name], form)
    return out


def require(data: Mapping[str, Any], *names: str) -> None:
    """422 ``"<Name> can't be blank"`` for the first missing or empty field."""
    for name in names:
        value = data.get(name)
        if value is None or value == "" or value == []:
            label = name.removesuffix("_id").replace("_", " ").capitalize()
            raise Reject(422, f"{label} can't be blank")
