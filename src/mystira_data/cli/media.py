"""`mystira media …`: upload, list, get and check media assets (document + blob)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mystira_data.bootstrap import Stores, open_stores
from mystira_data.cli.common import console, fail, run
from mystira_data.domain.media import MediaAsset
from mystira_data.media import MediaCheck, MediaLibrary
from mystira_data.settings import Settings

app = typer.Typer(help="Media assets: a MediaAssets document per blob.", no_args_is_help=True)


def library(stores: Stores) -> MediaLibrary:
    assert stores.blobs is not None
    return MediaLibrary(
        stores.documents, stores.blobs, max_upload_bytes=stores.settings.media.max_upload_bytes
    )


@app.command("upload")
def upload_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The file to upload.")],
    media_type: Annotated[str, typer.Option("--type", help="image, audio or video.")],
    content_type: Annotated[str | None, typer.Option("--content-type")] = None,
) -> None:
    """Store FILE as a blob and its MediaAssets document."""
    if not file.is_file():
        fail(f"{file}: no such file")

    async def body(settings: Settings) -> MediaAsset:
        async with open_stores(settings, relational=False, blobs=True) as stores:
            return await library(stores).upload(file, media_type, content_type=content_type)

    asset = run(ctx, body)
    typer.echo(json.dumps(asset.model_dump(mode="json", by_alias=True), indent=2))


@app.command("list")
def list_command(
    ctx: typer.Context,
    media_type: Annotated[str | None, typer.Option("--type")] = None,
) -> None:
    """List media assets (optionally of one type)."""

    async def body(settings: Settings) -> list[MediaAsset]:
        async with open_stores(settings, relational=False, blobs=True) as stores:
            return [a async for a in library(stores).list(media_type)]

    table = Table(title="Media assets")
    for column in ("id", "type", "mime", "bytes", "blob"):
        table.add_column(column)
    for a in run(ctx, body):
        table.add_row(a.id, a.media_type.value, a.mime_type, str(a.file_size_bytes), a.url)
    console.print(table)


@app.command("get")
def get_command(ctx: typer.Context, asset_id: Annotated[str, typer.Argument()]) -> None:
    """Print one asset's document."""

    async def body(settings: Settings) -> MediaAsset:
        async with open_stores(settings, relational=False, blobs=True) as stores:
            return await library(stores).get(asset_id)

    typer.echo(json.dumps(run(ctx, body).model_dump(mode="json", by_alias=True), indent=2))


@app.command("check")
def check_command(ctx: typer.Context, fix: Annotated[bool, typer.Option("--fix")] = False) -> None:
    """Blobs without a document and documents without a blob; --fix repairs both."""

    async def body(settings: Settings) -> MediaCheck:
        async with open_stores(settings, relational=False, blobs=True) as stores:
            return await library(stores).check(fix=fix)

    result = run(ctx, body)
    console.print(
        f"orphan blobs: {len(result.orphan_blobs)}; "
        f"documents without blob: {len(result.missing_blobs)}; fixed: {result.fixed}"
    )
    for name in result.orphan_blobs:
        console.print(f"  orphan blob {name}", markup=False)
    for asset in result.missing_blobs:
        console.print(f"  missing blob for {asset.id} ({asset.url})", markup=False)
    if not result.ok and not fix:
        raise typer.Exit(1)
