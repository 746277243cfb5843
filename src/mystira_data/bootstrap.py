"""The composition root: one place that builds every store from `Settings`.

The CLI, the API and the tests call `open_stores`; no other module builds its own settings or
picks adapters. An empty connection string selects the embedded default under the data dir.
Parts a command does not need (cache, blobs) are not opened.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mystira_data.documents.formats import format_for, formatted
from mystira_data.documents.port import DocumentStore
from mystira_data.errors import StoreUnavailable
from mystira_data.settings import Settings

if TYPE_CHECKING:
    from mystira_data.blobs.port import BlobStore
    from mystira_data.cache.port import Cache
    from mystira_data.polyglot.layer import Polyglot
    from mystira_data.relational.store import RelationalStore

log = logging.getLogger(__name__)
DOCUMENTS_FILE = "documents.sqlite3"
RELATIONAL_FILE = "relational.sqlite3"


@dataclass
class Stores:
    """The opened stores of one process."""

    settings: Settings
    documents: DocumentStore
    relational: RelationalStore | None = None
    cache: Cache | None = None
    blobs: BlobStore | None = None
    # True when every store is the one `settings` names (`open_stores`): another process
    # may then open the same stores from the settings alone (the async writer process).
    from_settings: bool = False


def data_dir(settings: Settings) -> Path:
    """The embedded-default data directory, created on first use."""
    path = settings.data_dir
    path.mkdir(parents=True, exist_ok=True)
    return path


async def open_document_store(settings: Settings, stack: AsyncExitStack) -> DocumentStore:
    """Cosmos DB when a connection string is set, else the embedded SQLite store; seen in
    native JSON whatever ``DocumentStore:Format`` it keeps (`documents.formats`)."""
    fmt = format_for(settings.document_store.format)
    return formatted(await _open_raw_document_store(settings, stack, fmt.partition_keys()), fmt)


async def _open_raw_document_store(
    settings: Settings, stack: AsyncExitStack, pks: dict[str, str]
) -> DocumentStore:
    conn = settings.connection_strings.cosmos_db
    if conn.get_secret_value():
        from mystira_data.documents.cosmos import CosmosDocumentStore

        cosmos = CosmosDocumentStore.from_connection_string(
            conn, settings.connection_strings.cosmos_database, pks
        )
        stack.push_async_callback(cosmos.close)
        try:
            await cosmos.open()
        except StoreUnavailable as exc:  # it connects again on first use
            log.warning("Cosmos DB unreachable at start, going on without it: %s", exc)
        return cosmos
    from mystira_data.documents.sqlite import SqliteDocumentStore

    sqlite = SqliteDocumentStore(data_dir(settings) / DOCUMENTS_FILE, pks)
    return await stack.enter_async_context(sqlite)


def relational_url(settings: Settings) -> str:
    """The SQLAlchemy URL: PostgreSQL when configured, else SQLite under the data dir."""
    conn = settings.connection_strings.postgre_sql.get_secret_value()
    if conn:
        return conn
    return f"sqlite+aiosqlite:///{data_dir(settings) / RELATIONAL_FILE}"


async def open_relational_store(settings: Settings, stack: AsyncExitStack) -> RelationalStore:
    """The relational store; nothing connects yet, so it opens while the database is down.

    PostgreSQL is migrated only by `mystira db upgrade`: its first connection refuses a schema
    behind this code (`SchemaOutdated`). The embedded SQLite file has no server to be down
    and no other host to race with, so it is migrated on open.
    """
    from mystira_data.relational.store import RelationalStore

    url = relational_url(settings)
    embedded = not settings.connection_strings.postgre_sql.get_secret_value()
    store = RelationalStore(url, auto_migrate=embedded, require_head=not embedded)
    return await stack.enter_async_context(store)


@asynccontextmanager
async def open_stores(
    settings: Settings, *, relational: bool = True, cache: bool = False, blobs: bool = False
) -> AsyncIterator[Stores]:
    """Open the configured stores; all are closed when the block exits."""
    async with AsyncExitStack() as stack:
        stores = Stores(settings, await open_document_store(settings, stack), from_settings=True)
        if relational:
            stores.relational = await open_relational_store(settings, stack)
        if cache:
            from mystira_data.cache.factory import open_cache

            stores.cache = await open_cache(settings)
            stack.push_async_callback(stores.cache.close)
        if blobs:
            from mystira_data.blobs.factory import open_blob_store

            stores.blobs = await open_blob_store(settings)
            stack.push_async_callback(stores.blobs.close)
        yield stores


@asynccontextmanager
async def open_platform(
    settings: Settings,
    *,
    refresh_s: float = 2.0,
    blobs: bool = False,
    provision: bool = False,
) -> AsyncIterator[Polyglot]:
    """The polyglot layer over freshly opened stores: the one way to open and close it.

    ``poly.repository`` reads through the cache that `Caching` configures (Redis with an
    in-memory fallback, in-memory only without a Redis connection string, none when
    disabled); see `Polyglot` for the uncached paths. Closing always drains the secondary
    queue and flushes the sync log, however the block ends. ``provision``: create missing
    document containers first (tests, demos).
    """
    from mystira_data.polyglot.layer import build, check_caching

    check_caching(settings.caching)
    caching = settings.caching.enabled
    async with open_stores(settings, cache=caching, blobs=blobs) as stores:
        if provision:
            await stores.documents.ensure_containers()
        poly = build(stores, refresh_s=refresh_s)
        try:
            yield poly
        finally:
            await poly.close()
