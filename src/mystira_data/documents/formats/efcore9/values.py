"""Scalar encodings of the EF Core 9 Cosmos provider and the C# app's value converters.

Each ``*_to_native`` reads what C# wrote and raises `InvalidDocument` naming ``path`` when it
cannot; each ``*_to_dotnet`` writes a value exactly as C# would (efcore-shape.md §1.7, §2).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from mystira_data.domain.base import format_utc
from mystira_data.errors import InvalidDocument

# Newtonsoft's IsoDateFormat: up to 7 fraction digits, `Z` only for UTC, an offset for Local.
_DOTNET_DATE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?(Z|[+-]\d{2}:\d{2})?",
    re.ASCII,
)
# DateTime.MinValue/MaxValue are `Unspecified`: written with no suffix, MaxValue at 100 ns.
_MIN = datetime.min.replace(tzinfo=UTC)
_MAX = datetime.max.replace(tzinfo=UTC)
DOTNET_MAX = "9999-12-31T23:59:59.9999999"
DOTNET_MIN = "0001-01-01T00:00:00"

# System.Text.Json's default encoder escapes HTML-sensitive characters and non-ASCII.
_STJ_ESCAPED = frozenset("<>&'+`")


def datetime_to_native(raw: str, path: str) -> str:
    """A .NET DateTime string as our canonical UTC text (100 ns digits truncated to µs)."""
    match = _DOTNET_DATE.fullmatch(raw)
    if match is None:
        raise InvalidDocument("not a .NET DateTime string", path=path)
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        value = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second),
            int((fraction or "").ljust(7, "0")) // 10, tzinfo=_zone(zone),
        )  # fmt: skip
        return format_utc(value.astimezone(UTC))
    except (ValueError, OverflowError) as exc:
        raise InvalidDocument(f"not a valid DateTime ({exc})", path=path) from None


def _zone(zone: str | None) -> timezone:
    if zone is None or zone == "Z":  # offset-less values are UTC in this app
        return UTC
    sign = -1 if zone[0] == "-" else 1
    hours, minutes = int(zone[1:3]), int(zone[4:6])
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def datetime_to_dotnet(value: Any) -> Any:
    """Our datetime text as Newtonsoft writes a UTC DateTime (fraction trimmed, ``Z``)."""
    if not isinstance(value, str):
        return value  # not ours to judge: the model refuses it on the way in
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value
    parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    if parsed == _MAX:
        return DOTNET_MAX
    if parsed == _MIN:
        return DOTNET_MIN
    text = parsed.strftime("%Y-%m-%dT%H:%M:%S")
    if parsed.microsecond:
        text += f".{parsed.microsecond:06d}".rstrip("0")
    return text + "Z"


def csv_to_native(raw: Any, path: str) -> Any:
    """`string.Join(',')` lists: split, empty entries removed, nothing trimmed; an array (a
    hand-written or older document) is taken as it is."""
    if isinstance(raw, str):
        return [part for part in raw.split(",") if part]
    if isinstance(raw, list) or raw is None:
        return raw
    raise InvalidDocument("list field is neither a comma-joined string nor an array", path=path)


def csv_to_dotnet(value: Any, path: str) -> Any:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return value
    bad = next((v for v in value if "," in v), None)
    if bad is not None:
        raise InvalidDocument("a value with a comma cannot be stored comma-joined", path=path)
    return ",".join(value)


def pairs_to_native(raw: Any, path: str) -> Any:
    """``Key:Value|Key:Value`` strings (split on the first ``:``) as key/value objects."""
    if raw is None or isinstance(raw, list):
        return raw
    if not isinstance(raw, str):
        raise InvalidDocument("not a Key:Value|… string", path=path)
    pairs = []
    for part in (p for p in raw.split("|") if p):
        key, sep, value = part.partition(":")
        if not sep:
            raise InvalidDocument(f"entry {part!r} has no ':'", path=path)
        pairs.append({"key": key, "value": value})
    return pairs


def pairs_to_dotnet(value: Any, path: str) -> Any:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        return value
    parts = []
    for pair in value:
        key, item = str(pair.get("key", "")), str(pair.get("value", ""))
        if ":" in key or "|" in key or "|" in item:
            raise InvalidDocument("a key/value with ':' or '|' cannot be stored", path=path)
        parts.append(f"{key}:{item}")
    return "|".join(parts)


def json_text_to_value(raw: Any, path: str) -> Any:
    """JSON serialized into a string (or, read leniently, the object itself; the C# reader
    also accepts a value serialized twice)."""
    value = raw
    for _ in range(2):
        if not isinstance(value, str):
            break
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise InvalidDocument(f"broken JSON in string ({exc.msg})", path=path) from None
    if value is not None and not isinstance(value, dict | list):
        raise InvalidDocument("JSON in string is not an object or array", path=path)
    return value


def stj_dumps(value: Any) -> str:
    """Compact JSON as System.Text.Json writes it with its default encoder."""
    text = json.dumps(_stj_numbers(value), ensure_ascii=False, separators=(",", ":"))
    return "".join(_stj_escape(ch) for ch in text)


def _stj_escape(ch: str) -> str:
    # Only string contents can hold these: JSON's own punctuation is plain ASCII.
    if ch in _STJ_ESCAPED or ord(ch) > 0x7E:
        data = ch.encode("utf-16-be")
        return "".join(f"\\u{data[i] << 8 | data[i + 1]:04X}" for i in range(0, len(data), 2))
    return ch


def _stj_numbers(value: Any) -> Any:
    # System.Text.Json writes doubles in their shortest form: 3.0 is `3`.
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: _stj_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stj_numbers(v) for v in value]
    return value
