"""A process that starts while a store is down serves every container whose primary answers.

The phase record lives in PostgreSQL; a process that cannot reach it routes by the record's
mirror in the document store (`polyglot.phase_copies`). These tests start `mystira simulate`
with PostgreSQL unreachable (DualWriteCosmosRead) and with the Cosmos API server unreachable
(DualWritePostgresRead), cut PostgreSQL off right after a process read its phases, and flip a
phase in one process while another, cut off from PostgreSQL, holds its writes.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import stamina
from sqlalchemy.engine import make_url
from typer.testing import CliRunner, Result

from mystira_data.bootstrap import open_platform
from mystira_data.cli.app import app
from mystira_data.errors import StoreUnavailable
from mystira_data.polyglot.layer import Polyglot
from mystira_data.settings import Phase, Settings, load_settings
from mystira_data.simulator import simulate
from tests.servers import postgres as pg
from tests.servers.cosmos import CosmosServer, allow_sdk_warnings
from tests.servers.faultproxy import FaultProxy

runner = CliRunner()
# Parents first; UserProfiles too, as deleting an account cascades to its profiles.
CONTAINERS = ("Accounts", "UserProfiles", "GameSessions", "PlayerScenarioScores")
DEAD_PG = "postgresql://postgres@127.0.0.1:1/unreachable"
PG_KEY = "MYSTIRA__CONNECTIONSTRINGS__POSTGRESQL"
COSMOS_KEY = "MYSTIRA__CONNECTIONSTRINGS__COSMOSDB"
FAST = {
    "MYSTIRA__POLYGLOTPERSISTENCE__BREAKEROPENSECONDS": "0.5",
    "MYSTIRA__POLYGLOTPERSISTENCE__DUALWRITETIMEOUTMS": "2000",
    "MYSTIRA__POLYGLOTPERSISTENCE__PHASESWITCHMARGINMS": "50",
    "MYSTIRA__POLYGLOTPERSISTENCE__PHASESWITCHDRAINMS": "100",
}


@pytest.fixture(autouse=True)
def _fast_retries() -> Iterator[None]:
    with stamina.set_testing(True, attempts=2, cap=True):
        yield


@pytest.fixture
def pg_url() -> Iterator[str]:
    with pg.fresh_database(pg.server_url(), prefix="mystira_start_") as url:
        yield url


def mystira(data: Path, env: dict[str, str], *args: str) -> Result:
    return runner.invoke(app, ["--data-dir", str(data), *args], env={**FAST, **env})


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def failed_writes(output: str) -> tuple[int, int]:
    """(acknowledged, failed) from the simulate table's data row."""
    row = re.search(r"│\s*(\d+)\s*│\s*\d+\s*│\s*(\d+)\s*│", output)
    assert row is not None, output
    return int(row.group(1)), int(row.group(2))


def prepare(data: Path, env: dict[str, str], phase: Phase) -> None:
    """A migrated install with every relational container moved to ``phase``."""
    ok(mystira(data, env, "db", "upgrade"))
    if COSMOS_KEY in env:
        ok(mystira(data, env, "cosmos", "provision"))
    ok(mystira(data, env, "seed", "--demo", "--accounts", "5"))
    for step in (Phase.DUAL_WRITE_COSMOS_READ, Phase.DUAL_WRITE_POSTGRES_READ):
        for container in CONTAINERS:
            args = ["phase", "set", container, step.value]
            if step is Phase.DUAL_WRITE_POSTGRES_READ:
                ok(mystira(data, env, "replicate", "--once"))
                args += ["--force", "--reason", "test setup"]
            ok(mystira(data, env, *args))
        if step is phase:
            return


def converge(data: Path, env: dict[str, str]) -> None:
    ok(mystira(data, env, "replicate", "--once"))
    out = ok(mystira(data, env, "verify", "--all"))
    assert out.count("→ clean") == len(CONTAINERS), out


def test_simulate_starts_with_postgres_unreachable(tmp_path: Path, pg_url: str) -> None:
    env = {PG_KEY: pg_url}
    prepare(tmp_path, env, Phase.DUAL_WRITE_COSMOS_READ)
    out = ok(mystira(tmp_path, {PG_KEY: DEAD_PG}, "simulate", "--players", "5", "--writes", "80"))
    acknowledged, failed = failed_writes(out)
    assert failed == 0
    assert acknowledged >= 80
    converge(tmp_path, env)


