"""Fixtures for cache fault tests: private Redis servers that tests stop, pause and restart."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from mystira_data import catalog
from mystira_data.documents.sqlite import SqliteDocumentStore
from tests.servers.redis import RedisServer


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer(persist=True).start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteDocumentStore]:
    async with SqliteDocumentStore(tmp_path / "docs.sqlite", catalog.partition_keys()) as docs:
        yield docs
