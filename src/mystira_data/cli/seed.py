"""`mystira seed`: master data (shipped or from a directory) and deterministic demo data."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer
from rich.table import Table

from mystira_data.cli.common import console, fail, run

if TYPE_CHECKING:
    from mystira_data.settings import Settings


def seed_command(
    ctx: typer.Context,
    source: Annotated[
        Path | None,
        typer.Option("--from", help="Import a directory in the original Data/ file format."),
    ] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Also generate demo play data.")] = False,
    accounts: Annotated[int, typer.Option("--accounts", min=0, help="Demo accounts.")] = 20,
    random_seed: Annotated[int, typer.Option("--random-seed", help="Demo RNG seed.")] = 0,
) -> None:
    """Load master data idempotently (and demo data with --demo); print counts per container."""
    if source is not None and not source.is_dir():
        fail(f"{source}: not a directory")
    counts = run(ctx, lambda s: seed_all(s, source, demo, accounts, random_seed))
    console.print(counts_table(counts))


async def seed_all(
    settings: Settings, source: Path | None, demo: bool, accounts: int, random_seed: int
) -> dict[str, int]:
    """Seed master data, then demo data if asked; returns documents written per container."""
    from mystira_data.bootstrap import open_stores
    from mystira_data.cache.repository import container_prefix
    from mystira_data.documents.port import DocumentStore
    from mystira_data.polyglot.replication.stamped import Stamped
    from mystira_data.seed import seed_demo, seed_master

    async with open_stores(settings, cache=settings.caching.enabled) as stores:
        # Seeded documents are written through this platform: marked ours (not foreign).
        documents = cast(DocumentStore, Stamped(stores.documents))
        if demo:
            # seed_demo also seeds the master data its documents refer to.
            counts = await seed_demo(
                documents, accounts=accounts, random_seed=random_seed, source_dir=source
            )
        else:
            counts = await seed_master(documents, source)
        # Seeding writes the store in bulk, past the repository: running instances must not
        # keep serving what they cached before (long-lived reference data above all).
        if stores.cache is not None:
            for container in counts:
                await stores.cache.clear(container_prefix(container))
        return counts


def counts_table(counts: dict[str, int]) -> Table:
    table = Table(title="Seeded")
    table.add_column("container")
    table.add_column("documents", justify="right")
    for name, n in counts.items():
        table.add_row(name, str(n))
    return table