def test_simulate_starts_with_the_cosmos_server_unreachable(
    tmp_path: Path, pg_url: str, cosmos_server: CosmosServer
) -> None:
    allow_sdk_warnings()
    live = cosmos_server.connection_string + "DisableServerCertificateValidation=True;"
    env = {
        PG_KEY: pg_url,
        COSMOS_KEY: live,
        "MYSTIRA__CONNECTIONSTRINGS__COSMOSDATABASE": f"start-{tmp_path.name[-12:]}",
    }
    prepare(tmp_path, env, Phase.DUAL_WRITE_POSTGRES_READ)
    dead = re.sub(r"https://[^/;]+", "https://127.0.0.1:1", live)
    out = ok(mystira(tmp_path, {**env, COSMOS_KEY: dead}, "simulate", "--writes", "60"))
    acknowledged, failed = failed_writes(out)
    assert failed == 0
    assert acknowledged >= 60
    converge(tmp_path, env)


# -- in one process: PostgreSQL cut off after start, and a flip seen through the mirror ------


def settings_for(data: Path, url: str, **polyglot: object) -> Settings:
    return load_settings(
        data_dir=data,
        ConnectionStrings={"PostgreSql": url},
        PolyglotPersistence={
            "BreakerOpenSeconds": 0.5,
            "DualWriteTimeoutMs": 2000,
            "PhaseSwitchMarginMs": 200,
            "PhaseSwitchDrainMs": 200,
            **polyglot,
        },
    )


@pytest.fixture
async def proxy(pg_url: str) -> AsyncIterator[tuple[FaultProxy, str]]:
    url = make_url(pg_url)
    started = await FaultProxy(url.host or "127.0.0.1", url.port or 5432).start()
    via = url.set(host="127.0.0.1", port=started.port).render_as_string(hide_password=False)
    try:
        yield started, via
    finally:
        await started.stop()


async def test_postgres_cut_off_right_after_start_loses_no_write(
    tmp_path: Path, pg_url: str, proxy: tuple[FaultProxy, str]
) -> None:
    faults, via = proxy
    # The CLI runs its own event loop: from async tests it runs in a thread.
    await asyncio.to_thread(prepare, tmp_path, {PG_KEY: pg_url}, Phase.DUAL_WRITE_COSMOS_READ)
    async with open_platform(settings_for(tmp_path, via), refresh_s=0.2) as poly:
        assert await poly.control.phase("Accounts") is Phase.DUAL_WRITE_COSMOS_READ
        faults.drop()  # PostgreSQL goes away once the process has started
        report = await simulate(poly.repository, players=5, writes=80, seed=7)
    assert report.failed == 0, report.errors[:5]
    assert poly.router.secondary.sync_log.failed > 0  # the outage was real
    faults.restore()
    await asyncio.to_thread(converge, tmp_path, {PG_KEY: pg_url})


async def test_a_process_cut_off_from_the_record_holds_writes_through_a_flip(
    tmp_path: Path, pg_url: str
) -> None:
    await asyncio.to_thread(prepare, tmp_path, {PG_KEY: pg_url}, Phase.DUAL_WRITE_COSMOS_READ)
    async with (
        open_platform(settings_for(tmp_path, pg_url), refresh_s=0.3) as a,
        open_platform(settings_for(tmp_path, DEAD_PG), refresh_s=0.3) as b,
    ):
        await b_can_write_the_document_primary(b)
        switch = asyncio.create_task(
            a.control.set(
                "Accounts", Phase.DUAL_WRITE_POSTGRES_READ, force=True, reason="test"
            )
        )
        await until_held(b)
        late = {"id": "b-late", "email": "late@example.org", "displayName": "Late"}
        write = asyncio.create_task(b.repository.create("Accounts", late))
        await switch
        assert not await a.stores.documents.count("Accounts", by_id("b-late"))
        with pytest.raises(StoreUnavailable):  # routed to the new primary, unreachable
            await write
        assert not await a.stores.documents.count("Accounts", by_id("b-late"))


async def b_can_write_the_document_primary(b: Polyglot) -> None:
    early = {"id": "b-early", "email": "early@example.org", "displayName": "Early"}
    await b.repository.create("Accounts", early)
    assert (await b.control.record("Accounts")).source.value == "mirror"


