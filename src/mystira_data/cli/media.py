"""`mystira media …`: upload, list, get and check media assets (document + blob)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from mystira_data.cli.common import console, fail, run

# The stores and the blob client are imported when a command runs (`cli.lazy`).
if TYPE_CHECKING:
    from mystira_data.domain.media import MediaAsset
    from mystira_data.media import MediaCheck, MediaLibrary
    from mystira_data.settings import Settings

app = typer.Typer(help="Media assets: a MediaAssets document per blob.", no_args_is_help=True)


@asynccontextmanager
async def library(settings: Settings) -> AsyncIterator[MediaLibrary]:
    """The media library over freshly opened document and blob stores (closed on exit)."""
    from mystira_data.bootstrap import open_stores
    from mystira_data.media import MediaLibrary

    async with open_stores(settings, relational=False, blobs=True) as stores:
        assert stores.blobs is not None
        yield MediaLibrary(
            stores.documents, stores.blobs, max_upload_bytes=settings.media.max_upload_bytes
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
        async with library(settings) as media:
            return await media.upload(file, media_type, content_type=content_type)

    asset = run(ctx, body)
    typer.echo(json.dumps(asset.model_dump(mode="json", by_alias=True), indent=2))


@app.command("list")
def list_command(
    ctx: typer.Context,
    media_type: Annotated[str | None, typer.Option("--type")] = None,
) -> None:
    """List media assets (optionally of one type)."""

    async def body(settings: Settings) -> list[MediaAsset]:
        async with library(settings) as media:
            return [a async for a in media.list(media_type)]

    table = Table(title="Media assets")
    for column in ("id", "type", "mime", "bytes", "blob"):
        table.add_column(column)
    for a in run(ctx, body):
        # Text cells: stored strings are data, never Rich markup.
        cells = (a.id, a.media_type.value, a.mime_type, str(a.file_size_bytes), a.url)
        table.add_row(*(Text(c) for c in cells))
    console.print(table)


@app.command("get")
def get_command(ctx: typer.Context, asset_id: Annotated[str, typer.Argument()]) -> None:
    """Print one asset's document."""

    async def body(settings: Settings) -> MediaAsset:
        async with library(settings) as media:
            return await media.get(asset_id)

    typer.echo(json.dumps(run(ctx, body).model_dump(mode="json", by_alias=True), indent=2))


@app.command("check")
def check_command(
    ctx: typer.Context,
    fix: Annotated[
        bool, typer.Option("--fix", help="Say what a fix would delete (a dry run).")
    ] = False,
    delete: Annotated[
        bool, typer.Option("--delete", help="With --fix: really delete what it lists.")
    ] = False,
) -> None:
    """Blobs without a document and documents without a blob.

    ``--fix`` lists the deletions that would repair both; ``--fix --delete`` makes them.
    Documents whose url points at another host are never touched. Exit 0 when nothing is
    broken afterwards, 1 when something is (found, or left by a dry run).
    """
    if delete and not fix:
        fail("--delete only goes with --fix")

    async def body(settings: Settings) -> MediaCheck:
        async with library(settings) as media:
            return await media.check(fix=delete)

    result = run(ctx, body)
    _print_check(result, dry_run=fix and not delete)
    if not result.ok and not delete:
        raise typer.Exit(1)


def _print_check(result: MediaCheck, *, dry_run: bool) -> None:
    verb = "would delete" if dry_run else "deleted" if result.fixed else "found"
    console.print(
        f"orphan blobs: {len(result.orphan_blobs)}; "
        f"documents without blob: {len(result.missing_blobs)}; "
        f"documents with media elsewhere (not checked): {len(result.external)}",
        markup=False,
    )
    for name in result.orphan_blobs:
        console.print(f"  {verb} orphan blob {name}", markup=False)
    for asset in result.missing_blobs:
        console.print(f"  {verb} document {asset.id} (blob {asset.url} missing)", markup=False)
    if dry_run and not result.ok:
        console.print("dry run: nothing was deleted; add --delete to delete these")
