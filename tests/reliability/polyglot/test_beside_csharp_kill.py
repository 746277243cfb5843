"""Beside a live C# app, PostgreSQL is killed (SIGKILL) and started again in the middle of a
run: our acknowledged writes all survive, and the C# app's writes and hard deletes reach
PostgreSQL too.

A private PostgreSQL (killable) is the secondary of the embedded document store, phase
DualWriteCosmosRead. Our simulated players write through the repository while a second task
writes its own accounts "as the C# app would" (no ``_version``, rebuilt, hard-deleted)
straight to the document store. After the restart, replication and one id reconciliation
catch PostgreSQL up; each of our acknowledged writes is in both stores at its version, the
C# app's survivors are in PostgreSQL with their content, its deletes are tombstones, and
verify is clean.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from mystira_data.bootstrap import open_platform
from mystira_data.errors import MystiraError, NotFound
from mystira_data.polyglot.layer import Polyglot
from mystira_data.relational import migrate
from mystira_data.settings import load_settings
from mystira_data.simulator import simulate
from tests.integration.polyglot.beside.csharp import CSharpApp
from tests.reliability.polyglot.test_secondary_down import (
    _fast_retries,
    assert_exactly_acknowledged,
    catch_up,
    until,
)
from tests.servers import postgres as pg

__all__ = ["_fast_retries"]
WRITES = int(os.environ.get("MYSTIRA_FAULT_WRITES", "1500"))
CSHARP_ACCOUNTS = 60
CONTAINERS = ("Accounts", "GameSessions", "PlayerScenarioScores")


@pytest.fixture
def private_pg() -> Iterator[pg.PrivateServer]:
    with pg.PrivateServer() as server:
        yield server


@pytest.fixture
async def poly(private_pg: pg.PrivateServer, tmp_path: Path) -> AsyncIterator[Polyglot]:
    url = private_pg.url()
    await migrate.upgrade(url)
    settings = load_settings(
        data_dir=tmp_path,
        ConnectionStrings={"PostgreSql": url},
        PolyglotPersistence={
            "Phase": "DualWriteCosmosRead",
            "DualWriteTimeoutMs": 2000,
            "BreakerOpenSeconds": 0.5,
        },
    )
    async with open_platform(settings, refresh_s=0) as opened:
        await opened.control.all_phases()  # the configured phase is recorded while empty
        yield opened


async def csharp_app(cs: CSharpApp, written: dict[str, str], deleted: set[str]) -> None:
    """Creates, rewrites and hard-deletes its own accounts, never caring about PostgreSQL."""
    for n in range(CSHARP_ACCOUNTS):
        id = f"cs-{n:03d}"
        email = f"{id}@csharp.example.org"
        await cs.rebuild("Accounts", {"id": id, "email": email})
        if n % 3 == 1:
            email = f"{id}-renamed@csharp.example.org"
            await cs.rebuild("Accounts", {"id": id, "email": email})
        written[id] = email
        if n % 5 == 4:
            await cs.hard_delete("Accounts", id, id)
            deleted.add(id)
        await asyncio.sleep(0.01)  # spread over the run, through the outage


async def test_acknowledged_writes_survive_a_postgres_kill_beside_csharp(
    poly: Polyglot, private_pg: pg.PrivateServer
) -> None:
    written: dict[str, str] = {}
    deleted: set[str] = set()
    run = asyncio.create_task(
        simulate(poly.repository, players=60, writes=WRITES, concurrency=8, seed=5)
    )
    foreign = asyncio.create_task(csharp_app(CSharpApp(poly), written, deleted))
    await until(lambda: poly.router.secondary.sync_log.applied > WRITES // 20)
    private_pg.kill()
    await until(lambda: poly.router.secondary.sync_log.failed > WRITES // 20)
    private_pg.start()
    report = await run
    await foreign
    assert report.failed == 0, report.errors[:5]
    assert poly.router.secondary.sync_log.failed > WRITES // 20  # the outage happened

    await until_caught_up(poly)
    await assert_exactly_acknowledged(poly, report)
    for id, email in written.items():
        if id in deleted:
            with pytest.raises(NotFound):
                await poly.relational.read("Accounts", id, id)
        else:
            assert (await poly.relational.read("Accounts", id, id))["email"] == email
    for container in CONTAINERS:
        verified = await poly.verify(container, settle_s=0)
        assert verified.clean, [(d.id, d.kind, d.paths) for d in verified.differences[:5]]


async def until_caught_up(poly: Polyglot) -> None:
    """Replicate and reconcile until PostgreSQL answers again and nothing is left."""
    for _ in range(100):
        try:
            await catch_up(poly)
            for container in CONTAINERS:
                await poly.reconcile(container)
            await catch_up(poly)
            return
        except MystiraError:  # the breaker or pool still remembers the dead server
            await asyncio.sleep(0.5)
    raise AssertionError("PostgreSQL never came back for replication")
