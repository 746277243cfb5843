"""`mystira audit`: the audit log, newest first (phase moves, repairs, key changes)."""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mystira_data.cli.common import console, fail, run

if TYPE_CHECKING:
    from mystira_data.settings import Settings


def audit_command(
    ctx: typer.Context,
    container: Annotated[str | None, typer.Option("--container", help="Only this one.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Show the audit log, newest first: who moved, forced, repaired or changed keys, and why.

    With --json each entry is printed whole, the gate evidence of a move included.
    """
    from mystira_data import catalog

    if container is not None and container not in catalog.BY_NAME:
        fail(f"unknown container {container!r}")

    async def body(settings: Settings) -> list[dict[str, Any]]:
        from mystira_data.bootstrap import open_relational_store
        from mystira_data.polyglot.state.audit_log import entries

        async with AsyncExitStack() as stack:
            store = await open_relational_store(settings, stack)
            return await entries(store, container, limit)

    rows = run(ctx, body)
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, default=str))
        return
    _table(rows)


def _table(rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table(title="audit log")
    for column in ("id", "at", "actor", "action", "container", "what", "reason"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            str(r["id"]),
            str(r["at"])[:19],
            r["actor"],
            r["action"] + (" (forced)" if r["forced"] else ""),
            r["container"] or "",
            _what(r),
            r["reason"] or "",
        )
    console.print(table)


def _what(row: dict[str, Any]) -> str:
    detail = row["detail"]
    if "from" in detail:
        gates = (row["evidence"] or {}).items()
        refused = [g for g, c in gates if c.get("applies") and not c.get("passed")]
        tail = f"; gates failing: {', '.join(refused)}" if refused else ""
        return f"{detail['from']} → {detail['to']}{tail}"
    return ", ".join(f"{k}={v}" for k, v in detail.items())
