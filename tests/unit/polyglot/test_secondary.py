"""The async secondary queue: batches what queued up, isolates bad writes, loses nothing."""

from __future__ import annotations

import asyncio
from typing import Any

from mystira_data.errors import InvalidDocument, StoreUnavailable
from mystira_data.polyglot.write.secondary import SecondaryWriter, Settled, SyncLog

Doc = dict[str, Any]


class Target:
    """A secondary that records single and batch applies; ``bad`` ids fail validation."""

    def __init__(self, batch_error: Exception | None = None) -> None:
        self.batches: list[list[str]] = []
        self.singles: list[str] = []
        self.batch_error = batch_error

    async def one(self, container: str, doc: Doc) -> None:
        if doc["id"].startswith("bad"):
            raise InvalidDocument("cannot map", path="startTime")
        self.singles.append(doc["id"])

    async def many(self, container: str, docs: list[Doc]) -> None:
        if self.batch_error is not None:
            raise self.batch_error
        if any(d["id"].startswith("bad") for d in docs):
            raise InvalidDocument("cannot map", path="startTime")
        self.batches.append([d["id"] for d in docs])


async def enqueue(writer: SecondaryWriter, target: Target, ids: list[str], container: str) -> None:
    for id in ids:
        await writer.write(
            target.one, container, {"id": id, "_version": 1}, "relational", target.many
        )


async def test_writes_queued_together_go_in_one_batch_per_container() -> None:
    log, target = SyncLog(), Target()
    writer = SecondaryWriter(timeout_s=5, mode="async", sync_log=log)
    # Queued without yielding to the loop: the worker finds them all waiting.
    await enqueue(writer, target, ["a1", "a2", "a3"], "Accounts")
    await enqueue(writer, target, ["s1", "s2"], "GameSessions")
    await writer.close()
    assert target.batches == [["a1", "a2", "a3"], ["s1", "s2"]]
    assert target.singles == []
    assert (log.applied, log.failed) == (5, 0)


async def test_a_bad_write_is_isolated_and_its_neighbours_still_land() -> None:
    log, target = SyncLog(), Target()
    writer = SecondaryWriter(timeout_s=5, mode="async", sync_log=log)
    await enqueue(writer, target, ["s1", "bad", "s2"], "GameSessions")
    await writer.close()
    assert target.singles == ["s1", "s2"]
    assert [f.entity_id for f in log.failures] == ["bad"]
    assert (log.applied, log.failed) == (2, 1)


async def test_a_secondary_that_is_down_records_every_write_for_replication() -> None:
    log, target = SyncLog(), Target(batch_error=StoreUnavailable("down"))
    writer = SecondaryWriter(timeout_s=5, mode="async", sync_log=log)
    await enqueue(writer, target, ["s1", "s2", "s3"], "GameSessions")
    await writer.close()
    assert target.singles == []  # no write-by-write retry against a store that is down
    assert sorted(f.entity_id for f in log.failures) == ["s1", "s2", "s3"]


async def test_writes_arriving_while_a_batch_is_in_flight_form_the_next_batch() -> None:
    log, target = SyncLog(), Target()
    release = asyncio.Event()
    many = target.many

    async def slow_many(container: str, docs: list[Doc]) -> None:
        await release.wait()
        await many(container, docs)

    target.many = slow_many  # type: ignore[method-assign]
    writer = SecondaryWriter(timeout_s=5, mode="async", sync_log=log, linger_s=0)
    await enqueue(writer, target, ["s1", "s2"], "GameSessions")
    await asyncio.sleep(0)  # the worker takes s1 and s2, and waits on the slow secondary
    await enqueue(writer, target, ["s3", "s4", "s5"], "GameSessions")
    release.set()
    await writer.close()
    assert target.batches == [["s1", "s2"], ["s3", "s4", "s5"]]


