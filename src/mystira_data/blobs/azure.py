"""Azure Blob Storage adapter (``azure-storage-blob``, async).

Streaming uploads stage 4 MiB blocks and commit the block list at the end, so memory holds at
most one block whatever the file size; an upload cut short leaves only uncommitted blocks,
which Azure discards, never a partial blob. Downloads stream the SDK's chunks. Read URLs are
service SAS tokens signed with the account key from the connection string.
"""

from __future__ import annotations

import base64
import io
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.storage.blob import BlobBlock, BlobSasPermissions, ContentSettings, generate_blob_sas
from azure.storage.blob.aio import BlobServiceClient

from mystira_data.blobs.port import (
    DEFAULT_CONTENT_TYPE,
    Blob,
    BlobInfo,
    BlobSource,
    check_blob_name,
    check_content_type,
    check_metadata,
    chunks_of,
)
from mystira_data.errors import (
    AlreadyExists,
    ConfigError,
    InvalidDocument,
    MystiraError,
    NotFound,
    StoreUnavailable,
)

BLOCK_SIZE = 4 * 1024 * 1024
SAS_CLOCK_SKEW = timedelta(minutes=5)  # start a SAS a little early: clocks differ
_SETTING = "ConnectionStrings:BlobStorage"


def parse_connection_string(text: str) -> dict[str, str]:
    """``Key=Value;...`` as a dict (values may contain '=', as account keys do)."""
    parts = (item.split("=", 1) for item in text.split(";") if "=" in item)
    return {key.strip(): value.strip() for key, value in parts}


