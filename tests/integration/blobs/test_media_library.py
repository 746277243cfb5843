"""Media upload/list/get/check over the SQLite document store and each blob store."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from mystira_data.blobs.port import BlobStore
from mystira_data.documents.sqlite import SqliteDocumentStore
from mystira_data.domain.enums import MediaType
from mystira_data.errors import NotFound, StoreUnavailable
from mystira_data.media import (
    ContentTypeMismatch,
    MediaLibrary,
    MediaTooLarge,
    UnknownMediaType,
)
from mystira_data.types import JsonDoc


@pytest.fixture
def library(documents: SqliteDocumentStore, blobs: BlobStore) -> MediaLibrary:
    return MediaLibrary(documents, blobs, max_upload_bytes=8 * 1024 * 1024)


def write(tmp_path: Path, name: str, size: int = 1000) -> Path:
    path = tmp_path / name
    path.write_bytes(bytes(i % 251 for i in range(size)))
    return path


async def blob_names(blobs: BlobStore) -> list[str]:
    return [info.name async for info in blobs.list()]


async def test_upload_writes_blob_and_document(library: MediaLibrary, tmp_path: Path) -> None:
    path = write(tmp_path, "Forest.PNG", 5000)
    asset = await library.upload(path, "image", description="forest", tags=["bg"])
    assert asset.media_type is MediaType.IMAGE
    assert (asset.mime_type, asset.file_size_bytes, asset.media_id) == ("image/png", 5000, "Forest")
    assert asset.hash == hashlib.sha256(path.read_bytes()).hexdigest()
    assert asset.url == f"image/{asset.id}.png"
    blob = await library.blobs.get(asset.url)
    assert blob.data == path.read_bytes()
    assert blob.info.content_type == "image/png"
    assert await library.get(asset.id) == asset
    assert await library.get(asset.id, "image") == asset


async def test_large_upload_streams(library: MediaLibrary, tmp_path: Path) -> None:
    path = write(tmp_path, "theme.mp3", 6 * 1024 * 1024 + 7)
    asset = await library.upload(path, "audio")
    assert (await library.blobs.info(asset.url)).size == path.stat().st_size


async def test_list_all_and_by_type(library: MediaLibrary, tmp_path: Path) -> None:
    image = await library.upload(write(tmp_path, "a.png"), "image")
    video = await library.upload(write(tmp_path, "b.mp4"), "video")
    assert {a.id async for a in library.list()} == {image.id, video.id}
    assert [a.id async for a in library.list("video")] == [video.id]
    assert [a async for a in library.list("audio")] == []


async def test_get_unknown_id_is_not_found(library: MediaLibrary) -> None:
    with pytest.raises(NotFound):
        await library.get("nope")


@pytest.mark.parametrize("media_type", ["document", "Image", ""])
async def test_unknown_media_type_is_refused_before_any_write(
    library: MediaLibrary, tmp_path: Path, media_type: str
) -> None:
    with pytest.raises(UnknownMediaType, match="image, audio, video"):
        await library.upload(write(tmp_path, "a.png"), media_type)
    assert await blob_names(library.blobs) == []


async def test_too_large_is_refused_before_any_write(library: MediaLibrary, tmp_path: Path) -> None:
    library.max_upload_bytes = 999
    with pytest.raises(MediaTooLarge) as caught:
        await library.upload(write(tmp_path, "a.png", 1000), "image")
    assert (caught.value.size, caught.value.limit) == (1000, 999)
    assert await blob_names(library.blobs) == []


async def test_content_type_must_match_the_media_type(
    library: MediaLibrary, tmp_path: Path
) -> None:
    with pytest.raises(ContentTypeMismatch):
        await library.upload(write(tmp_path, "song.mp3"), "image")
    with pytest.raises(ContentTypeMismatch, match="pass it explicitly"):
        await library.upload(write(tmp_path, "raw.unknownext"), "image")
    asset = await library.upload(
        write(tmp_path, "raw.unknownext"), "image", content_type="image/x-raw"
    )
    assert asset.mime_type == "image/x-raw"


class FailingDocuments:
    """A document store whose creates fail (database down at the worst moment)."""

    def __init__(self, inner: SqliteDocumentStore) -> None:
        self.inner = inner

    async def create(self, container: str, doc: JsonDoc) -> JsonDoc:
        raise StoreUnavailable("document store down")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_document_failure_removes_the_blob(
    documents: SqliteDocumentStore, blobs: BlobStore, tmp_path: Path
) -> None:
    library = MediaLibrary(FailingDocuments(documents), blobs)
    with pytest.raises(StoreUnavailable):
        await library.upload(write(tmp_path, "a.png"), "image")
    assert await blob_names(blobs) == []


async def test_check_finds_and_fixes_both_kinds_of_breakage(
    library: MediaLibrary, tmp_path: Path
) -> None:
    kept = await library.upload(write(tmp_path, "ok.png"), "image")
    lost = await library.upload(write(tmp_path, "lost.wav"), "audio")
    await library.blobs.delete(lost.url)  # document without blob
    await library.blobs.put("video/stray.mp4", b"x", content_type="video/mp4")  # blob alone

    report = await library.check(grace=timedelta(0))
    assert report.orphan_blobs == ["video/stray.mp4"]
    assert [a.id for a in report.missing_blobs] == [lost.id]
    assert not report.ok
    assert not report.fixed

    assert (await library.check(fix=True, grace=timedelta(0))).fixed
    assert (await library.check(grace=timedelta(0))).ok
    assert [a.id async for a in library.list()] == [kept.id]
    assert await blob_names(library.blobs) == [kept.url]


async def test_check_leaves_young_blobs_to_uploads_in_progress(library: MediaLibrary) -> None:
    await library.blobs.put("image/in-flight.png", b"x", content_type="image/png")
    assert (await library.check()).ok


async def test_read_url_points_at_the_blob(library: MediaLibrary, tmp_path: Path) -> None:
    asset = await library.upload(write(tmp_path, "a.png"), "image")
    url = await library.read_url(asset, timedelta(minutes=1))
    assert asset.id in url