async def test_the_worker_lingers_so_writes_arriving_one_by_one_still_batch() -> None:
    log, target = SyncLog(), Target()
    # A linger far longer than the loop below takes.
    writer = SecondaryWriter(timeout_s=5, mode="async", sync_log=log, linger_s=0.5)
    for id in ("s1", "s2", "s3"):
        await enqueue(writer, target, [id], "GameSessions")
        await asyncio.sleep(0)  # the worker runs between writes
    await writer.close()
    assert target.batches == [["s1", "s2", "s3"]]


class FakeOffload:
    """An offload that holds what it is sent until the test settles it."""

    def __init__(self, *, ready: bool = True) -> None:
        self.ready = ready
        self.sent: list[tuple[Doc, Settled]] = []

    @property
    def pending(self) -> int:
        return len(self.sent)

    def usable(self) -> bool:
        return self.ready

    def send(self, target: str, container: str, doc: Doc, settled: Settled) -> None:
        self.sent.append((dict(doc), settled))

    def settle(self, errors: dict[str, str] | None = None, *, lost: bool = False) -> None:
        sent, self.sent = self.sent, []
        for doc, settled in sent:
            settled((errors or {}).get(doc["id"]), doc if lost else None)

    async def idle(self) -> None:
        assert not self.sent, "drain would wait for these forever"

    async def wait_ready(self, timeout_s: float) -> bool:
        return self.ready

    async def close(self) -> None:
        pass


def offloaded(offload: FakeOffload, log: SyncLog, **kw: Any) -> SecondaryWriter:
    return SecondaryWriter(timeout_s=5, mode="async", sync_log=log, offload=offload, **kw)


async def test_writes_go_to_a_usable_offload_and_count_when_it_acknowledges() -> None:
    log, target, offload = SyncLog(), Target(), FakeOffload()
    writer = offloaded(offload, log)
    await enqueue(writer, target, ["s1", "s2", "s3"], "GameSessions")
    assert [doc["id"] for doc, _ in offload.sent] == ["s1", "s2", "s3"]
    assert (log.applied, log.failed) == (0, 0)  # nothing settled before the acknowledgement
    offload.settle({"s2": "InvalidDocument: cannot map"})
    await writer.close()
    assert target.batches == target.singles == []  # nothing applied in this process
    assert (log.applied, [f.entity_id for f in log.failures]) == (2, ["s2"])


async def test_writes_the_offload_lost_are_applied_in_process() -> None:
    log, target, offload = SyncLog(), Target(), FakeOffload()
    writer = offloaded(offload, log)
    await enqueue(writer, target, ["s1", "s2"], "GameSessions")
    offload.settle(lost=True)
    await writer.close()
    assert target.batches == [["s1", "s2"]]
    assert (log.applied, log.failed) == (2, 0)


async def test_an_offload_not_ready_leaves_the_queue_in_process() -> None:
    log, target, offload = SyncLog(), Target(), FakeOffload(ready=False)
    writer = offloaded(offload, log)
    await enqueue(writer, target, ["s1", "s2"], "GameSessions")
    await writer.close()
    assert (offload.sent, target.batches) == ([], [["s1", "s2"]])


async def test_unsettled_writes_are_bounded_by_the_queue_size() -> None:
    log, target, offload = SyncLog(), Target(), FakeOffload()
    writer = offloaded(offload, log, queue_size=2)
    await enqueue(writer, target, ["s1", "s2", "s3"], "GameSessions")
    assert [f.entity_id for f in log.failures] == ["s3"]
    assert log.failures[0].error == "secondary queue full"
    offload.settle()
    await writer.close()
    assert (log.applied, log.failed) == (2, 1)


async def test_the_queue_applies_a_document_as_written_not_as_the_caller_later_changes_it() -> None:
    seen: list[Doc] = []

    async def one(container: str, doc: Doc) -> None:
        seen.append(dict(doc))

    writer = SecondaryWriter(timeout_s=5, mode="async", sync_log=SyncLog())
    doc = {"id": "s1", "_version": 1, "status": "InProgress"}
    await writer.write(one, "GameSessions", doc, "relational")
    doc["status"] = "Changed"  # the repository hands the stored document back to its caller
    await writer.close()
    assert seen == [{"id": "s1", "_version": 1, "status": "InProgress"}]
