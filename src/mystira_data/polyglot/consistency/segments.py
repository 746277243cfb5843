"""Segment checksums: verify's shortcut for a PostgreSQL side (as data-diff does).

The document side is streamed in id order and cut into segments of ``segment`` documents.
Each document is mapped to its row (as `TableMapping.to_row` does; straight from the
document when it is already canonical, skipping the codec) and rendered as the text
PostgreSQL gives for ``jsonb_build_array(…columns…, _version, _deleted, _extra)`` —
timestamps and intervals as whole microseconds, so neither time zone nor DateStyle matters.
One query per segment computes the same checksum over the stored rows of the segment's id
range: equal checksums (and counts) make the segment clean. Otherwise the range is halved,
down to ``leaf`` documents, and what still differs is handed back for the row-by-row compare.

Never a false "clean": the rendering is injective (JSON text, typed values), so equal texts
mean equal rows, and equal rows map back to equal documents. A rendering Python and SQL do
not agree on for clean data (say a float PostgreSQL prints without an exponent) only costs
the row-by-row compare of that range.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from mystira_data.documents.port import Document
from mystira_data.domain.base import (
    format_timespan,
    format_utc,
    parse_timespan,
    stored_defaults,
)
from mystira_data.errors import InvalidDocument, InvalidQuery
from mystira_data.fields import STORE_MADE, VERSIONING
from mystira_data.polyglot.consistency.streams import IdRange, by_id, prefetched
from mystira_data.polyglot.ports import EntityStore
from mystira_data.relational import Kind, RelationalStore, TableMapping, mapping_for

SEGMENT = 10_000
LEAF = 64

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_MIN_MICROS = (datetime.min.replace(tzinfo=UTC) - _EPOCH) // _MICROSECOND
_MAX_MICROS = (datetime.max.replace(tzinfo=UTC) - _EPOCH) // _MICROSECOND
_IN_MICROSECONDS = frozenset({Kind.TIMESTAMP, Kind.DURATION})
_DIRTY = ""  # the digest of a document that cannot be rendered: matches no row


@dataclass
class SegmentStats:
    segments: int = 0
    clean_segments: int = 0
    queries: int = 0
    clean_documents: int = 0
    compared_ranges: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


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

    def digest(self, doc: Document) -> str:
        """md5 of the row text ``doc`` maps to; `_DIRTY` for a document that has no row."""
        try:
            cells = self.direct(doc)
            if cells is None:
                with stored_defaults():  # as replication and compare decode stored docs
                    row = self.mapping.to_row(doc)
                cells = _jsonb_order([_cell(row[c.name], c.kind) for c in self.columns])
            text = render_cells(cells)
        except (InvalidDocument, ValueError, TypeError, ArithmeticError):
            return _DIRTY
        return self.md5(text)

    @staticmethod
    def md5(text: str) -> str:
        """The per-row digest, as SQL's ``md5(text)`` computes it."""
        return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()

    def direct(self, doc: Document) -> list[Any] | None:
        """The cells (in jsonb key order) straight from a canonical document, else None."""
        if set(doc).difference(STORE_MADE | VERSIONING) != self.fields:
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


# -- segments and bisection ------------------------------------------------------------------


Keyed = list[tuple[str, str]]  # (id, digest) in id order
Judged = tuple[IdRange, Keyed, "asyncio.Task[tuple[int, str | None]]"]  # a segment in flight


class SegmentChecksums:
    """Checksums of id ranges, in Python over the document side and in PostgreSQL."""

    def __init__(
        self,
        relational: RelationalStore,
        documents: EntityStore,
        *,
        segment: int = SEGMENT,
        leaf: int = LEAF,
    ) -> None:
        self.relational = relational
        self.documents = documents
        self.segment = segment
        self.leaf = leaf
        self.stats = SegmentStats()

    @classmethod
    def usable(cls, relational: RelationalStore, container: str) -> bool:
        """Only PostgreSQL renders as `render` does (SQLite has no jsonb text form)."""
        try:
            mapping_for(container)
        except InvalidQuery:
            return False
        return relational.dialect == "postgresql"

    async def dirty_ranges(self, container: str) -> AsyncIterator[IdRange]:
        """The id ranges whose checksums differ, each up to ``leaf`` documents (or extra rows)."""
        maker = RowMaker(mapping_for(container))
        mapping, columns = maker.mapping, maker.columns
        batch: Keyed = []
        after: str | None = None
        pending: list[Judged] = []
        try:
            async for doc in prefetched(self.documents, container, by_id()):
                batch.append((doc["id"], maker.digest(doc)))
                if len(batch) < self.segment:
                    continue
                # Start this segment's query, and judge the previous one while it runs.
                pending.append(self._start(mapping, columns, (after, batch[-1][0]), batch))
                if len(pending) > 1:
                    async for ids in self._judge(mapping, columns, *pending.pop(0)):
                        yield ids
                after, batch = batch[-1][0], []
            pending.append(self._start(mapping, columns, (after, None), batch))  # extra rows
            while pending:
                async for ids in self._judge(mapping, columns, *pending.pop(0)):
                    yield ids
        finally:
            for _, _, task in pending:  # stopped early: no query left running
                task.cancel()

    def _start(
        self, mapping: TableMapping, columns: Sequence[Column], ids: IdRange, batch: Keyed
    ) -> Judged:
        self.stats.segments += 1
        return ids, batch, asyncio.ensure_future(self._checksum(mapping, columns, ids))

    async def _judge(
        self,
        mapping: TableMapping,
        columns: Sequence[Column],
        ids: IdRange,
        batch: Keyed,
        task: asyncio.Task[tuple[int, str | None]],
    ) -> AsyncIterator[IdRange]:
        if self._matches(batch, await task):
            self.stats.clean_segments += 1
            self.stats.clean_documents += len(batch)
            return
        async for piece in self._bisect(mapping, columns, ids, batch):
            yield piece

    async def _bisect(
        self, mapping: TableMapping, columns: Sequence[Column], ids: IdRange, batch: Keyed
    ) -> AsyncIterator[IdRange]:
        """Halve a differing range until it is small, skipping halves that match."""
        if len(batch) <= self.leaf:
            self.stats.compared_ranges += 1
            yield ids
            return
        mid = len(batch) // 2
        cut = batch[mid - 1][0]
        for half, part in (((ids[0], cut), batch[:mid]), ((cut, ids[1]), batch[mid:])):
            if self._matches(part, await self._checksum(mapping, columns, half)):
                self.stats.clean_documents += len(part)
                continue
            async for piece in self._bisect(mapping, columns, half, part):
                yield piece

    @staticmethod
    def _matches(batch: Keyed, found: tuple[int, str | None]) -> bool:
        count, checksum = found
        if count != len(batch) or any(d == _DIRTY for _, d in batch):
            return False
        return count == 0 or checksum == combine([d for _, d in batch])

    async def _checksum(
        self, mapping: TableMapping, columns: Sequence[Column], ids: IdRange
    ) -> tuple[int, str | None]:
        self.stats.queries += 1
        stmt = checksum_sql(mapping, columns, ids)
        async with self.relational.reading(mapping.container) as conn:
            # Timestamps are rendered as epoch microseconds anyway; UTC pins anything else.
            await conn.execute(sa.text("SET LOCAL TIME ZONE 'UTC'"))
            count, checksum = (await conn.execute(stmt)).one()
        return int(count), checksum
