"""Document-store contract: `Query` filters, ordering, limit, count, scope, paging, read_all."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable
from typing import Any

import pytest

from mystira_data.documents.port import DocumentStore
from mystira_data.errors import InvalidQuery
from mystira_data.query import Op, Order, Query
from mystira_data.types import JsonDoc
from tests.contract.document_stores import Docs, collect, mine

S = "GameSessions"
NAMES = ["alpha", "alphabet", "beta", "50%off", "a_b", "axb"]


async def create_all(store: DocumentStore, items: Iterable[JsonDoc], width: int = 64) -> None:
    """Create concurrently in bounded waves (remote adapters gain; sqlite serialises anyway)."""
    batch: list[JsonDoc] = []
    for item in items:
        batch.append(item)
        if len(batch) == width:
            await asyncio.gather(*(store.create(S, d) for d in batch))
            batch.clear()
    await asyncio.gather(*(store.create(S, d) for d in batch))


@pytest.fixture
async def six(document_store: DocumentStore, docs: Docs) -> DocumentStore:
    """Six sessions in partition "a" with fields of every JSON type."""
    await create_all(
        document_store,
        (
            docs.session(
                n,
                name=NAMES[n],
                flag=n % 2 == 0,
                score=n + 0.5,
                tags=["even" if n % 2 == 0 else "odd", n],
                meta={"level": n * 10},
            )
            for n in range(6)
        ),
    )
    return document_store


def ns(items: list[JsonDoc]) -> list[int]:
    return [item["n"] for item in items]


@pytest.mark.parametrize(
    ("path", "op", "value", "expected"),
    [
        ("n", Op.EQ, 3, [3]),
        ("n", Op.EQ, "3", []),  # a number never equals a string
        ("flag", Op.EQ, True, [0, 2, 4]),
        ("flag", Op.EQ, 1, []),  # nor a boolean
        ("n", Op.NE, 3, [0, 1, 2, 4, 5]),
        ("n", Op.LT, 2, [0, 1]),
        ("n", Op.LE, 2, [0, 1, 2]),
        ("n", Op.GT, 3, [4, 5]),
        ("n", Op.GE, 3, [3, 4, 5]),
        ("score", Op.LT, 2.0, [0, 1]),
        ("name", Op.GT, "b", [2]),  # ordinal string comparison
        ("n", Op.IN, [1, 4, 99], [1, 4]),
        ("name", Op.IN, ["beta", "zzz"], [2]),
        ("n", Op.IN, [], []),
        ("tags", Op.ARRAY_CONTAINS, "even", [0, 2, 4]),
        ("tags", Op.ARRAY_CONTAINS, 5, [5]),
        ("name", Op.STARTS_WITH, "alpha", [0, 1]),
        ("name", Op.STARTS_WITH, "50%", [3]),  # % is literal, not a wildcard
        ("name", Op.STARTS_WITH, "a_", [4]),  # so is _
        ("meta.level", Op.EQ, 30, [3]),
        ("meta.level", Op.GE, 40, [4, 5]),
        ("missing", Op.EQ, 1, []),
    ],
)
async def test_filter_operator(
    six: DocumentStore, docs: Docs, path: str, op: Op, value: Any, expected: list[int]
) -> None:
    query = docs.in_partition(order_by=(Order("n"),)).where(path, op, value)
    assert ns(await collect(six, S, query)) == expected
    assert await six.count(S, query) == len(expected)


async def test_filters_are_and_ed(six: DocumentStore, docs: Docs) -> None:
    query = docs.in_partition().where("n", Op.GE, 1).where("flag", Op.EQ, True)
    assert sorted(ns(await collect(six, S, query))) == [2, 4]


@pytest.mark.parametrize("descending", [False, True])
async def test_order_by_number_across_pages(
    six: DocumentStore, docs: Docs, descending: bool
) -> None:
    query = docs.in_partition(order_by=(Order("n", descending),), page_size=2)
    assert ns(await collect(six, S, query)) == sorted(range(6), reverse=descending)


@pytest.mark.parametrize("descending", [False, True])
async def test_order_by_string_is_ordinal(six: DocumentStore, docs: Docs, descending: bool) -> None:
    query = docs.ordered("name", descending, page_size=4)
    names = [d["name"] for d in await collect(six, S, query)]
    assert names == sorted(NAMES, reverse=descending)


async def test_limit_caps_results_across_pages(six: DocumentStore, docs: Docs) -> None:
    query = docs.ordered("n", limit=3, page_size=2)
    first = await six.query(S, query)
    assert ns(first.items) == [0, 1]
    assert first.continuation is not None
    second = await six.query(S, query, continuation=first.continuation)
    assert ns(second.items) == [2]
    assert second.continuation is None


@pytest.mark.parametrize(
    ("limit", "expected"), [(0, []), (6, list(range(6))), (50, [0, 1, 2, 3, 4, 5])]
)
async def test_limit_edges(six: DocumentStore, docs: Docs, limit: int, expected: list[int]) -> None:
    assert ns(await collect(six, S, docs.ordered("n", limit=limit))) == expected


async def test_count_matches_query(six: DocumentStore, docs: Docs) -> None:
    assert await six.count(S, docs.in_partition()) == 6
    assert await six.count(S, docs.everywhere().where("flag", Op.EQ, False)) == 3
    assert await six.count(S, docs.everywhere().where("n", Op.GT, 100)) == 0


async def test_cross_partition_query_needs_opt_in(six: DocumentStore, docs: Docs) -> None:
    unscoped = Query().where("tag", Op.EQ, docs.uid)
    with pytest.raises(InvalidQuery):
        await six.query(S, unscoped)
    with pytest.raises(InvalidQuery):
        await six.count(S, unscoped)
    assert len(await collect(six, S, docs.everywhere())) == 6


async def test_partition_scoped_query_sees_only_its_partition(
    document_store: DocumentStore, docs: Docs
) -> None:
    await create_all(document_store, [docs.session(n, account="a") for n in range(3)])
    await create_all(document_store, [docs.session(n, account="b") for n in range(3, 5)])

    in_a = await collect(document_store, S, docs.in_partition("a"))
    in_b = await collect(document_store, S, docs.in_partition("b"))
    assert sorted(ns(in_a)) == [0, 1, 2]
    assert sorted(ns(in_b)) == [3, 4]
    assert {d["accountId"] for d in in_b} == {docs.pk("b")}
    assert await document_store.count(S, docs.everywhere()) == 5


async def test_foreign_continuation_token_is_refused(six: DocumentStore, docs: Docs) -> None:
    page = await six.query(S, docs.ordered("n", page_size=2))
    assert page.continuation is not None
    with pytest.raises(InvalidQuery):
        await six.query(S, docs.ordered("name", page_size=2), continuation=page.continuation)


async def test_paging_returns_every_document_once_in_order_despite_inserts(
    document_store: DocumentStore, docs: Docs, scale: int
) -> None:
    values = random.Random(7).sample(range(scale * 10), scale)
    originals = [docs.session(i, account=f"p{i % 10}", v=v) for i, v in enumerate(values)]
    await create_all(document_store, originals)
    query = docs.ordered("v", page_size=max(100, scale // 20))

    seen: list[JsonDoc] = []
    token: str | None = None
    extra = scale
    while True:
        page = await document_store.query(S, query, continuation=token)
        assert len(page.items) <= query.page_size
        seen.extend(page.items)
        # Concurrent writers: new documents land before and after the cursor between pages.
        await document_store.create(S, docs.session(extra, account="late", v=-extra))
        await document_store.create(S, docs.session(extra + 1, account="late", v=10**9 + extra))
        extra += 2
        token = page.continuation
        if token is None:
            break

    seen_v = [d["v"] for d in seen]
    assert seen_v == sorted(seen_v)
    ids = [d["id"] for d in seen]
    assert len(ids) == len(set(ids))
    assert {d["id"] for d in originals} <= set(ids)


async def test_read_all_streams_every_document(document_store: DocumentStore, docs: Docs) -> None:
    created = [docs.session(n, account=f"p{n % 5}") for n in range(1_100)]
    await create_all(document_store, created)
    await document_store.delete(S, created[0]["id"], created[0]["accountId"])

    live = mine([d async for d in document_store.read_all(S)], docs)
    everything = mine([d async for d in document_store.read_all(S, include_deleted=True)], docs)

    assert sorted(ns(live)) == list(range(1, 1_100))
    assert sorted(ns(everything)) == list(range(1_100))
    assert [d["n"] for d in everything if d.get("_deleted")] == [0]
