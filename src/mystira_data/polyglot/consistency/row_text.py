"""Rows rendered as text, the same in Python and in PostgreSQL, for segment checksums.

A document is mapped to its row and rendered as the text PostgreSQL gives for
``jsonb_build_array(…columns…, _version, _deleted, _extra)`` — timestamps and intervals as
whole microseconds, so neither time zone nor DateStyle matters; `row_text_sql` is the SQL
side. The rendering is injective (JSON text, typed values): equal texts mean equal rows.
A document that cannot be rendered digests to `DIRTY`, which matches no row.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from mystira_data.domain.base import (
    format_timespan,
    format_utc,
    parse_timespan,
    stored_defaults,
)
from mystira_data.errors import InvalidDocument
from mystira_data.fields import STORE_MADE, VERSIONING, WRITER
from mystira_data.polyglot.consistency.streams import IdRange
from mystira_data.relational import Kind, TableMapping
from mystira_data.types import JsonDoc

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_MIN_MICROS = (datetime.min.replace(tzinfo=UTC) - _EPOCH) // _MICROSECOND
_MAX_MICROS = (datetime.max.replace(tzinfo=UTC) - _EPOCH) // _MICROSECOND
_IN_MICROSECONDS = frozenset({Kind.TIMESTAMP, Kind.DURATION})
DIRTY = ""  # the digest of a document that cannot be rendered: matches no row


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind | None  # None: a system column (taken as is)


def columns_of(mapping: TableMapping) -> list[Column]:
    """The rendered columns, in order: the model's columns, then the system ones."""
    cols = [Column(f.column.name, f.kind) for f in mapping.fields]
    return [*cols, Column("_version", None), Column("_deleted", None), Column("_extra", None)]


# -- the rendering, in Python ------------------------------------------------------------------

_CONTAINERS = frozenset({dict, list})
_ORDERS: dict[tuple[str, ...], tuple[str, ...]] = {}  # key tuple -> jsonb key order (memo)
# Python writes floats with an exponent as 1e-05 / 1e+16 (a sign, two digits or more).
_EXPONENT = re.compile(r"e[-+][0-9][0-9]")
_NEGATIVE_ZERO = re.compile(r"-0\.0(?![0-9])")  # -0.0, not -0.05


def _jsonb_key(key: str) -> tuple[int, bytes]:
    raw = key.encode()
    return len(raw), raw  # jsonb orders object keys by length first, then bytewise


def _key_order(keys: tuple[str, ...]) -> tuple[str, ...]:
    order = _ORDERS.get(keys)
    if order is None:
        if len(_ORDERS) > 10_000:  # documents with ever new keys: keep the memo bounded
            _ORDERS.clear()
        order = _ORDERS[keys] = tuple(sorted(keys, key=_jsonb_key))
    return order


def _jsonb_order(value: Any) -> Any:
    """``value`` with every object's keys in jsonb order (documents of one model share key
    sets, so the order is looked up, not sorted, and scalars are not visited one by one)."""
    if type(value) is list:
        return [_jsonb_order(v) if type(v) in _CONTAINERS else v for v in value]
    if type(value) is not dict:
        return value
    out = {}
    for k in _key_order(tuple(value)):
        v = value[k]
        out[k] = _jsonb_order(v) if type(v) in _CONTAINERS else v
    return out


def _numeric(value: float) -> str:
    """A float as PostgreSQL's numeric prints the JSON number Python wrote for it."""
    if value == 0:
        return "0.0"
    return format(Decimal(repr(value)), "f")


def _exact(value: Any) -> str:
    """The slow, exact jsonb text (for the rare values with exponents or negative zero)."""
    if type(value) is float:
        return _numeric(value)
    if type(value) is list:
        return "[" + ", ".join(_exact(v) for v in value) + "]"
    if type(value) is dict:
        items = (f"{json.dumps(k, ensure_ascii=False)}: {_exact(value[k])}" for k in value)
        return "{" + ", ".join(items) + "}"
    return json.dumps(value, ensure_ascii=False)


def _cell(value: Any, kind: Kind | None) -> Any:
    if value is None:
        return None
    if kind is Kind.TIMESTAMP:
        return (value - _EPOCH) // _MICROSECOND
    if kind is Kind.DURATION:
        return value // _MICROSECOND
    return value


def render(row: dict[str, Any], columns: Sequence[Column]) -> str:
    """The text of ``jsonb_build_array(...)::text`` for ``row`` (see `row_text_sql`)."""
    return render_cells(_jsonb_order([_cell(row[c.name], c.kind) for c in columns]))


def render_cells(cells: list[Any]) -> str:
    """``cells`` (objects already in jsonb key order) as jsonb's text form: ", " and ": "
    separators, non-ASCII kept, the same escapes as Python's json."""
    text = json.dumps(cells, ensure_ascii=False, allow_nan=False)
    return _exact(cells) if _odd_numbers(text) else text


def _odd_numbers(text: str) -> bool:
    """Numbers PostgreSQL's numeric prints differently (no exponent, no negative zero).

    Candidates are cheap to find by their literal part; a digit before the ``e`` tells a
    number from a string such as ``scene-12`` (a false alarm only costs the exact path)."""
    if _NEGATIVE_ZERO.search(text):
        return True
    return any(text[m.start() - 1].isdigit() for m in _EXPONENT.finditer(text))


