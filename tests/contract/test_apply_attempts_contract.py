"""`Attempts`: the table on PostgreSQL and SQLite and its memory twin keep the same counts.

Two instances over one store stand for two processes: their failures add up, never reset.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from mystira_data.polyglot.replication.attempts import Attempts, MemoryAttempts, RelationalAttempts
from mystira_data.relational import RelationalStore

Make = Callable[[str], Attempts]


@pytest.fixture
def attempts(state_backend: RelationalStore | None) -> Make:
    """A factory of `Attempts` for a direction; every call shares the same state."""
    if state_backend is None:
        twins = {d: MemoryAttempts() for d in ("relational", "document")}
        return lambda direction: twins[direction]
    store = state_backend
    return lambda direction: RelationalAttempts(store, direction)


async def test_failures_add_up_across_instances_and_directions_are_apart(
    attempts: Make,
) -> None:
    one, two = attempts("relational"), attempts("relational")
    first = await one.failed("Accounts", ("a1", 3), "InvalidDocument: NUL")
    assert first.count == 1
    assert first.failing_for_s >= 0
    assert (await two.failed("Accounts", ("a1", 3), "again")).count == 2
    assert (await one.failed("Accounts", ("a1", 4), "a newer version")).count == 1
    assert (await one.failed("GameSessions", ("a1", 3), "other container")).count == 1
    assert (await attempts("document").failed("Accounts", ("a1", 3), "x")).count == 1

    await two.forget("Accounts", [("a1", 3), ("never-failed", 1)])
    assert (await one.failed("Accounts", ("a1", 3), "starts over")).count == 1
    assert (await one.failed("Accounts", ("a1", 4), "kept")).count == 2


async def test_concurrent_failures_of_one_change_all_count(attempts: Make) -> None:
    workers = [attempts("relational") for _ in range(8)]
    await asyncio.gather(*(w.failed("Accounts", ("a1", 1), "x") for w in workers))
    assert (await workers[0].failed("Accounts", ("a1", 1), "x")).count == 9


async def test_a_nul_in_the_id_or_reason_is_recorded_not_refused(attempts: Make) -> None:
    one = attempts("relational")
    assert (await one.failed("Accounts", ("a\u0000b", 1), "bad \u0000 text")).count == 1
    assert (await one.failed("Accounts", ("a\u0000b", 1), "again")).count == 2
    await one.forget("Accounts", [("a\u0000b", 1)])
    assert (await one.failed("Accounts", ("a\u0000b", 1), "fresh")).count == 1
