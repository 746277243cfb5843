"""Two runtimes ("processes") write the same ids while one walks the primary back and forth.

Runtime A walks Accounts DualWriteCosmosRead → DualWritePostgresRead → DualWriteCosmosRead
while writers in A *and* B keep upserting the same three ids. B only learns of each switch
through the durable phase record (refreshed every 0.2 s), as a second process would. The
embedded SQLite document store is shared; the relational store is one PostgreSQL database or
one SQLite file, opened separately by each runtime.

Afterwards: every id's newest acknowledged write is what both stores hold, no two
acknowledged writes of an id share a ``_version`` (a shared version is a lost write: the
version-guarded applies skip each other), and the stores agree (verify is clean).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mystira_data.bootstrap import open_platform
from mystira_data.errors import ConcurrencyConflict, StoreUnavailable
from mystira_data.polyglot.layer import Polyglot
from mystira_data.relational import migrate
from mystira_data.settings import Phase, load_settings
from tests.integration.relational.conftest import run_async
from tests.servers import postgres as pg

CONTAINER = "Accounts"
IDS = ("acc-1", "acc-2", "acc-3")
WRITERS_PER_RUNTIME = 3
REFRESH_S = 0.2
# Short bounds so the walk takes seconds; the drain bound still dwarfs one embedded write.
FENCE = {
    "PhaseSwitchMarginMs": 100,
    "PhaseSwitchDrainMs": 1000,
    "PhaseSwitchMaxFreezeMs": 20_000,
    "PhaseSwitchWriteWaitMs": 20_000,
}
WALK = (Phase.DUAL_WRITE_POSTGRES_READ, Phase.DUAL_WRITE_COSMOS_READ)
Opener = Callable[[], AbstractAsyncContextManager[Polyglot]]


@pytest.fixture(params=["postgres", "sqlite"])
def relational(request: pytest.FixtureRequest) -> Iterator[str]:
    """The relational backend: a fresh PostgreSQL database, or "" for the SQLite file."""
    if request.param == "sqlite":
        yield ""
        return
    with pg.fresh_database(pg.server_url()) as url:
        run_async(migrate.upgrade(url))  # only `db upgrade` migrates PostgreSQL
        yield url


@pytest.fixture(params=["inline", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def open_runtime(relational: str, mode: str, tmp_path: Path) -> Opener:
    """Opens one more runtime over the shared stores (its own connections, cache and queue)."""
    settings = load_settings(
        data_dir=tmp_path / "data",
        ConnectionStrings={"PostgreSql": relational},
        PolyglotPersistence={"SecondaryWriteMode": mode, **FENCE},
    )

    @asynccontextmanager
    async def opener() -> AsyncIterator[Polyglot]:
        async with open_platform(settings, refresh_s=REFRESH_S, provision=True) as poly:
            yield poly

    return opener


@dataclass
class Acks:
    """Acknowledged writes: (id, _version) → the content the caller was told is stored."""

    content: dict[tuple[str, int], str] = field(default_factory=dict)
    duplicates: list[tuple[str, int, str, str]] = field(default_factory=list)
    refused: int = 0

    def record(self, doc: dict[str, Any]) -> None:
        key = (doc["id"], doc["_version"])
        if key in self.content:
            self.duplicates.append((*key, self.content[key], doc["displayName"]))
        self.content[key] = doc["displayName"]

    def newest(self) -> dict[str, tuple[int, str]]:
        out: dict[str, tuple[int, str]] = {}
        for (doc_id, version), name in self.content.items():
            if version > out.get(doc_id, (0, ""))[0]:
                out[doc_id] = (version, name)
        return out


async def write_loop(poly: Polyglot, tag: str, acks: Acks, stop: asyncio.Event) -> None:
    n = 0
    while not stop.is_set():
        doc_id = IDS[n % len(IDS)]
        body = {"id": doc_id, "email": f"{doc_id}@example.org", "displayName": f"{tag}-{n}"}
        n += 1
        try:
            acks.record(await poly.repository.upsert(CONTAINER, body))
        except (StoreUnavailable, ConcurrencyConflict):
            acks.refused += 1  # not acknowledged: the caller knows it did not happen
        await asyncio.sleep(0)


async def test_switching_the_primary_under_writers_in_two_runtimes_loses_nothing(
    open_runtime: Opener,
) -> None:
    async with open_runtime() as a, open_runtime() as b:
        for doc_id in IDS:
            await a.repository.create(
                CONTAINER, {"id": doc_id, "email": f"{doc_id}@example.org", "displayName": "0"}
            )
        await a.control.set(CONTAINER, Phase.DUAL_WRITE_COSMOS_READ)
        acks, stop = Acks(), asyncio.Event()
        writers = [
            asyncio.create_task(write_loop(poly, f"{name}{w}", acks, stop))
            for name, poly in (("a", a), ("b", b))
            for w in range(WRITERS_PER_RUNTIME)
        ]
        try:
            for target in WALK:
                await asyncio.sleep(3 * REFRESH_S)  # everyone routes by the current phase
                await a.control.set(CONTAINER, target, force=True, reason="fence test")
            await asyncio.sleep(3 * REFRESH_S)
        finally:
            stop.set()
            await asyncio.gather(*writers)

        assert await b.control.phase(CONTAINER) is Phase.DUAL_WRITE_COSMOS_READ
        for poly in (a, b):
            await poly.router.secondary.drain()
        await a.replicate_until_caught_up(CONTAINER, timeout_s=60)

        assert len(acks.content) > 50, "the writers barely ran"
        assert acks.duplicates == [], "two acknowledged writes share an id and _version"
        for doc_id, (version, name) in acks.newest().items():
            for store in (a.documents, a.relational):
                stored = await store.read(CONTAINER, doc_id, doc_id)
                assert (stored["_version"], stored["displayName"]) == (version, name), (
                    store.name,
                    doc_id,
                )
        assert (await a.verify(CONTAINER, settle_s=0)).clean