@dataclass(frozen=True)
class _Field:
    name: str
    kind: Kind
    nullable: bool
    empty_is_null: bool


class RowMaker:
    """A document's row cells, as `TableMapping.to_row` would give them, without the codec
    when it can.

    The direct path takes a document that already has exactly the model's fields (what the
    stores hold); it accepts a timestamp or duration only in its canonical spelling, and no
    None where the model wants a value. Anything else goes through `to_row` (validation).
    Either way equal renderings mean documents verify would call equal.
    """

    def __init__(self, mapping: TableMapping) -> None:
        self.mapping = mapping
        self.columns = columns_of(mapping)
        self.fields = frozenset(f.name for f in mapping.fields) | set(mapping.extra_fields)
        self._fields = [_Field(f.name, f.kind, f.nullable, f.empty_is_null)
                        for f in mapping.fields]  # fmt: skip

    def digest(self, doc: JsonDoc) -> str:
        """md5 of the row text ``doc`` maps to; `DIRTY` for a document that has no row."""
        try:
            cells = self.direct(doc)
            if cells is None:
                with stored_defaults():  # as replication and compare decode stored docs
                    row = self.mapping.to_row(doc)
                cells = _jsonb_order([_cell(row[c.name], c.kind) for c in self.columns])
            text = render_cells(cells)
        except (InvalidDocument, ValueError, TypeError, ArithmeticError):
            return DIRTY
        return self.md5(text)

    @staticmethod
    def md5(text: str) -> str:
        """The per-row digest, as SQL's ``md5(text)`` computes it."""
        return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()

    def direct(self, doc: JsonDoc) -> list[Any] | None:
        """The cells (in jsonb key order) straight from a canonical document, else None."""
        if set(doc).difference(STORE_MADE | VERSIONING | {WRITER}) != self.fields:
            return None
        version, deleted = doc.get("_version"), doc.get("_deleted", False)
        if type(version) is not int or type(deleted) is not bool:
            return None
        extra = {name: doc[name] for name in self.mapping.extra_fields}
        cells: list[Any] = []
        for f in self._fields:
            value = doc[f.name]
            if value is None:
                if not f.nullable:
                    return None  # the codec would refuse it or put a default in
            elif f.kind in _IN_MICROSECONDS:
                value = _instant(value) if f.kind is Kind.TIMESTAMP else _duration(value)
                if value is None:
                    return None
            elif f.empty_is_null and value == "":
                extra[f.name], value = value, None  # as `TableMapping.prepare` does
            elif type(value) in _CONTAINERS:
                value = _jsonb_order(value)
            cells.append(value)
        cells += [version, deleted, _jsonb_order(extra)]
        return cells




def _instant(text: Any) -> int | None:
    """A canonical UTC timestamp string as epoch microseconds."""
    if not isinstance(text, str):
        return None
    value = datetime.fromisoformat(text)
    if value.tzinfo is None or format_utc(value) != text:
        return None
    return (value - _EPOCH) // _MICROSECOND


def _duration(text: Any) -> int | None:
    """A canonical TimeSpan string as microseconds."""
    if not isinstance(text, str):
        return None
    value = parse_timespan(text)
    if value is None or format_timespan(value) != text:
        return None
    return value // _MICROSECOND


def combine(digests: Sequence[str]) -> str:
    return hashlib.md5("".join(digests).encode(), usedforsecurity=False).hexdigest()


# -- the same rendering, in SQL ----------------------------------------------------------------


def row_text_sql(mapping: TableMapping, columns: Sequence[Column]) -> sa.ColumnElement[Any]:
    table = mapping.table
    cells: list[Any] = []
    for c in columns:
        col: sa.ColumnElement[Any] = table.c[c.name]
        if c.kind in _IN_MICROSECONDS:
            # extract(epoch) is an exact numeric (PostgreSQL 14+): whole microseconds.
            micros: sa.ColumnElement[Any] = sa.cast(
                sa.extract("epoch", col) * 1_000_000, sa.BigInteger
            )
            if c.kind is Kind.TIMESTAMP:
                # asyncpg stores datetime.min/max as -infinity/infinity, which have no epoch.
                micros = sa.case(
                    (sa.func.isfinite(col), micros),
                    (col < sa.func.now(), sa.literal(_MIN_MICROS, sa.BigInteger)),
                    (col > sa.func.now(), sa.literal(_MAX_MICROS, sa.BigInteger)),
                    else_=sa.null(),  # NULL stays NULL
                )
            col = micros
        cells.append(col)
    return sa.cast(sa.func.jsonb_build_array(*cells), sa.Text)


def checksum_sql(mapping: TableMapping, columns: Sequence[Column], ids: IdRange) -> sa.Select[Any]:
    """(row count, md5 of the rows' md5s in id order) for ``after < id <= upto``."""
    key = mapping.table.c.id.collate("C")
    per_row = sa.func.md5(row_text_sql(mapping, columns))
    ordered: Any = postgresql.aggregate_order_by(sa.literal_column("''"), key)
    stmt = sa.select(sa.func.count(), sa.func.md5(sa.func.string_agg(per_row, ordered)))
    after, upto = ids
    if after is not None:
        stmt = stmt.where(key > after)
    if upto is not None:
        stmt = stmt.where(key <= upto)
    return stmt.select_from(mapping.table)
