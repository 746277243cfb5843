"""The cache contract: every adapter (memory, redis, tiered) behaves the same."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mystira_data.cache import Cache, Expiry, MemoryCache
from mystira_data.errors import InvalidDocument
from tests.contract.cache_backends import KINDS, open_backend

LONG = Expiry(absolute=60)
DOC: dict[str, Any] = {
    "id": "s1",
    "accountId": "a:1",
    "choices": [{"scene": "ü-1", "delta": 1.5, "ok": True, "none": None}],
    "nested": {"deep": {"list": [1, 2, [3, "four"]]}},
}


@pytest.fixture(params=KINDS)
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[Cache]:
    backend = await open_backend(request.param)
    try:
        yield backend
    finally:
        await backend.clear()
        await backend.close()


async def test_missing_key_is_a_miss(cache: Cache) -> None:
    assert await cache.get("nope") is None


async def test_round_trip_keeps_json_shapes(cache: Cache) -> None:
    await cache.set("Sessions:k", DOC, LONG)
    assert await cache.get("Sessions:k") == DOC


async def test_each_get_returns_an_object_the_caller_owns(cache: Cache) -> None:
    await cache.set("k", DOC, LONG)
    first = await cache.get("k")
    assert first is not None
    first["nested"]["deep"]["list"].append("mutated")
    assert await cache.get("k") == DOC


async def test_set_replaces(cache: Cache) -> None:
    await cache.set("k", {"v": 1}, LONG)
    await cache.set("k", {"v": 2}, LONG)
    assert await cache.get("k") == {"v": 2}


async def test_delete_and_delete_missing(cache: Cache) -> None:
    await cache.set("k", {"v": 1}, LONG)
    await cache.delete("k")
    await cache.delete("never-set")
    assert await cache.get("k") is None


async def test_delete_many_removes_only_those(cache: Cache) -> None:
    for key in ("a", "b", "c"):
        await cache.set(key, {"key": key}, LONG)
    await cache.delete_many(["a", "c", "missing"])
    assert [await cache.get(k) for k in ("a", "b", "c")] == [None, {"key": "b"}, None]


async def test_keys_with_separators_and_unicode(cache: Cache) -> None:
    keys = ["GameSessions:5:a:b:c", "x y", "ключ:*?[]"]
    for i, key in enumerate(keys):
        await cache.set(key, {"i": i}, LONG)
    assert [await cache.get(k) for k in keys] == [{"i": 0}, {"i": 1}, {"i": 2}]


async def test_absolute_expiry(cache: Cache) -> None:
    await cache.set("k", {"v": 1}, Expiry(absolute=0.5))
    assert await cache.get("k") == {"v": 1}
    await asyncio.sleep(0.7)
    assert await cache.get("k") is None


async def test_sliding_expiry_extends_on_read_but_never_past_absolute(cache: Cache) -> None:
    await cache.set("k", {"v": 1}, Expiry(absolute=3, sliding=0.5))
    for _ in range(8):  # reads every 0.1 s keep it alive past the 0.5 s window
        await asyncio.sleep(0.1)
        assert await cache.get("k") == {"v": 1}
    await asyncio.sleep(0.8)  # untouched for longer than the window: gone
    assert await cache.get("k") is None


async def test_absolute_caps_sliding(cache: Cache) -> None:
    await cache.set("k", {"v": 1}, Expiry(absolute=0.5, sliding=0.3))
    seen = []
    for _ in range(10):
        await asyncio.sleep(0.1)
        seen.append(await cache.get("k"))
    assert seen[-1] is None  # read every 0.1 s, yet gone after the 0.5 s absolute limit


async def test_clear_forgets_everything(cache: Cache) -> None:
    await cache.set("a", {"v": 1}, LONG)
    await cache.set("b", {"v": 2}, LONG)
    await cache.clear()
    assert await cache.get("a") is None
    assert await cache.get("b") is None


async def test_clear_under_a_prefix_keeps_the_rest(cache: Cache) -> None:
    await cache.set("Accounts:a", {"v": 1}, LONG)
    await cache.set("GameSessions:a", {"v": 2}, LONG)
    await cache.clear("Accounts:")
    assert await cache.get("Accounts:a") is None
    assert await cache.get("GameSessions:a") == {"v": 2}


async def test_an_older_version_never_replaces_a_newer_one(cache: Cache) -> None:
    """A late write (another task or process) cannot put an older document back."""
    await cache.set("k", {"_version": 3, "v": "new"}, LONG)
    await cache.set("k", {"_version": 2, "v": "late"}, LONG)
    assert await cache.get("k") == {"_version": 3, "v": "new"}
    await cache.set("k", {"_version": 3, "v": "same version"}, LONG)
    assert await cache.get("k") == {"_version": 3, "v": "same version"}
    await cache.delete("k")
    await cache.set("k", {"_version": 1, "v": "after delete"}, LONG)
    assert await cache.get("k") == {"_version": 1, "v": "after delete"}


async def test_rejects_values_that_are_not_json(cache: Cache) -> None:
    with pytest.raises(InvalidDocument):
        await cache.set("k", {"when": dt.datetime.now(dt.UTC)}, LONG)


async def test_counts_hits_and_misses(cache: Cache) -> None:
    await cache.set("k", {"v": 1}, LONG)
    await cache.get("k")
    await cache.get("missing")
    stats = cache.stats()
    assert (stats.hits, stats.misses) == (1, 1)
    assert stats.mode == cache.mode
    assert cache.mode in ("memory", "redis")


def test_expiry_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="absolute"):
        Expiry(absolute=0)
    with pytest.raises(ValueError, match="sliding"):
        Expiry(absolute=1, sliding=-1)


_ops = st.lists(
    st.tuples(
        st.sampled_from(["set", "delete", "delete_many"]),
        st.sampled_from(["a", "b", "c:d"]),
        st.integers(0, 3),
    ),
    max_size=12,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=_ops)
async def test_behaves_like_a_dict(cache: Cache, ops: list[tuple[str, str, int]]) -> None:
    await cache.clear()
    model: dict[str, dict[str, int]] = {}
    for op, key, value in ops:
        if op == "set":
            await cache.set(key, {"v": value}, LONG)
            model[key] = {"v": value}
        elif op == "delete":
            await cache.delete(key)
            model.pop(key, None)
        else:
            await cache.delete_many([key, "a"])
            model.pop(key, None)
            model.pop("a", None)
    for key in ("a", "b", "c:d"):
        assert await cache.get(key) == model.get(key)


async def test_shared_memory_cache_hands_out_one_detached_object() -> None:
    cache = MemoryCache(10, shared=True)
    value = {"list": [1]}
    await cache.set("k", value, LONG)
    value["list"].append(2)  # the writer's later edits never reach the cache
    first, second = await cache.get("k"), await cache.get("k")
    assert first is second
    assert first == {"list": [1]}


async def test_memory_cache_evicts_the_least_recently_used() -> None:
    cache = MemoryCache(2)
    await cache.set("a", {}, LONG)
    await cache.set("b", {}, LONG)
    await cache.get("a")
    await cache.set("c", {}, LONG)
    assert [await cache.get(k) for k in "abc"] == [{}, None, {}]
