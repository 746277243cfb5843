"""Session fixtures for the servers tests use: started on first request, stopped at the end.

A pytest plugin, registered once in ``tests/conftest.py`` (``pytest_plugins``), so every test
folder sees the same fixtures without importing them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers import postgres, redis
from tests.servers.azurite import Azurite, running_azurite
from tests.servers.cosmos import CosmosServer, running_cosmos_server


@pytest.fixture(scope="session")
def cosmos_server() -> Iterator[CosmosServer]:
    """One Cosmos DB API server for the whole session; tests keep apart by database name."""
    with running_cosmos_server() as server:
        yield server


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """One Azurite for the whole session; tests keep apart by container name."""
    with running_azurite() as server:
        yield server


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """Admin URL of the session's PostgreSQL (shared server, or a private one)."""
    return postgres.server_url()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The session's Redis; tests keep apart by key prefix (`redis.unique_prefix`)."""
    return redis.shared_redis_url()
