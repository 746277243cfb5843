"""Backfill and verify runs shared by worker processes (#20), on the embedded pair and on
the Cosmos API server + PostgreSQL.

Every document is copied exactly once (rows and the segments' read counts), a SIGKILLed
worker's segments are taken over, a run resumes after every worker died, and a verify run
shared by two workers lands in the verify log with the position taken at its start.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import Result
from typer.testing import CliRunner

from mystira_data.bootstrap import open_platform, relational_url
from mystira_data.cli.app import app
from mystira_data.polyglot.runs.record import RunKind, RunStatus, Segment
from mystira_data.polyglot.state.verify_log import last_verify
from mystira_data.relational import RelationalStore
from mystira_data.relational.tables import ENTITY_TABLES
from mystira_data.settings import Settings, load_settings
from tests.integration.consistency.data import live_count, seed
from tests.integration.consistency.workers import (
    WorkerProcess,
    owned_by,
    read_run,
    start,
    wait_until,
)
from tests.integration.polyglot.conftest import pair_settings
from tests.integration.relational.conftest import empty_all

pytestmark = pytest.mark.slow
runner = CliRunner()
game_sessions = ENTITY_TABLES["game_sessions"]


@dataclass(frozen=True)
class Pair:
    """Where the workers' stores are: ``cli`` reaches them from a `mystira` command line."""

    settings: Settings
    cli: list[str]
    sessions: int

    def rows(self) -> int:
        async def body() -> int:
            async with RelationalStore(relational_url(self.settings)) as rel:
                return await live_count(rel, "GameSessions")

        return asyncio.run(body())

    def invoke(self, *args: str) -> Result:
        return runner.invoke(app, [*self.cli, *args])


