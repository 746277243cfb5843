"""`mystira status`: the container table, or JSON for machines."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from mystira_data import status
from mystira_data.bootstrap import open_stores
from mystira_data.cli.common import console, run
from mystira_data.settings import Settings


def status_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """Per container: area, partition key, placement, phase and document counts per store."""
    rows = run(ctx, _collect)
    if as_json:
        typer.echo(json.dumps([r.as_json() for r in rows], indent=2))
    else:
        console.print(render(rows))


async def _collect(settings: Settings) -> list[status.ContainerStatus]:
    async with open_stores(settings) as stores:
        return await status.collect(stores)


def render(rows: list[status.ContainerStatus]) -> Table:
    """A Rich table of status rows."""
    stores = sorted({name for r in rows for name in r.counts})
    table = Table(title="Mystira containers")
    for column in ("container", "area", "partition key", "placement", "phase", *stores):
        table.add_column(column, justify="right" if column in stores else "left")
    for r in rows:
        counts = [str(r.counts.get(s, "-")) for s in stores]
        table.add_row(r.container, r.area, r.partition_key, r.placement, r.phase, *counts)
    return table
