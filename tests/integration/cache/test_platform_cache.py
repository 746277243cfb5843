"""The cache as the platform wires it: `open_platform` puts it in front of the polyglot
repository, on a real Redis (own key prefix per test) and the embedded store pair.

"Behind the cache's back" means writing a store directly, which no product path does: a read
that still shows the old value was served by the cache, one that shows the new value was not.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from mystira_data import status
from mystira_data.bootstrap import open_platform
from mystira_data.cache import CachedRepository, RedisCache, cache_key, connect_redis
from mystira_data.errors import ConfigError, NotFound
from mystira_data.polyglot.layer import Polyglot
from mystira_data.query import Query
from mystira_data.settings import Phase, load_settings
from mystira_data.types import JsonDoc
from tests.integration.polyglot.conftest import FAST_SWITCH
from tests.servers.ports import free_port

Opener = Callable[..., AbstractAsyncContextManager[Polyglot]]
MODES = {"write-through": {}, "invalidation": {"EnableWriteThrough": False}}
ACCOUNT = {"id": "acc1", "email": "first@example.org", "displayName": "First"}


@pytest.fixture
async def open_instance(tmp_path: Path, redis_url: str, prefix: str) -> AsyncIterator[Opener]:
    """Opens the platform on this test's stores and Redis prefix; each call is one more
    instance (its own L1, listener and phase view), as another process would be."""

    @asynccontextmanager
    async def opener(redis: str = redis_url, **caching: Any) -> AsyncIterator[Polyglot]:
        settings = load_settings(
            data_dir=tmp_path / "data",
            ConnectionStrings={"Redis": redis},
            Caching={"KeyPrefix": prefix, **caching},
            PolyglotPersistence=FAST_SWITCH,
        )
        async with open_platform(settings, refresh_s=0, provision=True) as poly:
            yield poly

    yield opener
    leftovers = RedisCache(connect_redis(redis_url), prefix=prefix)
    await leftovers.clear()
    await leftovers.close()


def cached(poly: Polyglot) -> CachedRepository:
    assert isinstance(poly.repository, CachedRepository), "the platform put no cache in front"
    return poly.repository


async def behind_the_back(poly: Polyglot, doc: JsonDoc, **changes: Any) -> None:
    """Change the document store's copy directly (CosmosOnly: the store reads come from)."""
    await poly.stores.documents.upsert("Accounts", {**doc, **changes})


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 30.0) -> None:
    """Poll ``check`` until true; ``within`` only stops a broken run, it asserts no speed."""
    async with asyncio.timeout(within):
        while not await check():  # noqa: ASYNC110 - we poll another instance's state
            await asyncio.sleep(0.02)


async def email_in(poly: Polyglot, expected: str) -> bool:
    return (await poly.repository.read("Accounts", "acc1", "acc1"))["email"] == expected


async def test_reads_are_served_from_the_cache_until_it_is_invalidated(
    open_instance: Opener,
) -> None:
    async with open_instance() as poly:
        written = await poly.repository.create("Accounts", ACCOUNT)
        assert (await status.cache_status(poly))["mode"] == "redis"
        await behind_the_back(poly, written, email="behind@example.org")
        assert await email_in(poly, "first@example.org")  # the cache answered
        assert cached(poly).cache.stats().hits >= 1
        await cached(poly).cache.delete(cache_key("Accounts", "acc1", "acc1"))
        assert await email_in(poly, "behind@example.org")  # a miss: the store answered


async def test_write_through_from_one_instance_is_read_from_redis_by_another(
    open_instance: Opener,
) -> None:
    async with open_instance() as a, open_instance() as b:
        await a.repository.create("Accounts", ACCOUNT)
        assert await email_in(a, "first@example.org")
        assert await email_in(b, "first@example.org")  # b's L1 holds it now
        newer = await b.repository.replace("Accounts", {**ACCOUNT, "email": "b@example.org"})
        # The store now says otherwise: only Redis (b's write-through) can answer "b@".
        await behind_the_back(b, newer, email="behind@example.org")
        await eventually(lambda: email_in(a, "b@example.org"))  # a's L1 dropped by the bus


async def test_invalidation_from_one_instance_makes_another_reload(
    open_instance: Opener,
) -> None:
    async with (
        open_instance(**MODES["invalidation"]) as a,
        open_instance(**MODES["invalidation"]) as b,
    ):
        await a.repository.create("Accounts", ACCOUNT)
        assert await email_in(a, "first@example.org")
        await b.repository.replace("Accounts", {**ACCOUNT, "email": "b@example.org"})
        await eventually(lambda: email_in(a, "b@example.org"))  # dropped, then loaded


@pytest.mark.parametrize("mode", MODES)
async def test_a_delete_in_one_instance_reaches_the_other(open_instance: Opener, mode: str) -> None:
    async with open_instance(**MODES[mode]) as a, open_instance(**MODES[mode]) as b:
        await a.repository.create("Accounts", ACCOUNT)
        assert await email_in(a, "first@example.org")
        await b.repository.delete("Accounts", "acc1", "acc1")
        with pytest.raises(NotFound):
            await b.repository.read("Accounts", "acc1", "acc1")

        async def gone() -> bool:
            try:
                await a.repository.read("Accounts", "acc1", "acc1")
            except NotFound:
                return True
            return False

        await eventually(gone)


