"""Generated documents and helpers shared by the backfill/verify/repair tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from mystira_data.bootstrap import open_platform
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.write.repository import validated
from mystira_data.query import Filter, Op, Query
from mystira_data.settings import load_settings
from mystira_data.types import JsonDoc

START = "2026-01-01T00:00:00Z"
CONTAINERS = ("Accounts", "GameSessions")  # parents first: GameSessions has an FK to Accounts
OWNER = "consistency-test"


def account_id(i: int) -> str:
    return f"acc-{i:05d}"


def account(i: int) -> JsonDoc:
    """A valid Account as the application stores it (through the model, so every defaulted
    field such as ``createdAt`` or ``settings.id`` is present)."""
    body = validated("Accounts", {"id": account_id(i), "email": f"player{i}@example.org",
                                  "displayName": f"Player {i}"})
    return {**body, "_version": 1}


def session(i: int, accounts: int, *, id: str | None = None) -> JsonDoc:
    return {
        "id": id or f"gs-{i:06d}", "accountId": account_id(i % accounts), "startTime": START,
        "status": "InProgress", "currentSceneId": f"scene-{i % 9}", "sceneCount": i % 9,
        "_version": 1,
    }


async def put_all(store: Any, container: str, docs: Iterable[JsonDoc],
                  *, concurrency: int = 16) -> None:
    """Upsert ``docs`` straight into ``store`` (behind the repository's back)."""
    gate = asyncio.Semaphore(concurrency)

    async def one(doc: JsonDoc) -> None:
        async with gate:
            await store.upsert(container, doc)

    await asyncio.gather(*(one(d) for d in docs))


async def seed(documents: Any, sessions: int, *, accounts: int | None = None) -> int:
    """``sessions`` GameSessions over ``accounts`` Accounts in the document store only."""
    accounts = accounts or max(1, sessions // 10)
    await put_all(documents, "Accounts", (account(i) for i in range(accounts)))
    await put_all(documents, "GameSessions", (session(i, accounts) for i in range(sessions)))
    return accounts


def by_id(doc_id: str, *, include_deleted: bool = False) -> Query:
    return Query(filters=(Filter("id", Op.EQ, doc_id),), cross_partition=True,
                 include_deleted=include_deleted)


async def live_count(store: Any, container: str) -> int:
    return int(await store.count(container, Query(cross_partition=True)))


async def replicate_all(poly: Polyglot, container: str, *, timeout_s: float = 60) -> int:
    """``replicate_once`` until it returns 0 and nothing is pending.

    A phase switch's catch-up leaves its change-feed leases held by a throw-away owner until
    they expire, so some ranges only become ours after the lease TTL: poll until then.
    """
    moved, deadline = 0, time.monotonic() + timeout_s
    while True:
        n = await poly.replicate_once(container, owner=OWNER)
        moved += n
        if n == 0:
            if (await poly.lag(container)).pending == 0:
                return moved
            assert time.monotonic() < deadline, f"{container}: replication never caught up"
            await asyncio.sleep(0.5)


@asynccontextmanager
async def embedded(data_dir: Path) -> AsyncIterator[Polyglot]:
    """The polyglot layer over an embedded data dir (what the CLI opens with --data-dir)."""
    async with open_platform(load_settings(data_dir=data_dir), refresh_s=0, provision=True) as poly:
        yield poly
