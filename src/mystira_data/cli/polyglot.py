"""`mystira phase …`, `mystira replicate` and `mystira simulate`: the polyglot layer."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import typer
from rich.table import Table

from mystira_data import catalog
from mystira_data.bootstrap import open_stores
from mystira_data.cli.common import console, fail, run
from mystira_data.polyglot.control import Transition
from mystira_data.polyglot.runtime import Polyglot, build
from mystira_data.polyglot.simulator import SimulationReport, simulate
from mystira_data.settings import Phase, Settings

phase_app = typer.Typer(help="Read or change a container's migration phase.", no_args_is_help=True)


@asynccontextmanager
async def polyglot(settings: Settings) -> AsyncIterator[Polyglot]:
    """The polyglot layer over freshly opened stores (closed on exit)."""
    async with open_stores(settings) as stores:
        poly = build(stores)
        try:
            yield poly
        finally:
            await poly.repository.secondary.close()
            await poly.flush_sync_log()


def _container(name: str) -> str:
    if name not in catalog.BY_NAME:
        fail(f"unknown container {name!r}; known: {', '.join(catalog.BY_NAME)}")
    return name


@phase_app.command("get")
def phase_get(
    ctx: typer.Context,
    container: Annotated[str | None, typer.Argument()] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The live phase of CONTAINER (or of all), with the transition history."""
    names = [_container(container)] if container else [c.name for c in catalog.CONTAINERS]

    async def body(settings: Settings) -> tuple[dict[str, Phase], list[Transition]]:
        async with polyglot(settings) as poly:
            phases = {n: await poly.control.phase(n) for n in names}
            return phases, await poly.control.store.history(container)

    phases, history = run(ctx, body)
    if as_json:
        typer.echo(json.dumps({n: p.value for n, p in phases.items()}))
        return
    for name, phase in phases.items():
        console.print(f"{name}: [bold]{phase.value}[/]")
    for t in history:
        forced = " (forced)" if t.forced else ""
        console.print(
            f"  {t.at:%Y-%m-%d %H:%M:%S} {t.container}: {t.from_phase.value} → "
            f"{t.to_phase.value}{forced} {t.reason}",
            markup=False,
        )


@phase_app.command("set")
def phase_set(
    ctx: typer.Context,
    container: Annotated[str, typer.Argument()],
    phase: Annotated[Phase, typer.Argument()],
    force: Annotated[bool, typer.Option("--force", help="Skip the lag/verify guard.")] = False,
    reason: Annotated[str, typer.Option("--reason", help="Recorded with the change.")] = "",
) -> None:
    """Move CONTAINER one phase forward or back (forward into Postgres reads is guarded)."""
    _container(container)

    async def body(settings: Settings) -> Transition:
        async with polyglot(settings) as poly:
            return await poly.control.set(container, phase, force=force, reason=reason)

    t = run(ctx, body)
    console.print(f"{t.container}: {t.from_phase.value} → {t.to_phase.value}")


def replicate_command(
    ctx: typer.Context,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64)] = 1,
    once: Annotated[bool, typer.Option("--once", help="Catch up once and exit.")] = False,
    container: Annotated[list[str] | None, typer.Option("--container")] = None,
) -> None:
    """Run replication (change feed → relational, outbox → documents) for dual-write phases."""
    names = (
        [_container(c) for c in container]
        if container
        else [c.name for c in catalog.relational_containers()]
    )

    async def body(settings: Settings) -> int:
        async with polyglot(settings) as poly:
            if once:
                return sum([await poly.replicate_until_caught_up(n) for n in names])
            await asyncio.gather(*(_worker(poly, names) for _ in range(workers)))
            return 0

    applied = run(ctx, body)
    console.print(f"applied {applied} change(s)")


async def _worker(poly: Polyglot, names: list[str]) -> None:
    owner = f"replicate-{uuid.uuid4().hex[:8]}"
    while True:
        moved = 0
        for name in names:
            moved += await poly.replicate_once(name, owner=owner)
        if not moved:
            await asyncio.sleep(0.2)


def simulate_command(
    ctx: typer.Context,
    players: Annotated[int, typer.Option("--players", min=1)] = 10,
    writes: Annotated[int, typer.Option("--writes", min=1)] = 200,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1)] = 8,
    seed: Annotated[int, typer.Option("--random-seed")] = 0,
) -> None:
    """Simulated game play through the polyglot repository."""

    async def body(settings: Settings) -> SimulationReport:
        async with polyglot(settings) as poly:
            return await simulate(
                poly.repository, players=players, writes=writes, concurrency=concurrency, seed=seed
            )

    report = run(ctx, body)
    table = Table(title="Simulation")
    table.add_column("acknowledged writes", justify="right")
    table.add_column("failed writes", justify="right")
    table.add_row(str(report.ok), str(report.failed))
    console.print(table)
    for line in report.errors[:10]:
        console.print(f"  {line}", markup=False)
    if report.failed:
        raise typer.Exit(1)
