"""Fixtures for the media tests: the real SQLite document store and each blob store."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mystira_data import catalog
from mystira_data.blobs.azure import AzureBlobStore
from mystira_data.blobs.filesystem import FilesystemBlobStore
from mystira_data.blobs.port import BlobStore
from mystira_data.documents.sqlite import SqliteDocumentStore
from tests.servers.azurite import Azurite


@pytest.fixture
async def documents(tmp_path: Path) -> AsyncIterator[SqliteDocumentStore]:
    async with SqliteDocumentStore(tmp_path / "docs.sqlite", catalog.partition_keys()) as docs:
        yield docs


@pytest.fixture(params=["filesystem", "azurite"])
async def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    store: BlobStore
    if request.param == "filesystem":
        store = FilesystemBlobStore(tmp_path / "blobs")
    else:
        server: Azurite = request.getfixturevalue("azurite")
        store = AzureBlobStore(server.connection_string, "m" + uuid.uuid4().hex[:20])
        await store.ensure_container()
    try:
        yield store
    finally:
        await store.close()
