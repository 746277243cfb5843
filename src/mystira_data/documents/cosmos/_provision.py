"""Provisioning: the Cosmos DB database and its containers, with the settings our code needs.

Every container gets its partition-key path (hash, version 2), an indexing policy that
indexes everything except ``_etag`` plus composite indexes for the multi-field queries we
run, and a default TTL of -1: TTL is on but nothing expires unless an item sets ``ttl``, which
is how tombstones can be made to purge themselves.

Idempotent and convergent: existing containers keep their data; a container whose partition
key differs is a `ConfigError` (Cosmos cannot change it in place); a drifted indexing policy
or TTL is replaced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from azure.cosmos import PartitionKey
from azure.cosmos.aio import CosmosClient, DatabaseProxy
from azure.cosmos.exceptions import CosmosResourceExistsError, CosmosResourceNotFoundError

from mystira_data.documents.cosmos._errors import _cosmos_errors
from mystira_data.errors import ConfigError

# One composite index: (path, "ascending" | "descending") per field, in order.
CompositeIndex = tuple[tuple[str, str], ...]

ASC, DESC = "ascending", "descending"

# Per container, for queries that filter on one field and order or filter by another.
COMPOSITE_INDEXES: Mapping[str, tuple[CompositeIndex, ...]] = {
    "GameSessions": (
        (("/accountId", ASC), ("/status", ASC)),  # an account's sessions by status
        (("/accountId", ASC), ("/startTime", DESC)),  # an account's latest sessions
        (("/scenarioId", ASC), ("/startTime", DESC)),  # a scenario's latest sessions
    ),
}
DEFAULT_TTL = -1


@dataclass(frozen=True)
class Provisioned:
    """What `provision` did to one container."""

    container: str
    partition_key: str
    created: bool
    updated: bool


async def provision(
    client: CosmosClient,
    database: str,
    containers: Mapping[str, str],
    *,
    composite_indexes: Mapping[str, Sequence[CompositeIndex]] = COMPOSITE_INDEXES,
    default_ttl: int = DEFAULT_TTL,
) -> list[Provisioned]:
    """Create ``database`` and each container (name → partition-key path) if missing."""
    with _cosmos_errors(database):
        db = await _database(client, database)
        done = []
        for name, pk_path in containers.items():
            policy = _policy(composite_indexes.get(name, ()))
            done.append(await _container(db, name, pk_path, policy, default_ttl))
        return done


async def _database(client: CosmosClient, name: str) -> DatabaseProxy:
    try:
        return await client.create_database_if_not_exists(name)
    except CosmosResourceExistsError:  # created by another process between read and create
        return client.get_database_client(name)


def _policy(composites: Sequence[CompositeIndex]) -> dict[str, Any]:
    return {
        "indexingMode": "consistent",
        "automatic": True,
        "includedPaths": [{"path": "/*"}],
        "excludedPaths": [{"path": '/"_etag"/?'}],
        "compositeIndexes": [
            [{"path": path, "order": order} for path, order in index] for index in composites
        ],
    }


async def _container(
    db: DatabaseProxy, name: str, pk_path: str, policy: dict[str, Any], ttl: int
) -> Provisioned:
    created = False
    props: Mapping[str, Any]
    try:
        props = await db.get_container_client(name).read()
    except CosmosResourceNotFoundError:
        props, created = await _create(db, name, pk_path, policy, ttl), True
    _check_partition_key(name, pk_path, props)
    updated = _drifted(props, policy, ttl)
    if updated:
        await db.replace_container(
            name, PartitionKey(path=pk_path), indexing_policy=policy, default_ttl=ttl
        )
    return Provisioned(name, pk_path, created, updated)


async def _create(
    db: DatabaseProxy, name: str, pk_path: str, policy: dict[str, Any], ttl: int
) -> Mapping[str, Any]:
    try:
        proxy = await db.create_container(
            name, PartitionKey(path=pk_path), indexing_policy=policy, default_ttl=ttl
        )
    except CosmosResourceExistsError:  # another process provisioned it just now
        proxy = db.get_container_client(name)
    return await proxy.read()


def _check_partition_key(name: str, pk_path: str, props: Mapping[str, Any]) -> None:
    paths = props.get("partitionKey", {}).get("paths", [])
    if paths != [pk_path]:
        raise ConfigError(
            f"partition_keys.{name}", f"container exists with partition key {paths}, not {pk_path}"
        )


def _drifted(props: Mapping[str, Any], policy: Mapping[str, Any], ttl: int) -> bool:
    """Only what we set and the service keeps verbatim; it normalises the rest of a policy."""
    stored = props.get("indexingPolicy", {}).get("compositeIndexes", [])
    return bool(
        _composites(stored) != _composites(policy["compositeIndexes"])
        or props.get("defaultTtl") != ttl
    )


def _composites(indexes: Sequence[Sequence[Mapping[str, str]]]) -> list[list[tuple[str, str]]]:
    return [[(f["path"], f.get("order", ASC)) for f in index] for index in indexes]
