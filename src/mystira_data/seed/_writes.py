"""Bulk writes for seeding: bounded concurrency, batch by batch, through the store's upsert."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from mystira_data import catalog
from mystira_data.documents.port import DocumentStore
from mystira_data.domain.base import format_utc
from mystira_data.domain.codec import codec_for
from mystira_data.fields import SYSTEM_FIELDS
from mystira_data.types import JsonDoc

CONCURRENCY = 32
# Tasks are created one batch at a time so a large demo never holds every write in flight.
BATCH_SIZE = 512
# Seed-owned timestamps; comparing documents ignores them so re-seeding is a no-op.
_TIMESTAMPS = frozenset({"createdAt", "updatedAt"})


def encode(model: BaseModel) -> JsonDoc:
    """The stored JSON of ``model``, validated by its codec's own encode."""
    return codec_for(type(model)).encode(model)


async def run_bounded(
    jobs: Sequence[Callable[[], Awaitable[Any]]], *, concurrency: int = CONCURRENCY
) -> None:
    """Run ``jobs`` at most ``concurrency`` at a time; raise the first failure at the end.

    Every job of a batch finishes before the error is raised, so no write is left running
    against a store the caller is about to close.
    """
    gate = asyncio.Semaphore(concurrency)

    async def gated(job: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await job()

    for start in range(0, len(jobs), BATCH_SIZE):
        batch = jobs[start : start + BATCH_SIZE]
        results = await asyncio.gather(*(gated(j) for j in batch), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result


async def upsert_new(
    store: DocumentStore, documents: Mapping[str, Sequence[BaseModel]]
) -> dict[str, int]:
    """Upsert every model as a fresh document (``_version: 1``); counts per container."""
    jobs: list[Callable[[], Awaitable[Any]]] = []
    for container, models in documents.items():
        for model in models:
            doc = encode(model) | {"_version": 1}
            jobs.append(_upsert_job(store, container, doc))
    await run_bounded(jobs)
    return {container: len(models) for container, models in documents.items()}


def _upsert_job(
    store: DocumentStore, container: str, doc: JsonDoc
) -> Callable[[], Awaitable[Any]]:
    return lambda: store.upsert(container, doc)


async def upsert_changed(store: DocumentStore, container: str, models: Sequence[BaseModel]) -> int:
    """Write only the documents that differ from the stored ones; returns how many it wrote.

    A changed document gets the stored ``_version`` + 1 (so version-guarded replication
    accepts it), keeps its ``createdAt`` and gets ``updatedAt`` = now.
    """
    pk_field = catalog.get(container).pk_field
    stored = {
        (doc.get(pk_field), doc["id"]): doc
        async for doc in store.read_all(container, include_deleted=True)
    }
    now = format_utc(datetime.now(UTC))
    jobs: list[Callable[[], Awaitable[Any]]] = []
    for model in models:
        doc = encode(model)
        old = stored.get((doc.get(pk_field), doc["id"]))
        if old is not None and not old.get("_deleted") and _same(old, doc):
            continue
        jobs.append(_upsert_job(store, container, _next_revision(doc, old, now)))
    await run_bounded(jobs)
    return len(jobs)


def _same(old: JsonDoc, new: JsonDoc) -> bool:
    ignored = SYSTEM_FIELDS | _TIMESTAMPS
    return {k: v for k, v in old.items() if k not in ignored} == {
        k: v for k, v in new.items() if k not in ignored
    }


def _next_revision(doc: JsonDoc, old: JsonDoc | None, now: str) -> JsonDoc:
    if old is None:
        return doc | {"_version": 1}
    version = old.get("_version")
    revised = dict(doc)
    revised["_version"] = version + 1 if isinstance(version, int) else 1
    if "createdAt" in old and "createdAt" in doc and not old.get("_deleted"):
        revised["createdAt"] = old["createdAt"]
    if "updatedAt" in doc:
        revised["updatedAt"] = now
    return revised
