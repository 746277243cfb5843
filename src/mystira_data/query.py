"""`Query`: the small specification type every store translates (never by pasting values).

A query is a conjunction of field-path filters, an ordering, an optional limit, and either a
partition key or an explicit opt-in to a cross-partition scan. Field paths are dotted camelCase
JSON paths as stored (``status``, ``subscription.tier``). Stores translate it to parameterized
Cosmos SQL, SQLite JSON functions or SQLAlchemy expressions.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from mystira_data.errors import InvalidQuery
from mystira_data.types import PartitionKey

_PATH = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*$")
MAX_PAGE_SIZE = 1000


class Op(StrEnum):
    EQ = "eq"
    NE = "ne"
    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"
    IN = "in"
    ARRAY_CONTAINS = "array_contains"
    STARTS_WITH = "starts_with"


def check_path(path: str) -> str:
    """Return ``path`` if it is a safe dotted field path, else raise `InvalidQuery`."""
    if not _PATH.match(path):
        raise InvalidQuery(f"invalid field path {path!r}")
    return path


@dataclass(frozen=True)
class Filter:
    path: str
    op: Op
    value: Any

    def __post_init__(self) -> None:
        check_path(self.path)
        if self.op is Op.IN and not isinstance(self.value, list | tuple):
            raise InvalidQuery(f"'in' on {self.path} needs a list of values")
        if self.op is Op.STARTS_WITH and not isinstance(self.value, str):
            raise InvalidQuery(f"'starts_with' on {self.path} needs a string")


@dataclass(frozen=True)
class Order:
    path: str
    descending: bool = False

    def __post_init__(self) -> None:
        check_path(self.path)


@dataclass(frozen=True)
class Query:
    """What to read. Without ``partition_key`` the query must set ``cross_partition=True``."""

    filters: tuple[Filter, ...] = ()
    order_by: tuple[Order, ...] = ()
    limit: int | None = None
    partition_key: PartitionKey | None = None
    cross_partition: bool = False
    page_size: int = 100
    include_deleted: bool = False

    def __post_init__(self) -> None:
        if self.limit is not None and self.limit < 0:
            raise InvalidQuery("limit must be >= 0")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise InvalidQuery(f"page_size must be within 1..{MAX_PAGE_SIZE}")
        if len(self.order_by) > 1:
            raise InvalidQuery("order by at most one field (Cosmos needs composite indexes)")

    def require_scope(self) -> None:
        """Refuse a query that would fan out over every partition without opting in."""
        if self.partition_key is None and not self.cross_partition:
            raise InvalidQuery("query has no partition key; pass cross_partition=True to scan all")

    def where(self, path: str, op: Op | str, value: Any) -> Query:
        """Return a copy with one more filter (builder style)."""
        return _replace(self, filters=(*self.filters, Filter(path, Op(op), value)))


def _replace(q: Query, **changes: Any) -> Query:
    from dataclasses import replace

    return replace(q, **changes)


@dataclass(frozen=True)
class Page:
    """One page of results; ``continuation`` is None on the last page."""

    items: list[dict[str, Any]]
    continuation: str | None = None


@dataclass(frozen=True)
class ChangeBatch:
    """Changes after a checkpoint, in per-range write order, and the checkpoint to save next."""

    items: list[dict[str, Any]] = field(default_factory=list)
    checkpoint: str | None = None


class Pageable(Protocol):
    async def query(
        self, container: str, query: Query, *, continuation: str | None = None
    ) -> Page: ...


async def every(store: Pageable, container: str, query: Query) -> AsyncIterator[dict[str, Any]]:
    """Every match of ``query``, following continuation tokens (one page in memory)."""
    token: str | None = None
    while True:
        page = await store.query(container, query, continuation=token)
        for item in page.items:
            yield item
        token = page.continuation
        if token is None:
            return


STREAM_PAGE = 500  # documents per page when a whole container is streamed


def stream_all(
    store: Pageable, container: str, *, include_deleted: bool = False
) -> AsyncIterator[dict[str, Any]]:
    """Every document of ``container`` (tombstones too with ``include_deleted``), by page."""
    query = Query(cross_partition=True, include_deleted=include_deleted, page_size=STREAM_PAGE)
    return every(store, container, query)


def fingerprint(container: str, query: Query) -> str:
    """Ties a continuation token to the query that made it (page size and limit may change
    between pages, nothing else may)."""
    shape = repr(
        (
            container,
            query.filters,
            query.order_by,
            query.partition_key,
            query.cross_partition,
            query.include_deleted,
        )
    )
    return hashlib.blake2b(shape.encode(), digest_size=6).hexdigest()


def encode_token(fp: str, position: Any, returned: int, *, field: str = "k") -> str:
    """An opaque continuation token: the query's `fingerprint`, where the store stopped (any
    JSON value, under ``field``) and how many items were returned so far."""
    state = {"q": fp, field: position, "n": returned}
    raw = json.dumps(state, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_token(token: str, fp: str, *, field: str = "k") -> tuple[Any, int]:
    """(position, items returned so far) of an `encode_token` token; `InvalidQuery` for a
    corrupt token or one made by a different query."""
    try:
        state = json.loads(base64.urlsafe_b64decode(token.encode()))
        owner, position, returned = state["q"], state[field], state["n"]
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InvalidQuery("malformed continuation token") from exc
    if owner != fp or not isinstance(returned, int):
        raise InvalidQuery("continuation token belongs to a different query")
    return position, returned
