"""`mystira demo`: seed a fresh data dir, then walk the relational containers (Accounts,
the UserProfiles split, GameSessions) through all four phases under simulated play, printing
the status after each step."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mystira_data.cli.common import console, fail, options
from mystira_data.errors import MystiraError
from mystira_data.settings import Phase, Settings, load_settings

# The stores and the layer are imported when the demo runs (`cli.lazy`).
if TYPE_CHECKING:
    from mystira_data.polyglot.layer import Polyglot

PARENTS_FIRST = ("Accounts", "UserProfiles", "GameSessions")
WALK = (Phase.DUAL_WRITE_COSMOS_READ, Phase.DUAL_WRITE_POSTGRES_READ, Phase.POSTGRES_ONLY)


def demo_command(
    ctx: typer.Context,
    accounts: Annotated[int, typer.Option("--accounts", min=1)] = 25,
    random_seed: Annotated[int, typer.Option("--random-seed")] = 0,
    writes: Annotated[
        int, typer.Option("--writes", min=10, help="Simulated writes per step.")
    ] = 200,
) -> None:
    """Seed master and demo data into a fresh data dir, then walk the phases under play."""
    opts = options(ctx)
    base = opts.data_dir or Path(tempfile.mkdtemp(prefix="mystira-demo-"))
    try:
        settings = load_settings(opts.config, data_dir=base)
        asyncio.run(_demo(settings, accounts, random_seed, writes))
    except MystiraError as exc:
        fail(f"{type(exc).__name__}: {exc}")
    console.print(f"demo data dir: {base}", markup=False)


async def _demo(settings: Settings, accounts: int, seed: int, writes: int) -> None:
    from mystira_data.bootstrap import open_platform
    from mystira_data.cli.seed import seed_all
    from mystira_data.polyglot.consistency.backfill import backfill
    from mystira_data.polyglot.phase.rules import Side

    await seed_all(settings, None, True, accounts, seed)
    async with open_platform(settings, refresh_s=0) as poly:
        await _step(poly, "seeded (CosmosOnly)", writes, seed * 10)
        for container in PARENTS_FIRST:  # history into PostgreSQL before dual writes
            await backfill(poly, container, Side.RELATIONAL)
        for step, phase in enumerate(WALK, start=1):
            for container in PARENTS_FIRST:
                await _advance(poly, container, phase)
            moved = ", ".join(PARENTS_FIRST)
            await _step(poly, f"{moved} → {phase.value}", writes, seed * 10 + step)


async def _advance(poly: Polyglot, container: str, phase: Phase) -> None:
    """Catch up, prove agreement (verify), then move one step: the guarded path."""
    while await poly.replicate_once(container):
        pass
    await poly.verify(container, settle_s=0)
    await poly.control.set(container, phase, reason="demo walk")


async def _step(poly: Polyglot, title: str, writes: int, seed: int) -> None:
    from mystira_data import status
    from mystira_data.cli.status import print_status
    from mystira_data.simulator import simulate

    report = await simulate(poly.repository, players=10, writes=writes, seed=seed)
    console.rule(f"{title}: {report.ok} writes acknowledged, {report.failed} failed")
    for line in report.errors[:5]:
        console.print(f"  {line}", markup=False)
    print_status(await status.collect(poly))
