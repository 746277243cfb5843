"""Verify of a container against merely streaming both stores, and verify's peak memory.

    uv run python benchmarks/verify.py [--docs 20000] [--fast-load] [--rounds 1]
    uv run python benchmarks/verify.py --docs 1000000 --fast-load     # the full-size goal

Load (timed, excluded): ``--docs`` generated game sessions (`relational_bulk.game_sessions`)
into PostgreSQL through `RelationalStore.bulk_upsert_if_newer` (after their 2000 accounts)
and the same documents into the SQLite document store — by default one public ``create`` per
document (~1k/s on this machine, hence the default of 20k instead of 200k), with
``--fast-load`` the store's own row writer in batched transactions (private API, for big runs).

Then, each in a fresh spawned process (so ``ru_maxrss`` is that step's own peak):

* stream: page through both stores ordered by id (`verify.stream_by_id`, the pages verify
  reads, through the same resilient store wrappers, one page at a time) without comparing —
  document store, then PostgreSQL;
* verify: `poly.verify("GameSessions", shortcut=False)` — both sides streamed (next page
  prefetched) and merge-joined, each pair compared as stored, the codec only on mismatch;
* verify + shortcut: `poly.verify("GameSessions")` — segment checksums (`segments`): the
  document side streamed and rendered as rows in Python, one checksum query per segment of
  10k ids in PostgreSQL, row-by-row compare only where they differ.

Phase DualWriteCosmosRead (document store primary); each verify's result is recorded in
PostgreSQL. With ``--rounds`` > 1 each step is repeated and the fastest kept. Prints the
times, the ratios to streaming (goal ≤ 1.5), the shortcut's speed-up, its segment counts
(all clean on this data, or the Python and SQL renderings disagree) and the peak RSS of each
process (goal: verify ≤ 300 MB; the RSS right after opening the stores is shown as the
floor). With ``--workers 1,2`` the container is then verified as a shared run
(`polyglot/runs`: a checksum query per page of 1000) by that many spawned worker processes
each: docs/s per worker count and ÷ stream (the 2-core machine is shared by PostgreSQL, the
document store's SQLite file and the workers). The goal uses VmHWM from /proc:
``ru_maxrss`` survives fork+exec on Linux, so a spawned child starts with its parent's peak
(the load runs in its own child to keep the parent small; both shown).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import resource
import time
from pathlib import Path
from typing import Any

from _polybench import (
    ACCOUNTS,
    Phase,
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

from mystira_data.polyglot.consistency.streams import stream_by_id
from mystira_data.polyglot.runs.record import RunKind

CONTAINER = "GameSessions"
PHASE = Phase.DUAL_WRITE_COSMOS_READ


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def hwm_mb() -> float:
    """VmHWM: peak RSS of this process image (reset by exec, unlike ru_maxrss)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(mode: str, url: str, data_dir: str, args: argparse.Namespace) -> dict[str, Any]:
    if mode == "load":
        return asyncio.run(load(url, Path(data_dir), args))
    return asyncio.run(_child(mode, url, Path(data_dir)))


async def _child(mode: str, url: str, data_dir: Path) -> dict[str, Any]:
    async with polyglot(url, data_dir, PHASE) as poly:
        floor = hwm_mb()
        start = time.perf_counter()
        out: dict[str, Any] = {}
        if mode == "stream":
            for side, store in (("documents", poly.documents), ("relational", poly.relational)):
                t, n = time.perf_counter(), 0
                async for _ in stream_by_id(store, CONTAINER):
                    n += 1
                out[side] = (n, time.perf_counter() - t)
        else:
            report = await poly.verify(CONTAINER, shortcut=mode == "shortcut")
            out.update(
                scanned=report.scanned,
                clean=report.clean,
                shortcut=report.shortcut,
                **report.counts(),
            )
        out.update(
            seconds=time.perf_counter() - start, rss=hwm_mb(), maxrss=maxrss_mb(), floor=floor
        )
        return out


def in_process(mode: str, url: str, data_dir: Path, args: argparse.Namespace) -> Any:
    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(child, (mode, url, str(data_dir), args))


