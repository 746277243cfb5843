"""`mystira phase …`, `mystira replicate` and `mystira simulate`: the polyglot layer."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from mystira_data.cli.common import console, fail, run
from mystira_data.errors import MystiraError, StoreUnavailable
from mystira_data.settings import Phase  # an argument's type: Typer reads it at start

# What the commands need is imported when they run (`cli.lazy`).
if TYPE_CHECKING:
    from mystira_data.polyglot.layer import Polyglot
    from mystira_data.polyglot.phase.record import PendingSwitch, PhaseRecord, Transition
    from mystira_data.settings import Settings
    from mystira_data.simulator import SimulationReport

phase_app = typer.Typer(help="Read or change a container's migration phase.", no_args_is_help=True)


@asynccontextmanager
async def polyglot(settings: Settings) -> AsyncIterator[Polyglot]:
    """The polyglot layer over freshly opened stores (closed on exit)."""
    from mystira_data.bootstrap import open_platform

    async with open_platform(settings) as poly:
        await poly.control.all_phases()  # a configuration the phase record refuses stops here
        yield poly


def _container(name: str) -> str:
    from mystira_data import catalog

    if name not in catalog.BY_NAME:
        fail(f"unknown container {name!r}; known: {', '.join(catalog.BY_NAME)}")
    return name


@phase_app.command("get")
def phase_get(
    ctx: typer.Context,
    container: Annotated[str | None, typer.Argument()] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The live phase of CONTAINER (or of all), any pending switch, the transition history.

    ``--json`` prints ``{container: phase}``, plus ``"pending": {container: {...}}`` while a
    switch of the primary is scheduled, fenced, expired or abandoned.
    """
    from mystira_data import catalog

    names = [_container(container)] if container else [c.name for c in catalog.CONTAINERS]

    async def body(settings: Settings) -> tuple[dict[str, PhaseRecord], list[Transition]]:
        async with polyglot(settings) as poly:
            records = {n: await poly.control.record(n) for n in names}
            return records, await poly.control.store.history(container)

    records, history = run(ctx, body)
    pending = {n: r.pending for n, r in records.items() if r.pending is not None}
    if as_json:
        out: dict[str, object] = {n: r.phase.value for n, r in records.items()}
        if pending:
            out["pending"] = {n: p.as_json() for n, p in pending.items()}
        typer.echo(json.dumps(out))
        return
    for name, record in records.items():
        console.print(f"{name}: [bold]{record.phase.value}[/]")
        if record.pending is not None:
            console.print(f"  {_describe(record.phase, record.pending)}", markup=False)
    for t in history:
        forced = " (forced)" if t.forced else ""
        console.print(
            f"  {t.at:%Y-%m-%d %H:%M:%S} {t.container}: {t.from_phase.value} → "
            f"{t.to_phase.value}{forced} {t.reason}",
            markup=False,
        )


def _describe(current: Phase, p: PendingSwitch) -> str:
    """One line on a pending switch, in the store's clock (UTC)."""
    target, fence, expiry = (
        p.target.value,
        f"{p.fence_at:%H:%M:%S} UTC",
        f"{p.expires_at:%H:%M:%S} UTC",
    )
    if p.state == "scheduled":
        return (
            f"switch to {target} scheduled: writes pause at {fence} (in {p.fence_in_s:.1f}s) "
            f"until the flip; it expires at {expiry}"
        )
    if p.state == "fenced":
        return (
            f"switch to {target} in progress: writes paused since {fence} until the flip; "
            f"it expires at {expiry} (in {p.expires_in_s:.1f}s)"
        )
    return (
        f"switch to {target} {p.state} (expiry {expiry}): writes continue under "
        f"{current.value}; `phase set` may be issued again"
    )


@phase_app.command("set")
def phase_set(
    ctx: typer.Context,
    container: Annotated[str, typer.Argument()],
    phase: Annotated[Phase, typer.Argument()],
    force: Annotated[bool, typer.Option("--force", help="Skip the gates and guards.")] = False,
    reason: Annotated[str, typer.Option("--reason", help="Recorded with the change.")] = "",
) -> None:
    """Move CONTAINER one phase forward or back (forward into Postgres reads is guarded).

    A move that changes the primary store is scheduled first: every instance pauses writes
    of CONTAINER shortly before the flip, and this command returns once it has flipped.
    """
    from mystira_data.polyglot.state.audit_log import cli_actor

    _container(container)

    async def body(settings: Settings) -> Transition:
        async with polyglot(settings) as poly:
            current = await poly.control.phase(container)
            timing = poly.control.timing

            def scheduled(name: str, pause_s: float) -> None:
                # Only now: every guard has passed and the switch is recorded.
                console.print(
                    f"{name}: {current.value} → {phase.value} changes the primary; "
                    f"writes pause in about {pause_s:.1f}s, for at least {timing.drain_s:.1f}s "
                    "plus the catch-up",
                    markup=False,
                )

            poly.control.on_scheduled = scheduled
            return await poly.control.set(
                container, phase, force=force, reason=reason, actor=cli_actor()
            )

    t = run(ctx, body)
    console.print(f"{t.container}: {t.from_phase.value} → {t.to_phase.value}")


RECONCILE_EVERY_S = 300.0


