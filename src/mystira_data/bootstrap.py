"""The composition root: one place that builds every store from `Settings`.

The CLI, the API and the tests call `open_stores`; no other module builds its own settings or
picks adapters. An empty connection string selects the embedded default under the data dir.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from mystira_data import catalog
from mystira_data.documents.port import DocumentStore
from mystira_data.settings import Settings

DOCUMENTS_FILE = "documents.sqlite3"


@dataclass
class Stores:
    """The opened stores of one process."""

    settings: Settings
    documents: DocumentStore


def data_dir(settings: Settings) -> Path:
    """The embedded-default data directory, created on first use."""
    path = settings.data_dir
    path.mkdir(parents=True, exist_ok=True)
    return path


async def open_document_store(settings: Settings, stack: AsyncExitStack) -> DocumentStore:
    """Cosmos DB when a connection string is set, else the embedded SQLite store."""
    conn = settings.connection_strings.cosmos_db.get_secret_value()
    pks = catalog.partition_keys()
    if conn:
        from mystira_data.documents.cosmos import CosmosDocumentStore

        store: DocumentStore = CosmosDocumentStore.from_connection_string(
            conn, settings.connection_strings.cosmos_database, pks
        )
    else:
        from mystira_data.documents.sqlite import SqliteDocumentStore

        store = SqliteDocumentStore(data_dir(settings) / DOCUMENTS_FILE, pks)
    await stack.enter_async_context(store)  # type: ignore[arg-type]
    return store


@asynccontextmanager
async def open_stores(settings: Settings) -> AsyncIterator[Stores]:
    """Open every configured store; all are closed when the block exits."""
    async with AsyncExitStack() as stack:
        documents = await open_document_store(settings, stack)
        yield Stores(settings=settings, documents=documents)
