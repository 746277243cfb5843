"""Poison changes and orphans are dead-lettered after bounds that hold across processors
(the CLI builds a new one every poll), and transient failures never count."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from mystira_data.errors import CircuitOpen, ForeignKeyViolation, InvalidDocument, StoreUnavailable
from mystira_data.polyglot.replication.attempts import MemoryAttempts
from mystira_data.polyglot.replication.dead_letters import MemoryDeadLetters
from mystira_data.polyglot.replication.leases import MemoryLeaseStore
from mystira_data.polyglot.replication.processor import POISON_ATTEMPTS, Processor
from tests.unit.polyglot.test_replication import Pair


class Target:
    """An apply target that refuses chosen ids the way it is told to."""

    def __init__(self, refuse: dict[str, Exception]) -> None:
        self.refuse = refuse
        self.applied: set[str] = set()
        self.singles: list[str] = []  # ids, at each one-by-one apply

    async def apply(self, container: str, doc: dict[str, Any]) -> None:
        self.singles.append(doc["id"])
        if doc["id"] in self.refuse:
            raise self.refuse[doc["id"]]
        self.applied.add(doc["id"])

    async def apply_many(self, container: str, docs: list[dict[str, Any]]) -> None:
        for doc in docs:
            if doc["id"] in self.refuse:
                raise self.refuse[doc["id"]]
        self.applied.update(d["id"] for d in docs)


class Cli:
    """Replication as `replicate --once` runs it: a new processor every poll, shared state."""

    def __init__(self, pair: Pair, target: Target, *, clock: list[float] | None = None) -> None:
        self.pair, self.target = pair, target
        self.leases, self.dead = MemoryLeaseStore(), MemoryDeadLetters()
        now = clock or [0.0]
        self.attempts = MemoryAttempts(clock=lambda: now[0])

    async def poll(self, *, parent_wait_s: float = 30.0) -> int:
        p = Processor(
            "GameSessions", self.pair[0], self.target.apply, self.leases, self.dead,
            owner="cli", apply_many=self.target.apply_many, attempts=self.attempts,
            parent_wait_s=parent_wait_s,
        )
        return await p.run_once()


async def seed(pair: Pair, ids: list[str]) -> None:
    for i in ids:
        await pair[0].create("GameSessions", {"id": i, "accountId": "a", "_version": 1})


async def test_a_poison_change_is_dead_lettered_though_every_poll_is_a_new_processor(
    pair: Pair,
) -> None:
    await seed(pair, ["ok1", "bad", "ok2", "ok3"])
    target = Target({"bad": InvalidDocument("NUL", path="displayName")})
    cli = Cli(pair, target)
    for _ in range(POISON_ATTEMPTS - 1):
        assert await cli.poll() == 0  # the batch waits on "bad": no checkpoint yet
        assert cli.dead.letters == []
    await cli.poll()
    [letter] = cli.dead.letters
    assert (letter.entity_id, letter.attempts) == ("bad", POISON_ATTEMPTS)
    assert "displayName" in letter.error
    assert "NUL" in letter.error
    assert target.applied == {"ok1", "ok2", "ok3"}  # everything behind it flowed
    assert cli.attempts.rows == {}  # settled: nothing left counting
    assert await cli.poll() == 0  # and the range moved on


@pytest.mark.parametrize("error", [StoreUnavailable("down"), CircuitOpen("breaker open")])
async def test_an_unreachable_store_never_counts(pair: Pair, error: StoreUnavailable) -> None:
    await seed(pair, ["s1"])
    target = Target({"s1": error})
    cli = Cli(pair, target)
    for _ in range(POISON_ATTEMPTS * 2):
        with contextlib.suppress(StoreUnavailable):
            await cli.poll()
    assert (cli.dead.letters, cli.attempts.rows) == ([], {})
    del target.refuse["s1"]
    assert await cli.poll() == 1


async def test_an_orphan_waits_its_bound_from_the_first_failure_then_is_dead_lettered(
    pair: Pair,
) -> None:
    await seed(pair, ["orphan1", "ok", "orphan2"])
    missing = ForeignKeyViolation("parent Accounts/a missing", path="accountId")
    target = Target({"orphan1": missing, "orphan2": missing})
    clock = [100.0]
    cli = Cli(pair, target, clock=clock)
    for _ in range(POISON_ATTEMPTS * 3):  # far more polls than poison gets: time decides
        await cli.poll(parent_wait_s=5)
    assert cli.dead.letters == []
    assert target.applied == {"ok"}  # the rest flows while the orphans wait
    clock[0] += 5
    await cli.poll(parent_wait_s=5)
    # Both orphans of the batch waited together, not one bound after the other.
    assert sorted(d.entity_id for d in cli.dead.letters) == ["orphan1", "orphan2"]
    assert all("parent Accounts/a missing" in d.error for d in cli.dead.letters)


async def test_orphans_that_began_waiting_at_different_times_do_not_take_turns(
    pair: Pair,
) -> None:
    await seed(pair, ["a", "b", "ok"])
    missing = ForeignKeyViolation("parent Accounts/a missing", path="accountId")
    target, clock = Target({"a": missing}), [0.0]
    cli = Cli(pair, target, clock=clock)
    await cli.poll(parent_wait_s=1)
    clock[0], target.refuse["b"] = 0.5, missing  # b starts failing half a bound later
    for _ in range(6):  # a gives up at 1.0, b at 1.5: then the batch is past
        await cli.poll(parent_wait_s=1)
        clock[0] += 0.5
    assert sorted(d.entity_id for d in cli.dead.letters) == ["a", "b"]
    seen = len(target.singles)
    await cli.poll(parent_wait_s=1)
    assert len(target.singles) == seen  # nothing redelivered: the range moved on


async def test_an_orphan_whose_parent_arrives_in_time_is_applied(pair: Pair) -> None:
    await seed(pair, ["child"])
    target = Target({"child": ForeignKeyViolation("parent missing", path="accountId")})
    cli = Cli(pair, target)
    await cli.poll()
    del target.refuse["child"]  # the parent row arrived
    await cli.poll()
    assert (target.applied, cli.dead.letters, cli.attempts.rows) == ({"child"}, [], {})


async def test_one_worker_does_not_rewrite_a_waiting_batch_at_every_poll(pair: Pair) -> None:
    await seed(pair, ["ok1", "orphan", "ok2"])
    target = Target({"orphan": ForeignKeyViolation("parent missing", path="accountId")})
    p = Processor(
        "GameSessions", pair[0], target.apply, MemoryLeaseStore(), MemoryDeadLetters(),
        apply_many=target.apply_many, attempts=MemoryAttempts(),
    )
    for _ in range(4):
        await p.run_once()
    assert target.singles.count("orphan") == 4
    assert (target.singles.count("ok1"), target.singles.count("ok2")) == (1, 1)
    del target.refuse["orphan"]
    await p.run_once()
    assert target.applied == {"ok1", "ok2", "orphan"}
