"""Media assets: a `MediaAsset` document (partition ``/mediaType``) always points at a blob.

Upload writes the blob first, then the document; if the document cannot be written the blob
is deleted again, so a document never points at nothing. The remaining failure (the process
dies between the two writes) leaves a blob without a document: ``check`` finds those and, with
``fix``, deletes them, and also removes documents whose blob has gone. Documents whose url is
an absolute URL (media kept on a CDN, as the demo data has) are not ours to check or delete.
The CLI's ``mystira media upload/list/get/check`` call these functions.

The document's ``url`` holds the blob name (``image/<id>.png``); `read_url` turns it into a
time-limited link.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import mimetypes
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from mystira_data.blobs.port import BlobStore, file_chunks
from mystira_data.domain.codec import codec_for
from mystira_data.domain.enums import MediaType
from mystira_data.domain.media import MediaAsset
from mystira_data.errors import InvalidDocument, NotFound
from mystira_data.query import Page, Query
from mystira_data.types import JsonDoc, PartitionKey

CONTAINER = "MediaAssets"
DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024
ORPHAN_GRACE = timedelta(minutes=10)  # younger blobs may belong to an upload in progress
_codec = codec_for(MediaAsset)


class InvalidMedia(InvalidDocument):
    """An upload refused before anything was written."""


class UnknownMediaType(InvalidMedia):
    def __init__(self, given: str) -> None:
        known = ", ".join(t.value for t in MediaType)
        super().__init__(f"unknown media type {given!r}; use one of: {known}", path="mediaType")
        self.given = given


class MediaTooLarge(InvalidMedia):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"file is {size} bytes; the limit is {limit}", path="fileSizeBytes")
        self.size = size
        self.limit = limit


class ContentTypeMismatch(InvalidMedia):
    """The file's content type is not of the declared media type (or cannot be told)."""


@dataclass(frozen=True)
class MediaCheck:
    """Result of `MediaLibrary.check`: the two kinds of broken pairs, and what was fixed."""

    orphan_blobs: list[str] = field(default_factory=list)
    missing_blobs: list[MediaAsset] = field(default_factory=list)
    fixed: bool = False
    # Documents whose url is an absolute URL: their bytes live elsewhere (a CDN), not in our
    # blob store, so they are neither checked nor ever deleted by a fix.
    external: list[MediaAsset] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.orphan_blobs and not self.missing_blobs


def is_external(url: str) -> bool:
    """Whether ``url`` is an absolute URL (bytes elsewhere) rather than one of our blob names."""
    return "://" in url


def by_blob(assets: Iterable[MediaAsset]) -> tuple[dict[str, MediaAsset], list[MediaAsset]]:
    """Assets keyed by their blob name, and those whose bytes live at another URL."""
    ours: dict[str, MediaAsset] = {}
    elsewhere: list[MediaAsset] = []
    for asset in assets:
        if is_external(asset.url):
            elsewhere.append(asset)
        else:
            ours[asset.url] = asset
    return ours, elsewhere


def media_type_of(value: str) -> MediaType:
    """``value`` as a `MediaType`; `UnknownMediaType` otherwise (matched exactly)."""
    try:
        return MediaType(value)
    except ValueError:
        raise UnknownMediaType(value) from None


def content_type_for(path: Path, media_type: MediaType, declared: str | None = None) -> str:
    """The file's content type, which must be of the declared media type."""
    content_type = declared or mimetypes.guess_type(path.name)[0]
    if content_type is None:
        raise ContentTypeMismatch(
            f"cannot tell the content type of {path.name!r}; pass it explicitly",
            path="mimeType",
        )
    if content_type.split("/")[0] != media_type.value:
        raise ContentTypeMismatch(
            f"{path.name!r} is {content_type}, not {media_type.value}", path="mimeType"
        )
    return content_type


@dataclass(frozen=True)
class Upload:
    """What is known of an upload before its bytes: type, content type, names."""

    kind: MediaType
    mime: str
    media_id: str = ""  # the game's media id; default: the asset id
    suffix: str = ""  # of the blob name, e.g. ".png"
    description: str | None = None


class MediaDocuments(Protocol):
    """What the library needs of a document store (a raw store or the polyglot repository)."""

    async def create(self, container: str, doc: JsonDoc) -> JsonDoc: ...

    async def read(self, container: str, id: str, partition_key: PartitionKey) -> JsonDoc: ...

    async def query(
        self, container: str, query: Query, *, continuation: str | None = None
    ) -> Page: ...

    async def delete(self, container: str, id: str, partition_key: PartitionKey) -> JsonDoc: ...


