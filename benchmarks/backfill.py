"""Backfill document store → PostgreSQL against a raw COPY of the same rows.

    uv run python benchmarks/backfill.py [--docs 20000] [--batch 1000] [--fast-load]

On a fresh PostgreSQL database and SQLite document store:

1. load (timed, excluded): 2000 accounts and ``--docs`` generated valid game sessions
   (`relational_bulk.game_sessions`) into the SQLite store — one public ``create`` each, or
   with ``--fast-load`` the store's own row writer in batched transactions (private API).
   Default 20k; ``--docs 100000`` (the issue's size) takes about 40 s here;
2. Accounts backfill (timed, printed; needed first for the foreign key);
3. source read: stream the sessions from the document store exactly as backfill pages them
   (ordered by id, ``--batch`` per page), without writing — the part of backfill that raw
   COPY does not pay;
4. raw COPY: the sessions, mapped to rows beforehand, COPY'd into the empty ``game_sessions``
   (as in relational_bulk.py: nothing validated, nothing merged, no source read);
5. TRUNCATE, CHECKPOINT, then `backfill(poly, "GameSessions", Side.RELATIONAL)`: read pages,
   validate, COPY + version-guarded merge, checkpoint per page.

Prints docs/s of each and the ratio backfill ÷ raw COPY (goal ≥ 0.75, issue #20), plus the
ratio with the source-read time taken out, for information.

With ``--workers 1,2`` the sessions are then backfilled again (TRUNCATE first) as a shared run
(`polyglot/runs`) by that many spawned worker processes each, 4 segments per worker: docs/s
per worker count, ÷ raw COPY and ÷ one worker. On a 2-core machine PostgreSQL, the document
store's SQLite file and the workers share both cores, so 2 workers cannot double the rate.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from _polybench import (
    ACCOUNTS,
    Phase,
    Polyglot,
    accounts,
    environment,
    goal,
    load_documents,
    polyglot,
    sessions,
    show,
    sqlite_store,
)
from _runs import run_workers, worker_counts

from mystira_data.polyglot.consistency.backfill import backfill
from mystira_data.polyglot.phase.rules import Side
from mystira_data.polyglot.runs.record import RunKind
from mystira_data.query import Order, Query
from mystira_data.relational import bulk
from mystira_data.relational.mapping import mapping_for

GOAL = 0.75  # backfill ÷ raw COPY, one process (issue #20; was 0.5)

CONTAINER = "GameSessions"


async def empty_sessions(poly: Polyglot) -> None:
    async with poly.raw_relational.transaction() as conn:
        await conn.execute(sa.text("TRUNCATE game_sessions CASCADE"))
        await conn.execute(sa.text("CHECKPOINT"))


async def source_read(poly: Polyglot, batch: int) -> tuple[int, float]:
    query = Query(order_by=(Order("id"),), cross_partition=True, include_deleted=True,
                  page_size=batch)
    token: str | None = None
    n, start = 0, time.perf_counter()
    while True:
        page = await poly.documents.query(CONTAINER, query, continuation=token)
        n += len(page.items)
        token = page.continuation
        if token is None:
            return n, time.perf_counter() - start


async def raw_copy(poly: Polyglot, n: int) -> float:
    m = mapping_for(CONTAINER)
    now = datetime.now(UTC)
    records = bulk.copy_shape(m.table).records(
        m.prepare(doc).row | {"_updated_at": now} for doc in sessions(n)
    )
    await empty_sessions(poly)
    gc.collect()
    start = time.perf_counter()
    async with poly.raw_relational.transaction() as conn:
        await bulk.copy_records(conn, m.table.name, [c.name for c in m.table.c], records)
    return time.perf_counter() - start


async def measure(args: argparse.Namespace) -> None:
    with environment("bench_backfill_") as (url, data_dir):
        copy_rate = await _single(args, url, data_dir)
        if args.workers:
            await _shared(args, url, data_dir, copy_rate)


async def _shared(args: argparse.Namespace, url: str, data_dir: Path, copy_rate: float) -> None:
    rows: list[tuple[str, ...]] = []
    one: float | None = None
    for n in worker_counts(args.workers):
        async with polyglot(url, data_dir, Phase.DUAL_WRITE_COSMOS_READ) as poly:
            await empty_sessions(poly)
        seconds, run = await asyncio.to_thread(
            run_workers, url, data_dir, Phase.DUAL_WRITE_COSMOS_READ, RunKind.BACKFILL,
            CONTAINER, n, args.batch,
        )
        assert run.report is not None
        rate = run.report["read"] / seconds
        one = one or rate
        rows.append((str(n), str(run.report["read"]), f"{seconds:.2f}", f"{rate:,.0f}",
                     f"{rate / copy_rate:.2f}", f"{rate / one:.2f}"))
    show(f"backfill {CONTAINER} as a shared run, {args.docs} documents, page {args.batch}",
         ("workers", "docs", "seconds", "docs/s", "÷ raw COPY", "÷ 1 worker"), rows)


async def _single(args: argparse.Namespace, url: str, data_dir: Path) -> float:
    async with polyglot(url, data_dir, Phase.DUAL_WRITE_COSMOS_READ) as poly:
        store = sqlite_store(poly)
        start = time.perf_counter()
        await load_documents(store, "Accounts", accounts(), fast=args.fast_load)
        loaded = await load_documents(store, CONTAINER, sessions(args.docs),
                                      fast=args.fast_load)
        load_s = time.perf_counter() - start
        print(f"loaded {ACCOUNTS} accounts + {loaded} sessions into the document store "
              f"in {load_s:.1f}s ({'fast batched put' if args.fast_load else 'create'})",
              flush=True)

        start = time.perf_counter()
        acc = await backfill(poly, "Accounts", Side.RELATIONAL, batch_size=args.batch,
                             restart=True)
        acc_s = time.perf_counter() - start

        read_n, read_s = await source_read(poly, args.batch)
        copy_s = await raw_copy(poly, args.docs)
        await empty_sessions(poly)
        gc.collect()
        start = time.perf_counter()
        rep = await backfill(poly, CONTAINER, Side.RELATIONAL, batch_size=args.batch,
                             restart=True)
        fill_s = time.perf_counter() - start
        async with poly.raw_relational.reading() as conn:
            rows = (await conn.execute(sa.text("SELECT count(*) FROM game_sessions"))).scalar()

    n = args.docs
    copy_rate, fill_rate = n / copy_s, rep.read / fill_s
    show(
        f"backfill {CONTAINER} document store → PostgreSQL, {n} documents, page {args.batch}",
        ("step", "docs", "seconds", "docs/s", "÷ raw COPY"),
        [
            ("load into document store (excluded)", loaded, f"{load_s:.1f}",
             f"{loaded / load_s:,.0f}", "-"),
            ("Accounts backfill (FK parent)", acc.written, f"{acc_s:.2f}",
             f"{acc.read / acc_s:,.0f}", "-"),
            ("source read only (in backfill)", read_n, f"{read_s:.2f}",
             f"{read_n / read_s:,.0f}", f"{(read_n / read_s) / copy_rate:.2f}"),
            ("raw COPY (rows mapped beforehand)", n, f"{copy_s:.2f}", f"{copy_rate:,.0f}",
             "1.00"),
            ("backfill", rep.written, f"{fill_s:.2f}", f"{fill_rate:,.0f}",
             f"{fill_rate / copy_rate:.2f}"),
            ("backfill minus source read (est.)", rep.written, f"{fill_s - read_s:.2f}",
             f"{rep.read / (fill_s - read_s):,.0f}",
             f"{rep.read / (fill_s - read_s) / copy_rate:.2f}"),
        ],
    )
    print(f"rows in game_sessions after backfill: {rows}; quarantined: {len(rep.quarantined)}")
    goal(f"backfill {fill_rate:,.0f} docs/s ÷ raw COPY {copy_rate:,.0f} rows/s = "
         f"{fill_rate / copy_rate:.2f} ≥ {GOAL}", fill_rate / copy_rate >= GOAL)
    return copy_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1000, help="backfill page (≤ 1000)")
    parser.add_argument("--fast-load", action="store_true",
                        help="load the document store in batched transactions (private API)")
    parser.add_argument("--workers", default="",
                        help="also as a shared run with these worker counts, e.g. 1,2")
    args = parser.parse_args()
    asyncio.run(measure(args))


if __name__ == "__main__":
    main()
