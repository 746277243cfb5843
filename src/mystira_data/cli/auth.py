"""`mystira auth create-key | list | revoke`: the HTTP service's API keys."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from mystira_data.cli.common import console, fail, run

if TYPE_CHECKING:
    from mystira_data.api.auth.keys import KeyRecord, KeyStore
    from mystira_data.settings import Settings

app = typer.Typer(help="API keys of the HTTP service (hashed at rest).", no_args_is_help=True)
ROLES = ("player", "operator", "admin")


@asynccontextmanager
async def key_store(settings: Settings) -> AsyncIterator[KeyStore]:
    from mystira_data.api.auth.keys import KeyStore
    from mystira_data.bootstrap import open_relational_store

    async with AsyncExitStack() as stack:
        yield KeyStore(await open_relational_store(settings, stack))


@app.command("create-key")
def create_key(
    ctx: typer.Context,
    role: Annotated[str, typer.Option("--role", help="player, operator or admin.")],
    account: Annotated[
        str | None, typer.Option("--account", help="The account a player key may see.")
    ] = None,
    label: Annotated[str | None, typer.Option("--label", help="A note shown by list.")] = None,
) -> None:
    """Make a key and print it once: the key alone on the last line (only its hash is kept)."""
    from mystira_data.api.auth.roles import Role
    from mystira_data.polyglot.state.audit_log import cli_actor

    if role not in ROLES:
        fail(f"--role must be one of {', '.join(ROLES)}")

    async def body(settings: Settings) -> tuple[KeyRecord, str]:
        async with key_store(settings) as keys:
            return await keys.create(Role(role), account, label, actor=cli_actor())

    record, token = run(ctx, body)
    bound = f" for account {record.account_id}" if record.account_id else ""
    console.print(f"created {record.role.value} key {record.key_id}{bound}", markup=False)
    console.print("store it now: it is not shown again", markup=False)
    typer.echo(token)


@app.command("list")
def list_keys(ctx: typer.Context) -> None:
    """Key ids, roles, accounts, created and revoked times (never a key or its hash)."""

    async def body(settings: Settings) -> list[KeyRecord]:
        async with key_store(settings) as keys:
            return await keys.list()

    from rich.table import Table

    table = Table(title="API keys")
    for column in ("key id", "role", "account", "label", "created", "revoked"):
        table.add_column(column)
    for r in run(ctx, body):
        revoked = f"{r.revoked_at:%Y-%m-%d %H:%M:%S}" if r.revoked_at else ""
        table.add_row(
            r.key_id,
            r.role.value,
            r.account_id or "",
            r.label or "",
            f"{r.created_at:%Y-%m-%d %H:%M:%S}",
            revoked,
        )
    console.print(table)


@app.command("revoke")
def revoke(ctx: typer.Context, key_id: Annotated[str, typer.Argument()]) -> None:
    """Revoke KEY_ID; every running service refuses it within a second."""
    from mystira_data.polyglot.state.audit_log import cli_actor

    async def body(settings: Settings) -> bool:
        async with key_store(settings) as keys:
            return await keys.revoke(key_id, actor=cli_actor())

    if not run(ctx, body):
        fail(f"no live key {key_id!r}")
    console.print(f"revoked {key_id}", markup=False)
