"""PostgreSQL (the secondary) cut off during 10k simulated writes: nothing fails, nothing is lost.

A TCP fault proxy sits between the relational store and PostgreSQL. The document store is the
primary (DualWriteCosmosRead). While the proxy drops every connection, writes keep being
acknowledged; after it passes traffic again, replication catches PostgreSQL up and both stores
hold exactly the acknowledged writes, compared document by document.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import stamina
from sqlalchemy.engine import make_url

from mystira_data.bootstrap import open_platform
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.write.guarded import current
from mystira_data.settings import load_settings
from mystira_data.simulator import SimulationReport, simulate
from tests.integration.relational.conftest import run_async
from tests.servers import postgres as pg
from tests.servers.faultproxy import FaultProxy

WRITES = int(os.environ.get("MYSTIRA_FAULT_WRITES", "10000"))


@pytest.fixture(autouse=True)
def _fast_retries() -> Iterator[None]:
    with stamina.set_testing(True, attempts=3, cap=True):
        yield


@pytest.fixture(scope="module")
def pg_database() -> Iterator[str]:
    from mystira_data.relational import migrate

    with pg.fresh_database(pg.server_url(), prefix="mystira_fault_") as url:
        run_async(migrate.upgrade(url))
        yield url


@pytest.fixture
async def proxied(pg_database: str, tmp_path: Path) -> AsyncIterator[tuple[Polyglot, FaultProxy]]:
    url = make_url(pg_database)
    proxy = await FaultProxy(url.host or "127.0.0.1", url.port or 5432).start()
    via_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    settings = load_settings(
        data_dir=tmp_path,
        ConnectionStrings={"PostgreSql": via_proxy},
        PolyglotPersistence={
            "Phase": "DualWriteCosmosRead",
            "DualWriteTimeoutMs": 2000,
            "BreakerOpenSeconds": 0.5,
        },
    )
    try:
        async with open_platform(settings, refresh_s=0) as poly:
            yield poly, proxy
    finally:
        await proxy.stop()


async def test_writes_survive_a_secondary_outage_and_converge(
    proxied: tuple[Polyglot, FaultProxy],
) -> None:
    poly, proxy = proxied
    run = asyncio.create_task(
        simulate(poly.repository, players=200, writes=WRITES, concurrency=16, seed=3)
    )
    await until(lambda: poly.router.secondary.sync_log.applied > WRITES // 30)
    proxy.drop()
    await until(lambda: poly.router.secondary.sync_log.failed > WRITES // 10)
    proxy.restore()
    report = await run
    assert report.failed == 0, report.errors[:5]
    assert report.ok >= WRITES * 0.9
    assert report.deletes > 0  # tombstones travel through the outage too
    assert poly.router.secondary.sync_log.failed > WRITES // 10  # the outage happened
    await catch_up(poly)
    await assert_exactly_acknowledged(poly, report)
    for container in ("Accounts", "GameSessions", "PlayerScenarioScores"):
        report = await poly.verify(container, settle_s=0)
        assert report.clean, [
            (d.id, d.kind, d.primary_version, d.secondary_version, d.paths)
            for d in report.differences[:5]
        ]


async def until(condition: object, limit_s: float = 120.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while not condition():  # type: ignore[operator]
        assert loop.time() < deadline, "condition never became true"
        await asyncio.sleep(0.05)


async def catch_up(poly: Polyglot) -> None:
    for _ in range(50):
        moved = 0
        for container in ("Accounts", "GameSessions", "PlayerScenarioScores"):
            moved += await poly.replicate_once(container)
        if moved == 0:
            return
    raise AssertionError("replication did not converge")


async def assert_exactly_acknowledged(poly: Polyglot, report: SimulationReport) -> None:
    """Both stores hold each acknowledged write at its version, tombstones as tombstones."""
    pks = {"Accounts": "id", "GameSessions": "accountId", "PlayerScenarioScores": "profileId"}
    docs = {}
    for (container, doc_id), version in report.acknowledged.items():
        stored = await poly.documents.query(container, _by_id(doc_id))
        assert len(stored.items) == 1
        doc = stored.items[0]
        deleted = (container, doc_id) in report.deleted
        assert (doc["_version"], bool(doc.get("_deleted"))) == (version, deleted), doc_id
        row = await current(poly.relational, container, doc_id, doc[pks[container]])
        assert row is not None, (container, doc_id)
        assert (row["_version"], bool(row.get("_deleted"))) == (version, deleted), doc_id
        docs[(container, doc_id)] = doc
    assert len(docs) == len(report.acknowledged)


def _by_id(doc_id: str):  # type: ignore[no-untyped-def]
    from mystira_data.query import Filter, Op, Query

    return Query(filters=(Filter("id", Op.EQ, doc_id),), cross_partition=True, include_deleted=True)
