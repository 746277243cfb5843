"""`backfill`/`verify` with ``--workers``, ``--resume`` and ``--status``: runs shared by many
worker processes (`polyglot/runs`).

``--workers N`` (N > 1) starts N child processes of the same command, each joining the run
with ``--resume RUN``, and prints progress until they end; ``--resume RUN`` alone works in
this process. Any number of such processes, on any host, may join one run.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import typer

from mystira_data.cli.common import GlobalOptions, console, err_console, fail, options, run
from mystira_data.cli.errors import ExitCode
from mystira_data.cli.polyglot import polyglot
from mystira_data.polyglot.controls.record import Task
from mystira_data.polyglot.controls.throttle import Pacer
from mystira_data.polyglot.phase.rules import Side
from mystira_data.polyglot.runs.budget import Budget
from mystira_data.polyglot.runs.finish import finish_run
from mystira_data.polyglot.runs.jobs import job_for
from mystira_data.polyglot.runs.progress import RunProgress
from mystira_data.polyglot.runs.record import Run, RunKind, RunStatus, Segment
from mystira_data.polyglot.runs.start import start_run
from mystira_data.polyglot.runs.worker import Worker
from mystira_data.polyglot.state.runs import RelationalRunStore

if TYPE_CHECKING:
    from mystira_data.polyglot.layer import Polyglot
    from mystira_data.settings import Settings

__all__ = ["RunOptions", "child_argv", "run_command", "status_command"]

PROGRESS_EVERY_S = 5.0


@dataclass(frozen=True)
class RunOptions:
    kind: RunKind
    container: str
    workers: int | None
    resume: str | None
    segments: int | None
    lease_ttl_s: float
    batch_size: int = 1000
    target: Side = Side.RELATIONAL
    as_json: bool = False


def status_command(ctx: typer.Context, run_id: str, as_json: bool) -> None:
    """Print a run's aggregated progress and its segments' owners."""

    async def body(settings: Settings) -> RunProgress:
        async with polyglot(settings) as poly:
            return await _progress(RelationalRunStore(poly.raw_relational), run_id)

    _print(run(ctx, body), as_json)


def run_command(ctx: typer.Context, opts: RunOptions) -> None:
    """Start or join a run; work in this process or in ``--workers`` child processes."""
    codes: list[int] = []
    if opts.workers is not None and opts.workers > 1:
        run_id = opts.resume or run(ctx, partial(_started, opts))
        codes = _spawn_and_watch(ctx, opts, run_id)
        progress = run(ctx, partial(_read_progress, run_id))
    else:
        progress = run(ctx, partial(_work_here, opts))
    _print(progress, opts.as_json)
    _exit_for(progress, codes)


async def _started(opts: RunOptions, settings: Settings) -> str:
    async with polyglot(settings) as poly:
        return (await _start(poly, opts)).id


async def _start(poly: Polyglot, opts: RunOptions) -> Run:
    store = RelationalRunStore(poly.raw_relational)
    n = opts.segments or 4 * (opts.workers or 1)
    new = await start_run(
        poly,
        store,
        opts.kind,
        opts.container,
        segments=n,
        target=opts.target,
        lease_ttl_s=opts.lease_ttl_s,
    )
    err_console.print(
        f"run {new.id}: {opts.kind.value} {opts.container}; more workers join with "
        f"`mystira {opts.kind.value} {opts.container} --resume {new.id}`",
        markup=False,
    )
    return new


async def _work_here(opts: RunOptions, settings: Settings) -> RunProgress:
    async with polyglot(settings) as poly:
        store = RelationalRunStore(poly.raw_relational)
        current = await _joined(store, opts) if opts.resume else await _start(poly, opts)
        budget = settings.polyglot_persistence.document_budget_per_second
        worker = Worker(
            store,
            current,
            job_for(poly, current, opts.batch_size),
            Budget(store, current.id, budget),
            partial(_finish, poly, store),
            pacer=_pacer(poly, current),
        )
        await worker.work()
        return await _progress(store, current.id)


def _pacer(poly: Polyglot, current: Run) -> Pacer | None:
    """Backfill runs obey the operator's backfill controls (verify has none)."""
    if current.kind is not RunKind.BACKFILL:
        return None
    return poly.pacer(current.container, Task.BACKFILL)


async def _finish(
    poly: Polyglot, store: RelationalRunStore, current: Run, segments: list[Segment]
) -> None:
    await finish_run(poly, store, current, segments)


async def _joined(store: RelationalRunStore, opts: RunOptions) -> Run:
    found = await store.run(opts.resume or "")
    if found is None:
        fail(f"no run {opts.resume!r}")
    if (found.kind, found.container) != (opts.kind, opts.container):
        fail(f"run {found.id} is a {found.kind.value} of {found.container}")
    return found


async def _read_progress(run_id: str, settings: Settings) -> RunProgress:
    async with polyglot(settings) as poly:
        return await _progress(RelationalRunStore(poly.raw_relational), run_id)


async def _progress(store: RelationalRunStore, run_id: str) -> RunProgress:
    found = await store.run(run_id)
    if found is None:
        fail(f"no run {run_id!r}")
    return RunProgress.of(found, await store.segments(run_id))


def child_argv(glob: GlobalOptions, opts: RunOptions, run_id: str) -> list[str]:
    """The command line of one worker process joining ``run_id`` (same settings)."""
    argv = [sys.executable, "-m", "mystira_data"]
    if glob.config is not None:
        argv += ["--config", str(glob.config)]
    if glob.data_dir is not None:
        argv += ["--data-dir", str(glob.data_dir)]
    argv += [opts.kind.value, opts.container, "--resume", run_id, "--json"]
    if opts.kind is RunKind.BACKFILL:
        argv += ["--batch-size", str(opts.batch_size)]
    return argv


def _spawn_and_watch(ctx: typer.Context, opts: RunOptions, run_id: str) -> list[int]:
    """N child processes of this command joining ``run_id``; progress until they end."""
    argv = child_argv(options(ctx), opts, run_id)

    async def body(settings: Settings) -> list[int]:
        children = [
            await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.DEVNULL)
            for _ in range(opts.workers or 1)
        ]
        waits = asyncio.gather(*(c.wait() for c in children))
        async with polyglot(settings) as poly:
            store = RelationalRunStore(poly.raw_relational)
            while not waits.done():
                await asyncio.wait([waits], timeout=PROGRESS_EVERY_S)
                if not waits.done():
                    line = (await _progress(store, run_id)).lines()[0]
                    err_console.print(line, markup=False)
        return list(await waits)

    codes = run(ctx, body)
    if any(codes):
        err_console.print(f"worker exit codes: {codes}", markup=False)
    return codes


def _print(progress: RunProgress, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(progress.as_json(), indent=2, default=str))
        return
    for line in progress.lines():
        console.print(line, markup=False)


def _exit_for(progress: RunProgress, codes: list[int]) -> None:
    """Verify: 1 on differences. A run the workers left unfinished: the first worker's error
    code (3: a store was unavailable), else 4."""
    found = progress.run
    if found.status is not RunStatus.DONE:
        failed = next((c for c in codes if c > 0), ExitCode.INTERNAL)
        fail(f"run {found.id} is not finished; `--resume {found.id}` continues it", code=failed)
    if found.kind is RunKind.VERIFY and not (found.report or {}).get("clean", False):
        raise typer.Exit(ExitCode.FINDING)
