"""Smaller operator promises of #14: health-check verify, honest phase set, live replicate, axes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mystira_data import catalog
from mystira_data.cli.app import app
from mystira_data.gate_settings import GateThresholds
from mystira_data.polyglot.phase.record import Transition
from mystira_data.polyglot.state.phases import RelationalPhaseStore
from mystira_data.settings import Phase
from tests.integration.consistency.data import account, embedded

runner = CliRunner()
SAFETY_TIMEOUT_S = 120  # only against a hang; nothing is asserted on time


def mystira(data: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--data-dir", str(data), *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def record_phase(data: Path, container: str, phase: Phase) -> None:
    """Record ``phase`` directly, skipping the catch-up a real `phase set` does."""

    async def body() -> None:
        async with embedded(data) as poly:
            move = Transition(container, Phase.COSMOS_ONLY, phase, datetime.now(UTC), "test", True)
            assert await RelationalPhaseStore(poly.raw_relational).save(move, 0)

    asyncio.run(body())


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("demo") / "data"
    code, _, err = mystira(data, "seed", "--demo", "--accounts", "6")
    assert code == 0, err
    return data


def test_verify_all_compares_only_containers_with_two_live_copies(tmp_path: Path) -> None:
    data = tmp_path / "data"
    code, _, err = mystira(data, "seed", "--demo", "--accounts", "3")
    assert code == 0, err
    code, out, err = mystira(data, "verify", "--all")
    assert code == 0, (out, err)  # every container CosmosOnly: nothing to compare
    relational = len(list(catalog.relational_containers()))
    assert err.count("not applicable (CosmosOnly: one live copy)") == relational

    record_phase(data, "Accounts", Phase.DUAL_WRITE_COSMOS_READ)  # relational copy still empty
    code, out, err = mystira(data, "verify", "--all")
    assert code == 1
    [line] = out.splitlines()
    assert line.startswith("Accounts (")
    assert line.endswith("DIFFERENT")
    assert err.count("not applicable") == relational - 1


def test_phase_set_says_writes_pause_only_when_the_switch_is_scheduled(tmp_path: Path) -> None:
    data = tmp_path / "data"
    record_phase(data, "Accounts", Phase.DUAL_WRITE_COSMOS_READ)
    code, out, err = mystira(data, "phase", "set", "Accounts", "DualWritePostgresRead")
    assert code == 2
    assert "no verify has run" in err
    assert "writes pause" not in out + err

    fast = {"MYSTIRA__POLYGLOTPERSISTENCE__PHASESWITCHMARGINMS": "0",
            "MYSTIRA__POLYGLOTPERSISTENCE__PHASESWITCHDRAINMS": "0"}
    code, out, err = mystira(data, "phase", "set", "Accounts", "DualWritePostgresRead",
                             "--force", "--reason", "test", env=fast)
    assert code == 0, err
    first, last = out.splitlines()
    assert "changes the primary; writes pause in about" in first
    assert last == "Accounts: DualWriteCosmosRead → DualWritePostgresRead"


async def test_the_lag_refusal_names_replicate_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    await asyncio.to_thread(record_phase, data, "Accounts", Phase.DUAL_WRITE_COSMOS_READ)
    async with embedded(data) as poly:
        await poly.stores.documents.upsert("Accounts", account(1))  # not yet replicated
        assert poly.gates is not None
        limits = GateThresholds(MaxLagSeconds=0, MaxLagChanges=0)  # any pending change
        check = await poly.gates.lag("Accounts", limits, True)
    assert check.refuses
    assert "run `mystira replicate --once`" in check.detail


def test_plain_replicate_prints_progress_lines(tmp_path: Path) -> None:
    data = tmp_path / "data"
    record_phase(data, "Accounts", Phase.DUAL_WRITE_COSMOS_READ)
    command = [sys.executable, "-m", "mystira_data", "--data-dir", str(data), "replicate",
               "--container", "Accounts", "--progress-every", "0.2"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "COLUMNS": "200"})
    try:
        deadline = time.monotonic() + SAFETY_TIMEOUT_S
        assert proc.stdout is not None
        lines: list[str] = []
        while len(lines) < 2 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
    finally:
        proc.kill()
        proc.communicate()
    assert len(lines) == 2, lines
    assert all("replicating 1 container(s): applied" in line for line in lines)
    assert "pending" in lines[0]


def test_report_axes_lists_the_axes_leaderboard_takes(demo: Path) -> None:
    code, _, err = mystira(demo, "backfill", "--all")
    assert code == 0, err
    code, out, err = mystira(demo, "report", "axes", "--json")
    assert code == 0, err
    axes = {row["axis"]: row["scores"] for row in json.loads(out)}
    with_ampersand = [a for a in axes if "&" in a]
    assert with_ampersand, axes
    code, out, err = mystira(demo, "report", "completion", "--json")
    scenario = json.loads(out)[0]["scenario_id"]
    code, out, err = mystira(demo, "report", "leaderboard", scenario, with_ampersand[0], "--json")
    assert code == 0, err
    assert isinstance(json.loads(out), list)
