"""The async queue's writer process, on both real store pairs and both secondaries.

Writes acknowledged in ``async`` mode reach the secondary through the child process; a child
SIGKILLed with writes unacknowledged loses none of them (they are applied in-process, then
a new child takes over); a child that stops acknowledging is killed and its writes applied
in-process; a child that cannot start leaves the queue working in-process.
"""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator
from typing import Any

import pytest

from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.phase.rules import ROUTES
from mystira_data.polyglot.write import writer_process as offload
from mystira_data.polyglot.write.guarded import current
from mystira_data.polyglot.write.writer_process import WriterProcess
from mystira_data.settings import Phase
from tests.integration.polyglot.conftest import Factory
from tests.integration.relational.conftest import empty_all

CONTAINER = "Accounts"


# Overrides the `phase` fixture for tests of the process's own mechanics.
ONE_PHASE = pytest.mark.parametrize("phase", [Phase.DUAL_WRITE_COSMOS_READ])


@pytest.fixture(params=[Phase.DUAL_WRITE_COSMOS_READ, Phase.DUAL_WRITE_POSTGRES_READ])
def phase(request: pytest.FixtureRequest) -> Phase:
    return Phase(request.param)


@pytest.fixture
async def poly(open_polyglot: Factory, pair: str, phase: Phase) -> AsyncIterator[Polyglot]:
    settings = {"SecondaryWriteMode": "async", "Phase": phase.value}
    async with open_polyglot(PolyglotPersistence=settings) as opened:
        if pair != "embedded":
            await empty_all(opened.raw_relational)
        yield opened


def child(poly: Polyglot) -> WriterProcess:
    writer = poly.router.secondary.offload
    assert isinstance(writer, WriterProcess)
    return writer


async def running(poly: Polyglot) -> tuple[WriterProcess, int]:
    """The writer process, started and taking writes, and its pid."""
    assert await poly.router.secondary.warm_up()
    writer = child(poly)
    assert writer.pid is not None
    return writer, writer.pid


async def write(poly: Polyglot, ids: range, tag: str) -> dict[str, int]:
    """Upsert ``acc-N`` for N in ``ids``; the acknowledged version of each."""
    acked = {}
    for n in ids:
        body: dict[str, Any] = {"id": f"acc-{n}", "email": f"{n}@example.org", "displayName": tag}
        acked[body["id"]] = (await poly.repository.upsert(CONTAINER, body))["_version"]
    return acked


async def assert_secondary_holds(poly: Polyglot, phase: Phase, acked: dict[str, int]) -> None:
    secondary = poly.router.store(ROUTES[phase].secondary)  # type: ignore[arg-type]
    for doc_id, version in acked.items():
        held = await current(secondary, CONTAINER, doc_id, doc_id)  # Accounts: pk is the id
        assert held is not None, doc_id
        assert held["_version"] == version, doc_id


async def test_async_writes_reach_the_secondary_through_the_child(
    poly: Polyglot, phase: Phase
) -> None:
    writer, _ = await running(poly)
    acked = await write(poly, range(150), "first")
    acked |= await write(poly, range(0, 150, 3), "second")  # some ids twice: newest wins
    await poly.router.secondary.drain()
    assert writer.sent == 200  # every write went through the child, none in-process
    assert writer.starts == 1
    log = poly.router.secondary.sync_log
    assert (log.applied, log.failed) == (200, 0)
    await assert_secondary_holds(poly, phase, acked)


async def test_a_child_killed_with_writes_unacknowledged_loses_none(
    poly: Polyglot, phase: Phase
) -> None:
    writer, pid = await running(poly)
    writer.restart_after_s = 0.0
    acked = await write(poly, range(100), "before")
    assert writer.pending > 0  # sent, not yet acknowledged (the child batches after a linger)
    os.kill(pid, signal.SIGKILL)
    acked |= await write(poly, range(50, 200), "after")  # in-process until a child is back
    await poly.router.secondary.drain()
    log = poly.router.secondary.sync_log
    assert log.failed == 0
    assert log.applied >= len(acked)
    await assert_secondary_holds(poly, phase, acked)
    assert await poly.router.secondary.warm_up()  # a new child takes over
    assert writer.starts == 2
    acked |= await write(poly, range(200, 220), "restarted")
    await poly.router.secondary.drain()
    await assert_secondary_holds(poly, phase, acked)


@ONE_PHASE  # process mechanics: one secondary is enough
async def test_a_hung_child_is_killed_and_its_writes_applied_in_process(
    poly: Polyglot, phase: Phase
) -> None:
    writer, pid = await running(poly)
    writer.stall_s = 1.0
    os.kill(pid, signal.SIGSTOP)  # alive, reading nothing, acknowledging nothing
    acked = await write(poly, range(30), "while hung")
    await poly.router.secondary.drain()  # returns: the stalled child is killed
    assert writer.pid is None
    assert poly.router.secondary.sync_log.failed == 0
    await assert_secondary_holds(poly, phase, acked)


@ONE_PHASE  # process mechanics: one secondary is enough
async def test_a_child_that_cannot_start_leaves_the_queue_in_process(
    poly: Polyglot, phase: Phase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(offload, "CHILD_MODULE", "mystira_data.no_such_module")
    writer = child(poly)
    writer.restart_after_s = 600.0  # no second attempt within this test, however slow
    assert not await poly.router.secondary.warm_up(timeout_s=60)
    acked = await write(poly, range(40), "in-process")
    await poly.router.secondary.drain()
    assert (writer.sent, writer.starts) == (0, 1)  # no new attempt before restart_after_s
    assert poly.router.secondary.sync_log.failed == 0
    await assert_secondary_holds(poly, phase, acked)
