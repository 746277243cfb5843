"""`mystira phase get` shows a pending switch of the primary (scheduled or expired)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from typer.testing import CliRunner

from mystira_data.bootstrap import open_stores
from mystira_data.cli.app import app
from mystira_data.polyglot.state.phases import RelationalPhaseStore
from mystira_data.settings import Phase, load_settings

runner = CliRunner()
COSMOS_READ, POSTGRES_READ = Phase.DUAL_WRITE_COSMOS_READ, Phase.DUAL_WRITE_POSTGRES_READ


def schedule(data: Path, container: str, fence_in_s: float, expires_in_s: float) -> None:
    """Leave a pending switch behind, as a switcher that died after scheduling would."""

    async def body() -> None:
        async with open_stores(load_settings(data_dir=data)) as stores:
            assert stores.relational is not None
            records = RelationalPhaseStore(stores.relational)
            assert await records.schedule(
                container, COSMOS_READ, POSTGRES_READ, 0, fence_in_s, expires_in_s
            )

    asyncio.run(body())


def phase_get(data: Path, *args: str) -> str:
    result = runner.invoke(app, ["--data-dir", str(data), "phase", "get", *args])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_phase_get_shows_scheduled_and_expired_switches(tmp_path: Path) -> None:
    data = tmp_path / "data"
    schedule(data, "Accounts", 30, 90)
    schedule(data, "GameSessions", -2, -1)

    out = phase_get(data)
    assert "Accounts: DualWriteCosmosRead" in out
    assert "switch to DualWritePostgresRead scheduled: writes pause at" in out
    assert "switch to DualWritePostgresRead expired" in out
    assert "writes continue under DualWriteCosmosRead" in out

    shown = json.loads(phase_get(data, "--json"))
    assert shown["Accounts"] == "DualWriteCosmosRead"
    assert shown["Scenarios"] == "CosmosOnly"
    assert {n: p["state"] for n, p in shown["pending"].items()} == {
        "Accounts": "scheduled",
        "GameSessions": "expired",
    }
    assert shown["pending"]["Accounts"]["target"] == "DualWritePostgresRead"


def test_phase_get_json_is_unchanged_without_a_pending_switch(tmp_path: Path) -> None:
    shown = json.loads(phase_get(tmp_path / "data", "Accounts", "--json"))
    assert shown == {"Accounts": "CosmosOnly"}
