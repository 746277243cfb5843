"""`mystira placement`: where each container lives and belongs, and the evidence for it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mystira_data.cli.common import console, fail, run

if TYPE_CHECKING:
    from mystira_data.placement.report import PlacementReport
    from mystira_data.settings import Settings


def placement_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    window: Annotated[
        float | None,
        typer.Option(
            "--window", metavar="MINUTES", help="Evidence window (default Placement:WindowMinutes)."
        ),
    ] = None,
) -> None:
    """Per container: phase, the catalog's placement and why, the recorded workload, flags.

    The workload is what the serving processes recorded within the window: reads and writes
    per minute, document size p50/p99, nesting depth, update share, cross-partition queries.
    A flag names a placement those numbers contradict (thresholds: the Placement settings)."""
    from mystira_data.placement_settings import MAX_WINDOW_MINUTES

    if window is not None and not 0 < window <= MAX_WINDOW_MINUTES:
        fail(f"--window must be more than 0 and at most {MAX_WINDOW_MINUTES} minutes")

    async def body(settings: Settings) -> PlacementReport:
        from mystira_data.bootstrap import open_platform
        from mystira_data.placement.report import collect

        async with open_platform(settings) as poly:
            return await collect(poly, window_minutes=window)

    report = run(ctx, body)
    if as_json:
        typer.echo(json.dumps(report.as_json(), indent=2))
        return
    print_report(report.as_json())


def print_report(body: dict[str, Any]) -> None:
    from rich.table import Table

    title = (
        f"Placement (evidence over {body['coveredMinutes']:g} of "
        f"{body['windowMinutes']:g} min, since {body['since']})"
    )
    table = Table(title=title)
    for column in ("container", "phase", "recommended", "reasons"):
        table.add_column(column)
    for column in (
        "reads/min",
        "writes/min",
        "update share",
        "size p50/p99",
        "depth",
        "x-part/min",
    ):
        table.add_column(column, justify="right")
    for row in body["containers"]:
        ev = row["evidence"]
        table.add_row(
            row["container"],
            row["phase"],
            row["recommended"],
            ", ".join(row["reasons"]["codes"]),
            _n(ev["readsPerMin"]),
            _n(ev["writesPerMin"]),
            "-" if ev["updateShare"] is None else f"{ev['updateShare']:.2f}",
            _pair(ev["docSizeP50"], ev["docSizeP99"]),
            _pair(ev["nestingDepth"]["p50"], ev["nestingDepth"]["max"]),
            _n(ev["crossPartitionQueriesPerMin"]),
        )
    console.print(table)
    for row in body["containers"]:
        for flag in row["flags"]:
            console.print(
                f"flag {row['container']}: {flag['message']}", markup=False, highlight=False
            )


def _n(x: float) -> str:
    from mystira_data.placement.flags import num

    return num(x) if x else "0"


def _pair(a: int | None, b: int | None) -> str:
    return "-" if a is None else f"{a:,}/{b:,}"
