"""Objects (documents, owned types) field by field, keeping what did not change.

Encoding against the stored document (``base``) is what makes a round trip faithful: a
field whose stored value still decodes to the native value is copied as stored, so 100 ns
digits, offset-less dates, ``3.0`` vs ``3``, JSON-text escaping and older shapes survive; a
changed field is written as EF Core would. C#'s own names we do not map (``$type``,
``Discriminator``, fields a newer C# model added) are kept from ``base`` and never shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mystira_data.documents.formats.efcore9.kinds import MISSING, FieldSpec, Kind, Plain, hidden
from mystira_data.errors import InvalidDocument


@dataclass(frozen=True)
class IdKind:
    """A key: EF Core 8 prefixed ids with the type (``GameSession|<key>``); EF 9 does not."""

    prefix: str = ""

    def decode(self, raw: Any, path: str, lenient: bool) -> Any:
        if self.prefix and isinstance(raw, str) and raw.startswith(self.prefix):
            return raw[len(self.prefix) :]
        return raw

    def encode(self, value: Any, base: Any, path: str) -> Any:
        return value


@dataclass(frozen=True)
class ObjectKind:
    """A JSON object whose known fields are mapped by ``fields``."""

    fields: tuple[FieldSpec, ...]
    by_native: dict[str, FieldSpec] = field(init=False, repr=False)
    owned: frozenset[str] = field(init=False, repr=False)
    _reading: tuple[tuple[str, tuple[str, ...], Kind, bool], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_native", {f.native: f for f in self.fields})
        object.__setattr__(self, "owned", frozenset(k for f in self.fields for k in f.owned))
        reading = tuple(
            (f.native, f.read_from, f.kind, isinstance(f.kind, Plain)) for f in self.fields
        )
        object.__setattr__(self, "_reading", reading)

    def decode(self, raw: Any, path: str, lenient: bool) -> Any:
        if raw is None:
            return None
        if not isinstance(raw, dict):
            if lenient:
                return raw
            raise InvalidDocument("expected an object", path=path)
        out: dict[str, Any] = {}
        for native, read_from, kind, plain in self._reading:
            for key in read_from:
                if key in raw:
                    value = raw[key]
                    # Plain values need no path: build it only for kinds that may report one.
                    out[native] = value if plain else kind.decode(value, _join(path, key), lenient)
                    break
        owned = self.owned
        for key, value in raw.items():
            if key not in owned and key not in out and not hidden(key):
                out[key] = value  # our own fields (system fields, free-form test data)
        return out

    def encode(self, value: Any, base: Any, path: str) -> Any:
        if not isinstance(value, dict):
            return value
        old: dict[str, Any] = base if isinstance(base, dict) else {}
        out: dict[str, Any] = {}
        for spec in self.fields:
            if spec.native in value:
                self._encode_field(spec, value[spec.native], old, out, path)
        for key, item in value.items():
            if key not in self.by_native and key not in out:
                out[key] = item
        for key, item in old.items():
            if key not in self.owned and key not in out and hidden(key):
                out[key] = item
        return out

    def _encode_field(
        self, spec: FieldSpec, new: Any, old: dict[str, Any], out: dict[str, Any], path: str
    ) -> None:
        where = _join(path, spec.native)
        stored = next((k for k in spec.read_from if k in old), None)
        if stored is not None and _unchanged(spec, old[stored], new, where):
            out.update({k: old[k] for k in spec.owned if k in old})
            return
        if spec.ours and new is None:
            return  # C# has no such property: nothing for its documents to carry
        out[spec.stored] = spec.kind.encode(new, old.get(spec.stored, MISSING), where)
        if spec.derive is not None:
            out.update(spec.derive(new))


def _unchanged(spec: FieldSpec, stored: Any, new: Any, path: str) -> bool:
    try:
        return same(spec.kind.decode(stored, path, False), new)
    except InvalidDocument:
        return False


def same(a: Any, b: Any) -> bool:
    """Equal as JSON values, compared in C: ``3 == 3.0``. (``true == 1`` too, which only keeps
    a value stored that way as it is: the model reads both alike.)"""
    return bool(a == b)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
