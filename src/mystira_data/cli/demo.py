"""`mystira demo`: seed a fresh data dir and show the status table."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from mystira_data import status
from mystira_data.bootstrap import open_stores
from mystira_data.cli.common import console, fail, options
from mystira_data.cli.seed import seed_all
from mystira_data.cli.status import render
from mystira_data.errors import MystiraError
from mystira_data.settings import Settings, load_settings


def demo_command(
    ctx: typer.Context,
    accounts: Annotated[int, typer.Option("--accounts", min=1)] = 25,
    random_seed: Annotated[int, typer.Option("--random-seed")] = 0,
) -> None:
    """Seed master and demo data into a fresh data dir and print the status table."""
    opts = options(ctx)
    base = opts.data_dir or Path(tempfile.mkdtemp(prefix="mystira-demo-"))
    try:
        settings = load_settings(opts.config, data_dir=base)
        rows = asyncio.run(_demo(settings, accounts, random_seed))
    except MystiraError as exc:
        fail(f"{type(exc).__name__}: {exc}")
    console.print(f"demo data dir: {base}")
    console.print(render(rows))


async def _demo(
    settings: Settings, accounts: int, random_seed: int
) -> list[status.ContainerStatus]:
    await seed_all(settings, None, True, accounts, random_seed)
    async with open_stores(settings) as stores:
        return await status.collect(stores)
