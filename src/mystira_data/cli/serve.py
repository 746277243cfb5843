"""`mystira serve`: the HTTP service (FastAPI on uvicorn) over the configured stores."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from mystira_data.cli.common import options

# Workers are separate processes: they rebuild the app from these (the global options).
CONFIG_ENV = "MYSTIRA_SERVE_CONFIG"
DATA_DIR_ENV = "MYSTIRA_SERVE_DATA_DIR"


def serve_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 8080,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64)] = 1,
) -> None:
    """Serve the game data API (/api/v1) and the admin API (/admin/v1) over HTTP.

    Workers share everything through the stores (keys, phases, jobs) and the Redis
    invalidation bus. Request headers (and so keys) are never logged.
    """
    import uvicorn

    opts = options(ctx)
    opts.settings()  # a bad setting stops here, with its key named, before any worker starts
    if opts.config is not None:
        os.environ[CONFIG_ENV] = str(opts.config.resolve())
    if opts.data_dir is not None:
        os.environ[DATA_DIR_ENV] = str(opts.data_dir.resolve())
    uvicorn.run(
        "mystira_data.cli.serve:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        server_header=False,
        log_level="info",
    )


def app_from_environment() -> object:
    """The app for one uvicorn worker, from the options the command left in the environment."""
    from pathlib import Path

    from mystira_data.api.app import create_app
    from mystira_data.settings import load_settings

    config, data_dir = os.environ.get(CONFIG_ENV), os.environ.get(DATA_DIR_ENV)
    settings = load_settings(
        Path(config) if config else None, data_dir=Path(data_dir) if data_dir else None
    )
    return create_app(settings)
