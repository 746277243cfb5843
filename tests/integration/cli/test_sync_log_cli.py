"""`mystira simulate` with a secondary that refuses every copy: each failed secondary write is
in ``_polyglot_sync_log`` once the command has closed its stores (the CLI's context flushes
the in-memory sync log there), on the embedded relational store and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from mystira_data.bootstrap import open_stores
from mystira_data.cli.app import app
from mystira_data.query import Query, every
from mystira_data.relational import tables as t
from mystira_data.settings import Settings, load_settings
from tests.integration.relational.conftest import run_async
from tests.servers import postgres as pg

runner = CliRunner()
CONTAINERS = ("Accounts", "GameSessions", "PlayerScenarioScores")  # parents first
TABLES = ("accounts", "game_sessions", "player_scenario_scores")
REFUSAL = "secondary refuses copies (test)"
# The copies of the secondary store fail, nothing else: the primary (the document store) and
# the polyglot tables beside the entity tables keep working.
REFUSE = {
    "sqlite": [
        f"CREATE TRIGGER refuse_{table}_{verb} BEFORE {verb} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
        for table in TABLES
        for verb in ("INSERT", "UPDATE")
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_copy() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN RAISE EXCEPTION '{REFUSAL}'; END $$",
        *(
            f"CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_copy()"
            for table in TABLES
        ),
    ],
}


@dataclass
class Install:
    data: Path
    env: dict[str, str]

    @property
    def settings(self) -> Settings:
        pg_url = self.env.get("MYSTIRA__CONNECTIONSTRINGS__POSTGRESQL", "")
        return load_settings(data_dir=self.data, ConnectionStrings={"PostgreSql": pg_url})

    def mystira(self, *args: str) -> str:
        result = runner.invoke(app, ["--data-dir", str(self.data), *args], env=self.env)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result.stdout


@pytest.fixture(params=["embedded", "postgres"])
def install(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Install]:
    if request.param == "embedded":
        yield Install(tmp_path / "data", {})
        return
    with pg.fresh_database(pg.server_url(), prefix="mystira_synclog_") as url:
        yield Install(tmp_path / "data", {"MYSTIRA__CONNECTIONSTRINGS__POSTGRESQL": url})


async def refuse_copies(settings: Settings) -> None:
    async with open_stores(settings) as stores:
        assert stores.relational is not None
        async with stores.relational.transaction() as conn:
            for ddl in REFUSE[stores.relational.dialect]:
                await conn.execute(sa.text(ddl))


async def sync_log_and_writes(settings: Settings) -> tuple[list[Any], dict[str, int]]:
    """The sync log's rows, and the writes each document took (its ``_version``: every
    repository write bumps it by one) as the primary holds them, tombstones included."""
    async with open_stores(settings) as stores:
        assert stores.relational is not None
        async with stores.relational.reading() as conn:
            rows = list(await conn.execute(sa.select(t.sync_log).order_by(t.sync_log.c.id)))
        writes: dict[str, int] = {}
        for container in CONTAINERS:
            query = Query(cross_partition=True, include_deleted=True)
            async for doc in every(stores.documents, container, query):
                writes[doc["id"]] = int(doc["_version"])
    return rows, writes


def test_every_failed_secondary_write_is_in_the_sync_log_after_the_command(
    install: Install,
) -> None:
    install.mystira("db", "upgrade")
    run_async(refuse_copies(install.settings))
    for container in CONTAINERS:
        install.mystira("phase", "set", container, "DualWriteCosmosRead")

    out = install.mystira("simulate", "--players", "4", "--writes", "80", "--random-seed", "7")

    rows, writes = run_async(sync_log_and_writes(install.settings))
    assert sum(writes.values()) >= 80, out  # the players wrote, deletes included
    logged: dict[str, int] = {}
    for row in rows:
        logged[row.entity_id] = logged.get(row.entity_id, 0) + 1
        assert (row.sync_status, row.source_backend) == ("failed", "cosmos")
        assert row.entity_type in CONTAINERS
        assert row.error_message  # why it failed
    assert logged == writes  # one row per failed copy, for every write of every document
