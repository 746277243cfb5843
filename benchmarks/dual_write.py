"""Write latency of the polyglot repository in each phase, against the single-store phases.

    uv run python benchmarks/dual_write.py [--updates 2000] [--rounds 1]

Every phase runs the same workload on fresh stores (a new PostgreSQL database and a new
SQLite document store, the phase set by ``PolyglotPersistence:Phase`` in the settings):
``--accounts`` accounts and ``--updates`` game sessions are put into both stores at
``_version`` 1 (document ``create`` and the relational bulk path), then ``--warmup`` untimed
updates, then ``--updates`` sequential ``repository.replace`` calls (one per session, bodies
prepared beforehand), each timed alone — back to back by default (the process saturated:
the async queue's work competes with the callers for the one event loop), or with
``--pace-ms`` of idle time between writes (a server below saturation). Phases:

  CosmosOnly                     document store only (the single store of the Cosmos side)
  DualWriteCosmosRead inline     + relational secondary inline
  DualWriteCosmosRead async      + relational secondary through the background queue
  DualWritePostgresRead inline   relational primary + document secondary inline
  PostgresOnly                   relational store only (the single store of the Postgres side)

With ``--rounds`` > 1 the phases are interleaved round by round and samples pooled, so slow
spells of this noisy machine hit every phase alike. Prints p50/p99/mean per phase and the
ratios to the single-store phase of the same primary (CosmosOnly / PostgresOnly). Goals:
async ≤ 1.10 × single; inline ≤ single + secondary, where "secondary" is that store's own
single-store latency (PostgresOnly for the Cosmos-primary phase, CosmosOnly for the other).
The async phase's queue drain after the timed loop is reported separately (not in latency).

``--isolate`` keeps this process on CPU 0 and PostgreSQL plus the async writer process on the
other cores (see `_isolate`): the deployment's shape, where the stores have their own hosts.
Without it, on a 2-core machine the servers' work for the secondary competes with the callers
for the cores, which shows in the async phase's p99 though the callers' own CPU per write is
unchanged (``cpu µs/write`` column: this process's CPU time over the timed loop).
``--in-loop`` runs the async phase without the writer process (``AsyncWriterProcess`` false):
the queue's batches are then applied on this process's event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from _isolate import isolated, pin_away
from _polybench import (
    Phase,
    Polyglot,
    accounts,
    environment,
    goal,
    load_documents,
    percentile,
    polyglot,
    sessions,
    show,
    sqlite_store,
)


@dataclass(frozen=True)
class Spec:
    label: str
    phase: Phase
    mode: str = "inline"


SPECS = (
    Spec("CosmosOnly", Phase.COSMOS_ONLY),
    Spec("DualWriteCosmosRead inline", Phase.DUAL_WRITE_COSMOS_READ),
    Spec("DualWriteCosmosRead async", Phase.DUAL_WRITE_COSMOS_READ, "async"),
    Spec("DualWritePostgresRead inline", Phase.DUAL_WRITE_POSTGRES_READ),
    Spec("PostgresOnly", Phase.POSTGRES_ONLY),
)


@dataclass
class Samples:
    latencies: list[float] = field(default_factory=list)  # seconds
    drain_s: float = 0.0
    sync_failures: int = 0
    cpu_s: float = 0.0  # this process's CPU time over the timed loops

    def p(self, q: float) -> float:
        return percentile(self.latencies, q)


def workload(n_sessions: int, n_accounts: int) -> list[dict[str, Any]]:
    docs = []
    for i, doc in enumerate(sessions(n_sessions)):
        doc["accountId"] = f"acc-{i % n_accounts}"
        docs.append(doc)
    return docs


def updated(doc: dict[str, Any], k: int) -> dict[str, Any]:
    body = {key: v for key, v in doc.items() if not key.startswith("_")}
    body["currentSceneId"] = f"scene-{k % 40}"
    body["sceneCount"] = int(body.get("sceneCount") or 0) + 1
    body["status"] = "InProgress"
    return body


async def seed(poly: Polyglot, n_accounts: int, docs: list[dict[str, Any]]) -> None:
    """Both stores get the accounts and sessions at _version 1 (bulk path / create)."""
    store = sqlite_store(poly)
    for container, items in (("Accounts", accounts(n_accounts)), ("GameSessions", docs)):
        await load_documents(store, container, items)
        await poly.raw_relational.bulk_upsert_if_newer(container, items, outbox=False)


async def run_phase(spec: Spec, args: argparse.Namespace, into: Samples) -> None:
    with environment("bench_dualwrite_") as (url, data_dir):
        extra = {"AsyncWriterProcess": False} if args.in_loop else {}
        async with polyglot(
            url, data_dir, spec.phase, SecondaryWriteMode=spec.mode, **extra
        ) as poly:
            repo = poly.repository
            docs = workload(args.updates, args.accounts)
            await seed(poly, args.accounts, docs)
            for i in range(args.warmup):
                await repo.replace("GameSessions", updated(docs[i % len(docs)], -1))
            if await poly.router.secondary.warm_up():  # a long-running server's steady state
                pid = getattr(poly.router.secondary.offload, "pid", None)
                if args.isolate and pid is not None:
                    pin_away(pid)
            await poly.router.secondary.drain()
            bodies = [updated(d, k) for k, d in enumerate(docs)]
            failed_before = poly.router.secondary.sync_log.failed
            gc.collect()
            gc.freeze()
            cpu = time.process_time()
            try:
                for body in bodies:
                    start = time.perf_counter()
                    await repo.replace("GameSessions", body)
                    into.latencies.append(time.perf_counter() - start)
                    if args.pace_ms:
                        await asyncio.sleep(args.pace_ms / 1000)
                into.cpu_s += time.process_time() - cpu
                start = time.perf_counter()
                await poly.router.secondary.drain()
                into.drain_s += time.perf_counter() - start
            finally:
                gc.unfreeze()
            into.sync_failures += poly.router.secondary.sync_log.failed - failed_before


ISOLATED = ", stores isolated from the callers' core"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def report(results: dict[str, Samples], args: argparse.Namespace) -> None:
    co, po = results["CosmosOnly"], results["PostgresOnly"]
    rows = []
    for spec in SPECS:
        s = results[spec.label]
        if not s.latencies:
            continue
        single = co if spec.phase in (Phase.COSMOS_ONLY, Phase.DUAL_WRITE_COSMOS_READ) else po

        def ratio(q: float, s: Samples = s, single: Samples = single) -> str:
            return f"{s.p(q) / single.p(q):.2f}" if single.latencies else "-"

        rows.append((
            spec.label, len(s.latencies), ms(s.p(50)), ms(s.p(99)),
            ms(statistics.fmean(s.latencies)), ratio(50), ratio(99),
            f"{s.cpu_s / len(s.latencies) * 1e6:.0f}",
            f"{s.drain_s:.2f}" if spec.mode == "async" else "-", s.sync_failures,
        ))
    show(
        f"repository.replace latency, GameSessions, {args.updates} updates × {args.rounds} "
        f"round(s) per phase, {args.pace_ms} ms between writes"
        f"{ISOLATED if args.isolate else ''} "
        "(ms; ratio ÷ single store of the same primary)",
        ("phase", "n", "p50", "p99", "mean", "p50 ratio", "p99 ratio", "cpu µs/write", "drain s",
         "sync fails"),
        rows,
    )
    if any(not s.latencies for s in results.values()):
        print("goals need every phase: run without --phases")
        return
    a = results["DualWriteCosmosRead async"]
    for q in (50, 99):
        r = a.p(q) / co.p(q)
        goal(f"async p{q} {ms(a.p(q))} ms ≤ 1.10 × CosmosOnly {ms(co.p(q))} ms (ratio {r:.2f})",
             r <= 1.10)
    for label, single, other in (
        ("DualWriteCosmosRead inline", co, po),
        ("DualWritePostgresRead inline", po, co),
    ):
        s = results[label]
        for q in (50, 99):
            bound = single.p(q) + other.p(q)
            goal(f"{label} p{q} {ms(s.p(q))} ms ≤ single {ms(single.p(q))} + secondary "
                 f"{ms(other.p(q))} = {ms(bound)} ms (ratio to single {s.p(q) / single.p(q):.2f})",
                 s.p(q) <= bound)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=2000, help="timed updates per phase")
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--pace-ms", type=float, default=0.0,
                        help="idle time between writes (0: back to back, the saturated case)")
    parser.add_argument("--phases", default="",
                        help="comma-separated labels to run (default all; the goals need all)")
    parser.add_argument("--isolate", action="store_true",
                        help="this process on CPU 0, PostgreSQL and the writer process elsewhere")
    parser.add_argument("--in-loop", action="store_true",
                        help="async mode without the writer process (AsyncWriterProcess false)")
    args = parser.parse_args()
    results = {spec.label: Samples() for spec in SPECS}
    chosen = [s for s in SPECS if not args.phases or s.label in args.phases.split(",")]
    with isolated(args.isolate):
        await run_rounds(chosen, args, results)
    report(results, args)


async def run_rounds(
    chosen: list[Spec], args: argparse.Namespace, results: dict[str, Samples]
) -> None:
    for r in range(args.rounds):
        for spec in chosen if r % 2 == 0 else reversed(chosen):
            started = time.perf_counter()
            await run_phase(spec, args, results[spec.label])
            print(f"round {r + 1}: {spec.label} done in {time.perf_counter() - started:.1f}s",
                  flush=True)


if __name__ == "__main__":
    asyncio.run(main())
