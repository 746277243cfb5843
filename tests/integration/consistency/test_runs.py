"""Backfill and verify runs shared by worker processes (#20), on the embedded pair.

Every document is copied exactly once (rows and the segments' read counts), a SIGKILLed
worker's segments are taken over, a run resumes after every worker died, and a verify run
shared by two workers lands in the verify log with the position taken at its start.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mystira_data.bootstrap import RELATIONAL_FILE
from mystira_data.cli.app import app
from mystira_data.polyglot.runs.record import RunKind, RunStatus, Segment
from mystira_data.polyglot.state.verify_log import last_verify
from mystira_data.relational import RelationalStore
from mystira_data.settings import load_settings
from tests.integration.consistency.data import embedded, seed
from tests.integration.consistency.workers import (
    WorkerProcess,
    owned_by,
    read_run,
    start,
    wait_until,
)

pytestmark = pytest.mark.slow
SESSIONS = 3_000
runner = CliRunner()


def _seeded(tmp_path: Path) -> Path:
    data = tmp_path / "data"

    async def body() -> None:
        async with embedded(data) as poly:
            await seed(poly.stores.documents, SESSIONS)

    asyncio.run(body())
    parents = runner.invoke(app, ["--data-dir", str(data), "backfill", "Accounts"])
    assert parents.exit_code == 0, parents.stderr
    return data


def _rows(data: Path) -> int:
    with closing(sqlite3.connect(data / RELATIONAL_FILE, timeout=10)) as conn:
        return int(conn.execute("SELECT count(*) FROM game_sessions").fetchone()[0])


def _workers(
    data: Path, logs: Path, run_id: str, n: int, kind: str = "backfill"
) -> list[WorkerProcess]:
    logs.mkdir(exist_ok=True)
    argv = ["--data-dir", str(data), kind, "GameSessions", "--resume", run_id, "--json"]
    if kind == "backfill":
        argv += ["--batch-size", "100"]
    return [WorkerProcess(logs, f"w{i}", argv) for i in range(n)]


def _copied_once(data: Path, segments: list[Segment]) -> None:
    assert all(s.done for s in segments)
    assert sum(s.counts.read for s in segments) == SESSIONS  # no page counted twice
    assert _rows(data) == SESSIONS
    verified = runner.invoke(app, ["--data-dir", str(data), "verify", "GameSessions", "--json"])
    assert verified.exit_code == 0, verified.stdout
    assert json.loads(verified.stdout)[0]["scanned"] == SESSIONS


@pytest.mark.parametrize("n", [2, 3])
def test_workers_share_a_run_and_copy_every_document_once(tmp_path: Path, n: int) -> None:
    data = _seeded(tmp_path)
    settings = load_settings(data_dir=data)
    run = start(settings, RunKind.BACKFILL, "GameSessions", segments=2 * n)
    procs = _workers(data, tmp_path / "logs", run.id, n)
    try:
        for p in procs:
            assert p.wait(240) == 0, p.err.read_text()
    finally:
        for p in procs:
            p.kill()
    done, segments = read_run(settings, run.id)
    assert done.status is RunStatus.DONE
    assert done.report is not None
    assert (done.report["read"], done.report["quarantined"]) == (SESSIONS, 0)
    _copied_once(data, segments)
    owners = {s.owner.split(":")[1] for s in segments if s.owner}
    assert len(owners) >= 2  # the work was shared, not done by one worker


def test_a_killed_workers_segments_are_taken_over(tmp_path: Path) -> None:
    data = _seeded(tmp_path)
    settings = load_settings(data_dir=data)
    run = start(settings, RunKind.BACKFILL, "GameSessions", segments=6)
    victim, *others = procs = _workers(data, tmp_path / "logs", run.id, 3)
    try:
        # Mid-segment: the victim owns an unfinished segment it has checkpointed in.
        _, before = wait_until(
            settings,
            run.id,
            lambda _, segs: any(
                owned_by(victim.pid, s) and s.checkpoint and not s.done for s in segs
            ),
            alive=lambda: victim.proc.is_alive(),
        )
        victim.kill()
        orphaned = {s.seq for s in before if owned_by(victim.pid, s) and not s.done}
        for p in others:
            assert p.wait(240) == 0, p.err.read_text()
    finally:
        for p in procs:
            p.kill()
    done, segments = read_run(settings, run.id)
    assert done.status is RunStatus.DONE
    taken = [s for s in segments if s.seq in orphaned]
    assert taken
    assert all(s.done and not owned_by(victim.pid, s) for s in taken)
    _copied_once(data, segments)


def test_a_run_resumes_after_every_worker_died(tmp_path: Path) -> None:
    data = _seeded(tmp_path)
    settings = load_settings(data_dir=data)
    run = start(settings, RunKind.BACKFILL, "GameSessions", segments=4)
    procs = _workers(data, tmp_path / "logs", run.id, 2)
    try:
        wait_until(
            settings,
            run.id,
            lambda _, segs: sum(s.counts.read for s in segs) >= SESSIONS // 4,
            alive=lambda: all(p.proc.is_alive() for p in procs),
        )
    finally:
        for p in procs:
            p.kill()
    _, partial = read_run(settings, run.id)
    assert not all(s.done for s in partial)
    resumed = runner.invoke(
        app, ["--data-dir", str(data), "backfill", "GameSessions", "--resume", run.id, "--json"]
    )
    assert resumed.exit_code == 0, resumed.stderr
    status = json.loads(resumed.stdout)
    assert (status["status"], status["done"], status["total"]) == ("done", SESSIONS, SESSIONS)
    _, segments = read_run(settings, run.id)
    _copied_once(data, segments)
    shown = runner.invoke(app, ["--data-dir", str(data), "backfill", "--status", run.id])
    assert shown.exit_code == 0, shown.stderr
    assert f"{SESSIONS}/{SESSIONS} docs (100.0%)" in shown.stdout


def test_a_verify_run_of_two_workers_is_one_pinned_report(tmp_path: Path) -> None:
    data = _seeded(tmp_path)
    settings = load_settings(data_dir=data)
    copied = runner.invoke(app, ["--data-dir", str(data), "backfill", "GameSessions"])
    assert copied.exit_code == 0, copied.stderr
    with closing(sqlite3.connect(data / RELATIONAL_FILE, timeout=10)) as conn:
        conn.execute("DELETE FROM game_sessions WHERE id IN ('gs-000007', 'gs-002999')")
        conn.commit()
    run = start(settings, RunKind.VERIFY, "GameSessions", segments=4)
    procs = _workers(data, tmp_path / "logs", run.id, 2, kind="verify")
    try:
        codes = [p.wait(240) for p in procs]
    finally:
        for p in procs:
            p.kill()
    assert codes == [1, 1], [p.err.read_text() for p in procs]  # differences: exit 1
    done, segments = read_run(settings, run.id)
    assert done.report is not None
    assert (done.report["scanned"], done.report["missing"]) == (SESSIONS, 2)
    assert sorted(d["id"] for d in done.report["differences"]) == ["gs-000007", "gs-002999"]
    assert sum(s.counts.compared for s in segments) == SESSIONS

    async def logged() -> dict[str, object] | None:
        async with RelationalStore(f"sqlite+aiosqlite:///{data / RELATIONAL_FILE}") as rel:
            return await last_verify(rel, "GameSessions")

    last = asyncio.run(logged())
    assert last is not None
    assert (last["clean"], last["missing"], last["scanned"]) == (False, 2, SESSIONS)
    assert last["position"] == run.position
