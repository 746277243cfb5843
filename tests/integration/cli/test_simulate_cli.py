"""`mystira simulate` run twice on one install with the same seed: the second run makes the
same moves on fresh ids (once it repeated the first run's ids and failed with AlreadyExists)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from typer.testing import CliRunner

from mystira_data.bootstrap import open_stores
from mystira_data.cli.app import app
from mystira_data.query import Op, Query
from mystira_data.settings import load_settings

runner = CliRunner()
CONTAINERS = ("Accounts", "GameSessions", "PlayerScenarioScores")  # parents first


def mystira(data: Path, *args: str) -> str:
    result = runner.invoke(app, ["--data-dir", str(data), *args])
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return result.stdout


async def stored(data: Path) -> dict[str, tuple[int, int]]:
    """Per container: (documents, tombstones) in the document store."""
    everything = Query(cross_partition=True, include_deleted=True)
    async with open_stores(load_settings(data_dir=data), relational=False) as stores:
        return {
            c: (
                await stores.documents.count(c, everything),
                await stores.documents.count(c, everything.where("_deleted", Op.EQ, True)),
            )
            for c in CONTAINERS
        }


def test_a_second_run_with_the_same_seed_writes_as_much_again_on_new_ids(tmp_path: Path) -> None:
    data = tmp_path / "data"
    mystira(data, "db", "upgrade")
    for container in CONTAINERS:
        mystira(data, "phase", "set", container, "DualWriteCosmosRead")
    args = ("simulate", "--players", "6", "--writes", "240", "--random-seed", "3")

    mystira(data, *args)
    first = asyncio.run(stored(data))
    mystira(data, *args)
    second = asyncio.run(stored(data))

    assert all(tombstones for _, tombstones in first.values()), first  # deletes of each kind
    assert second == {c: (2 * n, 2 * gone) for c, (n, gone) in first.items()}
