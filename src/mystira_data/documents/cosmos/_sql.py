"""`Query` → parameterized Cosmos DB SQL, and the continuation tokens the store hands out.

Values only ever travel as ``@pN`` parameters. Field paths are pasted, but only after
`check_path` proved them plain identifiers, and always in bracket form (``c["status"]``) so a
field named like a keyword (``value``, ``order``) still works.

Cosmos compares values of different types as *undefined* (no match), so ``ne`` never matches
a missing field or one of another type; ordering comparisons with null, objects or arrays have
no meaning and are refused, as in every other store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mystira_data import query as query_tokens
from mystira_data.errors import InvalidQuery
from mystira_data.query import Filter, Op, Query, check_path

LIVE_ONLY = "(NOT IS_DEFINED(c._deleted) OR c._deleted = false)"
_COMPARE = {Op.EQ: "=", Op.NE: "!=", Op.LT: "<", Op.LE: "<=", Op.GT: ">", Op.GE: ">="}


@dataclass
class CosmosSql:
    """SQL text plus its parameters in the SDK's ``[{"name": "@p0", "value": …}]`` shape."""

    text: str = ""
    parameters: list[dict[str, Any]] = field(default_factory=list)

    def bind(self, value: Any) -> str:
        name = f"@p{len(self.parameters)}"
        self.parameters.append({"name": name, "value": value})
        return name


def field_ref(path: str) -> str:
    """``subscription.tier`` → ``c["subscription"]["tier"]``."""
    return "c" + "".join(f'["{part}"]' for part in check_path(path).split("."))


def select_sql(query: Query) -> CosmosSql:
    sql = CosmosSql()
    sql.text = "SELECT * FROM c" + _where(query, sql)
    if query.order_by:
        order = query.order_by[0]
        sql.text += f" ORDER BY {field_ref(order.path)} {'DESC' if order.descending else 'ASC'}"
    return sql


def count_sql(query: Query) -> CosmosSql:
    sql = CosmosSql()
    sql.text = "SELECT VALUE COUNT(1) FROM c" + _where(query, sql)
    return sql


def _where(query: Query, sql: CosmosSql) -> str:
    # The partition key is not a predicate here: the SDK sends it as the request's scope.
    parts = [] if query.include_deleted else [LIVE_ONLY]
    parts.extend(_predicate(f, sql) for f in query.filters)
    return " WHERE " + " AND ".join(parts) if parts else ""


def _predicate(f: Filter, sql: CosmosSql) -> str:
    ref = field_ref(f.path)
    if f.op is Op.IN:
        return f"ARRAY_CONTAINS({sql.bind(list(f.value))}, {ref})"
    if f.op is Op.ARRAY_CONTAINS:
        return f"ARRAY_CONTAINS({ref}, {sql.bind(f.value)})"
    if f.op is Op.STARTS_WITH:
        return f"STARTSWITH({ref}, {sql.bind(f.value)})"
    _check_comparable(f)
    return f"{ref} {_COMPARE[f.op]} {sql.bind(f.value)}"


def _check_comparable(f: Filter) -> None:
    if f.op in (Op.EQ, Op.NE):
        return
    if f.value is None:
        raise InvalidQuery(f"{f.op.value} with null is undefined; use eq/ne")
    if isinstance(f.value, dict | list | tuple):
        raise InvalidQuery(f"{f.op.value} is not defined for objects and arrays")


# -- continuation tokens -------------------------------------------------------------------------


@dataclass(frozen=True)
class PageState:
    """Where a paged query stands: the SDK's own token and how many items were returned."""

    sdk_token: str | None = None
    returned: int = 0


def encode_token(fp: str, state: PageState) -> str:
    return query_tokens.encode_token(fp, state.sdk_token, state.returned, field="t")


def decode_token(token: str | None, fp: str) -> PageState:
    """`InvalidQuery` for a corrupt token or one made by a different query."""
    if token is None:
        return PageState()
    sdk_token, returned = query_tokens.decode_token(token, fp, field="t")
    if not isinstance(sdk_token, str):
        raise InvalidQuery("continuation token belongs to a different query")
    return PageState(sdk_token, returned)
