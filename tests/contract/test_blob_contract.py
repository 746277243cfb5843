"""The blob-store contract: the filesystem store and Azure (on Azurite) behave the same."""

from __future__ import annotations

import hashlib
import time
import tracemalloc
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from mystira_data.blobs.port import BlobStore, file_chunks
from mystira_data.errors import AlreadyExists, InvalidDocument, NotFound
from tests.contract.blob_backends import KINDS, Backend

MiB = 1024 * 1024


@pytest.fixture(params=KINDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return Backend(request.param, request, tmp_path)


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[BlobStore]:
    opened = await backend.open()
    try:
        yield opened
    finally:
        await opened.close()


async def pattern(total: int, chunk: int = 256 * 1024) -> AsyncIterator[bytes]:
    """``total`` bytes of a repeating, position-dependent pattern, made on the fly."""
    block = bytes(range(256)) * (chunk // 256)
    for start in range(0, total, chunk):
        yield block[: min(chunk, total - start)]


async def digest_of(chunks: AsyncIterator[bytes]) -> tuple[str, int, int]:
    """SHA-256, size and largest chunk of a stream."""
    digest, size, largest = hashlib.sha256(), 0, 0
    async for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
        largest = max(largest, len(chunk))
    return digest.hexdigest(), size, largest


async def test_put_get_round_trip_with_type_and_metadata(store: BlobStore) -> None:
    info = await store.put(
        "image/a.png", b"\x89PNG data", content_type="image/png", metadata={"owner": "ava"}
    )
    assert (info.name, info.size, info.content_type) == ("image/a.png", 9, "image/png")
    blob = await store.get("image/a.png")
    assert blob.data == b"\x89PNG data"
    assert blob.info.metadata == {"owner": "ava"}
    assert (await store.info("image/a.png")).etag == info.etag


async def test_defaults_and_empty_blob(store: BlobStore) -> None:
    info = await store.put("empty", b"")
    assert (info.size, info.content_type) == (0, "application/octet-stream")
    assert (await store.get("empty")).data == b""


async def test_overwrite_replaces_unless_refused(store: BlobStore) -> None:
    await store.put("a", b"one")
    await store.put("a", b"two", content_type="text/plain")
    assert (await store.get("a")).data == b"two"
    with pytest.raises(AlreadyExists):
        await store.put("a", b"three", overwrite=False)
    with pytest.raises(AlreadyExists):
        await store.put("a", pattern(5 * MiB), overwrite=False)
    assert (await store.get("a")).data == b"two"
    await store.put("b", b"new", overwrite=False)
    assert await store.exists("b")


async def test_missing_blob_is_not_found_everywhere(store: BlobStore) -> None:
    assert not await store.exists("nope")
    for call in (store.get("nope"), store.info("nope"), store.delete("nope")):
        with pytest.raises(NotFound):
            await call
    with pytest.raises(NotFound):
        await digest_of(store.stream("nope"))


async def test_delete(store: BlobStore) -> None:
    await store.put("x/y", b"1")
    await store.delete("x/y")
    assert not await store.exists("x/y")
    assert [b.name async for b in store.list()] == []


async def test_list_by_prefix_in_name_order(store: BlobStore) -> None:
    for name in ("video/b.mp4", "image/z.png", "image/a.png", "image/sub/c.png"):
        await store.put(name, name.encode(), metadata={"kind": name.split("/")[0]})
    images = [b async for b in store.list("image/")]
    assert [b.name for b in images] == ["image/a.png", "image/sub/c.png", "image/z.png"]
    assert images[0].size == len(b"image/a.png")
    assert images[0].metadata == {"kind": "image"}
    assert len([b async for b in store.list()]) == 4


async def test_unicode_and_spaces_in_names(store: BlobStore, backend: Backend) -> None:
    name = "audio/Ünïcode song 1.mp3"
    await store.put(name, b"la", content_type="audio/mpeg")
    assert (await store.get(name)).data == b"la"
    assert [b.name async for b in store.list("audio/")] == [name]
    url = await store.read_url(name, expires_in=timedelta(minutes=5))
    assert await backend.fetch(store, url) == (200, b"la")


@pytest.mark.parametrize("name", ["", "/lead", "trail/", "a//b", "a/../b", "./a", "a\\b", "a\nb"])
async def test_unsafe_names_are_refused(store: BlobStore, name: str) -> None:
    with pytest.raises(InvalidDocument):
        await store.put(name, b"x")


@pytest.mark.parametrize("metadata", [{"Upper": "x"}, {"k": "ünï"}, {"k": " pad"}, {"a-b": "x"}])
async def test_metadata_follows_azure_rules(store: BlobStore, metadata: dict[str, str]) -> None:
    with pytest.raises(InvalidDocument):
        await store.put("m", b"x", metadata=metadata)


async def test_large_blob_streams_both_ways(store: BlobStore) -> None:
    size = 9 * MiB + 123  # crosses several 4 MiB blocks, ends in a partial one
    await store.put("video/big.mp4", pattern(size), content_type="video/mp4")
    expected, _, _ = await digest_of(pattern(size))
    got, got_size, largest = await digest_of(store.stream("video/big.mp4"))
    assert (got, got_size) == (expected, size)
    assert largest <= 4 * MiB
    assert (await store.info("video/big.mp4")).size == size


async def test_streaming_upload_and_download_use_bounded_memory(
    store: BlobStore, tmp_path: Path
) -> None:
    source = tmp_path / "big.bin"
    with source.open("wb") as handle:
        for _ in range(32):
            handle.write(bytes(range(256)) * 4096)  # 32 MiB in 1 MiB writes
    tracemalloc.start()
    try:
        await store.put("video/file.bin", file_chunks(source))
        digest, size, _ = await digest_of(store.stream("video/file.bin"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size == 32 * MiB
    assert digest == hashlib.sha256(source.read_bytes()).hexdigest()
    assert peak < 20 * MiB  # a few blocks in flight, never the whole 32 MiB


async def test_read_url_grants_read_until_it_expires(store: BlobStore, backend: Backend) -> None:
    await store.put("image/s.png", b"secret", content_type="image/png")
    url = await store.read_url("image/s.png", expires_in=timedelta(minutes=5))
    assert await backend.fetch(store, url) == (200, b"secret")

    hour_ago = await backend.open(clock=lambda: time.time() - 3600)
    try:
        stale = await hour_ago.read_url("image/s.png", expires_in=timedelta(minutes=5))
    finally:
        await hour_ago.close()
    assert (await backend.fetch(store, stale))[0] == 403


async def test_read_url_cannot_be_bent_to_another_blob(store: BlobStore, backend: Backend) -> None:
    await store.put("image/mine.png", b"mine")
    await store.put("image/other.png", b"other")
    url = await store.read_url("image/mine.png", expires_in=timedelta(minutes=5))
    forged = url.replace("mine.png", "other.png")
    assert (await backend.fetch(store, forged))[0] == 403
