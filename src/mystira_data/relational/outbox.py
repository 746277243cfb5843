"""The transactional outbox: one row per entity write, in the same transaction as the write.

The relay (polyglot layer) reads unrelayed rows in id order, applies each payload to the
document store (version-guarded, so redelivery is harmless) and marks them relayed. The
payload is the stored document exactly as `RelationalStore.read` would return it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from mystira_data.relational.tables import outbox
from mystira_data.types import JsonDoc


@dataclass(frozen=True)
class OutboxEntry:
    """One pending change for the relay."""

    id: int
    container: str
    entity_id: str
    partition_key: str
    version: int
    operation: str  # create | upsert | replace | delete
    payload: JsonDoc | None
    created_at: datetime
    attempts: int


@dataclass(frozen=True)
class Change:
    """What to record for one applied write."""

    container: str
    entity_id: str
    partition_key: str
    version: int
    operation: str
    payload: JsonDoc


_INSERT = sa.insert(outbox)  # built once: its cache key is then memoised


async def record(conn: AsyncConnection, changes: Sequence[Change]) -> None:
    """Insert outbox rows for ``changes`` on ``conn`` (inside the write's transaction)."""
    if not changes:
        return
    now = datetime.now(UTC)
    rows = [
        {
            "container": c.container,
            "entity_id": c.entity_id,
            "partition_key": c.partition_key,
            "_version": c.version,
            "operation": c.operation,
            "payload": c.payload,
            "created_at": now,
        }
        for c in changes
    ]
    await conn.execute(_INSERT, rows)


def pending_query(limit: int, after_id: int, container: str | None) -> sa.Select[Any]:
    stmt = (
        sa.select(outbox)
        .where(outbox.c.relayed_at.is_(None), outbox.c.id > after_id)
        .order_by(outbox.c.id)
        .limit(limit)
    )
    if container is not None:
        stmt = stmt.where(outbox.c.container == container)
    return stmt


def entry(row: Any) -> OutboxEntry:
    return OutboxEntry(
        id=int(row.id),
        container=row.container,
        entity_id=row.entity_id,
        partition_key=row.partition_key,
        version=int(row._version),
        operation=row.operation,
        payload=row.payload,
        created_at=row.created_at,
        attempts=int(row.attempts),
    )
