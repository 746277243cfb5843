"""What every command shares: settings from the global options, async running, clean errors."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from mystira_data.cli.errors import ExitCode, classify

if TYPE_CHECKING:
    from mystira_data.settings import Settings

T = TypeVar("T")

# Wide enough for the status table when output is piped (Rich assumes 80 columns then).
console = Console(width=None if Console().is_terminal else 160)
err_console = Console(stderr=True, soft_wrap=True)


@dataclass
class GlobalOptions:
    config: Path | None
    data_dir: Path | None
    debug: bool = False

    def settings(self) -> Settings:
        from mystira_data.settings import load_settings  # pydantic-settings: not for --help

        return load_settings(self.config, data_dir=self.data_dir)


def options(ctx: typer.Context) -> GlobalOptions:
    obj = ctx.find_root().obj
    if not isinstance(obj, GlobalOptions):
        return GlobalOptions(None, None)
    return obj


def run(ctx: typer.Context, body: Callable[[Settings], Coroutine[Any, Any, T]]) -> T:
    """Load settings and run ``body`` on an event loop; errors are turned into exit codes by
    `ErrorMappingGroup`, the root command group."""
    import asyncio  # here: `mystira --help` runs nothing

    return asyncio.run(body(options(ctx).settings()))


def fail(message: str, *, code: int = ExitCode.USAGE) -> NoReturn:
    """Print ``message`` to stderr (never a traceback) and exit with ``code``."""
    # The message may quote stored data or input: never let Rich read it as markup.
    err_console.print(f"[bold red]error[/]: {escape(_one_line(message))}", highlight=False)
    raise typer.Exit(code)


def _one_line(message: str) -> str:
    return " ".join(message.split())


class ErrorMappingGroup(TyperGroup):
    """The root group: any exception a command lets escape becomes one stderr line and an
    exit code (`cli.errors.classify`); ``--debug`` prints the traceback first."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except Exception as exc:
            if type(exc).__module__.startswith("typer"):
                raise  # Exit, Abort and usage errors: typer reports those itself
            if isinstance(ctx.obj, GlobalOptions) and ctx.obj.debug:
                err_console.print(traceback.format_exc(), markup=False, highlight=False)
            failure = classify(exc)
            fail(failure.message, code=failure.code)