class AzureBlobStore:
    name = "azure"

    def __init__(
        self,
        connection_string: str,
        container: str = "media",
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        settings = parse_connection_string(connection_string)
        self._account_key = settings.get("AccountKey")
        try:
            # The SDK's first download request fetches up to 32 MiB at once by default:
            # cap every request at one block so a stream holds little in memory.
            self._service = BlobServiceClient.from_connection_string(
                connection_string, max_single_get_size=BLOCK_SIZE, max_chunk_get_size=BLOCK_SIZE
            )
        except ValueError as exc:
            raise ConfigError(_SETTING, f"not a storage connection string: {exc}") from None
        self.container = container
        self._client = self._service.get_container_client(container)
        self._clock = clock

    async def __aenter__(self) -> AzureBlobStore:
        await self.ensure_container()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def ensure_container(self) -> None:
        """Create the container if it is missing (idempotent)."""
        try:
            with self._errors(""):
                await self._client.create_container()
        except AlreadyExists:
            pass

    async def put(
        self,
        name: str,
        data: BlobSource,
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        metadata: Mapping[str, str] | None = None,
        overwrite: bool = True,
    ) -> BlobInfo:
        check_blob_name(name)
        options: dict[str, Any] = {
            "content_settings": ContentSettings(content_type=check_content_type(content_type)),
            "metadata": check_metadata(metadata),
        }
        if not overwrite:
            options["if_none_match"] = "*"  # the service refuses if the blob exists
        blob = self._client.get_blob_client(name)
        with self._errors(name):
            if isinstance(data, bytes) and len(data) <= BLOCK_SIZE:
                await blob.upload_blob(data, overwrite=overwrite, **options)
            else:
                blocks = [b async for b in self._stage_blocks(name, data)]
                await blob.commit_block_list(blocks, **options)
        return await self.info(name)

    async def get(self, name: str) -> Blob:
        with self._errors(name):
            downloader = await self._client.get_blob_client(check_blob_name(name)).download_blob()
            data = await downloader.readall()
        return Blob(_info(name, downloader.properties), data)

    async def stream(self, name: str) -> AsyncIterator[bytes]:
        with self._errors(name):
            downloader = await self._client.get_blob_client(check_blob_name(name)).download_blob()
            async for chunk in downloader.chunks():
                yield chunk

    async def info(self, name: str) -> BlobInfo:
        with self._errors(name):
            props = await self._client.get_blob_client(check_blob_name(name)).get_blob_properties()
        return _info(name, props)

    async def exists(self, name: str) -> bool:
        with self._errors(name):
            found: bool = await self._client.get_blob_client(check_blob_name(name)).exists()
        return found

    async def delete(self, name: str) -> None:
        with self._errors(name):
            await self._client.get_blob_client(check_blob_name(name)).delete_blob()

    async def list(self, prefix: str = "") -> AsyncIterator[BlobInfo]:
        with self._errors(prefix):
            pages = self._client.list_blobs(name_starts_with=prefix or None, include=["metadata"])
            async for props in pages:
                yield _info(props.name, props)

    async def read_url(self, name: str, *, expires_in: timedelta) -> str:
        if not self._account_key:
            raise ConfigError(_SETTING, "a read URL (SAS) needs an AccountKey in the string")
        now = datetime.fromtimestamp(self._clock(), UTC)
        token = generate_blob_sas(
            self._service.account_name or "",
            self.container,
            check_blob_name(name),
            account_key=self._account_key,
            permission=BlobSasPermissions(read=True),
            start=now - SAS_CLOCK_SKEW,
            expiry=now + expires_in,
        )
        return f"{self._client.get_blob_client(name).url}?{token}"

    async def close(self) -> None:
        await self._service.close()

    async def _stage_blocks(self, name: str, data: BlobSource) -> AsyncIterator[BlobBlock]:
        """Upload ``data`` as blocks of `BLOCK_SIZE`; yields each staged block, in order."""
        blob = self._client.get_blob_client(name)
        buffer = bytearray()
        async for chunk in chunks_of(data, BLOCK_SIZE):
            buffer += chunk
            while len(buffer) >= BLOCK_SIZE:
                yield await self._stage(blob, bytes(buffer[:BLOCK_SIZE]))
                del buffer[:BLOCK_SIZE]
        if buffer:
            yield await self._stage(blob, bytes(buffer))

    @staticmethod
    async def _stage(blob: Any, block: bytes) -> BlobBlock:
        # Block ids must be base64 and of equal length within a blob: a uuid4 is both.
        block_id = base64.b64encode(uuid.uuid4().bytes).decode()
        # A stream, not bytes: aiohttp warns that a large bytes body blocks the event loop.
        await blob.stage_block(block_id, io.BytesIO(block), length=len(block))
        return BlobBlock(block_id=block_id)

    @contextmanager
    def _errors(self, name: str) -> Iterator[None]:
        try:
            yield
        except MystiraError:
            raise
        except AzureError as exc:
            raise _translate(exc, self.container, name) from exc


def _translate(exc: AzureError, container: str, name: str) -> MystiraError:
    """One Azure SDK error as ours (the caller raises it ``from`` the original)."""
    if isinstance(exc, ResourceNotFoundError):
        return NotFound(container, name)
    if isinstance(exc, ResourceExistsError | ResourceModifiedError):
        return AlreadyExists(container, name)
    if isinstance(exc, ClientAuthenticationError):
        return ConfigError(_SETTING, f"storage refused the credentials: {exc.message}")
    status = getattr(exc, "status_code", None) if isinstance(exc, HttpResponseError) else None
    if status is not None and 400 <= status < 500 and status not in (408, 429):
        return InvalidDocument(f"storage refused the request ({status}): {exc.message}")
    return StoreUnavailable(f"blob storage: {type(exc).__name__}: {exc.message}")


def _info(name: str, props: Any) -> BlobInfo:
    settings = props.content_settings
    return BlobInfo(
        name=name,
        size=int(props.size),
        content_type=(settings.content_type if settings else None) or DEFAULT_CONTENT_TYPE,
        etag=str(props.etag),
        last_modified=props.last_modified,
        metadata=dict(props.metadata or {}),
    )
