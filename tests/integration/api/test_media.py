"""Media upload and download over HTTP, on the filesystem blob store and on Azurite: streamed
uploads with their own size limit (413, nothing kept), content types checked (415), range
requests (206 / 416), and who may do what (media is shared content: players read only)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.api.conftest import Api, embedded_settings, open_api

MEDIA = "/api/v1/media"
LIMIT = 64 * 1024
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(10_000)  # over Api:MaxBodyBytes, under the media limit


@pytest.fixture(params=["filesystem", "azurite"])
async def api(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Api]:
    conns = {}
    if request.param == "azurite":
        conns = {"BlobStorage": request.getfixturevalue("azurite").connection_string}
    settings = embedded_settings(
        tmp_path,
        ConnectionStrings=conns,
        Api={"MaxBodyBytes": 4096},
        Media={"MaxUploadBytes": LIMIT},
    )
    async for opened in open_api(settings):
        yield opened


async def upload(api: Api, data: bytes, mime: str = "image/png", who: str = "operator") -> object:
    headers = {**api.auth(who), "Content-Type": mime}
    return await api.client.post(
        MEDIA, params={"mediaType": "image", "mediaId": "lantern"}, content=data, headers=headers
    )


async def stored_assets(api: Api) -> int:
    r = await api.client.get("/api/v1/media-assets", headers=api.auth("operator"))
    return len(r.json()["items"])


async def test_upload_then_download_whole_and_by_range(api: Api) -> None:
    r = await upload(api, PNG)
    assert r.status_code == 201, r.text
    asset = r.json()
    assert asset["mediaType"] == "image"
    assert asset["mimeType"] == "image/png"
    assert asset["fileSizeBytes"] == len(PNG)
    assert asset["mediaId"] == "lantern"
    assert asset["url"].endswith(".png")
    url = r.headers["Location"]
    assert url == f"{MEDIA}/{asset['id']}/content"
    for who in ("player", "operator"):
        whole = await api.client.get(url, headers=api.auth(who))
        assert whole.status_code == 200
        assert whole.content == PNG
        assert whole.headers["content-type"] == "image/png"
        assert whole.headers["accept-ranges"] == "bytes"
    part = await api.client.get(url, headers={**api.auth("player"), "Range": "bytes=2-5"})
    assert part.status_code == 206
    assert part.content == PNG[2:6]
    assert part.headers["content-range"] == f"bytes 2-5/{len(PNG)}"
    tail = await api.client.get(url, headers={**api.auth("player"), "Range": "bytes=-3"})
    assert tail.content == PNG[-3:]
    opened = await api.client.get(url, headers={**api.auth("player"), "Range": "bytes=9000-"})
    assert opened.content == PNG[9000:]
    past = await api.client.get(url, headers={**api.auth("player"), "Range": "bytes=99999-"})
    assert past.status_code == 416
    assert past.headers["content-range"] == f"bytes */{len(PNG)}"
    odd = await api.client.get(url, headers={**api.auth("player"), "Range": "bytes=1-2,4-5"})
    assert odd.status_code == 200  # several ranges: the whole file, as the RFC allows
    assert odd.content == PNG


async def test_the_asset_document_is_readable_through_the_generated_routes(api: Api) -> None:
    asset = (await upload(api, PNG)).json()
    r = await api.client.get(
        f"/api/v1/media-assets/{asset['id']}",
        params={"partitionKey": "image"},
        headers=api.auth("player"),
    )
    assert r.status_code == 200
    assert r.json()["hash"] == asset["hash"]


async def test_a_declared_length_over_the_limit_is_a_413_before_reading(api: Api) -> None:
    r = await upload(api, b"x" * (LIMIT + 1))
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"
    assert await stored_assets(api) == 0


async def test_a_chunked_upload_is_cut_at_the_limit_and_nothing_is_kept(api: Api) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(LIMIT // 8192 + 2):
            yield b"\x89PNG" + b"y" * 8188

    blobs = api.state.poly.stores.blobs
    assert blobs is not None
    before = [b.name async for b in blobs.list("image/")]  # Azurite's container is shared
    headers = {**api.auth("operator"), "Content-Type": "image/png"}
    r = await api.client.post(
        MEDIA, params={"mediaType": "image"}, content=chunks(), headers=headers
    )
    assert r.status_code == 413
    assert await stored_assets(api) == 0
    assert [b.name async for b in blobs.list("image/")] == before


async def test_content_type_must_be_of_the_media_type(api: Api) -> None:
    assert (await upload(api, b"hello", mime="text/plain")).status_code == 415
    assert (await upload(api, b"hello", mime="nonsense")).status_code == 415
    headers = {**api.auth("operator"), "Content-Type": "image/png"}
    r = await api.client.post(MEDIA, params={"mediaType": "smell"}, content=b"x", headers=headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["path"] == "mediaType"


async def test_players_cannot_upload_and_missing_media_is_404(api: Api) -> None:
    r = await upload(api, PNG, who="player")
    assert r.status_code == 403
    assert await stored_assets(api) == 0
    r = await api.client.get(f"{MEDIA}/nothing/content", headers=api.auth("player"))
    assert r.status_code == 404
    r = await upload(api, PNG, who="admin")
    assert r.status_code == 201
