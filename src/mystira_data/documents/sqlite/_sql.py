"""SQL for the SQLite document store: schema, `Query` translation, keyset continuation tokens.

Everything a caller supplies travels as a bound parameter, JSON paths included (``$."a"."b"``
built from paths already validated by `check_path`), so no value is ever pasted into SQL.

SQLite's JSON typing: ``json_extract`` returns SQL values (JSON true/false come back as 1/0,
objects/arrays as JSON text, JSON null and a missing field both as NULL). Comparisons are
therefore guarded by ``json_type`` so a number never equals a string or a boolean, mirroring
Cosmos DB, where comparing values of different types is undefined (no match).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mystira_data import query as query_tokens
from mystira_data.errors import InvalidQuery, PartitionKeyMismatch
from mystira_data.query import Filter, Op, Query

FEED_RANGES = 4

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS containers (
        name TEXT PRIMARY KEY,
        pk_path TEXT NOT NULL,
        lsn INTEGER NOT NULL DEFAULT 0
    )""",
    # A rowid table (not WITHOUT ROWID): bodies may reach 2 MB, which WITHOUT ROWID handles badly.
    """CREATE TABLE IF NOT EXISTS documents (
        container TEXT NOT NULL,
        pk TEXT NOT NULL,
        id TEXT NOT NULL,
        body TEXT NOT NULL,
        etag TEXT NOT NULL,
        ts INTEGER NOT NULL,
        lsn INTEGER NOT NULL,
        feed_range INTEGER NOT NULL,
        deleted INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (container, pk, id)
    )""",
    # Cross-partition pages without ORDER BY walk this index (keyset on id, pk).
    "CREATE INDEX IF NOT EXISTS documents_by_id ON documents (container, id, pk)",
    # The change feed reads one range in lsn order.
    "CREATE INDEX IF NOT EXISTS documents_feed ON documents (container, feed_range, lsn)",
)

_COMPARE = {Op.EQ: "=", Op.NE: "<>", Op.LT: "<", Op.LE: "<=", Op.GT: ">", Op.GE: ">="}
_NUMBER_TYPES = "IN ('integer', 'real')"
_BOOL_TYPES = "IN ('true', 'false')"
# Cosmos DB sort order across types: undefined < null < boolean < number < string < array < object
_RANK = (
    "CASE json_type(body, ?) WHEN 'null' THEN 1 WHEN 'false' THEN 2 WHEN 'true' THEN 2 "
    "WHEN 'integer' THEN 3 WHEN 'real' THEN 3 WHEN 'text' THEN 4 WHEN 'array' THEN 5 "
    "WHEN 'object' THEN 6 ELSE 0 END"
)


@dataclass(frozen=True)
class Sql:
    """A SQL fragment and its bound parameters, in order."""

    text: str
    params: tuple[Any, ...] = ()


def json_path(path: str) -> str:
    """``a.b`` → ``$."a"."b"``; quoting keeps ``$`` and ``_`` in labels literal."""
    return "$" + "".join(f'."{part}"' for part in path.split("."))


