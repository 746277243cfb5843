"""Walk UserProfiles (after Accounts) through every phase and back under concurrent writers:
verify clean at each step, and every acknowledged write readable at the end."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from mystira_data.polyglot.consistency.backfill import backfill
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.phase.rules import Side, route_for
from mystira_data.settings import Phase
from tests.integration.polyglot.conftest import Factory
from tests.integration.relational.conftest import empty_all

from .walk import CONTAINERS, P, Writers, assert_acknowledged, catch_up, move, paused

PATH = [
    Phase.DUAL_WRITE_COSMOS_READ,
    Phase.DUAL_WRITE_POSTGRES_READ,
    Phase.POSTGRES_ONLY,
    Phase.DUAL_WRITE_POSTGRES_READ,
    Phase.DUAL_WRITE_COSMOS_READ,
    Phase.COSMOS_ONLY,
]


@pytest.fixture(params=("embedded", "cosmos-postgres"))
def pair(request: pytest.FixtureRequest) -> str:
    """The walk runs on both store pairs of the issue (the Cosmos API server's too)."""
    return str(request.param)


@pytest.fixture
async def walked(open_polyglot: Factory, pair: str) -> AsyncIterator[Polyglot]:
    # A drain bound well above the slowest write on a busy test machine: a write that
    # outlasts it is outside the switch's guarantee (docs/phases.md).
    async with open_polyglot(PolyglotPersistence={"PhaseSwitchDrainMs": 1500}) as opened:
        if pair != "embedded":
            await empty_all(opened.raw_relational)
        yield opened


@pytest.mark.slow
async def test_walk_forward_and_back_under_writers(walked: Polyglot) -> None:
    poly = walked
    writers = Writers(poly)
    await writers.start()
    try:
        for container in CONTAINERS:
            await backfill(poly, container, Side.RELATIONAL)
        for step, phase in enumerate(PATH):
            forward = step < 3
            for container in CONTAINERS if forward else reversed(CONTAINERS):
                await move(poly, writers, container, phase)
            async with paused(writers):  # both copies of the core agree at every step
                await catch_up(poly)
                if route_for(P, phase).secondary is not None:
                    report = await poly.verify(P, settle_s=0.2)
                    assert report.clean, report.differences[:3]
    finally:
        await writers.stop()
    assert writers.failures == []
    assert len(writers.acknowledged) > 5
    await catch_up(poly)
    assert [t.to_phase for t in await poly.control.store.history(P)] == PATH
    await assert_acknowledged(poly, writers)
