"""Fixtures for the cache integration tests: a real document store and a real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mystira_data import catalog
from mystira_data.cache import TieredCache
from mystira_data.documents.sqlite import SqliteDocumentStore
from tests.servers.redis import unique_prefix


@pytest.fixture
def prefix() -> str:
    return unique_prefix()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteDocumentStore]:
    async with SqliteDocumentStore(tmp_path / "docs.sqlite", catalog.partition_keys()) as docs:
        yield docs


@pytest.fixture
async def tiered(redis_url: str, prefix: str) -> AsyncIterator[TieredCache]:
    cache = TieredCache.connect(redis_url, prefix=prefix)
    await cache.start(wait_subscribed=5.0)
    try:
        yield cache
    finally:
        await cache.clear()
        await cache.close()
