"""An efcore9 document store on the Cosmos API server: the C# app's partition-key paths,
and the C# app's documents round-tripped through `mystira import` / `export`."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest
from azure.cosmos.aio import CosmosClient
from typer.testing import CliRunner

from mystira_data import catalog
from mystira_data.cli.app import app
from mystira_data.fields import SYSTEM_FIELDS
from tests.servers.cosmos import CosmosServer

runner = CliRunner()
FIXTURES = Path(__file__).parents[2] / "fixtures" / "efcore9"


@pytest.fixture
def cosmos_efcore9(cosmos_server: CosmosServer, monkeypatch: pytest.MonkeyPatch) -> str:
    database = f"ef-{uuid.uuid4().hex[:8]}"
    conn = cosmos_server.connection_string + "DisableServerCertificateValidation=True;"
    monkeypatch.setenv("MYSTIRA__CONNECTIONSTRINGS__COSMOSDB", conn)
    monkeypatch.setenv("MYSTIRA__CONNECTIONSTRINGS__COSMOSDATABASE", database)
    monkeypatch.setenv("MYSTIRA__DOCUMENTSTORE__FORMAT", "efcore9")
    return database


async def test_provision_uses_the_csharp_partition_key_paths(
    cosmos_efcore9: str, cosmos_server: CosmosServer
) -> None:
    result = await asyncio.to_thread(runner.invoke, app, ["cosmos", "provision"])
    assert result.exit_code == 0, result.stderr
    async with CosmosClient(
        cosmos_server.endpoint, cosmos_server.key, connection_verify=False
    ) as client:
        db = client.get_database_client(cosmos_efcore9)
        paths = {}
        for spec in catalog.document_containers():
            props = await db.get_container_client(spec.name).read()
            paths[spec.name] = props["partitionKey"]["paths"]
    assert paths["PlayerScenarioScores"] == ["/ProfileId"]
    assert paths["CompassTrackings"] == ["/id"]
    assert paths["GameSessions"] == ["/accountId"]
    assert paths["MediaAssets"] == ["/mediaType"]
    assert paths["Accounts"] == ["/id"]


@pytest.mark.parametrize("container", ["PlayerScenarioScores", "GameSessions", "Scenarios"])
async def test_import_export_round_trip_on_cosmos(
    cosmos_efcore9: str, container: str, tmp_path: Path
) -> None:
    fixture, out = FIXTURES / f"{container}.jsonl", tmp_path / "out.jsonl"
    base = ["--data-dir", str(tmp_path / "data")]
    provisioned = await asyncio.to_thread(runner.invoke, app, [*base, "cosmos", "provision"])
    assert provisioned.exit_code == 0, provisioned.stderr
    imported = await asyncio.to_thread(
        runner.invoke, app, [*base, "import", container, str(fixture)]
    )
    assert imported.exit_code == 0, imported.stderr + imported.stdout
    exported = await asyncio.to_thread(
        runner.invoke, app, [*base, "export", container, "--out", str(out)]
    )
    assert exported.exit_code == 0, exported.stderr
    assert by_id(out) == by_id(fixture)


def by_id(path: Path) -> dict[str, dict[str, object]]:
    docs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return {d["id"]: {k: v for k, v in d.items() if k not in SYSTEM_FIELDS} for d in docs}