async def until_held(poly: Polyglot) -> None:
    for _ in range(600):
        if (await poly.control.record("Accounts")).held:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the process never saw the announced switch")


def by_id(doc_id: str):  # type: ignore[no-untyped-def]
    from mystira_data.query import Filter, Op, Query

    return Query(filters=(Filter("id", Op.EQ, doc_id),), cross_partition=True)


def test_status_with_postgres_down_shows_the_document_side(tmp_path: Path, pg_url: str) -> None:
    prepare(tmp_path, {PG_KEY: pg_url}, Phase.DUAL_WRITE_COSMOS_READ)
    out = ok(mystira(tmp_path, {PG_KEY: DEAD_PG}, "status"))
    assert "phases from: mirror" in out
    accounts = next(line for line in out.splitlines() if "Accounts" in line)
    assert "unavailable" in accounts
    assert "DualWriteCosmosRead" in accounts
    assert re.search(r"│\s*[1-9]\d*\s*│", accounts)  # the document store's count still shows


def test_a_configured_phase_beyond_the_record_is_refused(tmp_path: Path, pg_url: str) -> None:
    env = {PG_KEY: pg_url}
    ok(mystira(tmp_path, env, "db", "upgrade"))
    ok(mystira(tmp_path, env, "seed", "--demo", "--accounts", "3"))
    jump = {**env, "MYSTIRA__POLYGLOTPERSISTENCE__PHASE": "PostgresOnly"}
    refused = mystira(tmp_path, jump, "simulate", "--writes", "5")
    assert refused.exit_code == 2, refused.output
    assert "mystira phase set" in refused.output
    assert "Traceback" not in refused.output
    out = ok(mystira(tmp_path, env, "phase", "get", "--json"))
    assert '"Accounts": "CosmosOnly"' in out  # the durable record won; nothing moved


def test_an_empty_install_starts_at_the_configured_phase(tmp_path: Path, pg_url: str) -> None:
    env = {PG_KEY: pg_url, "MYSTIRA__POLYGLOTPERSISTENCE__PHASE": "DualWriteCosmosRead"}
    ok(mystira(tmp_path, env, "db", "upgrade"))
    out = ok(mystira(tmp_path, env, "phase", "get", "Accounts"))
    assert "Accounts: DualWriteCosmosRead" in out
    assert "initial phase from configuration" in out  # recorded: the record wins from now on


async def test_a_running_replicator_waits_out_postgres_and_goes_on(
    tmp_path: Path, pg_url: str, proxy: tuple[FaultProxy, str]
) -> None:
    faults, via = proxy
    await asyncio.to_thread(prepare, tmp_path, {PG_KEY: pg_url}, Phase.DUAL_WRITE_COSMOS_READ)
    faults.drop()
    sim = await asyncio.to_thread(mystira, tmp_path, {PG_KEY: via}, "simulate", "--writes", "60")
    assert failed_writes(ok(sim))[1] == 0
    log = tmp_path / "replicate.log"
    proc = replicator(tmp_path, via, log)
    try:
        await until_true(lambda: b"waiting" in log.read_bytes(), proc)  # saw the outage
        faults.restore()
        await until_true(lambda: pending(tmp_path, pg_url) == 0, proc)  # and went on
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    await asyncio.to_thread(converge, tmp_path, {PG_KEY: pg_url})


def replicator(data: Path, url: str, log: Path) -> subprocess.Popen[bytes]:
    """A long-running `mystira replicate` process, its output in ``log``."""
    env = {**os.environ, **FAST, PG_KEY: url, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "mystira_data", "--data-dir", str(data), "replicate"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def pending(data: Path, url: str) -> int:
    """Changes not yet replicated, summed over the containers (`status --json`)."""
    rows = json.loads(ok(mystira(data, {PG_KEY: url}, "status", "--json")))["containers"]
    return sum(int(r["lag"]["pending"]) for r in rows if r["lag"] is not None)


async def until_true(check: Callable[[], bool], proc: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        assert proc.poll() is None, "the replicator exited"
        if await asyncio.to_thread(check):
            return
        await asyncio.sleep(0.2)
    raise AssertionError("condition never became true")
