"""Version-guarded applies are idempotent: redelivery in any order converges to one state."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mystira_data.relational import RelationalStore

from .docs import account, session

IDS = ("r0", "r1", "r2")


@st.composite
def versioned_writes(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Every version 1..n of a few sessions; some versions are tombstones."""
    writes = []
    for id in draw(st.lists(st.sampled_from(IDS), min_size=1, max_size=3, unique=True)):
        for version in range(1, draw(st.integers(1, 5)) + 1):
            doc = session(id, "a1", sceneCount=version, status=draw(st.sampled_from(
                ["InProgress", "Paused", "Completed"])))  # fmt: skip
            doc["_version"] = version
            if draw(st.booleans()) and draw(st.booleans()):
                doc["_deleted"] = True
            writes.append(doc)
    return writes


@st.composite
def deliveries(draw: st.DrawFn, writes: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Each write at least once, some several times, shuffled, cut into batches."""
    extra = draw(st.lists(st.sampled_from(writes), max_size=len(writes) * 2))
    sequence = draw(st.permutations(writes + extra))
    cuts = sorted(draw(st.lists(st.integers(0, len(sequence)), max_size=4)))
    bounds = [0, *cuts, len(sequence)]
    return [sequence[a:b] for a, b in itertools.pairwise(bounds) if b > a]


async def snapshot(store: RelationalStore) -> list[dict[str, Any]]:
    return [d async for d in store.read_all("GameSessions", include_deleted=True)]


async def reset(store: RelationalStore) -> None:
    for id in IDS:
        await store.purge("GameSessions", id, "a1")


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_redelivery_in_any_order_converges(
    store: RelationalStore, data: st.DataObject
) -> None:
    await store.upsert("Accounts", account("a1"))
    writes = data.draw(versioned_writes(), label="writes")
    batches = data.draw(deliveries(writes), label="batches")
    bulk = data.draw(st.lists(st.booleans(), min_size=len(batches), max_size=len(batches)))
    try:
        in_order = sorted(writes, key=lambda d: d["_version"])
        for doc in in_order:
            await store.upsert_if_newer("GameSessions", [doc], outbox=False)
        expected = await snapshot(store)
        await reset(store)

        applied = 0
        for batch, use_bulk in zip(batches, bulk, strict=True):
            if use_bulk:
                applied += await store.bulk_upsert_if_newer("GameSessions", batch, batch_size=3)
            else:
                applied += await store.upsert_if_newer("GameSessions", batch, outbox=False)
        assert await snapshot(store) == expected
        assert applied <= len(writes)  # never more applies than distinct versions
    finally:
        await reset(store)
