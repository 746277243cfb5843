"""`mystira control`: pause, resume and throttle replication and backfill per container.

Every change is stored in the control record every worker reads (`mystira replicate`, the
service's backfill jobs, `mystira backfill`) within about a second, and is audited.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mystira_data.cli.common import console, fail, run

# An option's type (Typer reads it at start); the record module is small.
from mystira_data.polyglot.controls.record import Task

if TYPE_CHECKING:
    from mystira_data.polyglot.controls.record import Control
    from mystira_data.settings import Settings

control_app = typer.Typer(
    help="Pause, resume or throttle replication and backfill of a container.",
    no_args_is_help=True,
)

TaskOption = Annotated[
    Task | None, typer.Option("--task", help="replication or backfill.", show_default=False)
]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why (recorded, required).")]


def _container(name: str) -> str:
    from mystira_data.polyglot.controls.store import CONTAINERS

    if name not in CONTAINERS:
        fail(f"unknown container {name!r} for controls; one of {', '.join(CONTAINERS)}")
    return name


def _required(task: Task | None, reason: str) -> tuple[Task, str]:
    if task is None:
        fail("--task is required (replication or backfill)")
    if not reason.strip():
        fail("--reason is required (it is recorded in the audit log)")
    return task, reason.strip()


def _number(option: str, text: str | None) -> float | None:
    """``none`` clears a value; anything else must be a number."""
    if text is None or text.strip().lower() == "none":
        return None
    try:
        return float(text)
    except ValueError:
        fail(f"{option} {text!r}: a number or 'none'")


def _change(
    ctx: typer.Context, container: str, task: Task, changes: dict[str, Any], reason: str
) -> Control:
    async def body(settings: Settings) -> Control:
        from mystira_data.bootstrap import open_relational_store
        from mystira_data.polyglot.controls.store import RelationalControlStore
        from mystira_data.polyglot.state.audit_log import cli_actor

        async with AsyncExitStack() as stack:
            store = RelationalControlStore(await open_relational_store(settings, stack))
            return await store.change(container, task, changes, reason=reason, actor=cli_actor())

    control = run(ctx, body)
    console.print(f"{container} {task.value}: {describe(control)}", markup=False)
    return control


def describe(control: Control) -> str:
    """One line: what is set (or "running freely")."""
    parts = ["PAUSED" if control.paused else "running"]
    for label, value, unit in (
        ("rate", control.rate_limit, "/s"),
        ("max lag", control.max_lag_s, "s"),
        ("batch", control.batch_size, ""),
        ("concurrency", control.concurrency, ""),
    ):
        if value is not None:
            parts.append(f"{label} {value:g}{unit}")
    return ", ".join(parts)


@control_app.command("show")
def show(
    ctx: typer.Context,
    container: Annotated[str | None, typer.Argument()] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The controls of CONTAINER (or of all) and the state their workers report."""
    from mystira_data.polyglot.controls.store import CONTAINERS

    names = (_container(container),) if container else CONTAINERS

    async def body(settings: Settings) -> dict[str, dict[str, Control]]:
        from mystira_data.bootstrap import open_relational_store
        from mystira_data.polyglot.controls.store import RelationalControlStore, by_container

        async with AsyncExitStack() as stack:
            store = RelationalControlStore(await open_relational_store(settings, stack))
            return await by_container(store, names)

    found = run(ctx, body)
    data = {n: {t: c.as_json() for t, c in tasks.items()} for n, tasks in found.items()}
    if as_json:
        typer.echo(json.dumps(data[container] if container else {"controls": data}))
        return
    _table(found)


def _table(found: dict[str, dict[str, Control]]) -> None:
    from rich.table import Table

    table = Table(title="controls")
    for column in ("container", "task", "set", "state", "reason", "by", "at"):
        table.add_column(column)
    for name, tasks in found.items():
        for task, c in tasks.items():
            at = "" if c.updated_at is None else c.updated_at.isoformat(timespec="seconds")
            table.add_row(
                name,
                task,
                describe(c),
                c.live_state() or "-",
                c.reason or "",
                c.updated_by or "",
                at,
            )
    console.print(table)


def _pausing(paused: bool) -> Callable[..., None]:
    """The `pause` (True) or `resume` (False) command: one field of the control."""

    def command(
        ctx: typer.Context,
        container: Annotated[str, typer.Argument()],
        task: TaskOption = None,
        reason: ReasonOption = "",
    ) -> None:
        name = _container(container)
        task, why = _required(task, reason)
        _change(ctx, name, task, {"paused": paused}, why)

    return command


control_app.command(
    "pause", help="Pause TASK of CONTAINER in every process (within about a second)."
)(_pausing(True))
control_app.command("resume", help="Resume TASK of CONTAINER.")(_pausing(False))


@control_app.command("set")
def set_(
    ctx: typer.Context,
    container: Annotated[str, typer.Argument()],
    task: TaskOption = None,
    rate: Annotated[
        str | None, typer.Option("--rate", help="Documents per second, or 'none'.")
    ] = None,
    max_lag: Annotated[
        str | None,
        typer.Option("--max-lag", help="Backfill waits while replication lag exceeds it (s)."),
    ] = None,
    batch_size: Annotated[
        str | None, typer.Option("--batch-size", help="Documents per batch, or 'none'.")
    ] = None,
    concurrency: Annotated[
        str | None, typer.Option("--concurrency", help="Ranges or writes at once, or 'none'.")
    ] = None,
    reason: ReasonOption = "",
) -> None:
    """Throttle TASK of CONTAINER: rate, lag bound, batch size, concurrency ('none' clears)."""
    name = _container(container)
    task, why = _required(task, reason)
    changes: dict[str, Any] = {}
    if rate is not None:
        changes["rate_limit"] = _number("--rate", rate)
    if max_lag is not None:
        changes["max_lag_s"] = _number("--max-lag", max_lag)
    if batch_size is not None:
        changes["batch_size"] = _number("--batch-size", batch_size)
    if concurrency is not None:
        changes["concurrency"] = _number("--concurrency", concurrency)
    if not changes:
        fail("nothing to set: give --rate, --max-lag, --batch-size or --concurrency")
    _change(ctx, name, task, changes, why)
