"""`mystira cosmos …`: Cosmos DB operations."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from mystira_data.cli.common import console, fail, run

# The Azure SDK is imported when the command runs (`cli.lazy`).
if TYPE_CHECKING:
    from mystira_data.documents.cosmos import Provisioned
    from mystira_data.settings import Settings

app = typer.Typer(help="Cosmos DB: provision the database and containers.", no_args_is_help=True)


@app.command("provision")
def provision_command(ctx: typer.Context) -> None:
    """Create the database and every catalog container (partition key, indexes, TTL); with
    ``DocumentStore:Format=efcore9``, under the C# app's partition-key paths."""
    done = run(ctx, _provision)
    table = Table(title="Cosmos DB containers")
    for column in ("container", "partition key", "action"):
        table.add_column(column)
    for p in done:
        action = "created" if p.created else "updated" if p.updated else "unchanged"
        table.add_row(p.container, p.partition_key, action)
    console.print(table)


async def _provision(settings: Settings) -> list[Provisioned]:
    from mystira_data.documents.cosmos import CosmosDocumentStore
    from mystira_data.documents.formats import format_for

    conn = settings.connection_strings.cosmos_db
    if not conn.get_secret_value():
        fail("ConnectionStrings:CosmosDb is empty; nothing to provision (embedded default)")
    store = CosmosDocumentStore.from_connection_string(
        conn,
        settings.connection_strings.cosmos_database,
        format_for(settings.document_store.format).partition_keys(),
    )
    async with store:
        return await store.provision()