@pytest.mark.parametrize("mode", MODES)
async def test_cascaded_deletes_reach_the_cache(open_instance: Opener, mode: str) -> None:
    """Deleting an account deletes its sessions through the cache too (no stale child)."""
    async with open_instance(**MODES[mode]) as poly:
        await poly.repository.create("Accounts", ACCOUNT)
        session = {"id": "s1", "accountId": "acc1", "startTime": "2026-01-01T00:00:00Z"}
        await poly.repository.create("GameSessions", session)
        assert (await poly.repository.read("GameSessions", "s1", "acc1"))["status"]
        await poly.repository.delete("Accounts", "acc1", "acc1")
        with pytest.raises(NotFound):
            await poly.repository.read("GameSessions", "s1", "acc1")


async def test_concurrent_writers_leave_the_newest_version_cached(open_instance: Opener) -> None:
    """However the cache updates of racing writes interleave, a read after them returns the
    newest acknowledged version (the cache refuses an older `_version`)."""
    async with open_instance() as a, open_instance() as b:
        await a.repository.create("Accounts", ACCOUNT)

        async def write(poly: Polyglot, n: int) -> int:
            body = {**ACCOUNT, "displayName": f"w{n}"}
            version: int = (await poly.repository.upsert("Accounts", body))["_version"]
            return version

        versions = await asyncio.gather(*(write((a, b)[n % 2], n) for n in range(40)))
        newest = max(versions)
        for poly in (a, b):

            async def settled(poly: Polyglot = poly) -> bool:
                doc = await poly.repository.read("Accounts", "acc1", "acc1")
                return int(doc["_version"]) == newest

            await eventually(settled)
        assert (await a.repository.read("Accounts", "acc1", "acc1"))["_version"] == newest


async def test_a_phase_move_drops_the_entries_the_old_read_store_filled(
    open_instance: Opener,
) -> None:
    async with open_instance() as a, open_instance() as b:
        await a.control.set("Accounts", Phase.DUAL_WRITE_COSMOS_READ, force=True, reason="test")
        written = await a.repository.create("Accounts", ACCOUNT)
        for poly in (a, b):
            assert await email_in(poly, "first@example.org")  # cached from the document store
        # The relational copy differs (as after a forced move): reads must show it after the
        # move, not the entry the document store filled.
        await a.relational.upsert("Accounts", {**written, "email": "relational@example.org"})
        assert await email_in(a, "first@example.org")  # still the cache before the move
        await a.control.set("Accounts", Phase.DUAL_WRITE_POSTGRES_READ, force=True, reason="test")
        assert await email_in(a, "relational@example.org")
        assert await email_in(b, "relational@example.org")  # b noticed the move on its read


async def test_unreachable_redis_falls_back_to_memory_and_status_says_so(
    open_instance: Opener,
) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    async with open_instance(redis=dead) as poly:
        info = await status.cache_status(poly)
        assert info["mode"] == "fallback"
        assert info["summary"].startswith("in-memory fallback (Redis unreachable: ")
        written = await poly.repository.create("Accounts", ACCOUNT)
        await behind_the_back(poly, written, email="behind@example.org")
        assert await email_in(poly, "first@example.org")  # served from process memory
        assert cached(poly).cache.stats().fallbacks > 0


async def test_without_redis_the_cache_is_in_memory(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    async with open_platform(settings, refresh_s=0, provision=True) as poly:
        info = await status.cache_status(poly)
        assert (info["mode"], info["summary"]) == (
            "memory",
            "in-memory (no Redis connection string)",
        )
        written = await poly.repository.create("Accounts", ACCOUNT)
        await behind_the_back(poly, written, email="behind@example.org")
        assert await email_in(poly, "first@example.org")


async def test_caching_disabled_means_no_cache_layer(open_instance: Opener) -> None:
    async with open_instance(Enabled=False) as poly:
        assert poly.repository is poly.router
        assert poly.stores.cache is None
        assert (await status.cache_status(poly))["mode"] == "off"
        written = await poly.repository.create("Accounts", ACCOUNT)
        await behind_the_back(poly, written, email="behind@example.org")
        assert await email_in(poly, "behind@example.org")


async def test_a_cache_that_would_serve_stale_writes_is_refused(open_instance: Opener) -> None:
    with pytest.raises(ConfigError, match="EnableWriteThrough"):
        async with open_instance(EnableWriteThrough=False, EnableInvalidationOnChange=False):
            pass


async def test_seeding_drops_what_running_instances_cached(
    open_instance: Opener, tmp_path: Path, redis_url: str, prefix: str
) -> None:
    from mystira_data.cli.seed import seed_all

    settings = load_settings(
        data_dir=tmp_path / "data",
        ConnectionStrings={"Redis": redis_url},
        Caching={"KeyPrefix": prefix},
    )
    await seed_all(settings, None, False, 0, 0)
    async with open_instance() as poly:
        axis = (await poly.repository.query("CompassAxes", Query(cross_partition=True))).items[0]
        await poly.stores.documents.upsert("CompassAxes", {**axis, "name": "edited"})
        assert (await poly.repository.read("CompassAxes", axis["id"], axis["id"]))["name"] == (
            "edited"
        )  # cached now
        await seed_all(settings, None, False, 0, 0)  # writes the master data back
        again = await poly.repository.read("CompassAxes", axis["id"], axis["id"])
        assert again["name"] == axis["name"]
