"""A backfill SIGKILLed at random points resumes from its checkpoint and ends exact.

Embedded pair only: `mystira backfill` runs in its own process over a data dir.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import random
import signal
import sqlite3
import sys
import time
from contextlib import closing
from pathlib import Path

from typer.testing import CliRunner

from mystira_data.bootstrap import DOCUMENTS_FILE, RELATIONAL_FILE
from mystira_data.cli.app import app
from mystira_data.polyglot.consistency.backfill import DONE, checkpoint_name
from mystira_data.polyglot.phase.rules import Side
from tests.integration.consistency.data import embedded, live_count, seed

SESSIONS = 5_000
KILLS = 5
# Each run is a real process, SIGKILLed mid-flight. They are forked from this (already
# importing) test process instead of `subprocess.Popen([sys.executable, ...])`: importing
# the CLI costs 6+ s of CPU per interpreter (20+ s on a loaded 2-core machine), and
# `python -m mystira_data.cli.app` would do nothing anyway (app.py has no __main__ guard).
FORK = multiprocessing.get_context("fork")
runner = CliRunner()


def _child(argv: list[str], out: Path, err: Path) -> None:
    """In the forked child: the `mystira` command, its output in files."""
    sys.stdout = out.open("w")  # flushed by multiprocessing on exit
    sys.stderr = err.open("w")
    app(argv, prog_name="mystira")


class Run:
    """One `mystira ...` run in its own process."""

    def __init__(self, logs: Path, n: int, argv: list[str]) -> None:
        self.out, self.err = logs / f"run{n}.out", logs / f"run{n}.err"
        self.proc = FORK.Process(target=_child, args=(argv, self.out, self.err))
        self.proc.start()

    def running(self) -> bool:
        return self.proc.is_alive()

    def wait(self, timeout_s: float) -> int | None:
        self.proc.join(timeout_s)
        return self.proc.exitcode

    def kill(self) -> bool:
        """SIGKILL if still running; True if it was."""
        running = self.proc.is_alive()
        if running:
            assert self.proc.pid is not None
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.join(30)
        return running


def checkpoint(data: Path) -> str | None:
    with closing(sqlite3.connect(data / RELATIONAL_FILE, timeout=10)) as conn:
        row = conn.execute(
            "SELECT checkpoint FROM _polyglot_leases WHERE container = ? AND feed_range = ?",
            ("GameSessions", checkpoint_name(Side.RELATIONAL)),
        ).fetchone()
    return None if row is None else row[0]


def rows(data: Path) -> int:
    with closing(sqlite3.connect(data / RELATIONAL_FILE, timeout=10)) as conn:
        return int(conn.execute("SELECT count(*) FROM game_sessions").fetchone()[0])


def wait_for_progress(run: Run, data: Path, before: str | None, timeout_s: float = 180) -> None:
    """Until the run saved a new checkpoint (a page is in) or ended."""
    deadline = time.monotonic() + timeout_s
    while run.running() and checkpoint(data) == before:
        assert time.monotonic() < deadline, "the backfill made no progress"
        time.sleep(0.01)


async def counts(data: Path) -> tuple[int, int]:
    async with embedded(data) as poly:
        return (await live_count(poly.documents, "GameSessions"),
                await live_count(poly.relational, "GameSessions"))


def test_backfill_killed_five_times_resumes_and_ends_exact(tmp_path: Path) -> None:
    data, logs = tmp_path / "data", tmp_path / "logs"
    logs.mkdir()

    async def seeded() -> None:
        async with embedded(data) as poly:
            await seed(poly.stores.documents, SESSIONS)

    asyncio.run(seeded())
    assert (data / DOCUMENTS_FILE).exists()
    cli = ["--data-dir", str(data)]
    parents = runner.invoke(app, [*cli, "backfill", "Accounts", "--json"])
    assert parents.exit_code == 0, parents.stderr
    assert json.loads(parents.stdout)[0]["written"] == SESSIONS // 10

    rng = random.Random(20260101)
    argv = [*cli, "backfill", "GameSessions", "--batch-size", "200", "--json"]
    killed_mid_run, after_kill = 0, []
    for n in range(KILLS):
        before = checkpoint(data)
        run = Run(logs, n, argv)
        try:
            wait_for_progress(run, data, before)
            time.sleep(rng.uniform(0, 0.1))  # a random point after some progress
        finally:
            killed = run.kill()
        if killed:
            killed_mid_run += 1
        else:  # it finished first: fine, the next run starts over (idempotently)
            assert run.proc.exitcode == 0, run.err.read_text()
        after_kill.append((checkpoint(data), rows(data)))
    final = Run(logs, KILLS, argv)
    try:
        assert final.wait(300) == 0, final.err.read_text()
    finally:
        final.kill()

    assert killed_mid_run >= 1
    partial = [(cp, n) for cp, n in after_kill if cp not in (None, DONE)]
    # A kill after the last page committed but before the DONE marker leaves a partial
    # checkpoint with every row in: legitimate. At least one kill must land truly mid-run.
    assert any(n < SESSIONS for _, n in partial), f"no kill landed mid-run: {after_kill}"
    assert all(n <= SESSIONS for _, n in after_kill)  # never a duplicate row
    assert [n for _, n in after_kill] == sorted(n for _, n in after_kill)  # never lost rows
    [report] = json.loads(final.out.read_text())
    last_cp = after_kill[-1][0]
    assert (report["done"], report["quarantined"]) == (True, 0)
    assert report["resumed"] == (last_cp not in (None, DONE))
    if report["resumed"]:
        assert report["read"] < SESSIONS  # it continued, it did not start over

    verified = runner.invoke(app, [*cli, "verify", "GameSessions", "--json"])
    assert verified.exit_code == 0, verified.stdout
    [summary] = json.loads(verified.stdout)
    assert (summary["clean"], summary["scanned"]) == (True, SESSIONS)
    assert asyncio.run(counts(data)) == (SESSIONS, SESSIONS)
    assert rows(data) == SESSIONS
