"""Id-ordered streams of a container, shared by verify and the segment checksums."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator

from mystira_data.polyglot.ports import EntityStore
from mystira_data.query import Filter, Op, Order, Page, Query, every
from mystira_data.types import JsonDoc

PAGE = 1000

IdRange = tuple[str | None, str | None]  # (after, up to and including); None: unbounded


def by_id(after: str | None = None, upto: str | None = None) -> Query:
    """Every document and tombstone with ``after < id <= upto``, ordered by id."""
    filters = []
    if after is not None:
        filters.append(Filter("id", Op.GT, after))
    if upto is not None:
        filters.append(Filter("id", Op.LE, upto))
    return Query(
        filters=tuple(filters),
        order_by=(Order("id"),),
        cross_partition=True,
        include_deleted=True,
        page_size=PAGE,
    )


async def stream_by_id(store: EntityStore, container: str) -> AsyncIterator[JsonDoc]:
    """Every document and tombstone, ordered by id, one page in memory at a time."""
    async for doc in every(store, container, by_id()):
        yield doc


async def prefetched(
    store: EntityStore, container: str, query: Query
) -> AsyncGenerator[JsonDoc, None]:
    """Like `every`, but the next page is requested before this one is handed out, so the
    store works while the caller compares."""
    page = await store.query(container, query)
    while True:
        ahead = _next_page(store, container, query, page)
        try:
            for doc in page.items:
                yield doc
        except BaseException:  # closed early (or failed): do not leave the request running
            if ahead is not None:
                ahead.cancel()
            raise
        if ahead is None:
            return
        page = await ahead


def _next_page(
    store: EntityStore, container: str, query: Query, page: Page
) -> asyncio.Task[Page] | None:
    if page.continuation is None:
        return None
    return asyncio.ensure_future(store.query(container, query, continuation=page.continuation))
