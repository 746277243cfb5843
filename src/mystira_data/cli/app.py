"""The root Typer app: global options and the command groups.

Commands are listed here by where they live (`cli.lazy`): a command's module is imported
only when that command runs, so `mystira --help` does not load every store's SDK.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mystira_data.cli.common import GlobalOptions
from mystira_data.cli.lazy import LazyCommand, LazyGroup

_CLI = "mystira_data.cli"

# In the order `mystira --help` lists them; `help` is the first paragraph of each docstring.
COMMANDS = (
    LazyCommand(
        "seed",
        f"{_CLI}.seed:seed_command",
        "Load master data idempotently (and demo data with --demo); print counts per container.",
    ),
    LazyCommand(
        "status",
        f"{_CLI}.status:status_command",
        "Per container: phase, counts per store, lag; then store health and the writer.",
    ),
    LazyCommand(
        "placement",
        f"{_CLI}.placement:placement_command",
        "Per container: phase, the catalog's placement and why, the recorded workload, flags.",
    ),
    LazyCommand(
        "export",
        f"{_CLI}.transfer:export_command",
        "Write every live document of CONTAINER as JSON Lines (read where its phase reads).",
    ),
    LazyCommand(
        "import",
        f"{_CLI}.transfer:import_command",
        "Validate and upsert every line of FILE through the live phase's primary (dual-written\n"
        "like any write); exit 1 if any line was rejected.",
    ),
    LazyCommand(
        "demo",
        f"{_CLI}.demo:demo_command",
        "Seed master and demo data into a fresh data dir, then walk the phases under play.",
    ),
    LazyCommand(
        "replicate",
        f"{_CLI}.polyglot:replicate_command",
        "Run replication (change feed → relational, outbox → documents) for dual-write phases.",
    ),
    LazyCommand(
        "simulate",
        f"{_CLI}.polyglot:simulate_command",
        "Simulated game play through the polyglot repository.",
    ),
    LazyCommand(
        "backfill",
        f"{_CLI}.consistency:backfill_command",
        "Copy CONTAINER into the other store (resumable, safe during live writes).",
    ),
    LazyCommand(
        "verify",
        f"{_CLI}.consistency:verify_command",
        "Compare both stores; exit 0 clean, 1 differences, 2 could not run, 3 a store is down.",
    ),
    LazyCommand(
        "repair",
        f"{_CLI}.consistency:repair_command",
        "Rewrite the secondary's differing documents from the primary.",
    ),
    LazyCommand(
        "cosmos", f"{_CLI}.cosmos:app", "Cosmos DB: provision the database and containers."
    ),
    LazyCommand("media", f"{_CLI}.media:app", "Media assets: a MediaAssets document per blob."),
    LazyCommand("db", f"{_CLI}.db:db_app", "Relational schema migrations (Alembic)."),
    LazyCommand("report", f"{_CLI}.db:report_app", "Analytics on the relational store."),
    LazyCommand(
        "phase", f"{_CLI}.polyglot:phase_app", "Read or change a container's migration phase."
    ),
    LazyCommand(
        "serve",
        f"{_CLI}.serve:serve_command",
        "Serve the game data API (/api/v1) and the admin API (/admin/v1) over HTTP.",
    ),
    LazyCommand("auth", f"{_CLI}.auth:app", "API keys of the HTTP service (hashed at rest)."),
    LazyCommand(
        "control",
        f"{_CLI}.controls:control_app",
        "Pause, resume or throttle replication and backfill of a container.",
    ),
    LazyCommand(
        "audit",
        f"{_CLI}.audit:audit_command",
        "Show the audit log, newest first: who moved, forced, repaired or changed keys, and why.",
    ),
)


class RootGroup(LazyGroup):
    lazy_commands = COMMANDS


app = typer.Typer(
    name="mystira",
    help="Mystira data platform: documents, stores and the Cosmos DB → PostgreSQL migration.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=RootGroup,
)


@app.callback()
def _root(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", help="appsettings.json to read.")
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Where embedded stores live (default ./.mystira)."),
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="Print the traceback of an error.")
    ] = False,
) -> None:
    ctx.obj = GlobalOptions(config=config, data_dir=data_dir, debug=debug)


def main() -> None:
    """Console-script entry point."""
    app()
