"""Shared base model and value types for the domain documents.

Every model is snake_case in Python and camelCase on the wire. The annotated types below carry
their own validation and JSON serialisation so each model field states its wire shape once.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic.alias_generators import to_camel

__all__ = [
    "TIMESPAN_MAX",
    "Base64Bytes",
    "Document",
    "DocumentId",
    "Duration",
    "Int32",
    "JsonDecimal",
    "JsonObject",
    "Long",
    "MystiraModel",
    "NonBlankStr",
    "UtcDateTime",
    "format_timespan",
    "format_utc",
    "new_id",
    "parse_timespan",
    "stored_defaults",
    "utc_now",
]


class MystiraModel(BaseModel):
    """Base of every domain model: snake_case attributes, camelCase JSON, no unknown fields."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        # JSON has no NaN/Infinity and Cosmos rejects them, so refuse them at the model edge.
        allow_inf_nan=False,
    )


# While set, the "fresh" defaults below are fixed values instead (see `stored_defaults`).
_STORED: ContextVar[bool] = ContextVar("mystira_stored_defaults", default=False)
# What a field absent from a stored document reads as: the Unix epoch (not .NET's year 1,
# which asyncpg stores as -infinity) and Guid.Empty.
STORED_DEFAULT_TIME = datetime(1970, 1, 1, tzinfo=UTC)
STORED_DEFAULT_ID = "00000000-0000-0000-0000-000000000000"


@contextmanager
def stored_defaults() -> Iterator[None]:
    """Decode documents that already exist (copying, comparing) deterministically.

    A new document gets a fresh id and "now" for fields it lacks. A stored document that
    lacks them (older data) must read the same every time, or its relational copy and every
    verify would see a different value on each decode; inside this block it reads as a fixed,
    recognisable value: ``STORED_DEFAULT_TIME`` / ``STORED_DEFAULT_ID``.
    """
    token = _STORED.set(True)
    try:
        yield
    finally:
        _STORED.reset(token)


def new_id() -> str:
    """A fresh GUID string, the C# models' default identifier."""
    return STORED_DEFAULT_ID if _STORED.get() else str(uuid.uuid4())


def utc_now() -> datetime:
    """The current instant, UTC-aware (C# `DateTime.UtcNow`)."""
    return STORED_DEFAULT_TIME if _STORED.get() else datetime.now(UTC)


# --- strings -----------------------------------------------------------------------------------


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or whitespace")
    return value


NonBlankStr = Annotated[str, AfterValidator(_not_blank)]
"""A string with at least one non-whitespace character (open value lists, partition keys)."""

_ID_FORBIDDEN = frozenset("/\\?#")


def _document_id(value: str) -> str:
    # Cosmos DB's id rules; enforcing them here keeps every store in agreement about valid ids.
    if not 1 <= len(value) <= 255:
        raise ValueError("id must be 1 to 255 characters")
    if _ID_FORBIDDEN.intersection(value):
        raise ValueError("id must not contain '/', '\\', '?' or '#'")
    return value


DocumentId = Annotated[str, AfterValidator(_document_id)]
"""A document identifier: 1-255 characters, none of ``/ \\ ? #``."""


# --- numbers -----------------------------------------------------------------------------------

Int32 = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
"""C# ``int``."""

# Cosmos stores every number as an IEEE double, so a C# ``long`` survives only up to 2**53.
Long = Annotated[int, Field(ge=-(2**53 - 1), le=2**53 - 1)]
"""C# ``long``, limited to the integers a JSON double holds exactly."""


def _double_precision(value: Decimal) -> Decimal:
    # The document store keeps numbers as doubles; holding exactly that precision in the model
    # makes every encode/decode round trip exact.
    as_float = float(value)
    if not math.isfinite(as_float):
        raise ValueError("decimal is outside the range of a JSON number")
    return Decimal(repr(as_float))


JsonDecimal = Annotated[
    Decimal,
    AfterValidator(_double_precision),
    PlainSerializer(float, return_type=float, when_used="json"),
]
"""C# ``decimal`` (money, percentages): a JSON number, held at double precision."""


# --- datetimes ---------------------------------------------------------------------------------


def _to_utc(value: datetime) -> datetime:
    if value.tzinfo is None:  # C# writes UTC without an offset; naive means UTC here
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("datetime is outside the representable range in UTC") from None


def format_utc(value: datetime) -> str:
    """ISO-8601 in UTC with a ``Z`` suffix and always six fractional digits.

    A fixed width makes the strings sort chronologically, which range queries on the stores
    rely on.
    """
    # Runs for every datetime of every document written in bulk: validated values already
    # hold `UTC` (no conversion), and %-formatting is faster than isoformat(timespec=...).
    if value.tzinfo is not UTC:
        value = _to_utc(value)
    v = value
    return _UTC_FORMAT % (v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond)


_UTC_FORMAT = "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ"


_CANONICAL_UTC_LENGTH = len("2024-01-31T23:59:59.000000Z")


