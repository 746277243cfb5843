"""The shared `Query` spec as SQLAlchemy expressions over an entity table.

Semantics follow the SQLite document store (and Cosmos DB), so the same query gives the same
answer from either store:

* a filter compares only values of the same JSON type (a number never equals a string); a
  missing field matches nothing; ``eq None`` matches JSON null;
* strings compare and sort by code point (``COLLATE "C"`` on PostgreSQL);
* ordering is by the field (nulls first), then ``id``, with keyset continuation tokens.

Fields with a column (V001) are compared as columns: timestamps as ``timestamptz`` (the
canonical UTC strings sort the same way), durations as intervals. Paths into JSON columns, and
fields kept in ``_extra``, use JSONB functions on PostgreSQL and ``json_extract`` on SQLite.
Every value and path segment is a bound parameter; the JSON side is `json_access`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeEngine

from mystira_data import query as query_tokens
from mystira_data.domain.base import format_timespan, format_utc, parse_timespan
from mystira_data.errors import InvalidQuery
from mystira_data.query import Filter, Op, Query
from mystira_data.relational.columns import FieldMap, Kind
from mystira_data.relational.json_access import (
    RANGE_OPS,
    Cond,
    Expr,
    JsonAccess,
    PgJson,
    SortKey,
    SqliteJson,
    compare,
    family,
)
from mystira_data.relational.mapping import TableMapping
from mystira_data.relational.types import Elapsed, Timestamp

_NOT_QUERYABLE = frozenset({"_etag", "_ts", "_rid", "_self", "_attachments", "_lsn", "_updated_at"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_KIND_FAMILY = {
    Kind.TEXT: "string",
    Kind.TIMESTAMP: "string",
    Kind.DURATION: "string",
    Kind.INT: "number",
    Kind.BOOL: "bool",
}


# -- translation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """What a field path points at: a column, a JSON path in a column, or nothing."""

    kind: str  # "column" | "json" | "deleted" | "none"
    expr: Expr | None = None
    parts: tuple[str, ...] = ()
    field: FieldMap | None = None


class Translator:
    """Builds WHERE and ORDER BY for one table on one dialect."""

    def __init__(self, mapping: TableMapping, dialect: str) -> None:
        self.mapping = mapping
        self.table = mapping.table
        self.pg = dialect == "postgresql"
        self.json: JsonAccess = PgJson() if self.pg else SqliteJson()

    # -- WHERE -------------------------------------------------------------------------------

    def where(self, query: Query) -> Cond:
        t = self.table
        conds: list[Cond] = []
        if query.partition_key is not None:
            pk = query.partition_key
            conds.append(self.mapping.pk_column == pk if isinstance(pk, str) else sa.false())
        if not query.include_deleted:
            conds.append(t.c._deleted.is_(sa.false()))
        conds.extend(self.filter(f) for f in query.filters)
        return sa.and_(sa.true(), *conds)

    def filter(self, f: Filter) -> Cond:
        ref = self.resolve(f.path)
        if f.op is Op.IN:
            options = [self.predicate(ref, Op.EQ, v) for v in f.value]
            return sa.or_(sa.false(), *options)
        return self.predicate(ref, f.op, f.value)

    def resolve(self, path: str) -> Ref:
        head, *rest = path.split(".")
        if head in _NOT_QUERYABLE:
            raise InvalidQuery(f"{head} is made by the store and cannot be queried here")
        if head == "_deleted":
            return Ref("deleted") if not rest else Ref("none")
        if head == "_version":
            return Ref("column", self.table.c._version) if not rest else Ref("none")
        f = self.mapping.by_name.get(head)
        if f is None and self.mapping.split is not None:
            # Never a silent empty answer: the rows of a split container hold its core only.
            raise InvalidQuery(
                f"{head} is in the document part of {self.mapping.container}, not in its "
                f"rows: query the core ({', '.join(self.mapping.split.core)})"
            )
        if f is None:
            return Ref("json", self.table.c._extra, (head, *rest))
        if f.kind is Kind.JSON:
            return Ref("json", f.column, tuple(rest), f)
        if rest:
            return Ref("none")  # a path into a scalar: missing, matches nothing
        if f.empty_is_null:
            # NULL column with the exact "" kept in _extra (see mapping.prepare).
            spare = self.json.text(self.table.c._extra, (f.name,))
            return Ref("column", sa.func.coalesce(f.column, spare, type_=sa.String), field=f)
        return Ref("column", f.column, field=f)

    def predicate(self, ref: Ref, op: Op, value: Any) -> Cond:
        if value is None and op not in (Op.EQ, Op.NE):
            raise InvalidQuery(f"{op.value} with null is undefined; use eq/ne")
        if op in RANGE_OPS and family(value) in ("object", "array"):
            raise InvalidQuery(f"{op.value} is not defined for objects and arrays")
        if ref.kind == "none":
            return sa.false()
        if ref.kind == "deleted":
            # A tombstone carries `_deleted: true`; live rows have no such field.
            return self.table.c._deleted.is_(sa.true()) if _holds(True, op, value) else sa.false()
        if ref.kind == "json":
            assert ref.expr is not None
            return self._json_predicate(ref.expr, ref.parts, op, value)
        return self._column_predicate(ref, op, value)

    def _json_predicate(self, col: Expr, parts: Sequence[str], op: Op, value: Any) -> Cond:
        if op is Op.STARTS_WITH:
            return self.json.starts_with(col, parts, value)
        if op is Op.ARRAY_CONTAINS:
            return self.json.contains(col, parts, value)
        cond = self.json.typed(col, parts, op, value)
        if not parts and value is None:
            # A whole JSON column holding JSON null is SQL NULL (none_as_null).
            return sa.or_(cond, col.is_(None)) if op is Op.EQ else sa.and_(cond, col.is_not(None))
        return cond

    def _column_predicate(self, ref: Ref, op: Op, value: Any) -> Cond:
        assert ref.expr is not None
        kind = ref.field.kind if ref.field is not None else Kind.INT
        col = ref.expr
        if op is Op.ARRAY_CONTAINS:
            return sa.false()
        if op is Op.STARTS_WITH:
            return self._column_prefix(col, kind, value)
        if value is None:
            return col.is_(None) if op is Op.EQ else col.is_not(None)
        if family(value) != _KIND_FAMILY[kind]:
            return sa.false()  # different JSON types never compare
        if kind is Kind.TIMESTAMP:
            return self._timestamp(col, op, value)
        if kind is Kind.DURATION:
            return self._duration(col, op, value)
        if kind is Kind.TEXT and op in RANGE_OPS:
            col = self.json.collate(col)
        return compare(col, op, value)

    def _column_prefix(self, col: Expr, kind: Kind, prefix: str) -> Cond:
        if kind is Kind.TEXT:
            return sa.func.substr(col, 1, len(prefix)) == prefix
        if kind is Kind.TIMESTAMP:
            return sa.func.substr(self._timestamp_text(col), 1, len(prefix)) == prefix
        if kind is Kind.DURATION:
            raise InvalidQuery("starts_with is not supported on durations in the relational store")
        return sa.false()

    def _timestamp(self, col: Expr, op: Op, value: str) -> Cond:
        instant = _canonical_instant(value)
        if instant is not None:
            return compare(col, op, sa.literal(instant, type_=Timestamp()))
        # Not one of the canonical strings the documents hold: compare as text, as the
        # document store would.
        return compare(self.json.collate(self._timestamp_text(col)), op, value)

    def _timestamp_text(self, col: Expr) -> Expr:
        if self.pg:
            utc = sa.func.timezone("UTC", col)
            return sa.func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"', type_=sa.Text)
        return sa.type_coerce(col, sa.String)  # SQLite holds the canonical text already

    def _duration(self, col: Expr, op: Op, value: str) -> Cond:
        delta = _canonical_duration(value)
        if delta is not None:
            # Ranges compare durations, not their text (which would sort "1.00:00:00"
            # before "23:00:00"): deliberately more useful than the document store here.
            return compare(col, op, sa.literal(delta, type_=Elapsed()))
        if op is Op.EQ:
            return sa.false()
        if op is Op.NE:
            return col.is_not(None)
        raise InvalidQuery(
            f"compare durations with a TimeSpan string like '01:30:00', not {value!r}"
        )

    # -- ORDER BY ---------------------------------------------------------------------------

    def sort_keys(self, query: Query) -> tuple[list[SortKey], bool]:
        """Keyset columns (the order field's, then id) and whether they run descending."""
        id_key = SortKey(self.json.collate(self.table.c.id), sa.String())
        if not query.order_by:
            return [id_key], False
        order = query.order_by[0]
        if order.path == "id":
            # id is the NOT NULL key: no null rank or coalesce, so ``ix_<table>_id_c`` serves it.
            return [id_key], order.descending
        return [*self._field_keys(self.resolve(order.path)), id_key], order.descending

    def _field_keys(self, ref: Ref) -> list[SortKey]:
        if ref.kind == "json":
            assert ref.expr is not None
            return self.json.sort_keys(ref.expr, ref.parts)
        if ref.kind == "deleted":
            return [SortKey(sa.case((self.table.c._deleted.is_(sa.true()), 2), else_=0),
                            sa.Integer())]  # fmt: skip
        if ref.kind == "none":
            return []
        assert ref.expr is not None
        kind = ref.field.kind if ref.field is not None else Kind.INT
        return self._column_keys(ref.expr, kind)

    def _column_keys(self, col: Expr, kind: Kind) -> list[SortKey]:
        type_, zero = _ZEROS[kind]
        value: Expr = sa.func.coalesce(col, sa.literal(zero, type_=type_), type_=type_)
        if kind is Kind.TEXT:
            value = self.json.collate(value)
        # Nulls first (Cosmos ranks null below every value), then the value itself.
        rank = sa.case((col.is_(None), 0), else_=1)
        return [SortKey(rank, sa.Integer()), SortKey(value, type_)]

    def keyset(self, keys: Sequence[SortKey], after: Sequence[Any], descending: bool) -> Cond:
        """Rows strictly after ``after`` in key order."""
        if len(after) != len(keys):
            raise InvalidQuery("continuation token does not fit this query")
        bound = [sa.literal(v, type_=k.type_) for k, v in zip(keys, after, strict=True)]
        left, right = sa.tuple_(*(k.expr for k in keys)), sa.tuple_(*bound)
        return left < right if descending else left > right


_ZEROS: dict[Kind, tuple[TypeEngine[Any], Any]] = {
    Kind.TEXT: (sa.String(), ""),
    Kind.INT: (sa.BigInteger(), 0),
    Kind.BOOL: (sa.Boolean(), False),
    Kind.TIMESTAMP: (Timestamp(), _EPOCH),
    Kind.DURATION: (Elapsed(), timedelta(0)),
}


def _holds(actual: Any, op: Op, value: Any) -> bool:
    """Python-side evaluation for a field whose only value is ``actual``."""
    if op is Op.EQ:
        return type(actual) is type(value) and actual == value
    if op is Op.NE:
        return type(actual) is type(value) and actual != value
    return False


def _canonical_instant(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed if format_utc(parsed) == value else None


def _canonical_duration(value: str) -> timedelta | None:
    try:
        parsed = parse_timespan(value)
    except ValueError:
        return None
    return parsed if parsed is not None and format_timespan(parsed) == value else None


# -- continuation tokens -------------------------------------------------------------------------


def encode_token(fp: str, key: Sequence[Any], returned: int) -> str:
    return query_tokens.encode_token(fp, [_to_json(v) for v in key], returned)


def decode_token(token: str | None, fp: str) -> tuple[list[Any] | None, int]:
    """(last key, rows returned so far); `InvalidQuery` for a foreign or corrupt token."""
    if token is None:
        return None, 0
    key, returned = query_tokens.decode_token(token, fp)
    try:
        return [_from_json(v) for v in key], returned
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InvalidQuery("malformed continuation token") from exc


def _to_json(value: Any) -> Any:
    # Tagged so keys that are datetimes or durations come back as such.
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, timedelta):
        return {"$us": value // timedelta(microseconds=1)}
    return {"$v": value}


def _from_json(value: Any) -> Any:
    if "$dt" in value:
        return datetime.fromisoformat(value["$dt"])
    if "$us" in value:
        return timedelta(microseconds=int(value["$us"]))
    return value["$v"]
