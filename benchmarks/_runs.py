"""Shared runs (#20) in benchmarks: one run, N spawned worker processes, docs/s.

Each worker opens the stores itself and reports when it began and ended its work; the run
is timed from the first worker's start to the last one's end, so interpreter start-up and
store opening are excluded (they are the same for any worker count).
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import time
from pathlib import Path

from _polybench import Phase, polyglot

from mystira_data.polyglot.phase.rules import Side
from mystira_data.polyglot.runs.budget import Budget
from mystira_data.polyglot.runs.finish import finish_run
from mystira_data.polyglot.runs.jobs import job_for
from mystira_data.polyglot.runs.record import Run, RunKind, Segment
from mystira_data.polyglot.runs.start import start_run
from mystira_data.polyglot.runs.worker import Worker
from mystira_data.polyglot.state.runs import RelationalRunStore


def worker_counts(text: str) -> list[int]:
    return [int(n) for n in text.split(",") if n.strip()]


async def new_run(
    url: str, data_dir: Path, phase: Phase, kind: RunKind, container: str, workers: int
) -> str:
    async with polyglot(url, data_dir, phase) as poly:
        store = RelationalRunStore(poly.raw_relational)
        run = await start_run(
            poly, store, kind, container, segments=4 * workers, target=Side.RELATIONAL
        )
        return run.id


def _work(url: str, data_dir: str, phase: Phase, run_id: str, batch: int) -> tuple[float, float]:
    return asyncio.run(_worker(url, Path(data_dir), phase, run_id, batch))


async def _worker(
    url: str, data_dir: Path, phase: Phase, run_id: str, batch: int
) -> tuple[float, float]:
    async with polyglot(url, data_dir, phase) as poly:
        store = RelationalRunStore(poly.raw_relational)
        run = await store.run(run_id)
        assert run is not None

        async def finish(current: Run, segments: list[Segment]) -> None:
            await finish_run(poly, store, current, segments, settle_s=0)

        budget = Budget(store, run.id, None)
        worker = Worker(store, run, job_for(poly, run, batch), budget, finish, poll_s=0.05)
        started = time.time()
        await worker.work()
        return started, time.time()


def run_workers(
    url: str, data_dir: Path, phase: Phase, kind: RunKind, container: str, workers: int, batch: int
) -> tuple[float, Run]:
    """Seconds the run took with ``workers`` processes, and the finished run."""
    run_id = asyncio.run(new_run(url, data_dir, phase, kind, container, workers))
    with mp.get_context("spawn").Pool(workers) as pool:
        spans = pool.starmap(_work, [(url, str(data_dir), phase, run_id, batch)] * workers)
    seconds = max(end for _, end in spans) - min(start for start, _ in spans)
    return seconds, asyncio.run(_finished(url, data_dir, phase, run_id))


async def _finished(url: str, data_dir: Path, phase: Phase, run_id: str) -> Run:
    async with polyglot(url, data_dir, phase) as poly:
        run = await RelationalRunStore(poly.raw_relational).run(run_id)
        assert run is not None
        return run
