"""What every command shares: settings from the global options, async running, clean errors."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console

from mystira_data.errors import MystiraError
from mystira_data.settings import Settings, load_settings

T = TypeVar("T")

# Wide enough for the status table when output is piped (Rich assumes 80 columns then).
console = Console(width=None if Console().is_terminal else 160)
err_console = Console(stderr=True, soft_wrap=True)


@dataclass
class GlobalOptions:
    config: Path | None
    data_dir: Path | None

    def settings(self) -> Settings:
        return load_settings(self.config, data_dir=self.data_dir)


def options(ctx: typer.Context) -> GlobalOptions:
    obj = ctx.find_root().obj
    if not isinstance(obj, GlobalOptions):
        return GlobalOptions(None, None)
    return obj


def run(ctx: typer.Context, body: Callable[[Settings], Coroutine[Any, Any, T]]) -> T:
    """Load settings, run ``body`` on an event loop, and turn our errors into exit code 2."""
    try:
        settings = options(ctx).settings()
        return asyncio.run(body(settings))
    except MystiraError as exc:
        fail(f"{type(exc).__name__}: {exc}", code=2)


def fail(message: str, *, code: int = 2) -> NoReturn:
    """Print ``message`` to stderr (never a traceback) and exit with ``code``."""
    err_console.print(f"[bold red]error[/]: {message}", highlight=False, markup=True)
    raise typer.Exit(code)