def encode_pk(value: Any) -> str:
    """Partition-key value as canonical JSON, so ``1``, ``"1"`` and ``true`` stay distinct."""
    if value is None or not isinstance(value, str | int | float | bool):
        raise PartitionKeyMismatch(f"partition key value must be a scalar, got {value!r}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON numbers are doubles: 1.0 and 1 are one partition (as in Cosmos)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def feed_range_of(pk_json: str) -> int:
    """Stable across processes and restarts (unlike ``hash()``), so stored ranges stay valid."""
    digest = hashlib.blake2b(pk_json.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % FEED_RANGES


def where(container: str, query: Query) -> Sql:
    """The WHERE clause of a query: scope, tombstones, then every filter AND-ed."""
    parts = [Sql("container = ?", (container,))]
    if query.partition_key is not None:
        parts.append(Sql("pk = ?", (encode_pk(query.partition_key),)))
    if not query.include_deleted:
        parts.append(Sql("deleted = 0"))
    parts.extend(translate(f) for f in query.filters)
    return _join(parts, " AND ")


def translate(f: Filter) -> Sql:
    """One filter as a SQL predicate over ``body``."""
    if f.path == "id" and f.op in _COMPARE and isinstance(f.value, str):
        # The id column holds the body's id (a string), so documents_by_id can serve this.
        return Sql(f"id {_COMPARE[f.op]} ?", (f.value,))
    path = json_path(f.path)
    if f.op is Op.IN:
        options = [
            _typed("json_type(body, ?)", "json_extract(body, ?)", path, Op.EQ, v) for v in f.value
        ]
        return _join(options, " OR ") if options else Sql("0")
    if f.op is Op.ARRAY_CONTAINS:
        inner = _typed("je.type", "je.value", None, Op.EQ, f.value)
        return Sql(
            "(json_type(body, ?) = 'array' AND EXISTS "
            f"(SELECT 1 FROM json_each(body, ?) AS je WHERE {inner.text}))",
            (path, path, *inner.params),
        )
    if f.op is Op.STARTS_WITH:
        # substr, not LIKE: a prefix containing % or _ must match literally.
        return Sql(
            "(json_type(body, ?) = 'text' AND substr(json_extract(body, ?), 1, ?) = ?)",
            (path, path, len(f.value), f.value),
        )
    return _typed("json_type(body, ?)", "json_extract(body, ?)", path, f.op, f.value)


def _typed(type_sql: str, value_sql: str, path: str | None, op: Op, value: Any) -> Sql:
    """``type matches AND value <op> ?``; ``path`` fills the ``?`` in the two expressions."""
    p: tuple[Any, ...] = (path,) if path is not None else ()
    if value is None:
        if op not in (Op.EQ, Op.NE):
            raise InvalidQuery(f"{op.value} with null is undefined; use eq/ne")
        return Sql(f"{type_sql} {'=' if op is Op.EQ else '<>'} 'null'", p)
    if isinstance(value, dict | list | tuple):
        if op not in (Op.EQ, Op.NE):
            raise InvalidQuery(f"{op.value} is not defined for objects and arrays")
        kind = "'object'" if isinstance(value, dict) else "'array'"
        text = f"({type_sql} = {kind} AND {value_sql} {_COMPARE[op]} json(?))"
        return Sql(text, (*p, *p, json.dumps(value, separators=(",", ":"))))
    bound: Any
    if isinstance(value, bool):
        types, bound = _BOOL_TYPES, int(value)
    elif isinstance(value, int | float):
        # SQLite integers are 64-bit; beyond that JSON numbers are doubles anyway.
        types, bound = _NUMBER_TYPES, value if -(2**63) <= value < 2**63 else float(value)
    elif isinstance(value, str):
        types, bound = "= 'text'", value
    else:
        raise InvalidQuery(f"cannot compare with a {type(value).__name__}")
    return Sql(f"({type_sql} {types} AND {value_sql} {_COMPARE[op]} ?)", (*p, *p, bound))


def _join(parts: Sequence[Sql], sep: str) -> Sql:
    text = sep.join(f"({p.text})" for p in parts)
    return Sql(text, tuple(x for p in parts for x in p.params))


def page_sql(container: str, query: Query, after: list[Any] | None, size: int) -> Sql:
    """One page in keyset order: (rank, value) of the order field if any, then id, pk
    (ordered by id alone: just id, pk).

    Keyset (not OFFSET) paging keeps every document exactly once even while others are
    inserted between pages. Columns: body, then the key columns to put in the next token.
    """
    cond = where(container, query)
    desc = bool(query.order_by) and query.order_by[0].descending
    if query.order_by and not orders_by_id(query):
        path = json_path(query.order_by[0].path)
        key_cols = ["k_rank", "k_val", "id", "pk"]
        inner = Sql(
            f"SELECT body, {_RANK} AS k_rank, coalesce(json_extract(body, ?), 0) AS k_val, "
            f"id, pk FROM documents WHERE {cond.text}",
            (path, path, *cond.params),
        )
    else:
        key_cols = ["id", "pk"]
        inner = Sql(f"SELECT body, id, pk FROM documents WHERE {cond.text}", cond.params)
    cols = ", ".join(key_cols)
    text, params = f"SELECT body, {cols} FROM ({inner.text})", list(inner.params)
    if after is not None:
        if len(after) != len(key_cols):
            raise InvalidQuery("continuation token does not fit this query")
        marks = ", ".join("?" * len(key_cols))
        text += f" WHERE ({cols}) {'<' if desc else '>'} ({marks})"
        params.extend(after)
    direction = " DESC" if desc else ""
    text += " ORDER BY " + ", ".join(c + direction for c in key_cols) + " LIMIT ?"
    return Sql(text, (*params, size))


def orders_by_id(query: Query) -> bool:
    """Ordered by ``id`` alone: ids are non-empty strings (rank and value add nothing), so the
    order is the plain keyset (id, pk), which ``documents_by_id`` serves without a sort."""
    return len(query.order_by) == 1 and query.order_by[0].path == "id"


def count_sql(container: str, query: Query) -> Sql:
    cond = where(container, query)
    return Sql(f"SELECT COUNT(*) FROM documents WHERE {cond.text}", cond.params)


def encode_token(fp: str, key: list[Any], returned: int) -> str:
    return query_tokens.encode_token(fp, key, returned)


def decode_token(token: str | None, fp: str) -> tuple[list[Any] | None, int]:
    """(last key, documents returned so far); `InvalidQuery` for a foreign or corrupt token."""
    if token is None:
        return None, 0
    key, returned = query_tokens.decode_token(token, fp)
    if not isinstance(key, list):
        raise InvalidQuery("continuation token belongs to a different query")
    return key, returned
