"""Retry only transient errors; breaker opens after N failures, half-opens, closes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

import pytest
import stamina

from mystira_data.documents.port import JsonPages
from mystira_data.documents.sqlite import SqliteDocumentStore
from mystira_data.errors import (
    CircuitOpen,
    ConcurrencyConflict,
    NotFound,
    StoreUnavailable,
    Throttled,
)
from mystira_data.polyglot.ports import EntityStore, GuardedPut, GuardedUpsert, KeyedRead
from mystira_data.polyglot.resilient import resilient_store
from mystira_data.resilience import BreakerEvent, BreakerState, CircuitBreaker, Policy
from mystira_data.types import JsonDoc, PartitionKey


@pytest.fixture(autouse=True)
def _no_sleeps() -> Iterator[None]:
    with stamina.set_testing(True, attempts=3, cap=True):
        yield


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Flaky:
    def __init__(self, errors: list[Exception]) -> None:
        self.errors = errors
        self.calls = 0

    async def op(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def policy(clock: Clock | None = None, events: list[BreakerEvent] | None = None) -> Policy:
    breaker = CircuitBreaker("pg", threshold=5, open_seconds=30, clock=clock or Clock())
    if events is not None:
        breaker.hooks.append(events.append)
    return Policy(breaker, attempts=3)


async def test_transient_errors_are_retried_up_to_three_attempts() -> None:
    flaky = Flaky([StoreUnavailable("down"), StoreUnavailable("down")])
    assert await policy().call(flaky.op) == "ok"
    assert flaky.calls == 3
    always = Flaky([StoreUnavailable(str(i)) for i in range(5)])
    with pytest.raises(StoreUnavailable):
        await policy().call(always.op)
    assert always.calls == 3


@pytest.mark.parametrize(
    "error", [NotFound("C", "x"), ConcurrencyConflict("stale"), Throttled("429", retry_after=1)]
)
async def test_non_transient_errors_are_not_retried(error: Exception) -> None:
    flaky = Flaky([error])
    with pytest.raises(type(error)):
        await policy().call(flaky.op)
    assert flaky.calls == 1


async def test_breaker_opens_after_five_failures_then_half_opens_and_closes() -> None:
    clock, events = Clock(), []
    p = policy(clock, events)
    p.attempts = 1
    for _ in range(5):
        with pytest.raises(StoreUnavailable):
            await p.call(Flaky([StoreUnavailable("down")]).op)
    assert p.breaker.state is BreakerState.OPEN
    untouched = Flaky([])
    with pytest.raises(CircuitOpen):
        await p.call(untouched.op)
    assert untouched.calls == 0
    clock.now = 30.0
    assert p.breaker.state is BreakerState.HALF_OPEN
    assert await p.call(untouched.op) == "ok"
    assert p.breaker.state is BreakerState.CLOSED
    assert [e.state for e in events] == [BreakerState.OPEN, BreakerState.CLOSED]


async def test_failed_probe_reopens_and_caller_errors_do_not_trip() -> None:
    clock = Clock()
    p = policy(clock)
    p.attempts = 1
    for _ in range(10):
        with pytest.raises(NotFound):
            await p.call(Flaky([NotFound("C", "x")]).op)
    assert p.breaker.state is BreakerState.CLOSED
    for _ in range(5):
        with pytest.raises(StoreUnavailable):
            await p.call(Flaky([StoreUnavailable("down")]).op)
    clock.now = 31.0
    with pytest.raises(StoreUnavailable):
        await p.call(Flaky([StoreUnavailable("still down")]).op)
    assert p.breaker.state is BreakerState.OPEN


async def test_resilient_store_retries_each_verb_looking_the_inner_up_per_call(
    pair: tuple[SqliteDocumentStore, SqliteDocumentStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = pair[0]
    wrapped = resilient_store(store, policy())
    await wrapped.create("Accounts", {"id": "a1", "email": "a@x"})
    reads = Flaky([StoreUnavailable("down")])
    real_read = store.read

    async def flaky_read(container: str, id: str, pk: PartitionKey) -> JsonDoc:
        await reads.op()
        return await real_read(container, id, pk)

    monkeypatch.setattr(store, "read", flaky_read)  # patched after wrapping
    assert (await wrapped.read("Accounts", "a1", "a1"))["id"] == "a1"
    assert reads.calls == 2


async def test_resilient_store_declares_exactly_the_capabilities_of_its_store(
    pair: tuple[SqliteDocumentStore, SqliteDocumentStore],
) -> None:
    wrapped = resilient_store(pair[0], policy())
    assert isinstance(wrapped, KeyedRead)
    assert isinstance(wrapped, GuardedPut)
    assert isinstance(wrapped, JsonPages)  # backfill's text path depends on it
    assert not isinstance(wrapped, GuardedUpsert)
    await wrapped.create("Accounts", {"id": "a1", "email": "a@x", "_version": 2})
    assert await wrapped.put_if_newer("Accounts", [{"id": "a1", "_version": 1}]) == 0
    stored = await wrapped.read_stored("Accounts", "a1", "a1")
    assert stored is not None
    assert stored["_version"] == 2

    class VerbsOnly:
        name = "verbs-only"

    plain = resilient_store(cast(EntityStore, VerbsOnly()), policy())
    assert not isinstance(plain, KeyedRead | GuardedPut | GuardedUpsert | JsonPages)
