"""`mystira export` and `mystira import`: JSON Lines backup and restore."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from mystira_data import transfer
from mystira_data.bootstrap import open_stores
from mystira_data.cli.common import console, err_console, fail, run
from mystira_data.settings import Settings


def export_command(
    ctx: typer.Context,
    container: Annotated[str, typer.Argument(help="Container name, e.g. GameSessions.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="File to write (default stdout).")
    ] = None,
) -> None:
    """Write every live document of CONTAINER as JSON Lines."""

    async def body(settings: Settings) -> int:
        async with open_stores(settings) as stores:
            if out is None:
                return await transfer.export_jsonl(stores.documents, container, sys.stdout)
            with out.open("w", encoding="utf-8") as handle:
                return await transfer.export_jsonl(stores.documents, container, handle)

    count = run(ctx, body)
    err_console.print(f"exported {count} document(s) from {container}")


def import_command(
    ctx: typer.Context,
    container: Annotated[str, typer.Argument(help="Container name, e.g. GameSessions.")],
    file: Annotated[Path, typer.Argument(help="JSON Lines file, one document per line.")],
) -> None:
    """Validate and upsert every line of FILE; exit 1 if any line was rejected."""
    if not file.is_file():
        fail(f"{file}: no such file")

    async def body(settings: Settings) -> transfer.ImportReport:
        async with open_stores(settings) as stores:
            with file.open(encoding="utf-8") as handle:
                return await transfer.import_jsonl(stores.documents, container, handle)

    report = run(ctx, body)
    for number, reason in report.rejected:
        err_console.print(f"{file}:{number}: rejected: {reason}", highlight=False, markup=False)
    console.print(f"imported {report.imported}, rejected {len(report.rejected)} into {container}")
    if report.rejected:
        raise typer.Exit(1)
