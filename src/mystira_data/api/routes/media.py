"""Media bytes over HTTP; the asset documents are the generated ``/api/v1/media-assets`` routes.

    POST /api/v1/media?mediaType=image[&mediaId=&description=]   body: the file's bytes,
         Content-Type: its type → 201 + the MediaAsset (operators; media is shared content)
    GET  /api/v1/media/{id}/content[?mediaType=]                 the bytes, streamed;
         ``Range: bytes=a-b`` → 206 + Content-Range, past the end → 416

Uploads stream to blob storage as they arrive: a declared length over ``Media:MaxUploadBytes``
is refused before a byte is read (413, `limits.BodyLimit`), and a chunked body the moment it
passes the limit (nothing is kept). A content type that is not of the media type is a 415.
"""

from __future__ import annotations

import mimetypes
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi import Query as Param
from fastapi.responses import JSONResponse, RedirectResponse, StreamingResponse

from mystira_data.api.auth import Caller, Operator
from mystira_data.api.problems import ApiProblem
from mystira_data.api.ranges import ByteRange, RangeNotSatisfiable, parse_range, sliced
from mystira_data.api.routes.documents import PREFIX
from mystira_data.api.state import ApiState, Platform
from mystira_data.blobs.port import check_content_type
from mystira_data.domain.codec import codec_for
from mystira_data.domain.media import MediaAsset
from mystira_data.errors import InvalidDocument, StoreUnavailable
from mystira_data.media import MediaLibrary, MediaTooLarge, Upload, is_external, media_type_of

MEDIA = f"{PREFIX}/media"
UPLOAD_PATH = MEDIA  # the one path whose body limit is Media:MaxUploadBytes
_assets = codec_for(MediaAsset)


def library(state: ApiState) -> MediaLibrary:
    blobs = state.poly.stores.blobs
    if blobs is None:  # the lifespan opens blobs; a platform without them cannot serve media
        raise StoreUnavailable("no blob store is configured")
    limit = state.settings.media.max_upload_bytes
    return MediaLibrary(state.poly.repository, blobs, max_upload_bytes=limit)


def unsupported(detail: str) -> ApiProblem:
    return ApiProblem(415, "Unsupported Media Type", detail)


def upload_of(
    media_type: str, content_type: str | None, media_id: str | None, description: str | None
) -> Upload:
    kind = media_type_of(media_type)
    if not content_type:
        raise unsupported("send the file's type as Content-Type")
    mime = content_type.split(";")[0].strip().lower()
    try:
        check_content_type(mime)
    except InvalidDocument:
        raise unsupported(f"not a content type: {content_type!r}") from None
    if mime.split("/")[0] != kind.value:
        raise unsupported(f"{mime} is not {kind.value}")
    suffix = mimetypes.guess_extension(mime) or ""
    return Upload(kind, mime, media_id or "", suffix, description)


async def body_chunks(request: Request) -> AsyncIterator[bytes]:
    async for chunk in request.stream():
        if chunk:
            yield chunk


UPLOADED: dict[int | str, dict[str, Any]] = {
    201: {"model": MediaAsset, "description": "The stored asset"},
    413: {"description": "The body is over Media:MaxUploadBytes"},
    415: {"description": "Content-Type is missing or not of the media type"},
}
CONTENT: dict[int | str, dict[str, Any]] = {
    200: {"description": "The bytes", "content": {"application/octet-stream": {}}},
    206: {"description": "The requested range", "content": {"application/octet-stream": {}}},
    302: {"description": "The bytes live at an external URL (Location)"},
    416: {"description": "The range starts past the end"},
}
RAW_BODY = {
    "requestBody": {
        "required": True,
        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def routers() -> list[APIRouter]:
    router = APIRouter(prefix=MEDIA, tags=["Media"])

    @router.post("", status_code=201, responses=UPLOADED, openapi_extra=RAW_BODY)
    async def upload_media(
        request: Request,
        state: Platform,
        caller: Operator,
        media_type: Annotated[str, Param(alias="mediaType")],
        media_id: Annotated[str | None, Param(alias="mediaId", max_length=200)] = None,
        description: Annotated[str | None, Param(max_length=2000)] = None,
        content_type: Annotated[str | None, Header(alias="Content-Type")] = None,
    ) -> Response:
        """Upload a file (the body), streamed to blob storage."""
        upload = upload_of(media_type, content_type, media_id, description)
        try:
            asset = await library(state).store(body_chunks(request), upload)
        except MediaTooLarge as exc:
            raise ApiProblem(413, "Content Too Large", str(exc)) from exc
        doc = _assets.encode(asset)
        return JSONResponse(
            doc, status_code=201, headers={"Location": f"{MEDIA}/{asset.id}/content"}
        )

    @router.get("/{id}/content", responses=CONTENT, response_class=Response)
    async def media_content(
        id: str,
        state: Platform,
        caller: Caller,
        media_type: Annotated[str | None, Param(alias="mediaType")] = None,
        range_: Annotated[str | None, Header(alias="Range")] = None,
    ) -> Response:
        """The asset's bytes, streamed; honours one ``Range: bytes=…``."""
        media = library(state)
        asset = await media.get(id, media_type)
        if is_external(asset.url):
            return RedirectResponse(asset.url, status_code=302)
        info = await media.blobs.info(asset.url)
        headers = {"Accept-Ranges": "bytes", "ETag": f'"{info.etag.strip(chr(34))}"'}
        try:
            part = parse_range(range_, info.size)
        except RangeNotSatisfiable as exc:
            raise ApiProblem(
                416, "Range Not Satisfiable", str(exc), {"Content-Range": f"bytes */{exc.size}"}
            ) from exc
        return stream_answer(media, asset.url, info.content_type, info.size, part, headers)

    return [router]


def stream_answer(
    media: MediaLibrary,
    name: str,
    content_type: str,
    size: int,
    part: ByteRange | None,
    headers: dict[str, str],
) -> StreamingResponse:
    chunks = media.blobs.stream(name)
    if part is None:
        headers["Content-Length"] = str(size)
        return StreamingResponse(chunks, media_type=content_type, headers=headers)
    headers["Content-Length"] = str(part.length)
    headers["Content-Range"] = part.content_range
    return StreamingResponse(
        sliced(chunks, part), status_code=206, media_type=content_type, headers=headers
    )
