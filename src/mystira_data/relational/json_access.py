"""A JSON value inside a column, compared and sorted per dialect (JSONB or SQLite JSON).

The same semantics as the SQLite document store: a comparison matches only values of the same
JSON type (a number never equals a string), strings compare by code point, and sort keys
order by type rank, then value. Every value and path segment is a bound parameter.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine

from mystira_data.errors import InvalidQuery
from mystira_data.query import Op

Expr = ColumnElement[Any]
Cond = ColumnElement[bool]

RANGE_OPS = frozenset({Op.LT, Op.LE, Op.GT, Op.GE})


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



@dataclass(frozen=True)
class SortKey:
    """One ORDER BY / keyset expression and how its values travel in a token."""

    expr: Expr
    type_: TypeEngine[Any]





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
            return sa.and_(self.is_type(node, fam), compare(collated(self, text, op), op, value))
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


def collated(access: JsonAccess, expr: Expr, op: Op) -> Expr:
    return access.collate(expr) if op in RANGE_OPS else expr