def replicate_command(
    ctx: typer.Context,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64)] = 1,
    once: Annotated[bool, typer.Option("--once", help="Catch up once and exit.")] = False,
    container: Annotated[list[str] | None, typer.Option("--container")] = None,
    progress_every: Annotated[
        float,
        typer.Option("--progress-every", min=0.1, help="Seconds between progress lines."),
    ] = 10.0,
    reconcile: Annotated[
        bool,
        typer.Option(
            "--reconcile",
            help="Catch up, then one id reconciliation pass (hard deletes reach PostgreSQL), "
            "then exit.",
        ),
    ] = False,
    reconcile_every: Annotated[
        float,
        typer.Option(
            "--reconcile-every", min=0, help="Seconds between reconciliation passes (0: never)."
        ),
    ] = RECONCILE_EVERY_S,
) -> None:
    """Run replication (change feed → relational, outbox → documents) for dual-write phases.

    Without ``--once`` it runs until interrupted and prints a progress line periodically;
    every ``--reconcile-every`` seconds it also reconciles ids (containers in
    DualWriteCosmosRead: rows whose document another app deleted for real become tombstones).
    """
    from mystira_data import catalog

    names = (
        [_container(c) for c in container]
        if container
        else [c.name for c in catalog.relational_containers()]
    )

    async def body(settings: Settings) -> int:
        async with polyglot(settings) as poly:
            if once or reconcile:
                applied = sum([await poly.replicate_until_caught_up(n) for n in names])
                if reconcile:
                    await _reconcile_pass(poly, names)
                    applied += sum([await poly.replicate_until_caught_up(n) for n in names])
                return applied
            progress = Progress()
            await asyncio.gather(
                _report(poly, names, progress, progress_every),
                _reconciler(poly, names, reconcile_every),
                *(_worker(poly, names, progress) for _ in range(workers)),
            )
            return progress.applied

    applied = run(ctx, body)
    console.print(f"applied {applied} change(s)")


@dataclass
class Progress:
    applied: int = 0


async def _worker(poly: Polyglot, names: list[str], progress: Progress) -> None:
    """Replicate until interrupted; a store that goes away is waited for, not fatal."""
    owner = f"replicate-{uuid.uuid4().hex[:8]}"
    while True:
        moved = 0
        for name in names:
            try:
                moved += await poly.replicate_once(name, owner=owner)
            except StoreUnavailable as exc:
                _say_waiting(name, exc)
                await asyncio.sleep(OUTAGE_PAUSE_S)
        progress.applied += moved
        if not moved:
            await asyncio.sleep(0.2)


OUTAGE_PAUSE_S = 1.0


async def _reconcile_pass(poly: Polyglot, names: list[str]) -> None:
    """One id reconciliation of each container, with progress and a summary line each."""

    def say(container: str, checked: int, tombstoned: int) -> None:
        console.print(
            f"{datetime.now(UTC):%H:%M:%S} reconcile {container}: {checked} row(s) checked, "
            f"{tombstoned} tombstoned",
            markup=False,
        )

    for name in names:
        report = await poly.reconcile(name, progress=say)
        if report.skipped:
            console.print(f"reconcile {name}: skipped ({report.skipped})", markup=False)
        elif report.came_back:
            console.print(
                f"reconcile {name}: {len(report.came_back)} document(s) came back during the "
                "pass and were copied again",
                markup=False,
            )


async def _reconciler(poly: Polyglot, names: list[str], every_s: float) -> None:
    """Reconcile ids every ``every_s`` seconds while replication runs (0: never)."""
    if every_s <= 0:
        return
    while True:
        await asyncio.sleep(every_s)
        try:
            await _reconcile_pass(poly, names)
        except StoreUnavailable as exc:
            console.print(f"reconcile: store unavailable, next pass later ({exc})", markup=False)


def _say_waiting(container: str, exc: StoreUnavailable) -> None:
    console.print(
        f"{datetime.now(UTC):%H:%M:%S} {container}: store unavailable, waiting ({exc})",
        markup=False,
    )


async def _report(poly: Polyglot, names: list[str], progress: Progress, every_s: float) -> None:
    """A line every ``every_s``: so an operator sees a never-ending run is alive."""
    while True:
        await asyncio.sleep(every_s)
        try:
            pending: int | str = sum([(await poly.lag(n)).pending for n in names])
        except MystiraError as exc:  # a store down: say so, keep replicating what it can
            pending = f"unknown ({type(exc).__name__})"
        console.print(
            f"{datetime.now(UTC):%H:%M:%S} replicating {len(names)} container(s): "
            f"applied {progress.applied} change(s) so far, {pending} pending{_held(poly, names)}",
            markup=False,
        )


def _held(poly: Polyglot, names: list[str]) -> str:
    """"; C: paused by operator" for each container its controls hold (`mystira control`)."""
    from mystira_data.polyglot.controls.record import Task

    states = {n: poly.pacer(n, Task.REPLICATION).state for n in names}
    return "".join(f"; {n}: {state}" for n, state in states.items() if state != "running")


def simulate_command(
    ctx: typer.Context,
    players: Annotated[int, typer.Option("--players", min=1)] = 10,
    writes: Annotated[int, typer.Option("--writes", min=1)] = 200,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1)] = 8,
    seed: Annotated[int, typer.Option("--random-seed")] = 0,
) -> None:
    """Simulated game play through the polyglot repository."""
    from mystira_data.simulator import simulate

    async def body(settings: Settings) -> SimulationReport:
        async with polyglot(settings) as poly:
            return await simulate(
                poly.repository, players=players, writes=writes, concurrency=concurrency, seed=seed
            )

    report = run(ctx, body)
    table = Table(title="Simulation")
    table.add_column("acknowledged writes", justify="right")
    table.add_column("of which deletes", justify="right")
    table.add_column("failed writes", justify="right")
    table.add_row(str(report.ok), str(report.deletes), str(report.failed))
    console.print(table)
    for line in report.errors[:10]:
        console.print(f"  {line}", markup=False)
    if report.failed:
        raise typer.Exit(1)
