"""Migrations: up, down, current, drift against `tables.py`, and upgrading older databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from mystira_data.errors import ConfigError
from mystira_data.polyglot.phase.record import PhaseRecord
from mystira_data.polyglot.state.phases import RelationalPhaseStore
from mystira_data.relational import RelationalStore, migrate
from mystira_data.relational.engine import create_engine
from mystira_data.relational.tables import metadata
from mystira_data.settings import Phase
from tests.servers import postgres as pg

from .docs import account, session

HEAD = "0010"  # the newest migration

# What the C# app's V001 + V002 scripts leave behind, written from their schema facts.
V001 = [
    """CREATE TABLE accounts (id VARCHAR(36) PRIMARY KEY, external_user_id VARCHAR(256),
        email VARCHAR(256) NOT NULL, display_name VARCHAR(256), role VARCHAR(50) DEFAULT 'Guest',
        user_profile_ids JSONB DEFAULT '[]', completed_scenario_ids JSONB DEFAULT '[]',
        subscription JSONB DEFAULT '{}', settings JSONB DEFAULT '{}',
        created_at TIMESTAMPTZ DEFAULT NOW(), last_login_at TIMESTAMPTZ)""",
    "CREATE UNIQUE INDEX ix_accounts_email ON accounts(email)",
    """CREATE TABLE game_sessions (id VARCHAR(36) PRIMARY KEY, scenario_id VARCHAR(36) NOT NULL,
        account_id VARCHAR(36) NOT NULL, profile_id VARCHAR(36),
        status VARCHAR(20) DEFAULT 'NotStarted', current_scene_id VARCHAR(100),
        player_names JSONB DEFAULT '[]', choice_history JSONB DEFAULT '[]',
        echo_history JSONB DEFAULT '[]', compass_values JSONB DEFAULT '{}',
        player_compass_progress_totals JSONB DEFAULT '[]', achievements JSONB DEFAULT '[]',
        character_assignments JSONB DEFAULT '[]', start_time TIMESTAMPTZ, end_time TIMESTAMPTZ,
        elapsed_time INTERVAL, is_paused BOOLEAN DEFAULT FALSE, paused_at TIMESTAMPTZ,
        scene_count INTEGER DEFAULT 0, target_age_group VARCHAR(20),
        selected_character_id VARCHAR(100))""",
    "CREATE INDEX ix_game_sessions_account_id ON game_sessions(account_id)",
    """CREATE TABLE player_scenario_scores (id VARCHAR(36) PRIMARY KEY,
        profile_id VARCHAR(36) NOT NULL, scenario_id VARCHAR(36) NOT NULL,
        game_session_id VARCHAR(36), axis_scores JSONB DEFAULT '{}',
        created_at TIMESTAMPTZ DEFAULT NOW())""",
    """CREATE UNIQUE INDEX uix_player_scenario_scores_profile_scenario
        ON player_scenario_scores(profile_id, scenario_id)""",
    """CREATE TABLE _polyglot_sync_log (id SERIAL PRIMARY KEY, entity_type VARCHAR(100) NOT NULL,
        entity_id VARCHAR(36) NOT NULL, operation VARCHAR(20) NOT NULL,
        source_backend VARCHAR(20) NOT NULL, sync_status VARCHAR(20) DEFAULT 'pending',
        cosmos_timestamp TIMESTAMPTZ, postgres_timestamp TIMESTAMPTZ DEFAULT NOW(),
        error_message TEXT, retry_count INTEGER DEFAULT 0, created_at TIMESTAMPTZ DEFAULT NOW())""",
]
V002 = [
    """ALTER TABLE game_sessions ADD CONSTRAINT fk_game_sessions_account FOREIGN KEY (account_id)
        REFERENCES accounts(id) ON DELETE CASCADE ON UPDATE CASCADE""",
    """ALTER TABLE player_scenario_scores ADD CONSTRAINT fk_player_scores_game_session
        FOREIGN KEY (game_session_id) REFERENCES game_sessions(id)
        ON DELETE SET NULL ON UPDATE CASCADE""",
]
LEGACY_ROWS = [
    "INSERT INTO accounts (id, email, display_name) VALUES ('old-1', 'old@example.test', 'Old')",
    """INSERT INTO game_sessions (id, scenario_id, account_id, start_time, elapsed_time, status)
        VALUES ('old-s', 'sc', 'old-1', '2023-01-02T03:04:05Z', '00:12:00', 'Completed')""",
]


@pytest.fixture
def fresh_pg(pg_server_url: str) -> Iterator[str]:
    with pg.fresh_database(pg_server_url) as url:
        yield url


@pytest.fixture(params=["postgres", "sqlite"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        url: str = request.getfixturevalue("fresh_pg")
        return url
    return f"sqlite:///{tmp_path / 'fresh.db'}"


async def execute(url: str, statements: list[str]) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(sa.text(statement))
    finally:
        await engine.dispose()


async def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def column_names(url: str, table: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            columns = await conn.run_sync(lambda c: sa.inspect(c).get_columns(table))
            return {c["name"] for c in columns}
    finally:
        await engine.dispose()


async def drift(url: str) -> list[Any]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            diffs = await conn.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": True}), metadata
                )
            )
    finally:
        await engine.dispose()
    # The COLLATE "C" id indexes are expression indexes known to the migration only.
    return [d for d in diffs if not (d[0] == "remove_index" and d[1].name.endswith("_id_c"))]


async def test_upgrade_down_to_base_and_up_again(empty_url: str) -> None:
    assert await migrate.current(empty_url) is None
    await migrate.upgrade(empty_url)
    assert await migrate.current(empty_url) == migrate.head() == HEAD
    await migrate.upgrade(empty_url)  # nothing left to do
    await migrate.downgrade(empty_url, "0009")
    assert "_polyglot_run_segments" not in await table_names(empty_url)
    assert "_polyglot_runs" not in await table_names(empty_url)
    await migrate.downgrade(empty_url, "0008")
    assert "user_badges" not in await table_names(empty_url)
    await migrate.downgrade(empty_url, "0007")
    assert "_console_sessions" not in await table_names(empty_url)
    await migrate.downgrade(empty_url, "0006")
    assert "_polyglot_controls" not in await table_names(empty_url)
    await migrate.downgrade(empty_url, "0004")
    assert "_api_keys" not in await table_names(empty_url)
    await migrate.downgrade(empty_url, "0003")
    assert "_polyglot_apply_attempts" not in await table_names(empty_url)
    await migrate.downgrade(empty_url, "0002")
    assert "pending_phase" not in await column_names(empty_url, "_polyglot_phase")
    await migrate.downgrade(empty_url, "0001")
    assert await migrate.current(empty_url) == "0001"
    assert "_polyglot_outbox" not in await table_names(empty_url)
    await migrate.downgrade(empty_url, "base")
    assert await migrate.current(empty_url) is None
    assert await table_names(empty_url) <= {"alembic_version"}
    await migrate.upgrade(empty_url)
    assert await migrate.current(empty_url) == HEAD


async def test_0003_adds_the_pending_switch_to_existing_phase_records(empty_url: str) -> None:
    await migrate.upgrade(empty_url, "0002")
    await execute(
        empty_url,
        ["INSERT INTO _polyglot_phase (container, phase) VALUES ('Accounts', 'CosmosOnly')"],
    )
    await migrate.upgrade(empty_url)
    async with RelationalStore(empty_url) as store:
        records = await RelationalPhaseStore(store).load()
    assert records == {"Accounts": PhaseRecord(Phase.COSMOS_ONLY, version=1, pending=None)}
    assert await drift(empty_url) == []


async def test_migrated_schema_matches_the_tables_module(empty_url: str) -> None:
    await migrate.upgrade(empty_url)
    assert await drift(empty_url) == []


@pytest.mark.parametrize("applied", [V001, V001 + V002], ids=["v001", "v001+v002"])
async def test_a_database_the_csharp_app_migrated_upgrades_cleanly(
    fresh_pg: str, applied: list[str]
) -> None:
    await execute(fresh_pg, [*applied, *LEGACY_ROWS])
    await migrate.upgrade(fresh_pg)
    assert await drift(fresh_pg) == []  # V002's keys exist (once) either way
    async with RelationalStore(fresh_pg) as store:
        old = await store.read("Accounts", "old-1", "old-1")
        assert (old["_version"], old["role"], old["displayName"]) == (0, "Guest", "Old")
        legacy = await store.read("GameSessions", "old-s", "old-1")
        assert (legacy["elapsedTime"], legacy["status"]) == ("00:12:00", "Completed")
        # Any versioned write from the document store wins over pre-migration rows.
        newer = session("old-s", "old-1", sceneCount=9) | {"_version": 1}
        assert await store.upsert_if_newer("GameSessions", [newer], outbox=False) == 1
        await store.create("Accounts", account("new-1"))


async def test_sqlite_store_can_migrate_on_open(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'auto.db'}"
    async with RelationalStore(url, auto_migrate=True) as store:
        await store.create("Accounts", account("a1"))
    assert await migrate.current(url) == HEAD


async def test_an_unmigrated_database_is_a_config_error(empty_url: str) -> None:
    async with RelationalStore(empty_url) as store:
        with pytest.raises(ConfigError, match="db upgrade"):
            await store.read("Accounts", "a1", "a1")


def test_bad_urls_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        RelationalStore("mysql://nope/db")
    with pytest.raises(ConfigError):
        RelationalStore("sqlite://")
    with pytest.raises(ConfigError):
        RelationalStore("not a url")
