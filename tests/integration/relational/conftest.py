"""Fixtures for the relational store: a migrated PostgreSQL database per test session and a
migrated SQLite file per test; `store` runs a test on both."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa

from mystira_data.relational import RelationalStore, migrate
from mystira_data.relational.tables import CHILD_TABLES, ENTITY_TABLES, POLYGLOT_TABLES
from tests.servers import postgres as pg

T = TypeVar("T")
BACKENDS = ("postgres", "sqlite")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from sync code, even while a loop runs in this thread
    (session fixtures may be set up lazily from inside an async test)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.fixture(scope="session")
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A fresh, migrated database for this test session (dropped at the end)."""
    with pg.fresh_database(pg_server_url) as url:
        run_async(migrate.upgrade(url))
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating each time is slower)."""
    path = tmp_path_factory.mktemp("relational") / "template.db"
    run_async(migrate.upgrade(f"sqlite:///{path}"))
    return path


def sqlite_url(template: Path, directory: Path) -> str:
    target = directory / "relational.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


async def empty_all(store: RelationalStore) -> None:
    """Delete every row (children first); far faster than TRUNCATE for tiny tables."""
    async with store.transaction() as conn:
        for table in (*CHILD_TABLES.values(), *reversed(ENTITY_TABLES.values()), *POLYGLOT_TABLES):
            await conn.execute(sa.delete(table))


@pytest.fixture(params=BACKENDS)
async def store(
    request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path
) -> AsyncIterator[RelationalStore]:
    """An open, empty, migrated store, on PostgreSQL and on SQLite."""
    postgres = request.param == "postgres"
    url = request.getfixturevalue("pg_url") if postgres else sqlite_url(sqlite_template, tmp_path)
    async with RelationalStore(url) as opened:
        if postgres:
            await empty_all(opened)
        yield opened
