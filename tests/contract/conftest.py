"""Fixtures for the document-store contract suite: written once, run on every adapter.

Adding an adapter is a few lines: an async factory that returns a new, opened store on the
backing named by the context (same file / same server and database on every call, so a second
call behaves like another process or a restart), registered under a name:

    async def make_cosmos(ctx: AdapterContext) -> DocumentStore:
        server = ctx.request.getfixturevalue("cosmos_server")   # a session fixture
        store = CosmosDocumentStore(..., partition_keys=ctx.partition_keys)
        await store.ensure_containers()
        return store

    DOCUMENT_STORE_ADAPTERS["cosmos"] = Adapter(make_cosmos, scale=2_000)

Tests never rely on a fresh backing: every id, partition key and ``tag`` field carries a
per-test random prefix and cross-partition reads filter on ``tag``, so the suite can share one
server with other tests and runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from mystira_data.documents.cosmos import CosmosDocumentStore
from mystira_data.documents.formats import format_for, formatted
from mystira_data.documents.port import DocumentStore
from mystira_data.documents.sqlite import SqliteDocumentStore
from mystira_data.relational import RelationalStore
from tests.contract.document_stores import CONTAINERS, Docs, OpenStore
from tests.integration.relational import conftest as relational_fixtures
from tests.servers.cosmos import CosmosServer, allow_sdk_warnings


@dataclass(frozen=True)
class AdapterContext:
    workdir: Path  # private to the test; embedded adapters keep their files here
    partition_keys: Mapping[str, str]
    request: pytest.FixtureRequest  # reach session fixtures (servers) through it


StoreFactory = Callable[[AdapterContext], Awaitable[DocumentStore]]


@dataclass(frozen=True)
class Adapter:
    factory: StoreFactory
    scale: int = 2_000  # documents in the big paging test


async def _make_sqlite(ctx: AdapterContext) -> DocumentStore:
    store = SqliteDocumentStore(ctx.workdir / "documents.sqlite", ctx.partition_keys)
    await store.open()
    return store


DOCUMENT_STORE_ADAPTERS: dict[str, Adapter] = {
    "sqlite": Adapter(_make_sqlite, scale=10_000),
}


async def _make_cosmos(ctx: AdapterContext) -> DocumentStore:
    server: CosmosServer = ctx.request.getfixturevalue("cosmos_server")
    allow_sdk_warnings()
    # One database per test, named after its private workdir: a second store opened by the
    # same test shares it, other tests never see it.
    database = "contract-" + hashlib.blake2b(str(ctx.workdir).encode(), digest_size=8).hexdigest()
    store = CosmosDocumentStore(
        server.endpoint, server.key, database, ctx.partition_keys, verify_tls=False
    )
    await store.ensure_containers()
    return store


DOCUMENT_STORE_ADAPTERS["cosmos"] = Adapter(_make_cosmos, scale=2_000)


def _in_format(factory: StoreFactory, name: str) -> StoreFactory:
    """The same backing, kept in another document format (``DocumentStore:Format``)."""

    async def make(ctx: AdapterContext) -> DocumentStore:
        fmt = format_for(name)
        pks = fmt.partition_keys()
        stored = replace(ctx, partition_keys={c: pks[c] for c in ctx.partition_keys})
        return formatted(await factory(stored), fmt)

    return make


for _name, _adapter in list(DOCUMENT_STORE_ADAPTERS.items()):
    DOCUMENT_STORE_ADAPTERS[f"{_name}-efcore9"] = replace(
        _adapter, factory=_in_format(_adapter.factory, "efcore9")
    )


@pytest.fixture(params=sorted(DOCUMENT_STORE_ADAPTERS))
def adapter(request: pytest.FixtureRequest) -> Adapter:
    return DOCUMENT_STORE_ADAPTERS[request.param]


@pytest.fixture
def scale(adapter: Adapter) -> int:
    """How many documents the large tests use; sized per adapter."""
    return adapter.scale


@pytest.fixture
async def open_store(
    adapter: Adapter, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[OpenStore]:
    """Open another instance on the same backing (another process, or the same after restart)."""
    ctx = AdapterContext(tmp_path, CONTAINERS, request)
    opened: list[DocumentStore] = []

    async def open_() -> DocumentStore:
        store = await adapter.factory(ctx)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        await store.close()  # close() is idempotent: tests may have closed some already


@pytest.fixture
async def document_store(open_store: OpenStore) -> DocumentStore:
    return await open_store()


@pytest.fixture
def docs() -> Docs:
    """Builders for documents unique to this test."""
    return Docs()


# -- the polyglot state stores (phase record, leases, dead letters, attempts) ----------------
# Each suite runs on its memory twin and on the SQL implementation over SQLite and PostgreSQL.

STATE_BACKENDS = ("memory", "postgres", "sqlite")
pg_url = relational_fixtures.pg_url  # session fixtures, registered here by name
sqlite_template = relational_fixtures.sqlite_template


@asynccontextmanager
async def open_relational(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> AsyncIterator[RelationalStore]:
    """An open, empty, migrated relational store on ``backend`` ("postgres" or "sqlite")."""
    postgres = backend == "postgres"
    url = (
        request.getfixturevalue("pg_url")
        if postgres
        else relational_fixtures.sqlite_url(request.getfixturevalue("sqlite_template"), tmp_path)
    )
    async with RelationalStore(url) as store:
        if postgres:
            await relational_fixtures.empty_all(store)
        yield store


@pytest.fixture(params=STATE_BACKENDS)
async def state_backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[RelationalStore | None]:
    """None for the memory twin; else an open, empty, migrated relational store."""
    if request.param == "memory":
        yield None
        return
    async with open_relational(request, request.param, tmp_path) as store:
        yield store
