"""Builds each blob adapter for the blob contract suite (filesystem, Azurite)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from mystira_data.blobs.azure import AzureBlobStore
from mystira_data.blobs.filesystem import FilesystemBlobStore
from mystira_data.blobs.port import BlobStore, InvalidSignature
from mystira_data.errors import NotFound
from tests.servers.azurite import Azurite

KINDS = ("filesystem", "azurite")
Clock = Callable[[], float]


class Backend:
    """Opens stores of one kind on one backing (same folder / same container)."""

    def __init__(self, kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
        self.kind = kind
        self._request = request
        self._root = tmp_path / "blobs"
        self._container = "t" + uuid.uuid4().hex[:20]

    async def open(self, clock: Clock = time.time) -> BlobStore:
        if self.kind == "filesystem":
            return FilesystemBlobStore(self._root, clock=clock)
        server: Azurite = self._request.getfixturevalue("azurite")
        store = AzureBlobStore(server.connection_string, self._container, clock=clock)
        await store.ensure_container()
        return store

    async def fetch(self, store: BlobStore, url: str) -> tuple[int, bytes]:
        """What a client holding ``url`` gets: (HTTP-like status, body)."""
        if isinstance(store, FilesystemBlobStore):
            # The API route does this: verify the signature, then serve the blob.
            try:
                name = store.verify_read_url(url)
            except InvalidSignature:
                return 403, b""
            try:
                return 200, (await store.get(name)).data
            except NotFound:
                return 404, b""
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            return response.status, await response.read()
