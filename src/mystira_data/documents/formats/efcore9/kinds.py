"""How one field travels between our native JSON and the EF Core 9 document: a `Kind` each.

``decode(raw, path, lenient)`` reads what C# stored (raising `InvalidDocument` at ``path``;
``lenient``: keep the raw value instead, so a batch reader hands it on and model validation
quarantines that one document). ``encode(value, base, path)`` writes a native value as EF
Core would; ``base`` is the value stored before, which object kinds use to keep everything
that did not change byte for byte (100 ns digits, date forms, fields we do not model).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from mystira_data.documents.formats.efcore9 import values
from mystira_data.domain.base import format_timespan, parse_timespan
from mystira_data.errors import InvalidDocument

MISSING: Any = object()


class Kind(Protocol):
    def decode(self, raw: Any, path: str, lenient: bool) -> Any: ...

    def encode(self, value: Any, base: Any, path: str) -> Any: ...


class Plain:
    """The same JSON value on both sides (strings, numbers, bools, primitive arrays)."""

    def decode(self, raw: Any, path: str, lenient: bool) -> Any:
        return raw

    def encode(self, value: Any, base: Any, path: str) -> Any:
        return value


class _Checked(ABC):
    """A kind whose decode may fail: lenient decoding keeps the raw value."""

    def decode(self, raw: Any, path: str, lenient: bool) -> Any:
        if raw is None:
            return None
        try:
            return self.read(raw, path)
        except InvalidDocument:
            if lenient:
                return raw
            raise

    @abstractmethod
    def read(self, raw: Any, path: str) -> Any:
        """The native value of ``raw``; `InvalidDocument` when it is not of this kind."""


class DateTimeKind(_Checked):
    def read(self, raw: Any, path: str) -> Any:
        if not isinstance(raw, str):
            raise InvalidDocument("a DateTime must be a string", path=path)
        return values.datetime_to_native(raw, path)

    def encode(self, value: Any, base: Any, path: str) -> Any:
        return values.datetime_to_dotnet(value)


class TimeSpanKind(_Checked):
    """.NET ``c`` strings on both sides; reading drops the 100 ns digit, as our model does."""

    def read(self, raw: Any, path: str) -> Any:
        parsed = parse_timespan(raw) if isinstance(raw, str) else None
        if parsed is None:
            raise InvalidDocument("not a .NET TimeSpan string", path=path)
        return format_timespan(parsed)

    def encode(self, value: Any, base: Any, path: str) -> Any:
        return value


@dataclass(frozen=True)
class IntEnumKind(_Checked):
    """An enum without a converter: its number (a name is read too, case-insensitively)."""

    enum: type[Enum]
    numbers: Mapping[Any, int]
    _names: dict[int, str] = field(init=False, repr=False)
    _by_name: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        names = {n: str(m.value) for m, n in self.numbers.items()}
        object.__setattr__(self, "_names", names)
        object.__setattr__(self, "_by_name", {v.casefold(): n for n, v in names.items()})

    def read(self, raw: Any, path: str) -> Any:
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            raise InvalidDocument(f"{self.enum.__name__} must be a number", path=path)
        if isinstance(raw, str):  # not C#'s shape; the model judges the name
            return raw
        name = self._names.get(raw)
        if name is None:
            raise InvalidDocument(f"unknown {self.enum.__name__} number {raw}", path=path)
        return name

    def encode(self, value: Any, base: Any, path: str) -> Any:
        if not isinstance(value, str):
            return value
        # Not a member: left as it is, the model refuses it before a real write.
        return self._by_name.get(value.casefold(), value)


class CsvKind(_Checked):
    def read(self, raw: Any, path: str) -> Any:
        return values.csv_to_native(raw, path)

    def encode(self, value: Any, base: Any, path: str) -> Any:
        return values.csv_to_dotnet(value, path)


class PairsKind(_Checked):
    def read(self, raw: Any, path: str) -> Any:
        return values.pairs_to_native(raw, path)

    def encode(self, value: Any, base: Any, path: str) -> Any:
        return values.pairs_to_dotnet(value, path)


@dataclass(frozen=True)
class JsonTextKind(_Checked):
    """A value serialized into a string by System.Text.Json (``inner`` maps its names)."""

    inner: Kind = field(default_factory=Plain)

    def read(self, raw: Any, path: str) -> Any:
        return self.inner.decode(values.json_text_to_value(raw, path), path, False)

    def encode(self, value: Any, base: Any, path: str) -> Any:
        if value is None:
            return None
        return values.stj_dumps(self.inner.encode(value, MISSING, path))


class ObjectDictKind(_Checked):
    """A dictionary stored as a real object; the string forms are read too."""

    def read(self, raw: Any, path: str) -> Any:
        value = values.json_text_to_value(raw, path)
        if not isinstance(value, dict):
            raise InvalidDocument("expected an object", path=path)
        return value

    def encode(self, value: Any, base: Any, path: str) -> Any:
        return value


@dataclass(frozen=True)
class ArrayKind:
    """An owned collection: always an array (``[]`` when empty)."""

    item: Kind

    def decode(self, raw: Any, path: str, lenient: bool) -> Any:
        if raw is None:
            return None
        if not isinstance(raw, list):
            if lenient:
                return raw
            raise InvalidDocument("expected an array", path=path)
        return [self.item.decode(v, f"{path}[{i}]", lenient) for i, v in enumerate(raw)]

    def encode(self, value: Any, base: Any, path: str) -> Any:
        if not isinstance(value, list):
            return value
        old = base if isinstance(base, list) else []
        return [
            self.item.encode(v, old[i] if i < len(old) else MISSING, f"{path}[{i}]")
            for i, v in enumerate(value)
        ]


@dataclass(frozen=True)
class DictKind:
    """A dictionary of objects (inside JSON text): keys kept, values mapped."""

    item: Kind

    def decode(self, raw: Any, path: str, lenient: bool) -> Any:
        if not isinstance(raw, dict):
            if raw is None or lenient:
                return raw
            raise InvalidDocument("expected an object", path=path)
        return {k: self.item.decode(v, f"{path}.{k}", lenient) for k, v in raw.items()}

    def encode(self, value: Any, base: Any, path: str) -> Any:
        if not isinstance(value, dict):
            return value
        return {k: self.item.encode(v, MISSING, f"{path}.{k}") for k, v in value.items()}


# Extra stored keys derived from a native value (GameSession.TargetAgeGroup).
Derive = Callable[[Any], dict[str, Any]]


@dataclass(frozen=True)
class FieldSpec:
    """One native field: its camelCase name, its stored name, how its value travels.

    ``also``: older stored names, read when ``stored`` is absent; ``derive`` makes stored
    keys from the value (kept with it while it does not change, rewritten when it does);
    ``ours``: a field the C# model lacks, written only when it holds a value.
    """

    native: str
    stored: str
    kind: Kind
    also: tuple[str, ...] = ()
    derive: Derive | None = None
    derived: tuple[str, ...] = ()
    ours: bool = False

    @property
    def read_from(self) -> tuple[str, ...]:
        return (self.stored, *self.also)

    @property
    def owned(self) -> tuple[str, ...]:
        return (self.stored, *self.also, *self.derived)


def hidden(key: str) -> bool:
    """C#'s own names (PascalCase, ``$type``): kept in the stored document, not shown to us.

    Everything else (camelCase, our ``_`` system fields) is shown as it is: EF Core writes
    no lower-case name besides the renamed ones the field maps know.
    """
    return key[:1] == "$" or key[:1].isupper()
