"""The root Typer app: global options and the command groups."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mystira_data.cli import (
    consistency,
    cosmos,
    db,
    demo,
    media,
    polyglot,
    seed,
    status,
    transfer,
)
from mystira_data.cli.common import ErrorMappingGroup, GlobalOptions

app = typer.Typer(
    name="mystira",
    help="Mystira data platform: documents, stores and the Cosmos DB → PostgreSQL migration.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=ErrorMappingGroup,
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


app.command("seed")(seed.seed_command)
app.command("status")(status.status_command)
app.command("export")(transfer.export_command)
app.command("import")(transfer.import_command)
app.command("demo")(demo.demo_command)
app.add_typer(cosmos.app, name="cosmos")
app.add_typer(media.app, name="media")
app.add_typer(db.db_app, name="db")
app.add_typer(db.report_app, name="report")
app.add_typer(polyglot.phase_app, name="phase")
app.command("replicate")(polyglot.replicate_command)
app.command("simulate")(polyglot.simulate_command)
app.command("backfill")(consistency.backfill_command)
app.command("verify")(consistency.verify_command)
app.command("repair")(consistency.repair_command)


def main() -> None:
    """Console-script entry point."""
    app()
