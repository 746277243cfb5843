"""PostgreSQL cut off while UserProfiles walks (the core's secondary, then its primary):
no acknowledged write is lost, and both parts agree once it is back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from mystira_data.bootstrap import open_platform
from mystira_data.errors import StoreUnavailable
from mystira_data.polyglot.consistency.backfill import backfill
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.phase.rules import Side
from mystira_data.query import Query
from mystira_data.settings import Phase, load_settings
from tests.integration.polyglot.conftest import FAST_SWITCH
from tests.integration.relational.conftest import empty_all
from tests.servers.faultproxy import FaultProxy

from .walk import CONTAINERS, P, Writers, assert_acknowledged, catch_up, move, paused


@pytest.fixture
async def proxied(
    polyglot_pg_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Polyglot, FaultProxy]]:
    url = make_url(polyglot_pg_url)
    proxy = await FaultProxy(url.host or "127.0.0.1", url.port or 5432).start()
    via_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    settings = load_settings(
        data_dir=tmp_path / "data",
        ConnectionStrings={"PostgreSql": via_proxy},
        PolyglotPersistence={
            **FAST_SWITCH,
            "PhaseSwitchDrainMs": 1500,
            "DualWriteTimeoutMs": 2000,
            "BreakerOpenSeconds": 0.5,
        },
        # The drill's own outages are not the evidence the error-rate gate weighs.
        Gates={"ErrorRateMinCalls": 1_000_000},
    )
    try:
        async with open_platform(settings, refresh_s=0, provision=True) as poly:
            await empty_all(poly.raw_relational)
            yield poly, proxy
    finally:
        await proxy.stop()


async def outage(poly: Polyglot, proxy: FaultProxy, seconds: float = 1.0) -> None:
    """PostgreSQL unreachable for ``seconds``; returns once the layer reaches it again."""
    proxy.drop()
    await asyncio.sleep(seconds)
    proxy.restore()
    for _ in range(100):  # the breaker lets a probe through after BreakerOpenSeconds
        try:
            await poly.relational.count("Accounts", Query(cross_partition=True))
            return
        except StoreUnavailable:
            await asyncio.sleep(0.1)
    raise AssertionError("PostgreSQL never came back")


@pytest.mark.slow
async def test_postgres_cut_off_mid_walk_loses_nothing(
    proxied: tuple[Polyglot, FaultProxy],
) -> None:
    poly, proxy = proxied
    writers = Writers(poly)
    await writers.start()
    try:
        for container in CONTAINERS:
            await backfill(poly, container, Side.RELATIONAL)
            await move(poly, writers, container, Phase.DUAL_WRITE_COSMOS_READ)
        before = writers.acks
        await outage(poly, proxy)  # the core's secondary: writes go on
        assert writers.failures == []
        for phase in (Phase.DUAL_WRITE_POSTGRES_READ, Phase.POSTGRES_ONLY):
            for container in CONTAINERS:
                await move(poly, writers, container, phase)
        await outage(poly, proxy)  # the core's primary: writes fail, none is acknowledged
        assert writers.failures  # refused with StoreUnavailable, never acknowledged
        await move(poly, writers, P, Phase.DUAL_WRITE_POSTGRES_READ)
        await outage(poly, proxy)
        await move(poly, writers, P, Phase.DUAL_WRITE_COSMOS_READ)
    finally:
        await writers.stop()
    assert writers.acks > before + 50
    async with paused(writers):
        await catch_up(poly)
        report = await poly.verify(P, settle_s=0.2)
    assert report.clean, report.differences[:3]
    await assert_acknowledged(poly, writers, exact=False)
