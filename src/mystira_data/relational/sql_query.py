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
Every value and path segment is a bound parameter.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine

from mystira_data import query as query_tokens
from mystira_data.domain.base import format_timespan, format_utc, parse_timespan
from mystira_data.errors import InvalidQuery
from mystira_data.query import Filter, Op, Query
from mystira_data.relational.mapping import FieldMap, Kind, TableMapping
from mystira_data.relational.types import Elapsed, Timestamp

Expr = ColumnElement[Any]
Cond = ColumnElement[bool]

_RANGE = frozenset({Op.LT, Op.LE, Op.GT, Op.GE})
_NOT_QUERYABLE = frozenset({"_etag", "_ts", "_rid", "_self", "_attachments", "_lsn", "_updated_at"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def compare(left: Any, op: Op, right: Any) -> Cond:
    """``left <op> right`` for the six comparison operators."""
    table: dict[Op, Callable[[Any, Any], Cond]] = {
        Op.EQ: lambda a, b: a == b,
        Op.NE: lambda a, b: a != b,
        Op.LT: lambda a, b: a < b,
        Op.LE: lambda a, b: a <= b,
        Op.GT: lambda a, b: a > b,
        Op.GE: lambda a, b: a >= b,
    }
    return table[op](left, right)


def family(value: Any) -> str:
    """The JSON type family of a filter value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    raise InvalidQuery(f"cannot compare with a {type(value).__name__}")


_KIND_FAMILY = {
    Kind.TEXT: "string",
    Kind.TIMESTAMP: "string",
    Kind.DURATION: "string",
    Kind.INT: "number",
    Kind.BOOL: "bool",
}


@dataclass(frozen=True)
class SortKey:
    """One ORDER BY / keyset expression and how its values travel in a token."""

    expr: Expr
    type_: TypeEngine[Any]


# -- JSON access, per dialect ----------------------------------------------------------------------


class JsonAccess(ABC):
    """JSON value at ``parts`` inside a JSON column; dialect-specific subclasses."""

    @abstractmethod
    def typed(self, col: Expr, parts: Sequence[str], op: Op, value: Any) -> Cond:
        """A comparison of the value with ``value`` (JSON types kept apart)."""

    @abstractmethod
    def starts_with(self, col: Expr, parts: Sequence[str], prefix: str) -> Cond:
        """The value is a string starting with ``prefix``."""

    @abstractmethod
    def contains(self, col: Expr, parts: Sequence[str], value: Any) -> Cond:
        """The value is an array holding ``value``."""

    @abstractmethod
    def sort_keys(self, col: Expr, parts: Sequence[str]) -> list[SortKey]:
        """Keys that order values as Cosmos does (type rank, then value)."""

    @abstractmethod
    def text(self, col: Expr, parts: Sequence[str]) -> Expr:
        """The value as SQL text."""

    def collate(self, expr: Expr) -> Expr:
        return expr


class PgJson(JsonAccess):
    _TYPES: ClassVar[dict[str, tuple[str, ...]]] = {
        "null": ("null",),
        "bool": ("boolean",),
        "number": ("number",),
        "string": ("string",),
        "object": ("object",),
        "array": ("array",),
    }

    def node(self, col: Expr, parts: Sequence[str]) -> Expr:
        if not parts:
            return col
        return sa.func.jsonb_extract_path(col, *parts, type_=postgresql.JSONB)

    def text(self, col: Expr, parts: Sequence[str]) -> Expr:
        if not parts:
            return col.op("#>>")(sa.literal_column("'{}'"))
        return sa.func.jsonb_extract_path_text(col, *parts, type_=sa.Text)

    def collate(self, expr: Expr) -> Expr:
        return expr.collate("C")

    def is_type(self, node: Expr, fam: str) -> Cond:
        return sa.func.jsonb_typeof(node).in_(self._TYPES[fam])

    def typed(self, col: Expr, parts: Sequence[str], op: Op, value: Any) -> Cond:
        fam = family(value)
        node = self.node(col, parts)
        if fam == "null":
            found: Cond = sa.func.jsonb_typeof(node) == "null"
            return found if op is Op.EQ else sa.func.jsonb_typeof(node) != "null"
        if fam == "string":
            text = self.text(col, parts)
            return sa.and_(self.is_type(node, fam), compare(_c(self, text, op), op, value))
        # jsonb comparisons never raise and order numbers numerically, false before true.
        literal = sa.literal(value, type_=postgresql.JSONB)
        sql_op = {Op.EQ: "=", Op.NE: "<>", Op.LT: "<", Op.LE: "<=", Op.GT: ">", Op.GE: ">="}
        return sa.and_(self.is_type(node, fam), node.op(sql_op[op], is_comparison=True)(literal))

    def starts_with(self, col: Expr, parts: Sequence[str], prefix: str) -> Cond:
        text = self.text(col, parts)
        return sa.and_(
            self.is_type(self.node(col, parts), "string"),
            sa.func.substr(text, 1, len(prefix)) == prefix,
        )

    def contains(self, col: Expr, parts: Sequence[str], value: Any) -> Cond:
        node = self.node(col, parts)
        is_array = self.is_type(node, "array")
        if family(value) in ("object", "array"):
            # @> would also match partial objects; Cosmos ARRAY_CONTAINS wants equality.
            elements = sa.func.jsonb_array_elements(node).table_valued("value").alias("je")
            equal = elements.c.value.op("=", is_comparison=True)(
                sa.literal(value, type_=postgresql.JSONB)
            )
            return sa.and_(is_array, sa.exists().where(equal))
        wrapped = sa.literal([value], type_=postgresql.JSONB)
        return sa.and_(is_array, node.op("@>", is_comparison=True)(wrapped))

    def sort_keys(self, col: Expr, parts: Sequence[str]) -> list[SortKey]:
        node = self.node(col, parts)
        kind = sa.func.jsonb_typeof(node)
        rank = sa.case(
            {"null": 1, "boolean": 2, "number": 3, "string": 4, "array": 5, "object": 6},
            value=kind,
            else_=0,
        )
        scalar = sa.case(
            (kind.in_(("number", "boolean")), node),
            else_=sa.literal(0, type_=postgresql.JSONB),
        )
        text = sa.case((kind.in_(("string", "array", "object")), self.text(col, parts)), else_="")
        return [
            SortKey(rank, sa.Integer()),
            SortKey(sa.type_coerce(scalar, postgresql.JSONB), postgresql.JSONB()),
            SortKey(text.collate("C"), sa.Text()),
        ]


class SqliteJson(JsonAccess):
    _TYPES: ClassVar[dict[str, tuple[str, ...]]] = {
        "null": ("null",),
        "bool": ("true", "false"),
        "number": ("integer", "real"),
        "string": ("text",),
        "object": ("object",),
        "array": ("array",),
    }

    @staticmethod
    def path(parts: Sequence[str]) -> str:
        # Quoted labels: "$" and "_" in field names stay literal. Parts passed check_path.
        return "$" + "".join(f'."{part}"' for part in parts)

    def text(self, col: Expr, parts: Sequence[str]) -> Expr:
        return sa.func.json_extract(col, self.path(parts))

    def _check(self, type_expr: Expr, value_expr: Expr, op: Op, value: Any) -> Cond:
        fam = family(value)
        if fam == "null":
            return type_expr == "null" if op is Op.EQ else type_expr != "null"
        bound: Any = value
        if fam == "bool":
            bound = int(value)
        elif fam in ("object", "array"):
            bound = sa.func.json(json.dumps(value, separators=(",", ":")))
        return sa.and_(type_expr.in_(self._TYPES[fam]), compare(value_expr, op, bound))

    def typed(self, col: Expr, parts: Sequence[str], op: Op, value: Any) -> Cond:
        path = self.path(parts)
        return self._check(sa.func.json_type(col, path), sa.func.json_extract(col, path), op, value)

    def starts_with(self, col: Expr, parts: Sequence[str], prefix: str) -> Cond:
        path = self.path(parts)
        return sa.and_(
            sa.func.json_type(col, path) == "text",
            sa.func.substr(sa.func.json_extract(col, path), 1, len(prefix)) == prefix,
        )

    def contains(self, col: Expr, parts: Sequence[str], value: Any) -> Cond:
        path = self.path(parts)
        each = sa.func.json_each(col, path).table_valued("type", "value").alias("je")
        match = self._check(each.c.type, each.c.value, Op.EQ, value)
        return sa.and_(sa.func.json_type(col, path) == "array", sa.exists().where(match))

    def sort_keys(self, col: Expr, parts: Sequence[str]) -> list[SortKey]:
        path = self.path(parts)
        kind = sa.func.json_type(col, path)
        rank = sa.case(
            {"null": 1, "true": 2, "false": 2, "integer": 3, "real": 3, "text": 4,
             "array": 5, "object": 6},
            value=kind,
            else_=0,
        )  # fmt: skip
        value = sa.func.coalesce(sa.func.json_extract(col, path), 0)
        return [SortKey(rank, sa.Integer()), SortKey(value, sa.types.NullType())]


def _c(access: JsonAccess, expr: Expr, op: Op) -> Expr:
    return access.collate(expr) if op in _RANGE else expr


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
        if op in _RANGE and family(value) in ("object", "array"):
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
        if kind is Kind.TEXT and op in _RANGE:
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