class MediaLibrary:
    """Media operations over a document store and a blob store."""

    def __init__(
        self,
        documents: MediaDocuments,
        blobs: BlobStore,
        *,
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    ) -> None:
        self.documents = documents
        self.blobs = blobs
        self.max_upload_bytes = max_upload_bytes

    async def upload(
        self,
        path: Path,
        media_type: str,
        *,
        media_id: str | None = None,
        description: str | None = None,
        tags: Iterable[str] = (),
        content_type: str | None = None,
    ) -> MediaAsset:
        """Store ``path`` as a new asset: blob first, then its document (typed errors)."""
        kind = media_type_of(media_type)
        mime = content_type_for(path, kind, content_type)
        size = (await asyncio.to_thread(path.stat)).st_size
        if size > self.max_upload_bytes:
            raise MediaTooLarge(size, self.max_upload_bytes)
        upload = Upload(kind, mime, media_id or path.stem, path.suffix.lower(), description)
        return await self.store(file_chunks(path), upload, tags=tags)

    async def store(
        self, chunks: AsyncIterator[bytes], upload: Upload, *, tags: Iterable[str] = ()
    ) -> MediaAsset:
        """Stream ``chunks`` (checked type, unknown length) to a new blob, then write its
        document; `MediaTooLarge` the moment the bytes pass the limit (nothing is kept)."""
        asset_id = uuid.uuid4().hex
        blob_name = f"{upload.kind.value}/{asset_id}{upload.suffix}"
        digest = hashlib.sha256()
        source = self._counted(chunks, digest)
        info = await self.blobs.put(blob_name, source, content_type=upload.mime, overwrite=False)
        asset = MediaAsset(
            id=asset_id,
            media_id=upload.media_id or asset_id,
            url=blob_name,
            media_type=upload.kind,
            mime_type=upload.mime,
            file_size_bytes=info.size,
            description=upload.description,
            tags=list(tags),
            hash=digest.hexdigest(),
        )
        return await self._create_or_undo(asset)

    async def list(self, media_type: str | None = None) -> AsyncIterator[MediaAsset]:
        """Every asset (of one type, if given), page by page."""
        if media_type is None:
            query = Query(cross_partition=True)
        else:
            query = Query(partition_key=media_type_of(media_type).value)
        continuation: str | None = None
        while True:
            page = await self.documents.query(CONTAINER, query, continuation=continuation)
            for doc in page.items:
                yield _codec.decode(doc)
            continuation = page.continuation
            if continuation is None:
                return

    async def get(self, asset_id: str, media_type: str | None = None) -> MediaAsset:
        """One asset by id; without its type, each type's partition is tried (point reads)."""
        kinds = [media_type_of(media_type)] if media_type else list(MediaType)
        for kind in kinds:
            try:
                return _codec.decode(await self.documents.read(CONTAINER, asset_id, kind.value))
            except NotFound:
                continue
        raise NotFound(CONTAINER, asset_id)

    async def read_url(self, asset: MediaAsset, expires_in: timedelta) -> str:
        """A time-limited link to the asset's bytes."""
        return await self.blobs.read_url(asset.url, expires_in=expires_in)

    async def check(self, *, fix: bool = False, grace: timedelta = ORPHAN_GRACE) -> MediaCheck:
        """Find blobs without a document and documents without a blob; ``fix`` removes both."""
        assets, external = by_blob([asset async for asset in self.list()])
        cutoff = datetime.now(UTC) - grace
        blob_names: set[str] = set()
        orphans: list[str] = []
        async for info in self.blobs.list():
            blob_names.add(info.name)
            if info.name not in assets and info.last_modified < cutoff:
                orphans.append(info.name)
        missing = [asset for url, asset in sorted(assets.items()) if url not in blob_names]
        if fix:
            await self._repair(orphans, missing)
        return MediaCheck(sorted(orphans), missing, fixed=fix, external=external)

    async def _create_or_undo(self, asset: MediaAsset) -> MediaAsset:
        try:
            stored = await self.documents.create(CONTAINER, _codec.encode(asset))
        except BaseException:
            # No document may point at nothing, and no blob should be left without one.
            with contextlib.suppress(NotFound):
                await self.blobs.delete(asset.url)
            raise
        return _codec.decode(stored)

    async def _repair(self, orphans: Sequence[str], missing: Sequence[MediaAsset]) -> None:
        for name in orphans:
            try:
                await self.blobs.delete(name)
            except NotFound:
                continue  # gone meanwhile: what we wanted
        for asset in missing:
            if await self.blobs.exists(asset.url):
                continue  # uploaded again meanwhile; a store that cannot answer raises instead
            try:
                await self.documents.delete(CONTAINER, asset.id, asset.media_type.value)
            except NotFound:
                continue

    async def _counted(
        self, chunks: AsyncIterator[bytes], digest: hashlib._Hash
    ) -> AsyncIterator[bytes]:
        """Pass chunks through, hashing them and enforcing the size limit as they go
        (the file may grow between the size check and the read)."""
        total = 0
        async for chunk in chunks:
            total += len(chunk)
            if total > self.max_upload_bytes:
                raise MediaTooLarge(total, self.max_upload_bytes)
            digest.update(chunk)
            yield chunk
