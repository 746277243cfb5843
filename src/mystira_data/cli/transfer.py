"""`mystira export` and `mystira import`: JSON Lines backup and restore, by the live phase."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

from mystira_data.cli.common import console, err_console, fail, run
from mystira_data.cli.polyglot import polyglot
from mystira_data.errors import InvalidDocument

# The codecs and the stores are imported when a command runs (`cli.lazy`).
if TYPE_CHECKING:
    from mystira_data import transfer
    from mystira_data.settings import Settings


FormatOption = Annotated[
    str | None,
    typer.Option(
        "--format",
        help="Document format of the file: native or efcore9 (default: DocumentStore:Format).",
    ),
]


def export_command(
    ctx: typer.Context,
    container: Annotated[str, typer.Argument(help="Container name, e.g. GameSessions.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="File to write (default stdout).")
    ] = None,
    file_format: FormatOption = None,
) -> None:
    """Write every live document of CONTAINER as JSON Lines (read where its phase reads).

    ``--out`` is written to a temporary file beside it and renamed at the end, so a failed
    or mistyped export never truncates an existing file.
    """
    from mystira_data import transfer

    _known(container)
    _check_format(file_format)
    if out is not None and not out.parent.is_dir():
        fail(f"--out {out}: directory {out.parent} does not exist")

    async def body(settings: Settings) -> int:
        from mystira_data.documents.formats import format_for
        from mystira_data.polyglot.phase.rules import Side

        fmt = format_for(file_format or settings.document_store.format)
        async with polyglot(settings) as poly:
            route = await poly.router.routing(container)
            source, encode = transfer.export_source(
                container,
                poly.stores.documents,
                poly.repository,
                reads_documents=route.reads is Side.DOCUMENT,
                fmt=fmt,
            )
            if out is None:
                return await transfer.export_jsonl(source, container, sys.stdout, encode=encode)
            with _replacing(out) as handle:
                return await transfer.export_jsonl(source, container, handle, encode=encode)

    count = run(ctx, body)
    err_console.print(f"exported {count} document(s) from {container}", markup=False)


def _check_format(name: str | None) -> None:
    if name is not None and name not in ("native", "efcore9"):
        fail(f"--format {name}: use native or efcore9")


def _known(container: str) -> None:
    from mystira_data import transfer

    try:
        transfer.document_spec(container)
    except InvalidDocument as exc:
        fail(str(exc))


@contextlib.contextmanager
def _replacing(path: Path) -> Iterator[TextIO]:
    """A handle on a temporary file that replaces ``path`` only when the block succeeds."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with temp.open("w", encoding="utf-8") as handle:
            yield handle
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def import_command(
    ctx: typer.Context,
    container: Annotated[str, typer.Argument(help="Container name, e.g. GameSessions.")],
    file: Annotated[Path, typer.Argument(help="JSON Lines file, one document per line.")],
    file_format: FormatOption = None,
) -> None:
    """Validate and upsert every line of FILE through the live phase's primary (dual-written
    like any write); exit 1 if any line was rejected."""
    from mystira_data import transfer

    if not file.is_file():
        fail(f"{file}: no such file")
    _known(container)
    _check_format(file_format)

    async def body(settings: Settings) -> transfer.ImportReport:
        from mystira_data.documents.formats import FormattedDocumentStore, format_for

        transfer.check_utf8(file)
        fmt = format_for(file_format or settings.document_store.format)
        async with polyglot(settings) as poly:
            docs = poly.stores.documents
            # Same format as the store: hand it each line's stored form (a faithful copy).
            keeps = isinstance(docs, FormattedDocumentStore) and docs.format.name == fmt.name
            originals = docs if keeps and isinstance(docs, FormattedDocumentStore) else None
            with file.open(encoding="utf-8") as handle:
                return await transfer.import_jsonl(
                    poly.repository, container, handle, fmt=fmt, originals=originals
                )

    report = run(ctx, body)
    for number, reason in report.rejected:
        err_console.print(f"{file}:{number}: rejected: {reason}", highlight=False, markup=False)
    console.print(
        f"imported {report.imported}, rejected {len(report.rejected)} into {container}",
        markup=False,
    )
    if report.rejected:
        raise typer.Exit(1)
