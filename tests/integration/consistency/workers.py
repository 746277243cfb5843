"""Worker processes of a shared run (`mystira backfill|verify --resume RUN`), and reading the
run record while they work.

Workers are forked from the test process (already importing: `test_backfill_kill` says why
not `subprocess`); the settings reach them through ``MYSTIRA__`` variables or ``--data-dir``.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from mystira_data.bootstrap import open_platform, relational_url
from mystira_data.cli.app import app
from mystira_data.polyglot.phase.rules import Side
from mystira_data.polyglot.runs.record import Run, RunKind, Segment
from mystira_data.polyglot.runs.start import start_run
from mystira_data.polyglot.state.runs import RelationalRunStore
from mystira_data.relational import RelationalStore
from mystira_data.settings import Settings

FORK = multiprocessing.get_context("fork")


def _child(argv: list[str], out: Path, err: Path) -> None:
    sys.stdout = out.open("w")
    sys.stderr = err.open("w")
    app(argv, prog_name="mystira")


class WorkerProcess:
    def __init__(self, logs: Path, name: str, argv: list[str]) -> None:
        self.out, self.err = logs / f"{name}.out", logs / f"{name}.err"
        self.proc = FORK.Process(target=_child, args=(argv, self.out, self.err))
        self.proc.start()

    @property
    def pid(self) -> int:
        assert self.proc.pid is not None
        return self.proc.pid

    def wait(self, timeout_s: float) -> int | None:
        self.proc.join(timeout_s)
        return self.proc.exitcode

    def kill(self) -> None:
        if self.proc.is_alive():
            os.kill(self.pid, signal.SIGKILL)
        self.proc.join(30)


def start(
    settings: Settings, kind: RunKind, container: str, *, segments: int, ttl_s: float = 1.0
) -> Run:
    async def body() -> Run:
        async with open_platform(settings, refresh_s=0, provision=True) as poly:
            store = RelationalRunStore(poly.raw_relational)
            return await start_run(
                poly,
                store,
                kind,
                container,
                segments=segments,
                target=Side.RELATIONAL,
                lease_ttl_s=ttl_s,
            )

    return asyncio.run(body())


def read_run(settings: Settings, run_id: str) -> tuple[Run, list[Segment]]:
    async def body() -> tuple[Run, list[Segment]]:
        async with RelationalStore(relational_url(settings)) as rel:
            store = RelationalRunStore(rel)
            found = await store.run(run_id)
            assert found is not None
            return found, await store.segments(run_id)

    return asyncio.run(body())


def wait_until(
    settings: Settings,
    run_id: str,
    ok: Callable[[Run, list[Segment]], bool],
    *,
    timeout_s: float = 180,
    alive: Callable[[], bool] = lambda: True,
) -> tuple[Run, list[Segment]]:
    deadline = time.monotonic() + timeout_s
    while True:
        run, segments = read_run(settings, run_id)
        if ok(run, segments):
            return run, segments
        assert alive(), "the workers ended before the run got there"
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.05)


def owned_by(pid: int, segment: Segment) -> bool:
    return segment.owner is not None and f":{pid}:" in segment.owner
