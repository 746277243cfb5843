"""Replication lag document store → PostgreSQL at a paced write rate (change feed processor).

    uv run python benchmarks/replication_lag.py [--rate 500] [--seconds 10] [--workers 1]

Setup: a fresh PostgreSQL database and SQLite document store; ``--accounts`` accounts in both
(the GameSessions foreign key). No inline secondary is involved: a writer writes game
sessions straight into the document store (the primary), ``_version`` set as the repository
would, so replication has to carry every change.

* Writer: a separate process (so the replicator's CPU does not disturb the pacing) with its
  own `SqliteDocumentStore` on the same file. Open-loop pacing: write k is started at
  ``t0 + k / rate`` (at most ``--inflight`` outstanding). A share ``--update-ratio`` of the
  writes updates a session written before (``_version`` + 1), the rest create new ones.
  Each write's acknowledgement time (``time.monotonic``, system-wide on Linux) is recorded.
* Replicator: in this process, ``--workers`` `Processor` instances (leases in PostgreSQL, as
  ``poly.processor`` builds them) over the document store's change feed, each in a tight
  ``run_once`` loop sleeping ``--idle-ms`` when nothing moved. Their applies are
  ``poly.apply_many_to_relational`` (a feed batch per transaction, as shipped) and the
  per-change fallback ``poly.apply_to_relational``, wrapped to record when each
  (id, _version) was committed in PostgreSQL. ``--per-change`` forces the fallback path.

Lag of a write = first commit in PostgreSQL of that id at that or a newer ``_version`` (the
feed delivers only the latest version of a document) − the write's acknowledgement. Prints
the achieved write rate, write latency, lag p50/p99/max. Goal: lag p99 ≤ 1 s at 500 writes/s,
≤ 250 ms from 2,000 writes/s up (issue #20).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import random
import time
from collections import defaultdict
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from _polybench import (
    Phase,
    Polyglot,
    accounts,
    environment,
    goal,
    percentile,
    polyglot,
    sessions,
    show,
    sqlite_store,
)

from mystira_data import catalog
from mystira_data.bootstrap import DOCUMENTS_FILE
from mystira_data.documents.sqlite import SqliteDocumentStore
from mystira_data.errors import MystiraError
from mystira_data.polyglot.replication.processor import Processor
from mystira_data.polyglot.state.dead_letters import RelationalDeadLetters
from mystira_data.polyglot.state.leases import RelationalLeaseStore
from mystira_data.types import JsonDoc

CONTAINER = "GameSessions"
Write = tuple[str, int, float, float]  # id, _version, started, acknowledged (monotonic)


# -- writer (child process) -----------------------------------------------------------------------


def planned_writes(args: argparse.Namespace) -> list[JsonDoc]:
    """The writes in order: creates of new sessions mixed with updates of earlier ones."""
    total = int(args.rate * args.seconds)
    rng = random.Random(11)
    fresh = sessions(total)
    latest: dict[str, JsonDoc] = {}
    ids: list[str] = []
    plan: list[JsonDoc] = []
    for i in range(total):
        if ids and rng.random() < args.update_ratio:
            doc = dict(latest[rng.choice(ids)])
            doc["_version"] += 1
            doc["sceneCount"] = int(doc.get("sceneCount") or 0) + 1
            doc["currentSceneId"] = f"scene-{doc['sceneCount']}"
        else:
            doc = next(fresh)
            doc["accountId"] = f"acc-{i % args.accounts}"
            doc["_version"] = 1
            ids.append(doc["id"])
        latest[doc["id"]] = doc
        plan.append(doc)
    return plan


def writer_main(data_dir: str, args: argparse.Namespace, conn: Connection) -> None:
    conn.send(asyncio.run(_writer(Path(data_dir), args, conn)))
    conn.close()


async def _writer(data_dir: Path, args: argparse.Namespace, conn: Connection) -> list[Write]:
    plan = planned_writes(args)
    done: list[Write] = []
    gate = asyncio.Semaphore(args.inflight)
    async with SqliteDocumentStore(data_dir / DOCUMENTS_FILE, catalog.partition_keys()) as store:
        conn.send("ready")
        t0 = conn.recv()  # the start time, from the parent (monotonic clock)

        async def one(doc: JsonDoc, before: asyncio.Task[None] | None) -> None:
            try:
                if before is not None:
                    await before  # a write of the same id must not overtake its predecessor
                start = time.monotonic()
                if doc["_version"] == 1:
                    await store.create(CONTAINER, doc)
                else:
                    await store.upsert(CONTAINER, doc)
                done.append((doc["id"], doc["_version"], start, time.monotonic()))
            finally:
                gate.release()

        last: dict[str, asyncio.Task[None]] = {}
        for k, doc in enumerate(plan):
            delay = t0 + k / args.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await gate.acquire()
            before = last.get(doc["id"])
            last[doc["id"]] = asyncio.create_task(one(doc, before))
        await asyncio.gather(*last.values())
    return done


# -- replicator (this process) --------------------------------------------------------------------


async def replicate(
    poly: Polyglot, args: argparse.Namespace, seen: dict[str, list[tuple[int, float]]],
    stop: asyncio.Event,
) -> list[Processor]:
    rel = poly.raw_relational

    def record(doc: JsonDoc, at: float) -> None:
        seen[doc["id"]].append((int(doc["_version"]), at))

    async def apply(container: str, doc: JsonDoc) -> Any:
        result = await poly.apply_to_relational(container, doc)
        record(doc, time.monotonic())
        return result

    async def apply_many(container: str, docs: list[JsonDoc]) -> Any:
        result = await poly.apply_many_to_relational(container, docs)
        now = time.monotonic()
        for doc in docs:
            record(doc, now)
        return result

    def processor(k: int) -> Processor:
        return Processor(
            CONTAINER, poly.stores.documents, apply, RelationalLeaseStore(rel),
            RelationalDeadLetters(rel, "change-feed"), owner=f"bench-{k}", batch_size=args.batch,
            apply_many=None if args.per_change else apply_many,
        )

    processors = [processor(k) for k in range(args.workers)]

    async def loop(p: Processor) -> None:
        while not stop.is_set():
            try:
                moved = await p.run_once()
            except MystiraError as exc:  # as run_forever does: pause, then go on
                print(f"replication paused: {exc}", flush=True)
                moved = 0
            if moved == 0:
                await asyncio.sleep(args.idle_ms / 1000)

    await asyncio.gather(*(loop(p) for p in processors))
    return processors


def lags(writes: list[Write], seen: dict[str, list[tuple[int, float]]]) -> tuple[list[float], int]:
    out, missing = [], 0
    for id, version, _, acked in writes:
        times = [t for v, t in seen.get(id, ()) if v >= version]
        if not times:
            missing += 1
        else:
            out.append(max(0.0, min(times) - acked))
    return out, missing


async def measure(args: argparse.Namespace) -> None:
    with environment("bench_replag_") as (url, data_dir):
        async with polyglot(url, data_dir, Phase.DUAL_WRITE_COSMOS_READ) as poly:
            accs = accounts(args.accounts)
            for acc in accs:
                await sqlite_store(poly).create("Accounts", acc)
            await poly.raw_relational.bulk_upsert_if_newer("Accounts", accs, outbox=False)

            ctx = mp.get_context("spawn")
            parent, child = ctx.Pipe()
            writer = ctx.Process(target=writer_main, args=(str(data_dir), args, child))
            writer.start()
            if parent.recv() != "ready":
                raise RuntimeError("writer did not start")

            seen: dict[str, list[tuple[int, float]]] = defaultdict(list)
            stop = asyncio.Event()
            replicator = asyncio.create_task(replicate(poly, args, seen, stop))
            await asyncio.sleep(1.0)  # leases claimed, loop idling
            parent.send(time.monotonic() + 0.2)
            loop = asyncio.get_running_loop()
            writes: list[Write] = await loop.run_in_executor(None, parent.recv)
            writer.join()
            wrote_until = max(w[3] for w in writes)
            for _ in range(int(args.settle * 10)):  # until every write arrived, or give up
                if not lags(writes, seen)[1]:
                    break
                await asyncio.sleep(0.1)
            caught_up = time.monotonic() - wrote_until
            stop.set()
            processors = await replicator

    report(args, writes, seen, processors, caught_up)


def report(
    args: argparse.Namespace, writes: list[Write], seen: dict[str, list[tuple[int, float]]],
    processors: list[Processor], caught_up: float,
) -> None:
    lag, missing = lags(writes, seen)
    first, last = min(w[2] for w in writes), max(w[3] for w in writes)
    rate = len(writes) / (last - first)
    latency = [w[3] - w[2] for w in writes]
    applied = sum(p.stats.applied for p in processors)
    batches = sum(p.stats.batches for p in processors)
    dead = sum(p.stats.dead_lettered for p in processors)
    show(
        f"replication document → PostgreSQL, {CONTAINER}, target {args.rate}/s for "
        f"{args.seconds}s, {args.workers} worker(s), update ratio {args.update_ratio}"
        f"{', per-change apply' if args.per_change else ''}",
        ("writes", "achieved /s", "write p50 ms", "write p99 ms", "lag p50 ms", "lag p99 ms",
         "lag max ms", "not replicated", "applied", "batches", "dead letters"),
        [(len(writes), f"{rate:.0f}", f"{percentile(latency, 50) * 1e3:.1f}",
          f"{percentile(latency, 99) * 1e3:.1f}", f"{percentile(lag, 50) * 1e3:.0f}",
          f"{percentile(lag, 99) * 1e3:.0f}", f"{max(lag, default=0) * 1e3:.0f}", missing,
          applied, batches, dead)],
    )
    print(f"last write → replication caught up: {caught_up:.2f}s")
    p99 = percentile(lag, 99)
    bound = 0.25 if args.rate >= 2000 else 1.0  # issue #20's goal at 2,000/s; 1 s before
    goal(f"lag p99 {p99:.3f}s ≤ {bound:g} s at {rate:.0f} writes/s achieved "
         f"(target {args.rate}/s)",
         p99 <= bound and missing == 0 and rate >= 0.95 * args.rate)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=500.0, help="target writes per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=1, help="processors sharing the ranges")
    parser.add_argument("--batch", type=int, default=200, help="change-feed batch size")
    parser.add_argument("--update-ratio", type=float, default=0.5)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--inflight", type=int, default=16, help="writer's outstanding writes")
    parser.add_argument("--idle-ms", type=float, default=5.0)
    parser.add_argument("--per-change", action="store_true",
                        help="apply change by change (the fallback path) instead of per batch")
    parser.add_argument("--settle", type=float, default=60.0,
                        help="seconds to wait for replication after the last write")
    args = parser.parse_args()
    asyncio.run(measure(args))


if __name__ == "__main__":
    main()
