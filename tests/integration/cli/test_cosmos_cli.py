"""`mystira` against the Cosmos API test server: provision, seed and status via settings."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from azure.cosmos.aio import CosmosClient
from typer.testing import CliRunner

from mystira_data import catalog
from mystira_data.cli.app import app
from tests.servers.cosmos import CosmosServer

runner = CliRunner()


@pytest.fixture
def cosmos_env(cosmos_server: CosmosServer, monkeypatch: pytest.MonkeyPatch) -> str:
    database = f"cli-{uuid.uuid4().hex[:8]}"
    conn = cosmos_server.connection_string + "DisableServerCertificateValidation=True;"
    monkeypatch.setenv("MYSTIRA__CONNECTIONSTRINGS__COSMOSDB", conn)
    monkeypatch.setenv("MYSTIRA__CONNECTIONSTRINGS__COSMOSDATABASE", database)
    return database


async def test_provision_creates_every_container_with_its_partition_key(
    cosmos_env: str, cosmos_server: CosmosServer
) -> None:
    result = await asyncio.to_thread(runner.invoke, app, ["cosmos", "provision"])
    assert result.exit_code == 0, result.stderr
    assert cosmos_server.key not in result.stdout + result.stderr
    again = await asyncio.to_thread(runner.invoke, app, ["cosmos", "provision"])
    assert "created" not in again.stdout
    async with CosmosClient(
        cosmos_server.endpoint, cosmos_server.key, connection_verify=False
    ) as client:
        db = client.get_database_client(cosmos_env)
        for spec in catalog.document_containers():
            props = await db.get_container_client(spec.name).read()
            assert props["partitionKey"]["paths"] == [spec.partition_key]


def test_seed_and_status_json_on_cosmos(cosmos_env: str) -> None:
    assert runner.invoke(app, ["cosmos", "provision"]).exit_code == 0
    seeded = runner.invoke(app, ["seed", "--demo", "--accounts", "3"])
    assert seeded.exit_code == 0, seeded.stderr
    rows = json.loads(runner.invoke(app, ["status", "--json"]).stdout)["containers"]
    counts = {r["container"]: r["counts"]["cosmos"] for r in rows}
    assert counts["Accounts"] == 3
    assert counts["GameSessions"] > 0
