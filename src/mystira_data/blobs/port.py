"""The blob-store port: what every blob adapter (filesystem, Azure Blob) does.

Blobs are addressed by name (``image/abc.png``: ``/``-separated, no ``.``/``..`` segments).
Uploads and downloads stream: ``put`` accepts an async iterable of chunks and ``stream``
yields chunks, so a large file never has to fit in memory. Both adapters enforce the same
name and metadata rules (Azure's, the stricter) so code that works on the embedded default
works on Azure. Driver errors are translated to `mystira_data.errors`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol, runtime_checkable

from mystira_data.errors import InvalidDocument, MystiraError

BlobSource = bytes | AsyncIterable[bytes]
DEFAULT_CONTENT_TYPE = "application/octet-stream"
CHUNK_SIZE = 1024 * 1024
MAX_NAME_LENGTH = 1024
_METADATA_KEY = re.compile(r"^[a-z_][a-z0-9_]*$")
_CONTENT_TYPE = re.compile(r"^[\w.+-]+/[\w.+-]+(\s*;.*)?$")


class InvalidSignature(MystiraError):
    """A signed read URL that is malformed, tampered with, or expired."""


@dataclass(frozen=True)
class BlobInfo:
    name: str
    size: int
    content_type: str
    etag: str
    last_modified: datetime
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Blob:
    info: BlobInfo
    data: bytes


@runtime_checkable
class BlobStore(Protocol):
    """Async blob storage in one container."""

    name: str

    async def put(
        self,
        name: str,
        data: BlobSource,
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        metadata: Mapping[str, str] | None = None,
        overwrite: bool = True,
    ) -> BlobInfo:
        """Store ``data`` (bytes or async chunks); `AlreadyExists` if not ``overwrite``."""

    async def get(self, name: str) -> Blob:
        """The whole blob in memory (small blobs); `NotFound` if missing."""

    def stream(self, name: str) -> AsyncIterator[bytes]:
        """The blob's bytes in chunks; `NotFound` (on first iteration) if missing."""

    async def info(self, name: str) -> BlobInfo:
        """Size, content type, metadata; `NotFound` if missing."""

    async def exists(self, name: str) -> bool: ...

    async def delete(self, name: str) -> None:
        """Remove the blob; `NotFound` if missing."""

    def list(self, prefix: str = "") -> AsyncIterator[BlobInfo]:
        """Every blob whose name starts with ``prefix``, in name order."""

    async def read_url(self, name: str, *, expires_in: timedelta) -> str:
        """A URL that lets anyone holding it read the blob until it expires."""

    async def close(self) -> None: ...


def check_blob_name(name: str) -> str:
    """Return ``name`` if both adapters can store it safely; else `InvalidDocument`."""
    if not name or len(name) > MAX_NAME_LENGTH:
        raise InvalidDocument(f"blob name must be 1..{MAX_NAME_LENGTH} characters", path="name")
    if "\\" in name or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidDocument("blob name has a backslash or control character", path="name")
    if any(part in ("", ".", "..") for part in name.split("/")):
        raise InvalidDocument(
            "blob name must not start or end with '/', or have empty, '.' or '..' segments",
            path="name",
        )
    return name


def check_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    """Metadata keys are lower-case identifiers, values printable ASCII (Azure's rules)."""
    checked: dict[str, str] = {}
    for key, value in (metadata or {}).items():
        if not _METADATA_KEY.match(key):
            raise InvalidDocument("metadata keys are lower-case identifiers", path=key)
        if not isinstance(value, str) or not value.isascii() or not value.isprintable():
            raise InvalidDocument("metadata values are printable ASCII", path=key)
        if value != value.strip():
            raise InvalidDocument("metadata values cannot start or end with spaces", path=key)
        checked[key] = value
    return checked


def check_content_type(content_type: str) -> str:
    if not _CONTENT_TYPE.match(content_type):
        raise InvalidDocument(f"not a content type: {content_type!r}", path="content_type")
    return content_type


async def file_chunks(path: Path, chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
    """Read ``path`` in chunks off the event loop: the source for a streaming ``put``."""
    handle = await asyncio.to_thread(path.open, "rb")
    try:
        while chunk := await asyncio.to_thread(handle.read, chunk_size):
            yield chunk
    finally:
        await asyncio.to_thread(handle.close)


async def chunks_of(data: BlobSource, chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
    """Either kind of source as async chunks."""
    if isinstance(data, bytes | bytearray | memoryview):
        view = memoryview(data)
        for start in range(0, len(view), chunk_size):
            yield bytes(view[start : start + chunk_size])
        return
    async for chunk in data:
        yield chunk