def _utc_input(value: Any, handler: ValidatorFunctionWrapHandler) -> datetime:
    # Stored documents hold `format_utc`'s fixed-width text; the C parser reads that straight
    # into a UTC datetime, a third of the cost of pydantic's parse plus a conversion (bulk).
    if (
        type(value) is str
        and len(value) == _CANONICAL_UTC_LENGTH
        and value[10] == "T"
        and value[-1] == "Z"
    ):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass  # pydantic's parser reports the error
    return _to_utc(handler(value))


UtcDateTime = Annotated[
    datetime,
    WrapValidator(_utc_input),
    PlainSerializer(format_utc, return_type=str, when_used="json"),
]
"""A UTC-aware datetime; naive input is taken as UTC, other offsets are converted."""


# --- durations ---------------------------------------------------------------------------------

TIMESPAN_MAX = timedelta(days=10675199, hours=2, minutes=48, seconds=5, microseconds=477580)
"""``TimeSpan.MaxValue`` at microsecond resolution; the .NET range bounds ``Duration``."""

_TIMESPAN = re.compile(
    r"(-)?(?:([0-9]+)\.)?([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:\.([0-9]{1,7}))?", re.ASCII
)


def parse_timespan(text: str) -> timedelta | None:
    """Parse the .NET TimeSpan ``c`` format ``[-][d.]hh:mm:ss[.fffffff]``; None if not one.

    Python keeps microseconds, so a seventh fractional digit (100 ns) is truncated.
    """
    match = _TIMESPAN.fullmatch(text)
    if match is None:
        return None
    sign, days, hours, minutes, seconds, fraction = match.groups()
    if int(hours) > 23 or int(minutes) > 59 or int(seconds) > 59:
        raise ValueError("TimeSpan hours, minutes or seconds out of range")
    ticks = int((fraction or "").ljust(7, "0"))
    magnitude = timedelta(
        days=int(days or 0),
        hours=int(hours),
        minutes=int(minutes),
        seconds=int(seconds),
        microseconds=ticks // 10,
    )
    return -magnitude if sign else magnitude


def format_timespan(value: timedelta) -> str:
    """Format as the .NET TimeSpan ``c`` format, the shape C# writes to JSON."""
    sign = "-" if value < timedelta(0) else ""
    magnitude = abs(value)
    hours, rest = divmod(magnitude.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    days = f"{magnitude.days}." if magnitude.days else ""
    fraction = f".{magnitude.microseconds:06d}0" if magnitude.microseconds else ""
    return f"{sign}{days}{hours:02d}:{minutes:02d}:{seconds:02d}{fraction}"


def _timespan_input(value: Any) -> Any:
    # TimeSpan strings first; anything else (ISO-8601 durations, seconds) goes to pydantic.
    if isinstance(value, str):
        parsed = parse_timespan(value.strip())
        if parsed is not None:
            return parsed
    return value


def _within_timespan_range(value: timedelta) -> timedelta:
    if abs(value) > TIMESPAN_MAX:
        raise ValueError("duration is outside the .NET TimeSpan range")
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(_timespan_input),
    AfterValidator(_within_timespan_range),
    PlainSerializer(format_timespan, return_type=str, when_used="json"),
]
"""C# ``TimeSpan``: JSON ``[-][d.]hh:mm:ss[.fffffff]``; ISO-8601 durations accepted on input."""


# --- bytes -------------------------------------------------------------------------------------


def _base64_input(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error:
            raise ValueError("not valid base64") from None
    return value


def _base64_output(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


Base64Bytes = Annotated[
    bytes,
    BeforeValidator(_base64_input),
    PlainSerializer(_base64_output, return_type=str, when_used="json"),
]
"""C# ``byte[]``: base64 text in JSON (as System.Text.Json writes it), bytes in Python."""


# --- free-form JSON ----------------------------------------------------------------------------


def _json_problem(value: Any, where: str) -> str | None:
    # Walks the tree so the error can say where inside it the bad value sits.
    if value is None or isinstance(value, str | bool | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{where or 'value'} is not a finite number"
    if isinstance(value, list):
        found = (_json_problem(v, f"{where}[{i}]") for i, v in enumerate(value))
        return next((p for p in found if p), None)
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{where or 'object'} has a non-string key"
            problem = _json_problem(item, f"{where}.{key}" if where else key)
            if problem:
                return problem
        return None
    return f"{where or 'value'} is a {type(value).__name__}, not a JSON value"


def _json_object(value: dict[str, Any]) -> dict[str, Any]:
    problem = _json_problem(value, "")
    if problem:
        raise ValueError(problem)
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(_json_object)]
"""A free-form JSON object (C# ``Dictionary<string, object>``); values must be plain JSON."""


# --- documents ---------------------------------------------------------------------------------


class Document(MystiraModel):
    """A top-level document: one item of a container, identified by ``id``."""

    id: DocumentId
