"""Change-feed replication: convergence after secondary failures, poison handling, idempotence."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mystira_data import catalog
from mystira_data.documents.sqlite import SqliteDocumentStore
from mystira_data.errors import InvalidDocument, StoreUnavailable
from mystira_data.polyglot.replication.dead_letters import MemoryDeadLetters
from mystira_data.polyglot.replication.leases import MemoryLeaseStore
from mystira_data.polyglot.replication.processor import Processor
from mystira_data.polyglot.write.guarded import apply_if_newer
from mystira_data.polyglot.write.repository import PolyglotRepository
from mystira_data.query import Query
from mystira_data.settings import Phase

Pair = tuple[SqliteDocumentStore, SqliteDocumentStore]
START = "2026-01-01T00:00:00Z"


def processor(pair: Pair, leases: MemoryLeaseStore | None = None, **kw: Any) -> Processor:
    doc, rel = pair
    return Processor(
        "GameSessions",
        doc,
        lambda c, d: apply_if_newer(rel, c, d),
        leases or MemoryLeaseStore(),
        MemoryDeadLetters(),
        **kw,
    )


async def everything(store: SqliteDocumentStore) -> dict[str, Any]:
    q = Query(cross_partition=True, include_deleted=True, page_size=1000)
    return {
        d["id"]: (d["_version"], d.get("_deleted", False), d.get("status"))
        for d in (await store.query("GameSessions", q)).items
    }


async def test_replication_repairs_writes_the_secondary_missed(
    repo: PolyglotRepository, pair: Pair
) -> None:
    repo.control.store.phases["GameSessions"] = Phase.DUAL_WRITE_COSMOS_READ  # type: ignore[attr-defined]
    doc, rel = pair
    original, original_merge, original_read = rel.query, rel.put_if_newer, rel.read_stored

    async def down(*args: Any, **kwargs: Any) -> Any:
        raise StoreUnavailable("down")

    # Secondary copies go through the guarded batch write (no read first); reads fail too.
    rel.query = down  # type: ignore[method-assign]
    rel.put_if_newer = down  # type: ignore[method-assign]
    rel.read_stored = down  # type: ignore[method-assign]
    for n in range(30):
        await repo.create(
            "GameSessions",
            {"id": f"s{n}", "accountId": f"a{n % 3}", "startTime": START, "status": "InProgress"},
        )
    for n in range(0, 30, 3):
        await repo.delete("GameSessions", f"s{n}", f"a{n % 3}")
    assert repo.secondary.sync_log.failed == 40
    rel.query = original  # type: ignore[method-assign]
    rel.put_if_newer = original_merge  # type: ignore[method-assign]
    rel.read_stored = original_read  # type: ignore[method-assign]
    await processor(pair, batch_size=7).run_once()
    assert await everything(rel) == await everything(doc)
    assert len(await everything(rel)) == 30


async def test_poison_document_is_dead_lettered_after_five_attempts(pair: Pair) -> None:
    doc, _ = pair
    await doc.create("GameSessions", {"id": "ok1", "accountId": "a", "_version": 1})
    await doc.create("GameSessions", {"id": "bad", "accountId": "a", "_version": 1})
    await doc.create("GameSessions", {"id": "ok2", "accountId": "a", "_version": 1})
    applied: list[str] = []

    async def apply(container: str, d: dict[str, Any]) -> None:
        if d["id"] == "bad":
            raise InvalidDocument("cannot map", path="startTime")
        applied.append(d["id"])

    dead = MemoryDeadLetters()
    p = Processor("GameSessions", doc, apply, MemoryLeaseStore(), dead)
    for _ in range(5):
        await p.run_once()
    assert [d.entity_id for d in dead.letters] == ["bad"]
    assert dead.letters[0].attempts == 5
    assert "ok2" in applied
    before = len(applied)
    await p.run_once()
    assert len(applied) == before  # checkpoint moved past the batch: nothing redelivered


async def test_checkpoint_resume_after_restart_sees_only_new_changes(pair: Pair) -> None:
    doc, rel = pair
    leases = MemoryLeaseStore()
    for n in range(5):
        await doc.create("GameSessions", {"id": f"s{n}", "accountId": "a", "_version": 1})
    assert await processor(pair, leases, owner="w1").run_once() == 5
    await doc.create("GameSessions", {"id": "late", "accountId": "a", "_version": 1})
    leases.rows = {
        k: v.__class__(v.container, v.feed_range, None, None, v.checkpoint)
        for k, v in leases.rows.items()
    }  # w1 died: its leases were released
    assert await processor(pair, leases, owner="w2").run_once() == 1
    assert await everything(rel) == await everything(doc)


versions = st.lists(
    st.tuples(st.sampled_from(["s1", "s2", "s3"]), st.integers(1, 6), st.booleans()),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(deliveries=versions, order=st.randoms(use_true_random=False))
def test_any_order_and_duplication_converges_to_newest(
    tmp_path_factory: Any, deliveries: list[tuple[str, int, bool]], order: Any
) -> None:
    async def scenario() -> None:
        path = tmp_path_factory.mktemp("conv")
        pks = catalog.partition_keys()
        async with (
            SqliteDocumentStore(path / "a.db", pks) as a,
            SqliteDocumentStore(path / "b.db", pks) as b,
        ):
            changes = [
                {"id": i, "accountId": "x", "_version": v, "_deleted": d, "status": f"{i}v{v}{d}"}
                for i, v, d in deliveries
            ]
            in_order = sorted(changes, key=lambda c: c["_version"])
            shuffled = changes + order.sample(changes, len(changes) // 2)
            order.shuffle(shuffled)
            for c in in_order:
                await apply_if_newer(a, "GameSessions", c)
            for c in shuffled:
                await apply_if_newer(b, "GameSessions", c)
            newest = {i: max(v for j, v, _ in deliveries if j == i) for i, _, _ in deliveries}
            got_a, got_b = await everything(a), await everything(b)
            assert {i: s[0] for i, s in got_b.items()} == newest
            assert got_a == got_b or _ties_only(deliveries)

    asyncio.run(scenario())


def _ties_only(deliveries: list[tuple[str, int, bool]]) -> bool:
    # Two different changes with the same (id, version) cannot both be right; the first
    # applied wins. Real writers never produce that (versions come from the primary).
    seen: dict[tuple[str, int], bool] = {}
    return any(seen.setdefault((i, v), d) != d for i, v, d in deliveries)


async def test_batches_apply_in_one_call_and_a_bad_change_is_isolated(pair: Pair) -> None:
    doc, _ = pair
    for n in range(6):
        await doc.create("GameSessions", {"id": f"s{n}", "accountId": "a", "_version": 1})
    await doc.create("GameSessions", {"id": "bad", "accountId": "a", "_version": 1})
    calls: list[int] = []
    applied: list[str] = []

    async def apply_many(container: str, docs: list[dict[str, Any]]) -> None:
        calls.append(len(docs))
        if any(d["id"] == "bad" for d in docs):
            raise InvalidDocument("cannot map", path="startTime")
        applied.extend(d["id"] for d in docs)

    async def apply(container: str, d: dict[str, Any]) -> None:
        await apply_many(container, [d])

    dead = MemoryDeadLetters()
    p = Processor("GameSessions", doc, apply, MemoryLeaseStore(), dead, apply_many=apply_many)
    for _ in range(5):
        await p.run_once()
    # Replays redeliver the good changes before "bad" (at least once); each arrives.
    assert set(applied) == {f"s{n}" for n in range(6)}
    assert [d.entity_id for d in dead.letters] == ["bad"]
    # The good changes of a range without "bad" went in whole batches (calls of size > 1).
    await doc.upsert("GameSessions", {"id": "s0", "accountId": "a", "_version": 2})
    await doc.upsert("GameSessions", {"id": "s1", "accountId": "a", "_version": 2})
    calls.clear()
    await p.run_once()
    assert calls == [2]  # one partition, one range: both changes in one call
    assert sorted(applied[-2:]) == ["s0", "s1"]


async def test_transient_batch_failure_is_not_replayed_change_by_change(pair: Pair) -> None:
    doc, _ = pair
    for n in range(3):
        await doc.create("GameSessions", {"id": f"s{n}", "accountId": "a", "_version": 1})
    singles: list[str] = []

    async def apply_many(container: str, docs: list[dict[str, Any]]) -> None:
        raise StoreUnavailable("down")

    async def apply(container: str, d: dict[str, Any]) -> None:
        singles.append(d["id"])

    leases = MemoryLeaseStore()
    p = Processor("GameSessions", doc, apply, leases, MemoryDeadLetters(), apply_many=apply_many)
    with pytest.raises(StoreUnavailable):
        await p.run_once()
    assert singles == []  # one partition → one range → one batch of 3, not replayed
    assert all(lease.checkpoint is None for lease in leases.rows.values())


async def test_leases_are_renewed_at_half_ttl_not_on_every_poll(pair: Pair) -> None:
    leases = MemoryLeaseStore()
    p = processor(pair, leases, lease_ttl=timedelta(hours=1))
    await p.run_once()
    tokens = {k: v.token for k, v in leases.rows.items()}
    for _ in range(3):
        await p.run_once()
    assert {k: v.token for k, v in leases.rows.items()} == tokens
    p._renew_at = 0.0  # half the TTL has gone by
    await p.run_once()
    assert all(leases.rows[k].token == t + 1 for k, t in tokens.items())


async def test_a_lease_taken_over_between_renewals_is_dropped(pair: Pair) -> None:
    doc, rel = pair
    leases = MemoryLeaseStore()
    w1 = processor(pair, leases, owner="w1", lease_ttl=timedelta(hours=1))
    await w1.run_once()
    for key, lease in leases.rows.items():  # w2 takes every range (as after expiry)
        leases.rows[key] = replace(lease, owner="w2", token=lease.token + 1)
    await doc.create("GameSessions", {"id": "late", "accountId": "a", "_version": 1})
    await w1.run_once()  # applies (harmless, version-guarded) but cannot checkpoint
    assert all(lease.checkpoint is None for lease in leases.rows.values())
    assert len(w1._owned) == len(leases.rows) - 1  # the range whose checkpoint was refused
    w2 = processor(pair, leases, owner="w2")
    w2.lease_ttl = timedelta(hours=1)
    assert await w2.run_once() == 1  # redelivered from the last checkpoint w2 can see
    assert await everything(rel) == await everything(doc)