@pytest.fixture
def stores(
    pair: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Pair:
    """The pair's stores, seeded (GameSessions in the document store only, Accounts in both);
    for Cosmos + PostgreSQL the connection settings go to the workers as variables."""
    data = tmp_path / "data"
    sessions = 2_000
    if pair == "cosmos-postgres":
        sessions = 1_000  # the Cosmos API test server is slower to seed
        conns = pair_settings(pair, tmp_path, request).connection_strings
        variables = {
            "COSMOSDB": conns.cosmos_db.get_secret_value(),
            "COSMOSDATABASE": conns.cosmos_database,
            "POSTGRESQL": conns.postgre_sql.get_secret_value(),
        }
        for name, value in variables.items():
            monkeypatch.setenv(f"MYSTIRA__CONNECTIONSTRINGS__{name}", value)
    settings = load_settings(data_dir=data)

    async def seeded() -> None:
        async with open_platform(settings, refresh_s=0, provision=True) as poly:
            if pair == "cosmos-postgres":
                await empty_all(poly.raw_relational)
            await seed(poly.stores.documents, sessions)

    asyncio.run(seeded())
    made = Pair(settings, ["--data-dir", str(data)], sessions)
    parents = made.invoke("backfill", "Accounts")
    assert parents.exit_code == 0, parents.stderr
    return made


def _workers(
    stores: Pair, logs: Path, run_id: str, n: int, kind: str = "backfill"
) -> list[WorkerProcess]:
    logs.mkdir(exist_ok=True)
    argv = [*stores.cli, kind, "GameSessions", "--resume", run_id, "--json"]
    if kind == "backfill":
        argv += ["--batch-size", "50"]
    return [WorkerProcess(logs, f"w{i}", argv) for i in range(n)]


def _copied_once(stores: Pair, segments: list[Segment]) -> None:
    assert all(s.done for s in segments)
    assert sum(s.counts.read for s in segments) == stores.sessions  # no page counted twice
    assert stores.rows() == stores.sessions
    verified = stores.invoke("verify", "GameSessions", "--json")
    assert verified.exit_code == 0, verified.stdout
    assert json.loads(verified.stdout)[0]["scanned"] == stores.sessions


def test_two_workers_share_a_run_and_copy_every_document_once(stores: Pair, tmp_path: Path) -> None:
    settings, n = stores.settings, 2
    run = start(settings, RunKind.BACKFILL, "GameSessions", segments=2 * n)
    procs = _workers(stores, tmp_path / "logs", run.id, n)
    try:
        for p in procs:
            assert p.wait(240) == 0, p.err.read_text()
    finally:
        for p in procs:
            p.kill()
    done, segments = read_run(settings, run.id)
    assert done.status is RunStatus.DONE
    assert done.report is not None
    assert (done.report["read"], done.report["quarantined"]) == (stores.sessions, 0)
    _copied_once(stores, segments)
    owners = {s.owner.split(":")[1] for s in segments if s.owner}
    assert len(owners) >= 2  # the work was shared, not done by one worker


def test_of_three_workers_one_is_killed_and_its_segments_are_taken_over(
    stores: Pair, tmp_path: Path
) -> None:
    settings = stores.settings
    _backfill_rate(stores, "100")  # the victim cannot finish its segment before the kill
    run = start(settings, RunKind.BACKFILL, "GameSessions", segments=6)
    victim, *others = procs = _workers(stores, tmp_path / "logs", run.id, 3)
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
        _backfill_rate(stores, "none")  # the others go on at full speed
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
    _copied_once(stores, segments)


def _backfill_rate(stores: Pair, rate: str) -> None:
    """The operator's backfill rate limit (workers obey it): slow enough that a kill lands
    mid-run however fast this machine copies, or 'none'."""
    argv = ["control", "set", "GameSessions", "--task", "backfill", "--rate", rate]
    limited = stores.invoke(*argv, "--reason", "the test kills workers mid-run")
    assert limited.exit_code == 0, limited.stderr


def test_a_run_resumes_after_every_worker_died(stores: Pair, tmp_path: Path) -> None:
    settings, sessions = stores.settings, stores.sessions
    _backfill_rate(stores, "100")  # the run takes ≥ 5 s; the kill comes after a quarter
    run = start(settings, RunKind.BACKFILL, "GameSessions", segments=4)
    procs = _workers(stores, tmp_path / "logs", run.id, 2)
    try:
        wait_until(
            settings,
            run.id,
            lambda _, segs: sum(s.counts.read for s in segs) >= sessions // 4,
            alive=lambda: all(p.proc.is_alive() for p in procs),
        )
    finally:
        for p in procs:
            p.kill()
    _, partial = read_run(settings, run.id)
    assert not all(s.done for s in partial)
    _backfill_rate(stores, "none")
    resumed = stores.invoke("backfill", "GameSessions", "--resume", run.id, "--json")
    assert resumed.exit_code == 0, resumed.stderr
    status = json.loads(resumed.stdout)
    assert (status["status"], status["done"], status["total"]) == ("done", sessions, sessions)
    _, segments = read_run(settings, run.id)
    _copied_once(stores, segments)
    shown = stores.invoke("backfill", "--status", run.id)
    assert shown.exit_code == 0, shown.stderr
    assert f"{sessions}/{sessions} docs (100.0%)" in shown.stdout


def test_a_verify_run_of_two_workers_is_one_pinned_report(stores: Pair, tmp_path: Path) -> None:
    settings, sessions = stores.settings, stores.sessions
    copied = stores.invoke("backfill", "GameSessions")
    assert copied.exit_code == 0, copied.stderr
    gone = sorted({"gs-000007", f"gs-{sessions - 1:06d}"})

    async def tamper() -> None:  # rows lost behind the application's back
        async with RelationalStore(relational_url(settings)) as rel, rel.transaction() as conn:
            await conn.execute(sa.delete(game_sessions).where(game_sessions.c.id.in_(gone)))

    asyncio.run(tamper())
    run = start(settings, RunKind.VERIFY, "GameSessions", segments=4)
    procs = _workers(stores, tmp_path / "logs", run.id, 2, kind="verify")
    try:
        codes = [p.wait(240) for p in procs]
    finally:
        for p in procs:
            p.kill()
    assert codes == [1, 1], [p.err.read_text() for p in procs]  # differences: exit 1
    done, segments = read_run(settings, run.id)
    assert done.report is not None
    assert (done.report["scanned"], done.report["missing"]) == (sessions, 2)
    assert sorted(d["id"] for d in done.report["differences"]) == gone
    assert sum(s.counts.compared for s in segments) == sessions

    async def logged() -> dict[str, object] | None:
        async with RelationalStore(relational_url(settings)) as rel:
            return await last_verify(rel, "GameSessions")

    last = asyncio.run(logged())
    assert last is not None
    assert (last["clean"], last["missing"], last["scanned"]) == (False, 2, sessions)
    assert last["position"] == run.position


@pytest.mark.parametrize("pair", ["embedded"], indirect=True)
def test_workers_option_starts_child_processes_of_the_command(stores: Pair) -> None:
    # The one test of the real `python -m mystira_data` children (their start-up is costly).
    started = stores.invoke("backfill", "GameSessions", "--workers", "2", "--json")
    assert started.exit_code == 0, started.stderr
    status = json.loads(started.stdout)
    assert (status["status"], status["done"], status["segments"]) == ("done", stores.sessions, 8)
    _, segments = read_run(stores.settings, status["run"])
    _copied_once(stores, segments)
