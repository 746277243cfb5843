"""`mystira status`: the container table and health signals, or JSON for machines."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from mystira_data.cli.common import console, run

# The stores and the cache client are imported when the command runs (`cli.lazy`).
if TYPE_CHECKING:
    from mystira_data import status
    from mystira_data.health import Health
    from mystira_data.settings import Settings


def status_command(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON: containers, health and the signals.")
    ] = False,
) -> None:
    """Per container: phase, counts per store, lag; then store health and the writer.

    The container rows also name the area, partition key and placement; the health rows say
    whether each store is reachable (and since when), its breaker and the cache mode."""
    result = run(ctx, collect)
    if as_json:
        body = {"containers": [r.as_json() for r in result.containers], **result.as_json()}
        typer.echo(json.dumps(body, indent=2))
        return
    print_status(result)


async def collect(settings: Settings) -> status.SystemStatus:
    from mystira_data import status
    from mystira_data.bootstrap import open_platform

    async with open_platform(settings) as poly:
        return await status.collect(poly)


def print_status(result: status.SystemStatus) -> None:
    console.print(render(result.containers))
    if result.health is not None:
        print_health(result.health)
    console.print(
        f"cache: {result.cache.get('summary')}; shadow reads: {result.shadow_reads}",
        markup=False,
        highlight=False,
    )
    print_dead_letters(result.containers)
    for r in result.containers:
        for hold in r.holds():
            console.print(f"control {r.container} {hold}", markup=False, highlight=False)


def print_health(health: Health) -> None:
    """The store-health table, then the phase source, the writer and every fallback."""
    table = Table(title="Health" + ("" if health.ready else " (NOT READY)"))
    for column in ("store", "reachable", "since", "breaker", "mode", "error"):
        table.add_column(column)
    for s in health.stores:
        since = "-" if s.since is None else s.since.isoformat(timespec="seconds")
        reachable = "yes" if s.reachable else "NO"
        table.add_row(s.store, reachable, since, s.breaker or "-", s.mode or "-", s.error or "")
    console.print(table)
    w = health.writer
    writer = w.mode + (f", process pid {w.pid}" if w.process and w.alive else "")
    writer += ", process down" if w.process and not w.alive else ""
    console.print(
        f"phases from: {health.phase_source}"
        + ("" if health.phases_loaded else " (not loaded)")
        + f"; secondary writer: {writer}, {w.queued} queued, {w.in_flight} in flight",
        markup=False,
        highlight=False,
    )
    for fallback in health.fallbacks:
        console.print(f"fallback active: {fallback}", markup=False, highlight=False)


def print_dead_letters(rows: list[status.ContainerStatus]) -> None:
    """One line per open dead letter (newest first), with the reason it was given up on."""
    for r in rows:
        for letter in r.dead_letter_reasons:
            console.print(
                f"dead letter {r.container}/{letter['id']} v{letter['version']} "
                f"({letter['source']}): {letter['reason']}",
                markup=False,  # stored text is never markup
                highlight=False,
            )


def render(rows: list[status.ContainerStatus]) -> Table:
    """A Rich table of status rows."""
    stores = sorted({name for r in rows for name in r.counts})
    table = Table(title="Mystira containers")
    columns = (
        "container",
        "area",
        "partition key",
        "placement",
        "phase",
        *stores,
        "lag",
        "dead letters",
    )
    for column in columns:
        table.add_column(column, justify="left" if column in columns[:5] else "right")
    for r in rows:
        counts = [str(r.counts.get(s, "-")) for s in stores]
        lag = "-" if r.lag is None else _lag(r.lag)
        table.add_row(
            r.container,
            r.area,
            r.partition_key,
            r.placement,
            r.phase,
            *counts,
            lag,
            str(r.dead_letters),
        )
    return table


def _lag(lag: dict[str, object]) -> str:
    from mystira_data.status import UNAVAILABLE

    if lag["pending"] == UNAVAILABLE:
        return UNAVAILABLE
    age = lag.get("oldestAgeSeconds")
    return f"{lag['pending']}" + (f" ({age:.1f}s)" if isinstance(age, float) else "")
