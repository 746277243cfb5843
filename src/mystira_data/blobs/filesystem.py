"""Filesystem blob store: the embedded default, under the data dir.

Layout under ``root``: ``data/<name>`` holds the bytes, ``meta/<name>.json`` the content type,
metadata and checksum, ``tmp/`` uploads in progress. An upload streams into a temporary file,
is flushed to disk, then renamed into place, so readers never see a partial blob and a crash
leaves only a temporary file behind.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from mystira_data.blobs.port import (
    CHUNK_SIZE,
    DEFAULT_CONTENT_TYPE,
    Blob,
    BlobInfo,
    BlobSource,
    check_blob_name,
    check_content_type,
    check_metadata,
    chunks_of,
)
from mystira_data.blobs.signing import UrlSigner, load_or_create_key
from mystira_data.errors import AlreadyExists, NotFound


class FilesystemBlobStore:
    name = "filesystem"

    def __init__(
        self,
        root: Path,
        *,
        container: str = "media",
        base_url: str = "/blobs",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.root = Path(root)
        self.container = container
        self._data = self.root / "data"
        self._meta = self.root / "meta"
        self._tmp = self.root / "tmp"
        for folder in (self._data, self._meta, self._tmp):
            folder.mkdir(parents=True, exist_ok=True)
        key = load_or_create_key(self.root / "signing.key")
        self.signer = UrlSigner(key, base_url, clock=clock)

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
        check_content_type(content_type)
        fields = check_metadata(metadata)
        if not overwrite and await self.exists(name):
            raise AlreadyExists(self.container, name)
        tmp, digest = await self._spool(data)
        try:
            meta: dict[str, object] = {"contentType": content_type, "metadata": fields}
            meta["sha256"] = digest
            await asyncio.to_thread(self._commit, name, tmp, meta, overwrite)
        finally:
            _remove(tmp)
        return await self.info(name)

    async def get(self, name: str) -> Blob:
        info = await self.info(name)
        data = await asyncio.to_thread(self._read_bytes, name)
        return Blob(info, data)

    async def stream(self, name: str) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(self._open, name)
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK_SIZE):
                yield chunk
        finally:
            await asyncio.to_thread(handle.close)

    async def info(self, name: str) -> BlobInfo:
        return await asyncio.to_thread(self._info, check_blob_name(name))

    async def exists(self, name: str) -> bool:
        return await asyncio.to_thread(self._path(name).is_file)

    async def delete(self, name: str) -> None:
        try:
            await asyncio.to_thread(self._path(name).unlink)
        except FileNotFoundError:
            raise NotFound(self.container, name) from None
        await asyncio.to_thread(self._meta_path(name).unlink, True)

    async def list(self, prefix: str = "") -> AsyncIterator[BlobInfo]:
        for name in await asyncio.to_thread(self._names, prefix):
            try:
                yield await self.info(name)
            except NotFound:
                continue  # deleted while we listed

    async def read_url(self, name: str, *, expires_in: timedelta) -> str:
        check_blob_name(name)
        return self.signer.sign(name, expires_in.total_seconds())

    def verify_read_url(self, url: str) -> str:
        """The blob name a URL from `read_url` grants; `InvalidSignature` otherwise."""
        return self.signer.verify(url)

    async def close(self) -> None:
        return None

    def _path(self, name: str) -> Path:
        return self._data / check_blob_name(name)

    def _meta_path(self, name: str) -> Path:
        return self._meta / (check_blob_name(name) + ".json")

    async def _spool(self, data: BlobSource) -> tuple[Path, str]:
        """Write the source into a temporary file; returns it and the SHA-256 of its bytes."""
        fd, raw = tempfile.mkstemp(dir=self._tmp, prefix="upload-")
        tmp, digest = Path(raw), hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as handle:
                async for chunk in chunks_of(data):
                    digest.update(chunk)
                    await asyncio.to_thread(handle.write, chunk)
                await asyncio.to_thread(_flush, handle.fileno())
        except BaseException:
            _remove(tmp)
            raise
        return tmp, digest.hexdigest()

    def _commit(self, name: str, tmp: Path, meta: Mapping[str, object], overwrite: bool) -> None:
        target, meta_target = self._path(name), self._meta_path(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        meta_target.parent.mkdir(parents=True, exist_ok=True)
        meta_tmp = tmp.with_suffix(".json")
        meta_tmp.write_text(json.dumps(meta), encoding="utf-8")
        try:
            os.replace(meta_tmp, meta_target)
        finally:
            meta_tmp.unlink(missing_ok=True)
        if overwrite:
            os.replace(tmp, target)
            return
        try:
            os.link(tmp, target)  # atomic "create only if absent"
        except FileExistsError:
            raise AlreadyExists(self.container, name) from None

    def _open(self, name: str) -> BinaryIO:
        try:
            return self._path(name).open("rb")
        except (FileNotFoundError, IsADirectoryError):
            raise NotFound(self.container, name) from None

    def _read_bytes(self, name: str) -> bytes:
        try:
            return self._path(name).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise NotFound(self.container, name) from None

    def _info(self, name: str) -> BlobInfo:
        try:
            stat = self._path(name).stat()
        except FileNotFoundError:
            raise NotFound(self.container, name) from None
        if not self._path(name).is_file():
            raise NotFound(self.container, name)
        try:
            meta = json.loads(self._meta_path(name).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            meta = {}  # written by hand or half-committed: the bytes are what count
        return BlobInfo(
            name=name,
            size=stat.st_size,
            content_type=meta.get("contentType", DEFAULT_CONTENT_TYPE),
            etag=f'"{meta.get("sha256", "")[:16]}-{stat.st_mtime_ns:x}"',
            last_modified=datetime.fromtimestamp(stat.st_mtime, UTC),
            metadata=meta.get("metadata", {}),
        )

    def _names(self, prefix: str) -> tuple[str, ...]:
        names = []
        for folder, _dirs, files in os.walk(self._data):
            base = Path(folder).relative_to(self._data)
            for file in files:
                name = (base / file).as_posix().removeprefix("./")
                if name.startswith(prefix):
                    names.append(name)
        return tuple(sorted(names))


def _remove(path: Path) -> None:
    # Cleanup on the way out, also when cancelled: one unlink, not worth a thread hop.
    path.unlink(missing_ok=True)


def _flush(fd: int) -> None:
    # fsync before the rename: after a crash the name points at complete bytes or nothing.
    os.fsync(fd)