async def load(url: str, data_dir: Path, args: argparse.Namespace) -> tuple[float, float]:
    async with polyglot(url, data_dir, PHASE) as poly:
        start = time.perf_counter()
        await poly.raw_relational.bulk_upsert_if_newer("Accounts", accounts(), outbox=False)
        n = await poly.raw_relational.bulk_upsert_if_newer(
            CONTAINER, sessions(args.docs), outbox=False
        )
        rel_s = time.perf_counter() - start
        assert n == args.docs, (n, args.docs)
        start = time.perf_counter()
        await load_documents(
            sqlite_store(poly), CONTAINER, sessions(args.docs), fast=args.fast_load
        )
        return rel_s, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument(
        "--fast-load",
        action="store_true",
        help="load the document store in batched transactions (private API)",
    )
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--workers", default="", help="also as a shared run with these worker counts, e.g. 1,2"
    )
    args = parser.parse_args()
    runs: dict[str, list[dict[str, Any]]] = {"stream": [], "verify": [], "shortcut": []}
    with environment("bench_verify_") as (url, data_dir):
        rel_s, doc_s = in_process("load", url, data_dir, args)  # keeps this process small
        how = "fast batched put" if args.fast_load else "create"
        print(
            f"loaded {args.docs} sessions (+{ACCOUNTS} accounts): PostgreSQL bulk path "
            f"{rel_s:.1f}s, document store ({how}) {doc_s:.1f}s",
            flush=True,
        )
        for _ in range(args.rounds):
            for mode, results in runs.items():
                results.append(in_process(mode, url, data_dir, args))
                print(f"  {mode}: {results[-1]['seconds']:.2f}s", flush=True)
        shared = [
            (n, *run_workers(url, data_dir, PHASE, RunKind.VERIFY, CONTAINER, n, 1000))
            for n in worker_counts(args.workers)
        ]
    best = {mode: min(results, key=lambda r: r["seconds"]) for mode, results in runs.items()}
    report(args, best, {mode: max(r["rss"] for r in results) for mode, results in runs.items()})
    if shared:
        report_shared(args, best["stream"]["seconds"], shared)


def report_shared(args: argparse.Namespace, stream_s: float, shared: list[Any]) -> None:
    rows, one = [], None
    for n, seconds, run in shared:
        scanned = run.report["scanned"]
        rate = scanned / seconds
        one = one or rate
        rows.append(
            (
                str(n),
                str(scanned),
                str(run.report["clean"]),
                f"{seconds:.2f}",
                f"{rate:,.0f}",
                f"{seconds / stream_s:.2f}",
                f"{rate / one:.2f}",
            )
        )
    show(
        f"verify {CONTAINER} as a shared run, {args.docs} documents per store",
        ("workers", "scanned", "clean", "seconds", "docs/s", "÷ stream", "rate ÷ 1 worker"),
        rows,
    )


def report(args: argparse.Namespace, best: dict[str, Any], peak: dict[str, float]) -> None:
    s, v, c = best["stream"], best["verify"], best["shortcut"]
    (dn, ds), (rn, rs) = s["documents"], s["relational"]

    def row(name: str, r: dict[str, Any], n: int, mode: str) -> tuple[str, ...]:
        return (
            name,
            f"{r['seconds']:.2f}",
            f"{n / r['seconds']:,.0f}",
            f"{r['seconds'] / s['seconds']:.2f}",
            f"{peak[mode]:.0f}",
            f"{r['maxrss']:.0f}",
            f"{r['floor']:.0f}",
        )

    show(
        f"verify {CONTAINER}, {args.docs} documents per store (best of {args.rounds})",
        (
            "step",
            "seconds",
            "docs/s",
            "÷ stream",
            "peak RSS MB (VmHWM)",
            "ru_maxrss MB",
            "RSS after open MB",
        ),
        [
            (f"stream document store ({dn})", f"{ds:.2f}", f"{dn / ds:,.0f}", "-", "-", "-", "-"),
            (f"stream PostgreSQL ({rn})", f"{rs:.2f}", f"{rn / rs:,.0f}", "-", "-", "-", "-"),
            row("stream both", s, args.docs, "stream"),
            row("verify (no shortcut)", v, v["scanned"], "verify"),
            row("verify + segment shortcut", c, c["scanned"], "shortcut"),
        ],
    )
    for name, r in (("verify", v), ("verify + shortcut", c)):
        print(
            f"{name} report: scanned {r['scanned']}, clean {r['clean']}, missing "
            f"{r['missing']}, extra {r['extra']}, different {r['different']}"
        )
    print(
        f"segment shortcut: {c['shortcut']}; speed-up {v['seconds'] / c['seconds']:.2f}× "
        "over verify without it"
    )
    for name, r, mode in (("verify", v, "verify"), ("verify + shortcut", c, "shortcut")):
        ratio = r["seconds"] / s["seconds"]
        goal(f"{name} ÷ stream = {ratio:.2f} ≤ 1.5", ratio <= 1.5)
        goal(f"{name} peak RSS {peak[mode]:.0f} MB ≤ 300 MB", peak[mode] <= 300)
    if args.docs < 1_000_000:
        print(
            f"(measured at {args.docs} documents; the goal is stated for 1,000,000: "
            "--docs 1000000 --fast-load)"
        )


if __name__ == "__main__":
    main()
