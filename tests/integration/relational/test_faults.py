"""A PostgreSQL that goes away: our errors, then recovery once it is back."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from mystira_data.errors import StoreUnavailable
from mystira_data.polyglot.ports import GuardedUpsert, KeyedRead
from mystira_data.polyglot.resilient import resilient_store
from mystira_data.query import Query
from mystira_data.relational import RelationalStore, migrate
from mystira_data.resilience import CircuitBreaker, Policy
from tests.servers import postgres as pg
from tests.servers.ports import free_port

from .docs import account


@pytest.fixture
def private_server() -> Iterator[pg.PrivateServer]:
    with pg.PrivateServer() as server:
        yield server


async def test_nothing_listening_is_store_unavailable() -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"
    async with RelationalStore(url, connect_timeout_s=2) as store:
        with pytest.raises(StoreUnavailable):
            await store.read("Accounts", "a1", "a1")
        with pytest.raises(StoreUnavailable):
            await store.create("Accounts", account("a1"))


async def test_a_crashed_server_is_unavailable_until_it_is_back(
    private_server: pg.PrivateServer,
) -> None:
    url = private_server.url()
    await migrate.upgrade(url)
    async with RelationalStore(url, connect_timeout_s=2) as store:
        await store.create("Accounts", account("a1"))
        private_server.kill()
        with pytest.raises(StoreUnavailable):
            await store.read("Accounts", "a1", "a1")
        with pytest.raises(StoreUnavailable):
            await store.upsert_if_newer("Accounts", [account("a2") | {"_version": 1}], outbox=True)
        private_server.start()
        # Pooled connections died with the server; they are replaced, not reused.
        assert (await store.read("Accounts", "a1", "a1"))["id"] == "a1"
        await store.create("Accounts", account("a3"))
        assert await store.count("Accounts", Query(cross_partition=True)) == 2
        private_server.stop()
        with pytest.raises(StoreUnavailable):
            await store.count("Accounts", Query(cross_partition=True))


async def test_a_restart_while_idle_costs_at_most_one_call_and_none_through_retries(
    private_server: pg.PrivateServer,
) -> None:
    # Pooled connections are not pinged on checkout (three round trips each time on
    # asyncpg); a dead one fails its first use as a disconnect, which discards the whole pool.
    url = private_server.url()
    await migrate.upgrade(url)
    async with RelationalStore(url, connect_timeout_s=2, pool_size=4) as store:
        await store.create("Accounts", account("a1"))
        await asyncio.gather(*(store.read("Accounts", "a1", "a1") for _ in range(4)))
        private_server.restart()
        outcomes = []
        for _ in range(4):
            try:
                await store.read("Accounts", "a1", "a1")
                outcomes.append("ok")
            except StoreUnavailable:
                outcomes.append("unavailable")
        assert outcomes.count("unavailable") <= 1, outcomes
        assert outcomes[1:] == ["ok"] * 3

        await asyncio.gather(*(store.read("Accounts", "a1", "a1") for _ in range(4)))
        private_server.restart()
        resilient = resilient_store(store, Policy(CircuitBreaker("postgres"), base_delay=0.01))
        assert isinstance(resilient, KeyedRead)
        assert isinstance(resilient, GuardedUpsert)
        for _ in range(4):
            assert (await resilient.read("Accounts", "a1", "a1"))["id"] == "a1"
